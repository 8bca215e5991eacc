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
    ``PyDataset.on_epoch_begin`` on every backend). With ``ends_epochs`` (``fit`` reads the
    adapter through a tf.data pipeline, ``batches.keras_input``, and Keras does not call
    its ``on_epoch_end``), it also ends them where Keras ends a ``PyDataset``'s: when ``fit``
    starts (its epoch iterator's reset) and after every epoch, so the source reshuffles
    exactly as often.
    """

    # Batch callbacks may run on Keras' callback threads (no per-step host sync); they can
    # finish out of order, so keep the earliest batch under a lock.
    async_safe = True

    def __init__(
        self, adapter: BatchAdapter, steps_per_execution: int = 1, *, ends_epochs: bool = False
    ) -> None:
        super().__init__()
        self.adapter = adapter
        self.ends_epochs = ends_epochs
        # Keras reports a batch end once per compiled call of this many batches: a hit at
        # batch b means the loss went non-finite somewhere in the call that ended at b.
        self.steps_per_execution = max(1, int(steps_per_execution))
        self.epoch = 0
        self.hit: tuple[str, int, int, float] | None = None
        self._lock = threading.Lock()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """End the adapter's (not yet started) epoch, as Keras' reset does for a PyDataset."""
        if self.ends_epochs:
            self.adapter.on_epoch_end()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Remember the epoch and let the training adapter draw its batch order."""
        self.epoch = epoch
        self.adapter.start_epoch(epoch)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        """Record a non-finite training loss (the earliest batch wins) and stop training."""
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        # The last call of an epoch may report past the epoch's last batch: clamp to it.
        batch = min(int(batch), len(self.adapter) - 1)
        with self._lock:
            hit = ("loss", self.epoch, batch, float(loss))
            if self.hit is None or hit[1:3] < self.hit[1:3]:
                self.hit = hit
        self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Record a non-finite validation loss (when training stayed finite) and stop."""
        if self.ends_epochs:
            self.adapter.on_epoch_end()
        val = (logs or {}).get("val_loss")
        if self.hit is None and val is not None and not math.isfinite(float(val)):
            self.hit = ("val_loss", epoch, -1, float(val))
            self.model.stop_training = True


def first_batch_of_hit(guard: NanGuard) -> int:
    """The first batch (0-based) of the compiled call in which ``guard``'s training hit fell."""
    assert guard.hit is not None
    batch = guard.hit[2]
    if batch < 0:
        return batch
    return max(0, batch - guard.steps_per_execution + 1)


def data_batch_of_hit(guard: NanGuard, adapter: BatchAdapter) -> int | None:
    """The first batch of the hit's call whose inputs held NaN/inf, if any (0-based)."""
    assert guard.hit is not None
    _, epoch, batch, _ = guard.hit
    for b in range(first_batch_of_hit(guard), batch + 1):
        if (epoch, b) in adapter.nonfinite:
            return b
    return None


def divergence_message(guard: NanGuard, adapter: BatchAdapter, clipnorm: float | None) -> str:
    """What went wrong where, for the ``TrainingError`` after ``guard`` stopped a fit.

    Args:
        guard: The fit's guard; it must hold a hit.
        adapter: The training batches (which of them held NaN/inf).
        clipnorm: ``TrainConfig.clipnorm`` (the advice suggests it when it is off).
    """
    assert guard.hit is not None
    kind, epoch, batch, value = guard.hit
    first = first_batch_of_hit(guard)
    what = "NaN" if math.isnan(value) else "inf"
    if kind == "val_loss":
        return (
            f"validation loss became {what} at epoch {epoch + 1} while the training loss was "
            "finite; check the validation inputs/targets for NaN/inf"
        )
    advice = "lower learning_rate" + (" or enable clipnorm" if clipnorm is None else "")
    where = f"batch {batch + 1}" if first == batch else f"batches {first + 1}-{batch + 1}"
    message = f"training diverged: loss became {what} at epoch {epoch + 1}, {where}; {advice}"
    bad = data_batch_of_hit(guard, adapter)
    if bad is not None:
        message = (
            f"training diverged: loss became {what} at epoch {epoch + 1}, batch {bad + 1}, "
            "and that batch's inputs or targets contain NaN/inf; check the data"
        )
    elif adapter.nonfinite:
        message += (
            f" (note: {len(adapter.nonfinite)} training batch(es) contained NaN/inf inputs or "
            "targets; check the data)"
        )
    return message
