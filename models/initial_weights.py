"""A model's initial weights from one compiled program on JAX instead of one per operation.

On JAX, Keras creates each weight eagerly: every initializer call (a uniform or normal draw,
the orthogonal initializer's QR, a scale, a zero fill) is a small XLA program of its own, so a
stacked recurrent model runs about 45 of them, each traced, lowered and compiled (or loaded
from the persistent cache) on its first use in a process: 0.5-1 s per process with the cache
filled, several seconds without. ``built_together`` builds the model with its weights'
creation deferred (Keras' ``StatelessScope``), then computes every initial value in one
jitted function. Seeded initializers are pure functions of their shape and seed, and the
program holds the same operations, so the values are the same bit for bit (tested).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

_PENDING = "uninitialized_variables"


def built_together(make: Callable[[], keras.Model]) -> keras.Model:
    """``make()``, its new variables initialised by one compiled program on JAX.

    Only for models whose initializers are seeded (pure): an unseeded initializer draws from
    Keras' global seed generator, a side effect a jitted function must not have. Other
    backends, a distribution (sharded variables) or a Keras without the hooks used here:
    ``make()`` as is.
    """
    if keras.backend.backend() != "jax":
        return make()
    try:  # Keras' deferred-variable bookkeeping (not public API)
        from keras.src.backend.common import global_state
    except ImportError:
        return make()
    if global_state.get_global_attribute("distribution") is not None:
        return make()
    before = list(global_state.get_global_attribute(_PENDING, [], set_to_default=True))
    try:
        with keras.StatelessScope(initialize_variables=False):
            model = make()
        pending = list(global_state.get_global_attribute(_PENDING) or [])[len(before) :]
    finally:
        global_state.set_global_attribute(_PENDING, before)
    _initialize(pending)
    return model


def _initialize(variables: list[Any]) -> None:
    """Give deferred ``variables`` their initializers' values, computed in one program."""
    import jax

    def values() -> list[Any]:
        return [v._initializer(v._shape, dtype=v._dtype) for v in variables]

    for variable, value in zip(variables, jax.jit(values)(), strict=True):
        variable._initialize(variable._convert_to_tensor(value))
        variable._initializer = None
