"""Early-stopping loss through the model's predict step instead of a separate test step.

Keras' ``fit(validation_data=...)`` traces (TensorFlow) or compiles (JAX) a test step of its
own, seconds on CPU for a recurrent network (on JAX once per validation batch shape), although
the held-out block is predicted with the predict step anyway (calibration, test forecasts).
``PredictStepValidation`` computes the same ``val_loss``: the block's outputs come from the
shared fixed-shape predict pass (``stackcast.models.predict.point_outputs``), then, per
validation batch, the compiled loss and Keras' batch-size-weighted mean (its float32
arithmetic), as the test step does; the model's dropout seed states advance as the test step's
forward passes would advance them, so later epochs draw the same dropout masks. On TensorFlow
``val_loss`` is the test step's bit for bit. On JAX the outputs of a padded 256-row pass can
differ in the last bit from those of the test step's own batch shape (seen for a last
validation batch of 94 rows), so ``val_loss`` can differ from Keras' by an ulp.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from stackcast.models.predict import point_outputs


def predict_step_validation_ok(model: keras.Model) -> bool:
    """Whether the predict step gives the test step's ``val_loss`` for ``model``.

    True on TensorFlow and JAX for a single-output model without losses of its own
    (``add_loss``): there the test step's loss is exactly the compiled loss of the outputs
    (the train step compiles no metrics). On JAX the test step fuses the loss into its
    compiled program; the loss's eager operations gave the same bits in every case tried
    (tested), but the outputs can differ by an ulp where a validation batch's row count is not
    the pass's (see the module docstring). Other backends keep Keras' test step.
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
        # Eagerly, batch by batch: on JAX a jitted loss rounded differently from the test
        # step in 4 of 24 batches tried, the eager operations in none.
        losses = [
            self.model._compute_loss(x=None, y=y, y_pred=p, training=False)
            for y, p in zip(self.ys, parts, strict=True)
        ]
        logs["val_loss"] = weighted_mean(losses, [len(y) for y in self.ys])


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
