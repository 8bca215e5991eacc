"""The predict step traced beside the first train step: in a thread, once, the same training."""

from __future__ import annotations

import threading

import keras
import numpy as np
import pytest
from stackcast.models import predict as predict_module
from stackcast.models import predict_ahead, training
from stackcast.models.config import LayerConfig, ModelConfig, TrainConfig
from stackcast.models.network import build_model

from tests.models.helpers import FEATURES, HORIZONS, MASK, WINDOW, make_data

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="TensorFlow's train step set-up"
)

MODEL = ModelConfig(layers=(LayerConfig(cell="gru", units=5),), dropout=0.1, between_dropout=0.0)
CONFIG = TrainConfig(epochs=3, batch_size=16, seed=3, patience=3, reduce_lr_patience=1)


def _fit(monkeypatch: pytest.MonkeyPatch) -> tuple[keras.Model, training.TrainResult]:
    monkeypatch.setattr(predict_module, "_RUNNERS", type(predict_module._RUNNERS)())
    x, y = make_data(80)
    model = build_model(MODEL, FEATURES, WINDOW, HORIZONS, MASK, seed=4)
    result = training.train(model, (x[:56], y[:56]), (x[56:], y[56:]), CONFIG)
    return model, result


def test_the_predict_step_is_traced_in_a_thread_once_the_train_step_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    prepare = predict_ahead.prepare_predict  # what the thread runs

    def recorded(model: keras.Model, x: np.ndarray) -> None:
        calls.append(threading.current_thread().name)
        prepare(model, x)

    monkeypatch.setattr(predict_ahead, "prepare_predict", recorded)
    model, _ = _fit(monkeypatch)
    assert calls == ["predict-trace"]
    assert predict_module.predict_ready(model)
    assert model not in predict_ahead._PENDING
    x, y = make_data(80, seed=1)  # a second fit reuses the compiled steps: nothing to trace
    training.train(model, (x[:56], y[:56]), (x[56:], y[56:]), CONFIG)
    assert len(calls) == 1


def test_training_is_the_same_with_the_predict_step_traced_ahead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ahead, ahead_result = _fit(monkeypatch)
    monkeypatch.setattr(training, "predict_beside_first_step", lambda model, x: False)
    after, after_result = _fit(monkeypatch)
    assert ahead_result.history["val_loss"] == after_result.history["val_loss"]
    assert ahead_result.history["loss"] == after_result.history["loss"]
    for a, b in zip(ahead.get_weights(), after.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_nothing_is_set_to_start_for_an_unhooked_step_or_a_traced_predict_step() -> None:
    model = build_model(MODEL, FEATURES, WINDOW, HORIZONS, MASK, seed=4)
    x, _ = make_data(8)
    assert not predict_ahead.predict_beside_first_step(model, x)  # its step is not hooked
    predict_ahead.hook_train_step(model)
    hooked = model.train_step
    predict_ahead.hook_train_step(model)  # once
    assert model.train_step is hooked and hooked.hooked
    assert not predict_ahead.predict_beside_first_step(model, x[:0])  # no windows
    predict_module.prepare_predict(model, x)
    assert not predict_ahead.predict_beside_first_step(model, x)  # traced already


def test_a_failed_trace_ahead_leaves_the_first_validation_to_trace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    failed: list[str] = []

    def fail(model: keras.Model, x: np.ndarray) -> None:
        failed.append(threading.current_thread().name)
        raise MemoryError("no room to trace")

    monkeypatch.setattr(predict_ahead, "prepare_predict", fail)
    model, result = _fit(monkeypatch)
    assert failed == ["predict-trace"]
    assert len(result.history["val_loss"]) == CONFIG.epochs  # validated all the same
    assert predict_module.predict_ready(model)


def test_the_thread_builds_the_runner_under_the_callers_dtype_policy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(predict_module, "_RUNNERS", type(predict_module._RUNNERS)())
    model = build_model(MODEL, FEATURES, WINDOW, HORIZONS, MASK, seed=6, dtype_policy="float32")
    x, _ = make_data(8)
    policy = keras.dtype_policies.DTypePolicy("mixed_bfloat16")  # as if set by the caller
    thread = threading.Thread(target=predict_ahead._prepare, args=(model, x, policy))
    thread.start()
    thread.join()
    assert predict_module.predict_ready(model)
    assert predict_module._runner(model).sampler.dtype_policy.name == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == "float32"  # this thread's own is untouched
