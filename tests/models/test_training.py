"""train: history, gradient monitoring, divergence, determinism, warnings."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from stackcast.models.batches import ArrayBatches, detect_padding
from stackcast.models.config import LayerConfig, ModelConfig, TrainConfig
from stackcast.models.network import build_model
from stackcast.models.precision import resolve_dtype_policy
from stackcast.models.training import TrainingError, train

from tests.models.helpers import (
    FEATURES,
    HORIZONS,
    MASK,
    SHARED_TRAIN,
    WINDOW,
    Trained,
    make_data,
    train_shared,
)

SMALL = ModelConfig(layers=(LayerConfig(cell="gru", units=4, bidirectional=False),), dropout=0.0)


def test_history_keys_and_json(trained: Trained) -> None:
    result = trained.result
    h = result.history
    assert result.epochs_run == 2 == len(h["loss"]) == len(h["val_loss"]) == len(h["lr"])
    for layer in ("rnn_0", "rnn_1", "head", "out", "all"):
        means, maxes = h[f"grad_norm/{layer}/mean"], h[f"grad_norm/{layer}/max"]
        assert len(means) == len(maxes) == 2
        assert all(math.isfinite(v) and v > 0 for v in means + maxes)
        assert all(mx >= mn for mn, mx in zip(means, maxes, strict=True))
    assert "grad_norm/between_1/mean" not in h  # no weights, no norm
    assert h["lr"][0] == pytest.approx(SHARED_TRAIN.learning_rate)
    assert result.monitor == "val_loss" and 1 <= result.best_epoch <= 2
    assert result.best_value == min(h["val_loss"])
    json.dumps(result.to_json(), allow_nan=False)
    json.dumps(result.summary(), allow_nan=False)
    assert len(trained.lines) == 2 and trained.lines[0].startswith("epoch 1/2, loss ")
    assert "grad norm" in trained.lines[0]


def test_same_seed_gives_identical_predictions(trained: Trained) -> None:
    again = train_shared()
    a = trained.model.predict(trained.x, verbose=0)
    b = again.model.predict(again.x, verbose=0)
    np.testing.assert_array_equal(a, b)
    assert again.result.history["loss"] == trained.result.history["loss"]


def test_exploding_gradients_are_flagged() -> None:
    x, y = make_data(32)
    model = build_model(SMALL, FEATURES, WINDOW, HORIZONS, MASK, seed=0)
    tc = TrainConfig(epochs=1, batch_size=16, clipnorm=None, loss="mse", explode_threshold=50.0)
    result = train(model, (x, y * 1e4), None, tc, run_eagerly=True)
    assert max(result.history["grad_norm/out/max"]) > 50.0
    assert any(w.startswith("exploding gradients: out") for w in result.warnings)


def test_vanishing_gradients_are_flagged() -> None:
    x, y = make_data(32)
    model = build_model(SMALL, FEATURES, WINDOW, HORIZONS, MASK, seed=0)
    tc = TrainConfig(epochs=1, batch_size=16, vanish_threshold=1e6)
    result = train(model, (x, y), None, tc, run_eagerly=True)
    assert any(w.startswith("vanishing gradients: rnn_0") for w in result.warnings)


def test_nan_target_is_an_unknown_horizon_and_is_masked() -> None:
    x, y = make_data(48)
    y[20, 1] = np.nan  # e.g. a horizon that lands on a market holiday
    model = build_model(SMALL, FEATURES, WINDOW, HORIZONS, MASK, seed=0)
    result = train(model, (x, y), None, TrainConfig(epochs=2, batch_size=16))
    assert all(np.isfinite(result.history["loss"]))


def test_nan_input_ends_training_with_a_clear_error() -> None:
    x, y = make_data(48)
    x[20, 3, 0] = np.nan
    model = build_model(SMALL, FEATURES, WINDOW, HORIZONS, MASK, seed=0)
    with pytest.raises(TrainingError, match=r"loss became NaN at epoch 1, batch \d") as info:
        train(model, (x, y), None, TrainConfig(epochs=3, batch_size=16))
    assert "contain NaN/inf; check the data" in str(info.value)
    assert info.value.epoch == 1 and info.value.batch is not None


def test_overflowing_loss_suggests_learning_rate_and_clipnorm() -> None:
    x, y = make_data(32)
    model = build_model(SMALL, FEATURES, WINDOW, HORIZONS, MASK, seed=0)
    tc = TrainConfig(epochs=2, batch_size=16, loss="mse", clipnorm=None)
    with pytest.raises(TrainingError) as info:
        train(model, (x, y * 1e25), None, tc, run_eagerly=True)
    message = str(info.value)
    # Both batches ran in one compiled call (steps_per_execution 8): located to within it.
    assert message.startswith("training diverged: loss became inf at epoch 1, batches 1-2;")
    assert "lower learning_rate or enable clipnorm" in message
    one_step = tc.model_copy(update={"steps_per_execution": 1})
    with pytest.raises(TrainingError, match="at epoch 1, batch 1; lower learning_rate"):
        train(model, (x, y * 1e25), None, one_step, run_eagerly=True)


def test_no_validation_watches_training_loss_and_early_stops() -> None:
    x, y = make_data(32)
    model = build_model(SMALL, FEATURES, WINDOW, HORIZONS, MASK, seed=0)
    tc = TrainConfig(epochs=6, batch_size=16, learning_rate=10.0, patience=1, reduce_lr_patience=1)
    result = train(model, (x, y), None, tc, run_eagerly=True)
    assert result.monitor == "loss" and "val_loss" not in result.history
    assert result.best_value == min(result.history["loss"])
    if result.stopped_early:
        assert result.epochs_run < 6


def test_empty_training_data_is_an_error() -> None:
    model = build_model(SMALL, FEATURES, WINDOW, HORIZONS, MASK)
    empty = (np.zeros((0, WINDOW, FEATURES), np.float32), np.zeros((0, HORIZONS), np.float32))
    with pytest.raises(TrainingError, match="no training batches"):
        train(model, empty, None, TrainConfig(epochs=1))


def test_batches_without_targets_are_refused() -> None:
    x, _ = make_data(16)
    model = build_model(SMALL, FEATURES, WINDOW, HORIZONS, MASK)
    with pytest.raises(TypeError, match=r"train_data batches must be \(x, y\) pairs"):
        train(model, [x], None, TrainConfig(epochs=1))


def test_left_padded_data_is_warned_about() -> None:
    x, y = make_data(16, pad_every=100)
    x[1, :3] = MASK  # left padding
    model = build_model(SMALL, FEATURES, WINDOW, HORIZONS, MASK, seed=0)
    result = train(model, (x, y), None, TrainConfig(epochs=1, batch_size=16), run_eagerly=True)
    assert any("left-padded mask" in w for w in result.warnings)


def test_detect_padding() -> None:
    x = np.ones((2, 4, 1), np.float32)
    assert detect_padding(x, MASK) == ("none", 0)
    x[0, 2:] = MASK
    assert detect_padding(x, MASK) == ("right", 0)
    x[1, :] = MASK
    assert detect_padding(x, MASK) == ("right", 1)
    x[0, 0] = MASK
    assert detect_padding(x, MASK)[0] == "left"


def test_array_batches_shuffle_is_seeded() -> None:
    x = np.arange(10, dtype=np.float32).reshape(10, 1, 1)
    a, b = ArrayBatches(x, x[:, 0], 4, shuffle=True, seed=1), ArrayBatches(x, x[:, 0], 4, True, 1)
    assert len(a) == 3
    np.testing.assert_array_equal(a[0][0], b[0][0])
    first = np.concatenate([a[i][0] for i in range(3)]).ravel()
    assert sorted(first) == list(range(10))
    a.on_epoch_end()
    assert not np.array_equal(np.concatenate([a[i][0] for i in range(3)]).ravel(), first)


def test_precision_resolution_and_mismatch_warning() -> None:
    assert resolve_dtype_policy("on") == "mixed_float16"
    assert resolve_dtype_policy("off") == "float32"
    assert resolve_dtype_policy("auto") == "float32"  # no GPU here
    x, y = make_data(16)
    model = build_model(SMALL, FEATURES, WINDOW, HORIZONS, MASK, seed=0)
    tc = TrainConfig(epochs=1, batch_size=16, mixed_precision="on")
    result = train(model, (x, y), None, tc, run_eagerly=True)
    assert result.dtype_policy == "float32"
    assert any("built with float32" in w for w in result.warnings)


@pytest.fixture
def no_op_determinism():
    """XLA needs op determinism off; TF has no public switch back, so use its internal one."""
    from tensorflow.python.framework import config as tf_config

    was = tf_config.is_op_determinism_enabled()
    tf_config.disable_op_determinism()
    yield
    if was:
        tf_config.enable_op_determinism()


def test_gradient_monitor_works_under_jit_compile(no_op_determinism: None) -> None:
    x, y = make_data(32)
    model = build_model(SMALL, FEATURES, WINDOW, HORIZONS, MASK, seed=0)
    tc = TrainConfig(epochs=1, batch_size=16, deterministic=False)
    result = train(model, (x, y), None, tc, jit_compile=True)
    assert model.jit_compile is True
    norms = result.history["grad_norm/rnn_0/mean"] + result.history["grad_norm/out/max"]
    assert all(math.isfinite(v) and v > 0 for v in norms)


def test_epoch_lines_carry_their_numbers(trained: Trained) -> None:
    from stackcast.models.base import EpochLine, labelled

    lines = trained.lines
    assert [line.epoch for line in lines] == list(range(1, trained.result.epochs_run + 1))
    assert all(isinstance(line, EpochLine) and line.epochs == SHARED_TRAIN.epochs for line in lines)
    assert lines[0].loss == pytest.approx(trained.result.history["loss"][0])
    tagged = labelled("fold 2", lines[0])
    assert isinstance(tagged, EpochLine) and tagged.label == "fold 2" and tagged.epoch == 1
    assert tagged == f"  fold 2: {lines[0]}"
    assert labelled("fold 2", "done") == "  fold 2: done"


def test_monitored_clipping_matches_keras_adam() -> None:
    """MonitoredAdam reuses its squared norms for clipnorm: the updates are Adam's, bit for bit."""
    import keras
    from stackcast.models.losses import masked_loss
    from stackcast.models.monitor import MonitoredAdam

    x, y = make_data(64)
    weights = []
    for optimizer in (keras.optimizers.Adam(clipnorm=0.01), MonitoredAdam(clipnorm=0.01)):
        model = build_model(SMALL, FEATURES, WINDOW, HORIZONS, MASK, seed=0)
        model.compile(optimizer=optimizer, loss=masked_loss("huber"))
        model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_gradient_norm_steps_count_since_the_last_read() -> None:
    x, y = make_data(48)
    model = build_model(SMALL, FEATURES, WINDOW, HORIZONS, MASK, seed=0)
    tc = TrainConfig(epochs=2, batch_size=16, patience=5)
    for _ in range(2):  # the second fit reuses the compiled setup (optimizer state restored)
        result = train(model, (x, y), None, tc)
        assert len(result.history["grad_norm/all/mean"]) == 2
    assert model.optimizer.read_grad_norms() == {}  # read and reset at the last epoch's end
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)  # 3 steps, nobody reads in between
    stats = model.optimizer.read_grad_norms()
    assert {s["steps"] for s in stats.values()} == {3}
    assert {s["nonfinite"] for s in stats.values()} == {0}
    assert model.optimizer.read_grad_norms() == {}
