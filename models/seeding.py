"""Seeding for reproducible training: Python, NumPy and the Keras backend, and op determinism.

``seed_everything`` is what ``train`` calls first; it reseeds cheaply on later calls in the same
process (TensorFlow's global seed is set once, see its docstring). ``keep_tensorflow_unloaded``
(run when this module is imported) stops Keras importing TensorFlow on another backend.
"""

from __future__ import annotations

import random
import sys

import keras
import numpy as np


def keep_tensorflow_unloaded() -> None:
    """On a backend other than TensorFlow, stop Keras importing TensorFlow just to look at it.

    Keras asks whether TensorFlow is installed (which imports it, 2-3 s on CPU) when it
    serializes a layer (``Bidirectional`` copies its layers that way, so every ``build_model``
    does) and in ``set_random_seed``, only to recognise TensorFlow objects or to seed
    TensorFlow's RNG. A process on JAX holds no TensorFlow objects and draws no randomness
    from TensorFlow, so Keras is told TensorFlow is absent, for the rest of the process (were
    TensorFlow imported later, Keras would still neither seed it nor recognise its objects in
    configs, which a JAX model never holds); results are unchanged. No-op on TensorFlow, once
    TensorFlow is loaded, or if Keras moved.
    """
    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules:
        return
    try:  # Keras' lazy TensorFlow handle (not public API): its cached availability
        from keras.src.utils import module_utils

        lazy = module_utils.tensorflow
    except (ImportError, AttributeError):
        return
    if getattr(lazy, "_available", None) is None and getattr(lazy, "module", None) is None:
        lazy._available = False


keep_tensorflow_unloaded()

# Whether this process has seeded the TensorFlow (and torch) global RNG yet; see seed_everything.
_BACKEND_SEEDED = False


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and the backend; with ``deterministic``, make TF ops deterministic.

    Keras has no backend-agnostic switch for op determinism; on TensorFlow this calls
    ``tf.config.experimental.enable_op_determinism()`` (the only TensorFlow touch in
    ``models``). It is process-wide and TensorFlow has no public way back; while it is on,
    Keras also turns XLA (``jit_compile``) off. JAX on CPU is deterministic already.

    The first call in a process does everything ``keras.utils.set_random_seed`` does. Later
    calls reseed Python, NumPy, Keras' global seed generator (and torch) but leave
    TensorFlow's global seed as the first call set it: ``tf.random.set_seed`` clears
    TensorFlow's kernel caches, so every traced train/test/predict function is re-instantiated
    on its next call (2-3 s per warm-started backtest fold on 2 CPU cores), while Keras 3
    draws all its randomness (initializers, dropout, ``keras.random``) from its own stateless
    seed generators and never reads TensorFlow's global seed. Results are identical either way
    (checked bit for bit on a 6-fold backtest).
    """
    global _BACKEND_SEEDED
    seed = int(seed)
    if not (_BACKEND_SEEDED and _reseed_without_tensorflow(seed)):
        keras.utils.set_random_seed(seed)
        _BACKEND_SEEDED = True
    if deterministic and keras.backend.backend() == "tensorflow":
        # The one TensorFlow touch in models/: TF-only switch, guarded by the backend check.
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def _reseed_without_tensorflow(seed: int) -> bool:
    """``keras.utils.set_random_seed`` minus ``tf.random.set_seed``; False if Keras moved."""
    try:  # Keras' own global-seed bookkeeping (what set_random_seed does), not public API
        from keras.src.backend.common import global_state
        from keras.src.random import seed_generator
        from keras.src.utils import rng_utils

        global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, seed)
        global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    except (ImportError, AttributeError):
        return False
    random.seed(seed)
    np.random.seed(seed)
    if keras.backend.backend() == "torch":
        import torch

        torch.manual_seed(seed)
    return True
