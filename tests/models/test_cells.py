"""stackcast's GRU: Keras' layer, the same bits, one split per step instead of three slices."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from stackcast.models.cells import GRU

from tests.models.helpers import FEATURES, MASK, WINDOW, make_data


def _model(layer: type[keras.layers.GRU], **kwargs: object) -> keras.Model:
    """Masking -> ``layer`` -> Dense, seeded, so two builds start from the same weights.

    With ``return_sequences`` every step's output (masked steps too) reaches the loss.
    """
    inputs = keras.Input((WINDOW, FEATURES))
    h = keras.layers.Masking(MASK)(inputs)
    h = layer(
        5,
        seed=4,
        kernel_initializer=keras.initializers.GlorotUniform(1),
        recurrent_initializer=keras.initializers.Orthogonal(seed=3),
        **kwargs,
    )(h)
    if kwargs.get("return_sequences"):
        h = keras.layers.Flatten()(h)
    out = keras.layers.Dense(2, kernel_initializer=keras.initializers.GlorotUniform(2))(h)
    return keras.Model(inputs, out)


@pytest.mark.filterwarnings("ignore:Layer 'flatten")  # Flatten drops the mask on purpose
@pytest.mark.parametrize(
    "kwargs",
    [
        {"dropout": 0.3},
        {"go_backwards": True, "return_sequences": True, "dropout": 0.2},
        {"recurrent_dropout": 0.2},  # Keras' own step (implementation 1 is forced)
        {"reset_after": False},  # Keras' own step
    ],
)
def test_same_outputs_and_training_bits_as_keras_gru(kwargs: dict[str, object]) -> None:
    x, y = make_data(48)  # every 4th window right-padded
    ours, theirs = _model(GRU, **kwargs), _model(keras.layers.GRU, **kwargs)
    for model in (ours, theirs):
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ours.predict(x, verbose=0), theirs.predict(x, verbose=0))
    keras.utils.set_random_seed(3)
    ours.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    keras.utils.set_random_seed(3)
    theirs.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # forward, dropout draws and gradients alike


def test_layer_is_a_keras_gru_and_survives_saving(tmp_path: object) -> None:
    model = _model(GRU, dropout=0.1)
    layer = model.layers[2]
    assert isinstance(layer, keras.layers.GRU) and type(layer.cell).__name__ == "_SplitGRUCell"
    path = f"{tmp_path}/m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    again = loaded.layers[2]
    assert type(again) is GRU and type(again.cell).__name__ == "_SplitGRUCell"
    x, _ = make_data(8)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def _step_ops(layer: type[keras.layers.GRU]) -> set[str]:
    """Op types in the traced gradient of a masked GRU (its while loops' bodies included)."""
    import tensorflow as tf

    model = _model(layer)
    x, y = make_data(16)

    @tf.function
    def grads(x: tf.Tensor, y: tf.Tensor) -> list[tf.Tensor]:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x, training=True) - y) ** 2)
        return tape.gradient(loss, model.trainable_variables)

    graph = grads.get_concrete_function(x, y).graph.as_graph_def()
    return {node.op for f in graph.library.function for node in f.node_def}


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow graphs")
def test_tensorflow_step_gradient_has_no_slice_gradients() -> None:
    # Keras' cell slices the recurrent projection per step; each slice's gradient is a
    # StridedSliceGrad (a zero tensor of the whole projection); ours is one concatenation.
    assert "StridedSliceGrad" in _step_ops(keras.layers.GRU)
    assert "StridedSliceGrad" not in _step_ops(GRU)
