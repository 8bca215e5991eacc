"""A GRU layer with Keras' arithmetic and a lighter step graph.

Keras' ``GRUCell`` (its default ``implementation=2`` with ``reset_after``) cuts the hidden
state's projection into the three gates with three slices at every time step. On TensorFlow
the gradient of each slice is a ``StridedSliceGrad``: a zero tensor of the whole projection's
size with the slice written into it, then the three summed. ``GRU`` here is Keras' layer whose
cell splits that projection with one ``split`` (its gradient one concatenation) and does
everything else as Keras does, in the same order: outputs, states and gradients are the same
bits (only the exact zeros the slices' gradients added are gone), in fewer and cheaper graph
nodes per step.

The layer keeps everything else of Keras' ``GRU``: its configuration, the cuDNN path on a
GPU (which never calls the cell) and its weights' names, so a model saved with Keras' layer
loads and forecasts as before.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


class _SplitGRUCell(keras.layers.GRUCell):
    """``GRUCell`` whose step splits the recurrent projection at once (see the module)."""

    def call(self, inputs: Any, states: Any, training: bool = False) -> tuple[Any, Any]:
        """One step: Keras' ``implementation=2``, ``reset_after`` arithmetic."""
        if not (self.implementation == 2 and self.reset_after and self.use_bias):
            return super().call(inputs, states, training=training)
        nested = isinstance(states, (list, tuple))
        h_tm1 = states[0] if nested else states
        input_bias, recurrent_bias = (
            ops.squeeze(e, axis=0) for e in ops.split(self.bias, self.bias.shape[0], axis=0)
        )
        if training and 0.0 < self.dropout < 1.0:
            inputs = inputs * self.get_dropout_mask(inputs)
        matrix_x = ops.add(ops.matmul(inputs, self.kernel), input_bias)
        x_z, x_r, x_h = ops.split(matrix_x, 3, axis=-1)
        matrix_inner = ops.matmul(h_tm1, self.recurrent_kernel)
        matrix_inner += recurrent_bias
        recurrent_z, recurrent_r, recurrent_h = ops.split(matrix_inner, 3, axis=-1)
        z = self.recurrent_activation(x_z + recurrent_z)
        r = self.recurrent_activation(x_r + recurrent_r)
        hh = self.activation(x_h + r * recurrent_h)
        h = z * h_tm1 + (1 - z) * hh
        return h, ([h] if nested else h)


@keras.saving.register_keras_serializable(package="stackcast")
class GRU(keras.layers.GRU):
    """Keras' ``GRU`` (same arguments, configuration and weights) with ``_SplitGRUCell``.

    Keras' layer builds its own ``GRUCell`` in ``__init__``; the cell, not yet built, becomes
    the subclass, which adds a method and no state.
    """

    def __init__(self, units: int, **kwargs: Any):
        super().__init__(units, **kwargs)
        self.cell.__class__ = _SplitGRUCell
