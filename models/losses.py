"""Losses that ignore unknown targets.

On a business-day calendar a horizon can land on a market holiday: that target is unknown
(NaN), but the origin's other horizons are not. Masking the NaN entries keeps those origins
(about 18% of them) in training instead of dropping them whole.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

HUBER_DELTA = 1.0


@keras.saving.register_keras_serializable(package="stackcast")
class MaskedLoss(keras.losses.Loss):
    """A per-sample loss (``mse``, ``mae`` or ``huber``) averaged over the known targets.

    Entries where ``y_true`` is NaN contribute nothing, to the value or to the gradient; a
    sample whose targets are all unknown has loss 0.
    """

    def __init__(self, kind: str = "huber", **kwargs: Any) -> None:
        if kind not in ("mse", "mae", "huber"):
            raise ValueError(f"unknown loss {kind!r}: use mse, mae or huber")
        kwargs.setdefault("name", f"masked_{kind}")
        super().__init__(**kwargs)
        self.kind = kind

    def call(self, y_true: Any, y_pred: Any) -> Any:
        """Per-sample loss over the known horizons."""
        y_pred = ops.cast(y_pred, "float32")
        y_true = ops.cast(y_true, "float32")
        known = ops.logical_not(ops.isnan(y_true))
        weight = ops.cast(known, "float32")
        err = ops.where(known, y_pred, 0.0) - ops.where(known, y_true, 0.0)
        if self.kind == "mse":
            per = ops.square(err)
        elif self.kind == "mae":
            per = ops.abs(err)
        else:
            a = ops.abs(err)
            per = ops.where(
                a <= HUBER_DELTA, 0.5 * ops.square(err), HUBER_DELTA * (a - 0.5 * HUBER_DELTA)
            )
        count = ops.maximum(ops.sum(weight, axis=-1), 1.0)
        return ops.sum(per * weight, axis=-1) / count

    def get_config(self) -> dict[str, Any]:
        """Serialisable config (the kind of loss)."""
        return {**super().get_config(), "kind": self.kind}


def masked_loss(kind: str) -> MaskedLoss:
    """The NaN-masked loss of this kind (``mse``, ``mae`` or ``huber``)."""
    return MaskedLoss(kind)
