"""Early-stopping loss through the model's predict step instead of a separate test step.

Keras' ``fit(validation_data=...)`` traces (TensorFlow) or compiles (JAX) a test step of its
own, seconds on CPU for a recurrent network, although the held-out block is predicted with
the predict step anyway (calibration, test forecasts). ``PredictStepValidation`` computes the
same ``val_loss``: the block's outputs come from the shared fixed-shape predict pass
(``stackcast.models.predict.point_outputs``), then, per validation batch, the compiled
loss and Keras' batch-size-weighted mean, as the test step does, in float32; the model's
dropout seed states advance as the test step's forward passes would advance them, so later
epochs draw the same dropout masks.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from stackcast.models.predict import point_outputs


def predict_step_validation_ok(model: keras.Model) -> bool:
    """Whether the predict step gives the test step's ``val_loss`` for ``model``.

    True on TensorFlow for a model without losses of its own (``add_loss``) and without
    compiled metrics: there the test step's loss is exactly the compiled loss of the outputs.
    Other backends keep Keras' test step (JAX fuses the loss into the compiled step, which
    can round differently).
    """
    return keras.backend.backend() == "tensorflow" and not model.losses


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

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Predict the block, score each batch as ``test_step`` does, log the weighted mean."""
        if logs is None:
            return
        outputs = point_outputs(self.model, self.x, as_passes=len(self.ys))
        tracker = keras.metrics.Mean()
        start = 0
        for y in self.ys:
            n = len(y)
            loss = self.model._compute_loss(
                x=None, y=y, y_pred=outputs[start : start + n], training=False
            )
            tracker.update_state(loss, sample_weight=n)
            start += n
        logs["val_loss"] = float(keras.ops.convert_to_numpy(tracker.result()))
