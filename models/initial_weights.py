"""A model's initial weights from one compiled program on JAX instead of one per operation.

On JAX, Keras creates each weight eagerly: every initializer call (a uniform or normal draw,
the orthogonal initializer's QR, a scale, a zero fill) is a small XLA program of its own, so a
stacked recurrent model runs about 45 of them, each traced, lowered and compiled (or loaded
from the persistent cache) on its first use in a process: 0.5-1 s per process with the cache
filled, several seconds without. ``built_together`` builds the model with its weights'
creation deferred (Keras' ``StatelessScope``), then computes every initial value in one
jitted function. Seeded initializers are pure functions of their shape and seed, and the
program holds the same operations, so the values are the same bit for bit (tested). An
optimizer's slots (a zero fill per weight shape) are made the same way when it is built.
``clone_with_weights`` copies a model the same way, its weights taken from the model instead of
computed by initializers that would be overwritten anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import keras

_PENDING = "uninitialized_variables"
T = TypeVar("T")


def _deferred(make: Callable[[], T]) -> tuple[T, list[Any]] | None:
    """``make()`` with its new variables left uninitialised, and those variables.

    ``None`` (nothing made) off JAX, with a distribution (sharded variables) or with a Keras
    that lacks the hooks used here.
    """
    if keras.backend.backend() != "jax":
        return None
    try:  # Keras' deferred-variable bookkeeping (not public API)
        from keras.src.backend.common import global_state
    except ImportError:
        return None
    if global_state.get_global_attribute("distribution") is not None:
        return None
    if not all(hasattr(keras.Variable, a) for a in ("_initialize", "_convert_to_tensor")):
        return None  # a Keras without the hooks ``_set`` uses
    before = list(global_state.get_global_attribute(_PENDING, [], set_to_default=True))
    try:
        with keras.StatelessScope(initialize_variables=False):
            made = make()
        pending = list(global_state.get_global_attribute(_PENDING) or [])[len(before) :]
    finally:
        global_state.set_global_attribute(_PENDING, before)
    return made, pending


def built_together(make: Callable[[], T]) -> T:
    """``make()``, the variables it creates initialised by one compiled program on JAX.

    For a model whose initializers are seeded (pure), or an optimizer's ``build`` (zero
    slots): an unseeded initializer draws from Keras' global seed generator, a side effect a
    jitted function must not have. Other backends: ``make()`` as is.
    """
    deferred = _deferred(make)
    if deferred is None:
        return make()
    made, pending = deferred
    if not pending:
        return made
    import jax

    def values() -> list[Any]:
        return [v._initializer(v._shape, dtype=v._dtype) for v in pending]

    for variable, value in zip(pending, jax.jit(values)(), strict=True):
        _set(variable, value)
    return made


def clone_with_weights(model: keras.Model) -> keras.Model:
    """A copy of ``model``'s architecture holding copies of its weights, to predict with.

    On JAX a Functional model is rebuilt from its config, uncompiled, with its weights
    created straight from ``model``'s values: no initializer runs and no optimizer is built
    (each would be small XLA programs to load). Otherwise ``keras.models.clone_model`` (which
    compiles the copy like ``model``) and ``set_weights``.
    """
    deferred = None
    if type(model).__name__ == "Functional":
        deferred = _deferred(lambda: type(model).from_config(model.get_config()))
    weights = model.get_weights()
    if deferred is not None:
        clone, pending = deferred
        shapes = [tuple(v.shape) for v in clone.weights]
        if shapes == [w.shape for w in weights]:
            values = {id(v): w for v, w in zip(clone.weights, weights, strict=True)}
            # The copy's dropout RNG states are not weights: each starts from its constant
            # initial value ([seed, 0]; no program runs), as in a clone made by Keras. The
            # other variables made on the way (the layer templates a Bidirectional rebuilds
            # its directions from) belong to no layer the copy calls: left uninitialised.
            for variable in pending:
                if id(variable) in values:
                    _set(variable, values[id(variable)])
                elif variable.path.endswith("seed_generator_state"):
                    _set(variable, variable._initializer(variable._shape, dtype=variable._dtype))
            return clone
    clone = keras.models.clone_model(model)
    clone.set_weights(weights)
    return clone


def _set(variable: Any, value: Any) -> None:
    """Give a deferred ``variable`` its first value."""
    # with the dtype given, a NumPy value is copied to the device without a staging program
    variable._initialize(variable._convert_to_tensor(value, dtype=variable._dtype))
    variable._initializer = None
