"""Early stopping through the predict step: Keras' val_loss bits, on TensorFlow and on JAX."""

from __future__ import annotations

import importlib.util
import textwrap

import keras
import numpy as np
import pytest
from stackcast.models import predict as predict_module
from stackcast.models.config import LayerConfig, ModelConfig
from stackcast.models.network import build_model
from stackcast.models.validation import predict_step_validation_ok, weighted_mean

from tests.conftest import run_on_jax
from tests.models.helpers import FEATURES, HORIZONS, MASK, WINDOW

MODEL = ModelConfig(layers=(LayerConfig(cell="gru", units=4),), dropout=0.1, between_dropout=0.0)


def test_weighted_mean_is_keras_mean_bit_for_bit() -> None:
    rng = np.random.default_rng(0)
    for case in range(60):
        batches = int(rng.integers(1, 6))
        losses = (rng.lognormal(-2, 1.5, batches)).astype(np.float32)
        sizes = rng.integers(1, 300, batches).tolist()
        if case == 0:
            sizes[-1] = 0  # an empty batch weighs nothing
        tracker = keras.metrics.Mean()
        for loss, n in zip(losses, sizes, strict=True):
            tracker.update_state(loss, sample_weight=n)
        expected = float(keras.ops.convert_to_numpy(tracker.result()))
        assert weighted_mean(list(losses), sizes).hex() == expected.hex(), (losses, sizes)
    assert weighted_mean([], []) == 0.0


def test_the_runner_takes_a_copy_of_the_weights() -> None:
    model = build_model(MODEL, FEATURES, WINDOW, HORIZONS, MASK, seed=1)
    runner = predict_module._runner(model)
    model.set_weights([w + 0.25 for w in model.get_weights()])
    predict_module._take_weights(runner, model)
    taken = [w.copy() for w in runner.clone.get_weights()]
    for a, b in zip(taken, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    model.set_weights([w * 2 for w in model.get_weights()])  # the clone keeps its own values
    for a, b in zip(taken, runner.clone.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_models_with_losses_of_their_own_keep_keras_test_step() -> None:
    model = build_model(MODEL, FEATURES, WINDOW, HORIZONS, MASK, seed=1)
    assert predict_step_validation_ok(model)
    inputs = keras.Input((WINDOW, FEATURES))
    two = keras.Model(inputs, [keras.layers.Dense(2)(inputs), keras.layers.Dense(3)(inputs)])
    assert not predict_step_validation_ok(two)


JAX_SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    import keras
    assert keras.backend.backend() == "jax", keras.backend.backend()
    from stackcast.models import training
    from stackcast.models.config import LayerConfig, ModelConfig, TrainConfig
    from stackcast.models.network import build_model
    from stackcast.models.validation import predict_step_validation_ok
    from tests.models.helpers import FEATURES, HORIZONS, MASK, WINDOW, make_data

    model_config = ModelConfig(
        layers=(LayerConfig(cell="gru", units=4),), dropout=0.1, between_dropout=0.0
    )
    x, y = make_data(90)
    y[3, 1] = y[65, 0] = np.nan
    config = TrainConfig(epochs=4, batch_size=16, seed=5, patience=4, reduce_lr_patience=1)
    runs = []
    for predict_step in (False, True):
        training.predict_step_validation_ok = lambda m, ok=predict_step: ok
        model = build_model(model_config, FEATURES, WINDOW, HORIZONS, MASK, seed=2)
        result = training.train(model, (x[:60], y[:60]), (x[60:], y[60:]), config)
        runs.append((result.history, model.get_weights(), model))
    (keras_history, keras_weights, model), (ours, our_weights, _) = runs
    assert predict_step_validation_ok(model)
    # the loss is one jitted program on JAX, Keras' test step fuses it with the forward pass:
    # the same value up to float32 rounding (an ulp), the same training
    np.testing.assert_allclose(ours["val_loss"], keras_history["val_loss"], rtol=3e-7, atol=0)
    assert ours["loss"] == keras_history["loss"]
    assert all(np.array_equal(a, b) for a, b in zip(our_weights, keras_weights, strict=True))
    print(json.dumps({"ok": True, "val_loss": ours["val_loss"]}))
    """
)


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_early_stopping_through_the_predict_step_is_keras_test_step_on_jax() -> None:
    """On JAX too: val_loss up to an ulp, later epochs and weights those of Keras' test step."""
    proc = run_on_jax(JAX_SCRIPT)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert '"ok": true' in proc.stdout


def test_the_architecture_key_is_computed_once_per_model() -> None:
    model = build_model(MODEL, FEATURES, WINDOW, HORIZONS, MASK, seed=1)
    key = predict_module._architecture_key(model)
    assert key is not None and key == predict_module._config_key(model)
    assert predict_module._architecture_key(model) is key  # kept, not recomputed
    assert predict_module._runner(model) is predict_module._runner(model)
