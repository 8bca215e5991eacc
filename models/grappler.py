"""Lighter graph optimisation for the compiled train step on TensorFlow CPU.

The first call of Keras' traced train step instantiates it: TensorFlow's graph optimiser
(grappler) rewrites the whole step, forward and backward recurrent loops included, about
4,000-6,000 nodes for the demo network. By default it runs every pass twice, and on CPU several
passes change nothing in such a step: the second round (a handful of duplicate nodes),
the memory optimiser (GPU memory swapping), the layout optimiser (convolution layouts), constant
folding, shape and loop optimisation. Skipping them took the demo's first train call from
about 2.6 s to 1.7 s of CPU without changing a single output bit or the speed of later epochs;
pruning, common-subexpression elimination, arithmetic and dependency optimisation and the
remapper still run.

``lighten_train_function`` wraps a compiled model's train function so that its calls (and so
its one instantiation) use those options; nothing else in the process is affected, and a
machine with a GPU keeps TensorFlow's defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

# RewriterConfig values (tensorflow/core/protobuf/rewriter_config.proto).
_OFF = 2  # Toggle.OFF
_ONE = 1  # NumIterationsType.ONE
_NO_MEM_OPT = 1  # MemOptType.NO_MEM_OPT
_SKIPPED = {
    "meta_optimizer_iterations": _ONE,
    "memory_optimization": _NO_MEM_OPT,
    "layout_optimizer": _OFF,
    "constant_folding": _OFF,
    "shape_optimization": _OFF,
    "loop_optimization": _OFF,
}


def _context() -> Any | None:
    """TensorFlow's eager context, or None off TensorFlow (or without its internals)."""
    if keras.backend.backend() != "tensorflow":
        return None
    try:
        from tensorflow.python.eager import context
    except ImportError:  # pragma: no cover - TensorFlow without its eager internals
        return None
    return context


def light_call_options() -> Any | None:
    """This thread's function-call options with the passes above skipped.

    Returns:
        A ``FunctionCallOptions``; None off TensorFlow, with a GPU visible, or when this
        TensorFlow's call options cannot be read.
    """
    context = _context()
    if context is None:
        return None
    import tensorflow as tf
    from tensorflow.core.protobuf import config_pb2

    if tf.config.list_logical_devices("GPU"):
        return None
    try:
        current = context.context().function_call_options
        config = config_pb2.ConfigProto.FromString(current.config_proto_serialized)
        rewrite = config.graph_options.rewrite_options
        if rewrite.disable_meta_optimizer:
            return None
        if not hasattr(context.context()._thread_local_data, "function_call_options"):
            return None  # with_call_options could not set them per thread
        for name, value in _SKIPPED.items():
            setattr(rewrite, name, value)
        return context.FunctionCallOptions(executor_type=current.executor_type, config_proto=config)
    except (AttributeError, TypeError, ValueError):  # pragma: no cover - internals moved
        return None


def with_call_options(function: Callable[[Any], Any], options: Any) -> Callable[[Any], Any]:
    """``function`` called under ``options`` on the calling thread, restored afterwards."""
    context = _context()
    if context is None:  # off TensorFlow there is nothing to set
        return function

    def call(iterator: Any) -> Any:
        local = context.context()._thread_local_data
        saved = local.function_call_options  # None: the context's defaults
        local.function_call_options = options
        try:
            return function(iterator)
        finally:
            local.function_call_options = saved

    call.light_graph_options = True  # type: ignore[attr-defined]
    return call


def lighten_train_function(model: keras.Model) -> bool:
    """Make ``model``'s (compiled) train function run under ``light_call_options``.

    Returns:
        Whether it was wrapped (False off TensorFlow, with a GPU, when running eagerly, when it
        is wrapped already, or when the options cannot be built).
    """
    if getattr(model, "run_eagerly", False) or _context() is None:
        return False
    if getattr(model.train_function, "light_graph_options", False):
        return False
    options = light_call_options()
    if options is None:
        return False
    model.make_train_function()
    if model.train_function is None:  # pragma: no cover - Keras builds it above
        return False
    model.train_function = with_call_options(model.train_function, options)
    return True
