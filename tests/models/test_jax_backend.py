"""The same model code on the JAX backend, in a subprocess (skipped when jax is absent)."""

from __future__ import annotations

import importlib.util
import textwrap

import pytest

from tests.conftest import run_on_jax

SCRIPT = textwrap.dedent(
    """
    import json, os, sys, tempfile
    import numpy as np
    import keras
    assert keras.backend.backend() == "jax", keras.backend.backend()
    from stackcast.models.config import LayerConfig, ModelConfig, TrainConfig
    from stackcast.models.cudnn import cudnn_eligibility
    from stackcast.models.network import build_model
    from stackcast.models.persistence import load_model, save_model
    from stackcast.models.predict import predict
    from stackcast.models.training import train
    from tests.models.helpers import FEATURES, HORIZONS, MASK, WINDOW, make_data

    x, y = make_data(48)
    config = ModelConfig(
        layers=(LayerConfig(cell="lstm", units=4, backward_cell="gru"),
                LayerConfig(cell="gru", units=3)),
        head="attention",
    )
    tc = TrainConfig(epochs=2, batch_size=16, seed=1)
    runs = []
    for _ in range(2):
        model = build_model(config, FEATURES, WINDOW, HORIZONS, MASK, seed=1)
        # initial weights from one compiled program: the values of Keras' one-by-one
        # creation (a clone creates its weights eagerly from the same seeded config)
        eager = keras.models.clone_model(model)
        assert all(np.array_equal(a, b) for a, b in zip(
            model.get_weights(), eager.get_weights(), strict=True)), "initial weights differ"
        result = train(model, (x[:32], y[:32]), (x[32:], y[32:]), tc)
        runs.append(model.predict(x, verbose=0))
    assert np.array_equal(runs[0], runs[1]), "JAX CPU runs differ"
    norms = result.history["grad_norm/rnn_0/mean"] + result.history["grad_norm/head/max"]
    assert all(np.isfinite(norms)) and min(norms) > 0, norms
    from stackcast.models.initial_weights import built_together, clone_with_weights
    from stackcast.models.monitor import MonitoredAdam

    # an optimizer's slots made by one program: the variables and values of Keras' own build
    eager_opt, together = MonitoredAdam(), MonitoredAdam()
    eager_opt.watch(model)
    together.watch(model)
    eager_opt.build(model.trainable_variables)
    built_together(lambda: together.build(model.trainable_variables))
    assert [v.name for v in eager_opt.variables] == [v.name for v in together.variables]
    for a, b in zip(eager_opt.variables, together.variables, strict=True):
        a, b = keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b)
        assert a.dtype == b.dtype and np.array_equal(a, b), "optimizer slots differ"

    copy = clone_with_weights(model)  # the predict runner's copy: every state it uses is set
    states = [v for v in copy.variables if v.path.endswith("seed_generator_state")]
    assert states and all(v._value is not None for v in states), "RNG state left unset"
    mean, lo, hi = predict(model, x[:8], mc_samples=8, interval=0.8, seed=2)
    again = predict(model, x[:8], mc_samples=8, interval=0.8, seed=2)
    assert np.allclose(lo, again[1]) and np.all(lo <= hi)
    with tempfile.TemporaryDirectory() as d:
        save_model(model, d, {"features": ["a", "b", "c"]})
        loaded, meta = load_model(d, expected_features=["a", "b", "c"])
        assert meta["versions"]["backend"] == "jax"
        assert np.allclose(loaded.predict(x, verbose=0), runs[1], atol=1e-6)
    fp16 = build_model(config, FEATURES, WINDOW, HORIZONS, MASK, seed=1,
                       dtype_policy="mixed_float16")
    r16 = train(fp16, (x, y), None, tc.model_copy(update={"mixed_precision": "on", "epochs": 1}))
    assert r16.dtype_policy == "mixed_float16" and np.isfinite(r16.history["loss"]).all()
    checks = cudnn_eligibility(config)
    assert not any(c.eligible for c in checks)
    # building (Bidirectional copies layers through Keras' serializer), seeding, cloning for
    # prediction, saving and loading never import TensorFlow on JAX
    assert "tensorflow" not in sys.modules, "TensorFlow was imported on the JAX backend"
    print(json.dumps({"ok": True, "loss": result.history["loss"]}))
    """
)


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_models_run_on_the_jax_backend() -> None:
    proc = run_on_jax(SCRIPT)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert '"ok": true' in proc.stdout
