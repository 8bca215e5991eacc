"""A small backtest on the JAX backend chosen by ``[runtime] backend`` (skipped without jax)."""

from __future__ import annotations

import importlib.util
import json
import os
import textwrap

import pytest

from tests.conftest import REPO, run_python

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import numpy as np
    import pandas as pd
    import stackcast
    out = Path(sys.argv[1])
    prices = pd.concat(pd.read_csv(f"data/sample/{t}.csv") for t in ("MSFT", "GOOG"))
    cfg = stackcast.RunConfig.model_validate({
        "data": {"end": "2008-10-14"},
        "features": {"window": 20, "horizons": 2},
        "model": {"layers": [{"cell": "gru", "units": 4}, {"cell": "lstm", "units": 3,
                              "backward_cell": "gru"}], "head": "attention"},
        "train": {"epochs": 2, "warm_epochs": 1, "mc_samples": 4, "batch_size": 64},
        "backtest": {"folds": 2, "test_size": 10, "train_size": 200},
        "runtime": {"backend": "jax"},
    })
    first = stackcast.backtest(cfg, prices=prices)
    import keras
    assert keras.backend.backend() == "jax", keras.backend.backend()
    again = stackcast.backtest(cfg, prices=prices)
    cols = ["y_pred", "lo", "hi"]
    assert np.array_equal(first.forecasts[cols].to_numpy(), again.forecasts[cols].to_numpy())
    assert np.isfinite(first.forecasts[cols].to_numpy()).all()
    first.save(out)
    history = json.loads((out / "history.json").read_text())
    print(json.dumps({"files": sorted(p.name for p in out.iterdir()),
                      "history": history,
                      "forecasts": first.forecasts[cols].to_numpy().tolist()}))
    """
)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_backtest_on_jax_is_seeded_and_writes_every_output(tmp_path) -> None:
    hidden = ("KERAS_BACKEND", "STACKCAST_BACKEND", "JAX_COMPILATION_CACHE_DIR")
    env = {
        **{k: v for k, v in os.environ.items() if k not in hidden},
        "STACKCAST_HOME": str(tmp_path / "home"),
        "PYTHONPATH": str(REPO),
        # These tiny steps compile in well under jax's 1 s threshold for caching.
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
    }
    outs = []
    for run in ("run", "again"):  # the second process finds the first one's compiled steps
        proc = run_python(SCRIPT, str(tmp_path / run), env=env, timeout=600)
        assert proc.returncode == 0, proc.stderr[-4000:]
        outs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        cache = tmp_path / "home" / "cache" / "xla"
        assert cache.is_dir() and any(cache.iterdir())
    out = outs[0]
    for name in ("forecasts.parquet", "metrics.json", "history.json", "report.html"):
        assert name in out["files"]
    assert "grad_norm" in json.dumps(out["history"])
    assert outs[1]["forecasts"] == out["forecasts"]  # loaded executables, same forecasts
