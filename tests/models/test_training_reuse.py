"""train() reuses its compilation across calls on the same model, with fresh-compile results.

The warm-started backtest calls ``train`` once per fold on the same model; recompiling each
time retraced the graphs (seconds per fold). These tests pin that reuse changes nothing but
the time: same weights, losses, learning rates and gradient norms as a fresh compile.
"""

from __future__ import annotations

import numpy as np
import pytest
from stackcast.models import training
from stackcast.models.config import LayerConfig, ModelConfig, TrainConfig
from stackcast.models.network import build_model
from stackcast.models.predict import predict
from stackcast.models.training import train

from tests.models.helpers import FEATURES, HORIZONS, MASK, WINDOW, make_data

MODEL = ModelConfig(layers=(LayerConfig(cell="gru", units=4),), dropout=0.1, between_dropout=0.0)
FIRST = TrainConfig(
    epochs=3, batch_size=16, seed=3, learning_rate=0.05, patience=3, reduce_lr_patience=1
)
SECOND = TrainConfig(epochs=2, batch_size=16, seed=4, learning_rate=0.01, patience=2)


def _two_fits(reuse: bool):
    x, y = make_data(64)
    model = build_model(MODEL, FEATURES, WINDOW, HORIZONS, MASK, seed=1)
    first = train(model, (x[:48], y[:48]), (x[48:], y[48:]), FIRST)
    optimizer, step = model.optimizer, model.train_function
    if not reuse:
        training._COMPILED.pop(model)  # forget the compilation: the next train compiles
    second = train(model, (x[16:], y[16:]), (x[:16], y[:16]), SECOND)
    reused = model.optimizer is optimizer and model.train_function is step
    return model, first, second, reused, x


def test_reused_compilation_gives_the_fresh_compile_result() -> None:
    model_a, first_a, second_a, reused_a, x = _two_fits(reuse=True)
    model_b, first_b, second_b, reused_b, _ = _two_fits(reuse=False)
    assert reused_a and not reused_b
    drop = {"seconds"}
    assert {k: v for k, v in first_a.history.items() if k not in drop} == {
        k: v for k, v in first_b.history.items() if k not in drop
    }
    # Same losses, learning rates and gradient norms (accumulators reset per fit) ...
    assert second_a.history.keys() == second_b.history.keys()
    for key, values in second_a.history.items():
        if key not in drop:
            assert values == second_b.history[key], key
    # ... and the learning rate is back at the config's value after ReduceLROnPlateau.
    assert second_a.history["lr"][0] == pytest.approx(SECOND.learning_rate, rel=1e-6)
    for a, b in zip(model_a.get_weights(), model_b.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    pa = predict(model_a, x, mc_samples=4, interval=0.8, seed=2)
    pb = predict(model_b, x, mc_samples=4, interval=0.8, seed=2)
    for a, b in zip(pa, pb, strict=True):
        np.testing.assert_array_equal(a, b)


def test_a_different_setup_recompiles() -> None:
    x, y = make_data(32)
    model = build_model(MODEL, FEATURES, WINDOW, HORIZONS, MASK, seed=1)
    train(model, (x, y), None, TrainConfig(epochs=1, batch_size=16), run_eagerly=True)
    optimizer = model.optimizer
    train(model, (x, y), None, TrainConfig(epochs=1, batch_size=16, loss="mae"), run_eagerly=True)
    assert model.optimizer is not optimizer
    model.compile(optimizer="adam", loss="mse")  # compiled behind train's back
    plain = model.optimizer
    train(model, (x, y), None, TrainConfig(epochs=1, batch_size=16, loss="mae"), run_eagerly=True)
    assert model.optimizer is not plain and model.loss.kind == "mae"


def _count_traces(obj, name: str, counts: dict[str, int]) -> None:
    """Wrap ``obj.<name>`` so each trace (the Python body runs only while tracing) counts."""
    inner = getattr(obj, name)

    def counted(*args, **kwargs):
        counts[name] = counts.get(name, 0) + 1
        return inner(*args, **kwargs)

    setattr(obj, name, counted)


def test_warm_folds_reuse_the_traced_train_and_predict_steps() -> None:
    """After the first fold, later train()/predict() calls trace nothing (no compile cost)."""
    from stackcast.models import predict as predict_module

    x, y = make_data(96)
    model = build_model(MODEL, FEATURES, WINDOW, HORIZONS, MASK, seed=1)
    counts: dict[str, int] = {}
    runner = predict_module._runner(model)
    _count_traces(model, "train_step", counts)
    _count_traces(model, "test_step", counts)
    _count_traces(runner.sampler, "predict_step", counts)
    counts_point: dict[str, int] = {}
    _count_traces(runner.clone, "predict_step", counts_point)
    train(model, (x[:64], y[:64]), (x[64:], y[64:]), FIRST)
    predict(model, x[64:], mc_samples=4, interval=0.8, seed=1)
    predict(model, x[70:], mc_samples=0, interval=0.8)  # another block size: same pass shape
    assert min(counts.get(k, 0) for k in ("train_step", "predict_step")) >= 1
    # TensorFlow: early stopping reads the deterministic predict step; no test step is traced
    assert counts.get("test_step", 0) == 0 and counts_point == {"predict_step": 1}
    first, first_point = dict(counts), dict(counts_point)
    for fold in range(2):  # warm folds: same shapes, new data and settings
        start = 16 * (fold + 1)
        train(model, (x[start : start + 64], y[start : start + 64]), (x[:32], y[:32]), SECOND)
        predict(model, x[start : start + 32], mc_samples=4, interval=0.8, seed=fold)
        predict(model, x[start : start + 40], mc_samples=0, interval=0.8)
    assert counts == first, f"retraced on a warm fold: {first} -> {counts}"
    assert counts_point == first_point


def test_early_stopping_through_the_predict_step_is_keras_test_step(monkeypatch) -> None:
    """val_loss from the shared predict step equals Keras' test step, bit for bit, and so do
    the later epochs (the dropout seed states advance as the test step advances them)."""
    from stackcast.models import validation

    x, y = make_data(90)
    y[3, 1] = y[65, 0] = np.nan  # unknown targets are masked in the loss alike
    config = TrainConfig(epochs=4, batch_size=16, seed=5, patience=4, reduce_lr_patience=1)

    def fit(predict_step: bool):
        monkeypatch.setattr(training, "predict_step_validation_ok", lambda m: predict_step)
        model = build_model(MODEL, FEATURES, WINDOW, HORIZONS, MASK, seed=2)
        result = train(model, (x[:60], y[:60]), (x[60:], y[60:]), config)  # val: 16 + 14
        return result, [w.copy() for w in model.get_weights()]

    assert validation.predict_step_validation_ok.__module__ == validation.__name__
    keras_result, keras_weights = fit(False)
    ours, our_weights = fit(True)
    assert ours.history["val_loss"] == keras_result.history["val_loss"]
    assert ours.history["loss"] == keras_result.history["loss"]
    for a, b in zip(our_weights, keras_weights, strict=True):
        np.testing.assert_array_equal(a, b)
