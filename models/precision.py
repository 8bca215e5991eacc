"""Training precision: the dtype policy a model is built with (float32 or mixed_float16).

Precision is fixed when the layers are created: ``resolve_dtype_policy`` turns
``TrainConfig.mixed_precision`` into the policy to pass to ``build_model``, and
``model_dtype_policy`` reads back the one a model was built with.
"""

from __future__ import annotations

import keras
from stackcast.models.config import TrainConfig


def gpu_available() -> bool:
    """Whether the Keras backend sees a GPU (False on any error)."""
    try:
        return bool(keras.distribution.list_devices("gpu"))
    except Exception:  # backend without GPU support raises (JAX: RuntimeError)
        return False


def resolve_dtype_policy(mixed_precision: TrainConfig | str) -> str:
    """``"mixed_float16"`` for ``"on"``, or ``"auto"`` with a visible GPU; else ``"float32"``.

    Pass the result to ``build_model(..., dtype_policy=...)``: precision is fixed when the
    layers are created.
    """
    mode = getattr(mixed_precision, "mixed_precision", mixed_precision)
    if mode not in ("auto", "on", "off"):
        raise ValueError(f"mixed_precision must be 'auto', 'on' or 'off', got {mode!r}")
    if mode == "on" or (mode == "auto" and gpu_available()):
        return "mixed_float16"
    return "float32"


def model_dtype_policy(model: keras.Model) -> str:
    """``"mixed_float16"`` if any layer computes in float16 that way, else ``"float32"``."""
    for layer in model.layers:
        name = getattr(getattr(layer, "dtype_policy", None), "name", "float32")
        if name == "mixed_float16":
            return name
    return "float32"
