"""Divergence during a fit: the NaN-guard callback and the message that says where and why.

``train`` installs ``NanGuard`` first among its callbacks; after ``fit`` it turns the guard's
hit into a ``TrainingError`` worded by ``divergence_message`` (blaming the data when the batch
that diverged held NaN/inf).
"""

from __future__ import annotations

import math
import threading
from typing import Any

import keras
from stackcast.models.batches import BatchAdapter


class NanGuard(keras.callbacks.Callback):
    """Stop at the first non-finite training loss (or validation loss); remember where.

    Also starts each epoch of the training adapter (Keras does not call
    ``PyDataset.on_epoch_begin`` on every backend).
    """

    # Batch callbacks may run on Keras' callback threads (no per-step host sync); they can
    # finish out of order, so keep the earliest batch under a lock.
    async_safe = True

    def __init__(self, adapter: BatchAdapter) -> None:
        super().__init__()
        self.adapter = adapter
        self.epoch = 0
        self.hit: tuple[str, int, int, float] | None = None
        self._lock = threading.Lock()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Remember the epoch and let the training adapter draw its batch order."""
        self.epoch = epoch
        self.adapter.start_epoch(epoch)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Record a non-finite training loss (the earliest batch wins) and stop training."""
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        with self._lock:
            hit = ("loss", self.epoch, int(batch), float(loss))
            if self.hit is None or hit[1:3] < self.hit[1:3]:
                self.hit = hit
        self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Record a non-finite validation loss (when training stayed finite) and stop."""
        val = (logs or {}).get("val_loss")
        if self.hit is None and val is not None and not math.isfinite(float(val)):
            self.hit = ("val_loss", epoch, -1, float(val))
            self.model.stop_training = True


def divergence_message(guard: NanGuard, adapter: BatchAdapter, clipnorm: float | None) -> str:
    """What went wrong where, for the ``TrainingError`` after ``guard`` stopped a fit.

    Args:
        guard: The fit's guard; it must hold a hit.
        adapter: The training batches (which of them held NaN/inf).
        clipnorm: ``TrainConfig.clipnorm`` (the advice suggests it when it is off).
    """
    assert guard.hit is not None
    kind, epoch, batch, value = guard.hit
    what = "NaN" if math.isnan(value) else "inf"
    if kind == "val_loss":
        return (
            f"validation loss became {what} at epoch {epoch + 1} while the training loss was "
            "finite; check the validation inputs/targets for NaN/inf"
        )
    advice = "lower learning_rate" + (" or enable clipnorm" if clipnorm is None else "")
    message = (
        f"training diverged: loss became {what} at epoch {epoch + 1}, batch {batch + 1}; {advice}"
    )
    if (epoch, batch) in adapter.nonfinite:
        message = (
            f"training diverged: loss became {what} at epoch {epoch + 1}, batch {batch + 1}, "
            "and that batch's inputs or targets contain NaN/inf; check the data"
        )
    elif adapter.nonfinite:
        message += (
            f" (note: {len(adapter.nonfinite)} training batch(es) contained NaN/inf inputs or "
            "targets; check the data)"
        )
    return message
