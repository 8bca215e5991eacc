"""The train step's lighter graph optimisation: scoped to its calls, and the same numbers."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from stackcast.models import grappler, training
from stackcast.models.config import LayerConfig, ModelConfig, TrainConfig
from stackcast.models.network import build_model
from stackcast.models.training import train

from tests.models.helpers import FEATURES, HORIZONS, MASK, WINDOW, make_data

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="TensorFlow's graph optimiser"
)

MODEL = ModelConfig(layers=(LayerConfig(cell="gru", units=4),), dropout=0.1, between_dropout=0.0)


def _rewrite(options):
    from tensorflow.core.protobuf import config_pb2

    return config_pb2.ConfigProto.FromString(
        options.config_proto_serialized
    ).graph_options.rewrite_options


def test_light_options_skip_the_idle_passes_and_keep_the_rest() -> None:
    from tensorflow.python.eager import context

    options = grappler.light_call_options()
    assert options is not None
    rewrite = _rewrite(options)
    for name, value in grappler._SKIPPED.items():
        assert getattr(rewrite, name) == value, name
    # the passes that shrink the step's graph keep their defaults
    assert rewrite.remapping == rewrite.arithmetic_optimization == 0
    assert rewrite.dependency_optimization == 0 and not rewrite.disable_model_pruning
    default = context.context().function_call_options
    assert _rewrite(default).meta_optimizer_iterations == 0  # the thread's own: untouched


def test_the_wrapped_call_sets_the_options_only_while_it_runs() -> None:
    from tensorflow.python.eager import context

    options = grappler.light_call_options()
    local = context.context()._thread_local_data
    before = local.function_call_options
    seen = []

    def step(iterator):
        seen.append(context.context().function_call_options)
        if iterator == "fail":
            raise RuntimeError("boom")
        return iterator

    wrapped = grappler.with_call_options(step, options)
    assert wrapped("batch") == "batch"
    with pytest.raises(RuntimeError):
        wrapped("fail")
    assert seen == [options, options]
    assert local.function_call_options is before


def test_training_with_the_light_options_gives_the_default_result(monkeypatch) -> None:
    """Same losses, gradient norms and weights as with TensorFlow's default optimisation."""
    x, y = make_data(80)
    config = TrainConfig(epochs=2, batch_size=16, seed=5, steps_per_execution=2)

    def fit(light: bool):
        if not light:
            monkeypatch.setattr(training, "lighten_train_function", lambda model: False)
        model = build_model(MODEL, FEATURES, WINDOW, HORIZONS, MASK, seed=2)
        result = train(model, (x[:64], y[:64]), (x[64:], y[64:]), config)
        wrapped = getattr(model.train_function, "light_graph_options", False)
        return result, [w.copy() for w in model.get_weights()], wrapped

    light, light_weights, wrapped = fit(True)
    default, default_weights, plain = fit(False)
    assert wrapped and not plain
    drop = {"seconds"}
    assert {k: v for k, v in light.history.items() if k not in drop} == {
        k: v for k, v in default.history.items() if k not in drop
    }
    for a, b in zip(light_weights, default_weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_eager_runs_are_left_alone() -> None:
    x, y = make_data(32)
    model = build_model(MODEL, FEATURES, WINDOW, HORIZONS, MASK, seed=1)
    train(model, (x, y), None, TrainConfig(epochs=1, batch_size=16), run_eagerly=True)
    assert not getattr(model.train_function, "light_graph_options", False)
