"""The shared predict step traced while TensorFlow sets up a model's first train step.

The first call of a compiled train step first traces it, in Python, then TensorFlow optimises
and instantiates the traced graph in C++ with the interpreter lock released and runs the first
steps: about 0.9 s of the demo's first epoch. Early stopping needs the predict step
(``stackcast.models.predict``) at the end of that epoch, and making its copy of the model and
tracing its predict step is about 0.6 s of Python of its own. ``hook_train_step`` and
``predict_beside_first_step`` run that work in a thread as soon as the train step's trace is
done, during the set-up, instead of after the epoch. Nothing else changes: the predict step is
the same graph of a copy of the model, traced earlier, and every forecast keeps its bits.

TensorFlow only. On JAX it did not pay when measured: JAX lowers the traced train step in
Python too, and XLA's compile then uses both cores, so there is no idle gap to fill.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import keras
import numpy as np
from stackcast.models.predict import predict_ready, prepare_predict

# model -> the windows its predict step is traced on once its train step is traced
_PENDING: weakref.WeakKeyDictionary[keras.Model, np.ndarray] = weakref.WeakKeyDictionary()


def hook_train_step(model: keras.Model) -> None:
    """Let ``model``'s train step start what is pending for it once it has been traced.

    Call before the train function is made (``compile``): Keras binds the step then. The
    wrapper runs only while the step is traced, so a traced step costs nothing more.
    """
    if keras.backend.backend() != "tensorflow" or getattr(model.train_step, "hooked", False):
        return
    keras_step = model.train_step  # the trainer's bound method (or a wrapper of it)
    ref = weakref.ref(model)

    def train_step(data: Any) -> Any:
        out = keras_step(data)
        owner = ref()
        x = _PENDING.pop(owner, None) if owner is not None else None
        if x is not None:
            policy = keras.config.dtype_policy()
            # Not a daemon: a run that stops early (a diverged first epoch) lets the trace
            # finish (well under a second) rather than stopping it inside TensorFlow at exit.
            thread = threading.Thread(
                target=_prepare, args=(owner, x, policy), name="predict-trace"
            )
            thread.start()
        return out

    vars(train_step).update(getattr(keras_step, "__dict__", {}))  # another wrapper's marks
    train_step.hooked = True  # type: ignore[attr-defined]
    model.train_step = train_step


def predict_beside_first_step(model: keras.Model, x: np.ndarray) -> bool:
    """Trace the predict step on ``x``'s first pass in a thread when the train step is traced.

    For a model whose train step is hooked (``hook_train_step``) and is about to be traced,
    on TensorFlow, while its architecture's predict step is not traced yet.

    Returns:
        Whether the trace was set to start.
    """
    if not getattr(model.train_step, "hooked", False) or not len(x) or predict_ready(model):
        return False
    _PENDING[model] = x
    return True


def _prepare(model: keras.Model, x: np.ndarray, policy: Any) -> None:
    """``prepare_predict`` under the caller's dtype policy (Keras keeps one per thread).

    A failure is left for the first prediction to raise and report.
    """
    try:
        keras.config.set_dtype_policy(policy)
        prepare_predict(model, x)
    except Exception:  # raised again, where it is reported, by the prediction itself
        return
