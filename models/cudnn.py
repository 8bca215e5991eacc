"""Will each recurrent layer/direction run on the fast cuDNN kernel on a GPU, and if not, why.

The rules are Keras 3.15's (``keras/src/backend/*/rnn.py``, ``layers/rnn/lstm.py|gru.py``),
as measured with TensorFlow and JAX: cuDNN needs the default activations (tanh/sigmoid),
``recurrent_dropout == 0``, no unrolling, a bias and, on TensorFlow, a strictly right-padded
mask. On JAX and torch any mask disables it (stackcast models always carry one), and JAX has
no cuDNN GRU at all. Input ``dropout`` is fine: Keras applies it before the kernel.

``config_reasons`` are the reasons a configuration change would remove (these are warned
about by ``models.train``); ``reasons`` also lists the backend's own limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from stackcast.models.config import ModelConfig

Padding = Literal["right", "left", "none"]
_PADDINGS = ("right", "left", "none")


@dataclass(frozen=True)
class CudnnCheck:
    """Whether one direction of one recurrent layer can use cuDNN, and why not."""

    layer: str
    direction: Literal["forward", "backward"]
    cell: str
    eligible: bool
    reasons: tuple[str, ...] = ()
    config_reasons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {
            "layer": self.layer,
            "direction": self.direction,
            "cell": self.cell,
            "eligible": self.eligible,
            "reasons": list(self.reasons),
            "config_reasons": list(self.config_reasons),
        }

    def describe(self) -> str:
        """One line, e.g. ``rnn_0 backward (gru): cuDNN off: recurrent_dropout=0.1 > 0``."""
        head = f"{self.layer} {self.direction} ({self.cell})"
        if self.eligible:
            return f"{head}: cuDNN eligible"
        return f"{head}: cuDNN off: {'; '.join(self.reasons)}"


def _check(
    layer: str,
    direction: str,
    cell: str,
    *,
    activation: str,
    recurrent_activation: str,
    recurrent_dropout: float,
    unroll: bool,
    use_bias: bool,
    padding: str,
    backend: str,
) -> CudnnCheck:
    fixable: list[str] = []
    if recurrent_dropout > 0:
        fixable.append(f"recurrent_dropout={recurrent_dropout:g} > 0")
    if activation != "tanh":
        fixable.append(f"activation={activation!r} (cuDNN needs 'tanh')")
    if recurrent_activation != "sigmoid":
        fixable.append(f"recurrent_activation={recurrent_activation!r} (cuDNN needs 'sigmoid')")
    if unroll:
        fixable.append("unroll=True")
    if not use_bias:
        fixable.append("use_bias=False")
    if padding == "left" and backend == "tensorflow":
        fixable.append("left-padded mask (TensorFlow's cuDNN path needs right padding)")
    inherent: list[str] = []
    if backend == "jax":
        if cell == "gru":
            inherent.append("the JAX backend has no cuDNN GRU")
        inherent.append("the JAX backend disables cuDNN for masked inputs")
    elif backend == "torch":
        inherent.append("the torch backend disables cuDNN for masked inputs")
    elif backend != "tensorflow":
        inherent.append(f"backend {backend!r} has no cuDNN path")
    reasons = tuple(fixable + inherent)
    return CudnnCheck(
        layer=layer,
        direction=direction,  # type: ignore[arg-type]
        cell=cell,
        eligible=not reasons,
        reasons=reasons,
        config_reasons=tuple(fixable),
    )


def _resolve(padding: str, backend: str | None) -> str:
    if padding not in _PADDINGS:
        raise ValueError(f"padding must be one of {_PADDINGS}, got {padding!r}")
    if backend is None:
        import keras

        backend = keras.backend.backend()
    return backend


def cudnn_eligibility(
    config: ModelConfig | dict[str, Any],
    padding: Padding = "right",
    backend: str | None = None,
    *,
    unroll: bool = False,
) -> list[CudnnCheck]:
    """Say for each layer and direction of ``config`` whether cuDNN will be used on a GPU.

    Args:
        config: The model architecture.
        padding: How short windows are padded: ``"right"`` (stackcast's windows), ``"left"``
            or ``"none"`` (all windows full; the model still carries a mask).
        backend: ``"tensorflow"``, ``"jax"`` or ``"torch"``; ``None`` asks Keras.
        unroll: Whether the layers are unrolled (stackcast never unrolls).

    Returns:
        One ``CudnnCheck`` per direction, bottom layer first, forward before backward.
    """
    if isinstance(config, dict):
        config = ModelConfig.model_validate(config)
    backend = _resolve(padding, backend)
    checks: list[CudnnCheck] = []
    for i, lc in enumerate(config.layers):
        directions = [("forward", lc.cell)]
        if lc.bidirectional:
            directions.append(("backward", lc.backward_cell or lc.cell))
        for direction, cell in directions:
            checks.append(
                _check(
                    f"rnn_{i}",
                    direction,
                    cell,
                    activation=lc.activation,
                    recurrent_activation=lc.recurrent_activation,
                    recurrent_dropout=config.recurrent_dropout,
                    unroll=unroll,
                    use_bias=True,
                    padding=padding,
                    backend=backend,
                )
            )
    return checks


def model_cudnn_eligibility(
    model: Any, padding: Padding = "right", backend: str | None = None
) -> list[CudnnCheck]:
    """Like ``cudnn_eligibility`` but read from a built Keras model's LSTM/GRU layers.

    Bidirectional wrappers are looked into; other layers are skipped.
    """
    import keras

    backend = _resolve(padding, backend)
    checks: list[CudnnCheck] = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            parts = [("forward", layer.forward_layer), ("backward", layer.backward_layer)]
        elif isinstance(layer, keras.layers.LSTM | keras.layers.GRU):
            parts = [("forward", layer)]
        else:
            continue
        for direction, rnn in parts:
            cell = rnn.cell
            checks.append(
                _check(
                    layer.name,
                    direction,
                    "lstm" if isinstance(rnn, keras.layers.LSTM) else "gru",
                    activation=str(keras.activations.serialize(cell.activation)),
                    recurrent_activation=str(
                        keras.activations.serialize(cell.recurrent_activation)
                    ),
                    recurrent_dropout=float(cell.recurrent_dropout),
                    unroll=bool(rnn.unroll),
                    use_bias=bool(cell.use_bias),
                    padding=padding,
                    backend=backend,
                )
            )
    return checks


def cudnn_warnings(checks: list[CudnnCheck]) -> list[str]:
    """One warning line per direction that a configuration choice keeps off cuDNN."""
    return [
        f"cuDNN disabled for {c.layer} {c.direction} ({c.cell}): {'; '.join(c.config_reasons)}"
        for c in checks
        if c.config_reasons
    ]
