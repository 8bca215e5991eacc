"""Early-stopping loss through the model's predict step instead of a separate test step.

Keras' ``fit(validation_data=...)`` traces (TensorFlow) or compiles (JAX) a test step of its
own, seconds on CPU for a recurrent network (on JAX once per validation batch shape), although
the held-out block is predicted with the predict step anyway (calibration, test forecasts).
``PredictStepValidation`` computes the same ``val_loss``: the block's outputs come from the
shared fixed-shape predict pass (``stackcast.models.predict.point_outputs``), then, per
validation batch, the compiled loss and Keras' batch-size-weighted mean (its float32
arithmetic), as the test step does; the model's dropout seed states advance as the test step's
forward passes would advance them, so later epochs draw the same dropout masks. On TensorFlow
``val_loss`` is the test step's bit for bit. On JAX the loss is jitted on its own (one program per
batch shape rather than dozens of eager ones to compile) and the outputs of a padded 256-row
pass can differ in the last bit from those of the test step's own batch shape (seen for a last
validation batch of 94 rows), so ``val_loss`` can differ from Keras' by an ulp.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from functools import partial
from typing import Any

import keras
import numpy as np
from stackcast.models.predict import point_outputs


def predict_step_validation_ok(model: keras.Model) -> bool:
    """Whether the predict step gives the test step's ``val_loss`` for ``model``.

    True on TensorFlow and JAX for a single-output model without losses of its own
    (``add_loss``): there the test step's loss is exactly the compiled loss of the outputs
    (the train step compiles no metrics). On JAX the test step fuses the loss into its
    compiled program, and here the loss is a program of its own: ``val_loss`` is equal up to
    float32 rounding (an ulp; tested), and the outputs can differ by an ulp where a validation
    batch's row count is not the pass's (see the module docstring). Other backends keep Keras'
    test step.
    """
    outputs = getattr(model, "outputs", None) or []
    return (
        keras.backend.backend() in ("tensorflow", "jax") and len(outputs) == 1 and not model.losses
    )


class PredictStepValidation(keras.callbacks.Callback):
    """Write ``val_loss`` into each epoch's logs (before any other callback reads them).

    Args:
        source: The validation batches (``(x, y)`` pairs, in order, not shuffled).
    """

    def __init__(self, source: Any):
        super().__init__()
        xs, self.ys = [], []
        for i in range(len(source)):
            x, y = source[i][:2]
            xs.append(np.asarray(x, dtype=np.float32))
            self.ys.append(np.asarray(y, dtype=np.float32))
        self.x = np.concatenate(xs, axis=0)
        self.bounds = np.cumsum([0] + [len(y) for y in self.ys]).tolist()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Predict the block, score each batch as ``test_step`` does, log the weighted mean."""
        if logs is None:
            return
        outputs = point_outputs(self.model, self.x, as_passes=len(self.ys))
        parts = [outputs[a:b] for a, b in zip(self.bounds, self.bounds[1:], strict=False)]
        loss = self._loss_function()
        losses = [loss(y, p) for y, p in zip(self.ys, parts, strict=True)]
        logs["val_loss"] = weighted_mean(losses, [len(y) for y in self.ys])

    def _loss_function(self) -> Callable[[Any, Any], Any]:
        """The compiled loss of a batch: eager on TensorFlow, one jitted program on JAX.

        On JAX each eager operation of the loss is an XLA program of its own, compiled per
        batch shape: about 30 compiles and 1.2-1.4 s on a cold start, against one program per
        shape jitted. A jitted loss can round an ulp away from the eager one (the module
        docstring says why ``val_loss`` is equal only up to rounding on JAX anyway).
        """
        model = self.model
        if keras.backend.backend() != "jax":
            return partial(_batch_loss, weakref.ref(model))
        entry = _JITTED.get(model)
        if entry is None or entry[0] is not model.loss:
            import jax

            entry = (model.loss, jax.jit(partial(_batch_loss, weakref.ref(model))))
            _JITTED[model] = entry
        return entry[1]


# model -> (its compiled loss object, that loss jitted): one traced program per model and
# batch shape, kept across fits of the same model (a fold's warm start reuses it).
_JITTED: weakref.WeakKeyDictionary[keras.Model, tuple[Any, Any]] = weakref.WeakKeyDictionary()


def _batch_loss(model: weakref.ref, y: Any, y_pred: Any) -> Any:
    """``model``'s compiled loss of one batch, as Keras' test step computes it."""
    return model()._compute_loss(x=None, y=y, y_pred=y_pred, training=False)


def weighted_mean(losses: list[Any], sizes: list[int]) -> float:
    """``keras.metrics.Mean`` of per-batch ``losses`` weighted by ``sizes``, bit for bit.

    Mean's float32 arithmetic on scalars (``total += loss * n``, ``count += n``, then
    ``total / count``, 0 for no rows), done in NumPy: no metric variables to create, update
    and read back every epoch.
    """
    total = np.float32(0.0)
    count = np.float32(0.0)
    for loss, n in zip(losses, sizes, strict=True):
        value = np.float32(keras.ops.convert_to_numpy(loss))
        total = np.float32(total + np.float32(value * np.float32(n)))
        count = np.float32(count + np.float32(n))
    return float(total / count) if count else 0.0
