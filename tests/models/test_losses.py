import numpy as np
import pytest
from stackcast.models.losses import masked_loss


@pytest.mark.parametrize("kind", ["mse", "mae", "huber"])
def test_unknown_targets_are_ignored(kind):
    loss = masked_loss(kind)
    y_pred = np.array([[0.5, 2.0, -1.0]], dtype=np.float32)
    full = np.array([[0.0, 1.0, 0.0]], dtype=np.float32)
    holed = np.array([[0.0, np.nan, 0.0]], dtype=np.float32)
    kept = float(np.asarray(loss.call(holed, y_pred))[0])
    # The NaN horizon drops out: the loss is the mean over the two known horizons only.
    both = float(np.asarray(loss.call(full[:, [0, 2]], y_pred[:, [0, 2]]))[0])
    assert np.isfinite(kept)
    assert kept == pytest.approx(both)
    assert float(np.asarray(loss.call(np.full((1, 3), np.nan, np.float32), y_pred))[0]) == 0.0


def test_huber_matches_keras_on_complete_targets():
    import keras

    rng = np.random.default_rng(0)
    y_true = rng.normal(size=(8, 5)).astype(np.float32) * 2
    y_pred = rng.normal(size=(8, 5)).astype(np.float32) * 2
    ours = np.asarray(masked_loss("huber").call(y_true, y_pred))
    ref = np.asarray(keras.losses.huber(y_true, y_pred, delta=1.0))
    np.testing.assert_allclose(ours, ref, rtol=1e-6)


def test_gradient_is_finite_through_nan_targets():
    import keras
    from keras import ops

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss=masked_loss("mse"))
    x = np.ones((4, 3), np.float32)
    y = np.array([[1.0, np.nan]] * 4, np.float32)
    model.fit(x, y, epochs=1, verbose=0)
    assert all(np.isfinite(ops.convert_to_numpy(w)).all() for w in model.weights)


def test_loss_round_trips_through_keras_serialization():
    import keras

    loss = masked_loss("mae")
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert again.kind == "mae"
