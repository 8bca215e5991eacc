"""What ``train`` returns: ``TrainResult``, its history and outcome as strict JSON."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass
class TrainResult:
    """What ``train`` did.

    Attributes:
        history: Per-epoch lists: ``loss``, ``val_loss`` (with validation data), ``lr`` (the
            rate used during the epoch), ``seconds``, and ``grad_norm/<layer>/mean`` and
            ``grad_norm/<layer>/max`` for each layer with weights plus ``all`` (global norm).
        warnings: Human-readable warnings (cuDNN off, exploding/vanishing gradients, ...).
        epochs_run: Epochs actually run.
        best_epoch: 1-based epoch whose weights the model holds (early stopping restores it).
        best_value: The monitored value at ``best_epoch``.
        monitor: ``"val_loss"`` or ``"loss"`` (no validation data).
        stopped_early: Whether early stopping ended training before ``epochs``.
        seconds: Wall time of ``fit``.
        dtype_policy: ``"float32"`` or ``"mixed_float16"`` (the model's policy).
        cudnn: ``CudnnCheck.to_json()`` per layer and direction.
    """

    history: dict[str, list[float]]
    warnings: list[str]
    epochs_run: int
    best_epoch: int
    best_value: float | None
    monitor: str
    stopped_early: bool
    seconds: float
    dtype_policy: str
    cudnn: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A strict-JSON dict (NaN/inf become ``None``)."""
        return {
            "history": {k: [_finite_or_none(v) for v in vs] for k, vs in self.history.items()},
            "warnings": list(self.warnings),
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "best_value": _finite_or_none(self.best_value),
            "monitor": self.monitor,
            "stopped_early": self.stopped_early,
            "seconds": round(self.seconds, 3),
            "dtype_policy": self.dtype_policy,
            "cudnn": list(self.cudnn),
        }

    def summary(self) -> dict[str, Any]:
        """A short JSON-able summary for ``meta.json``: epochs, best epoch, final losses."""
        out: dict[str, Any] = {
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "monitor": self.monitor,
            "best_value": _finite_or_none(self.best_value),
            "stopped_early": self.stopped_early,
            "seconds": round(self.seconds, 3),
            "dtype_policy": self.dtype_policy,
            "warnings": list(self.warnings),
        }
        for key in ("loss", "val_loss", "lr"):
            if self.history.get(key):
                out[f"final_{key}"] = _finite_or_none(self.history[key][-1])
        return out


def _finite_or_none(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
