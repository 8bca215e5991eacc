"""LightGBM behind the ``Forecaster`` interface: same blocks, deterministic, text models."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from stackcast.features.config import FeatureConfig
from stackcast.features.panel import build_panel
from stackcast.features.splits import walk_forward
from stackcast.models import engine
from stackcast.models.base import make_forecaster
from stackcast.models.config import TrainConfig

from tests.conftest import sessions

pytest.importorskip("lightgbm")

FC = FeatureConfig(window=10, horizons=3, min_history=5, inputs=("log_return", "observed"))
TC = TrainConfig(seed=3, interval=0.8)


def ar1_panel(phi: float = 0.6, n: int = 900):
    """Two tickers whose daily log returns are AR(1): yesterday's return predicts today's."""
    dates = sessions("2012-01-02", periods=n)
    frames = {}
    for k, t in enumerate(("AAA", "BBB")):
        rng = np.random.default_rng(k)
        eps = rng.normal(0, 0.01, n)
        r = np.zeros(n)
        for i in range(1, n):
            r[i] = phi * r[i - 1] + eps[i]
        frames[t] = pd.DataFrame({"date": dates, "close": 50 * np.exp(np.cumsum(r))})
    panel = build_panel(frames, FC)
    splits = walk_forward(
        panel.calendar(), folds=2, test_size=60, embargo=3, horizons=3, mode="rolling",
        train_size=600, min_train=50,
    )  # fmt: skip
    return panel, splits


def fit(panel, split, seed: int = 3):
    model = make_forecaster("lightgbm", features=FC, train=TC.model_copy(update={"seed": seed}))
    rows = engine.fold_rows(panel, split)
    info = model.fit(panel, rows, fold=split.fold)
    return model, rows, info


def test_lightgbm_learns_the_signal_with_early_stopping_on_the_held_out_block() -> None:
    panel, splits = ar1_panel()
    model, rows, info = fit(panel, splits[-1])
    h = info.history
    assert h["n_val"] > 0 and h["n_calibration"] > 0 and len(h["rounds"]) == 3
    assert all(1 <= r < 400 for r in h["rounds"])  # early stopping ended every booster
    # The scaler never saw a held-out block (it ends before the first held-out origin).
    assert h["scaler_fit_end"] < str(panel.dates[rows.train].max())
    pred = model.predict(panel, rows.test)
    y = panel.Y[rows.test]
    ok = np.isfinite(y[:, 0])
    mae_model = np.mean(np.abs(y[ok, 0] - pred.mean[ok, 0]))
    mae_rw = np.mean(np.abs(y[ok, 0]))
    assert mae_model < 0.92 * mae_rw  # an AR(1) with phi 0.6 is learnable at horizon 1


def test_lightgbm_is_deterministic_and_its_band_is_conformal() -> None:
    panel, splits = ar1_panel()
    a, rows, _ = fit(panel, splits[0])
    b, _, _ = fit(panel, splits[0])
    pa, pb = a.predict(panel, rows.test), b.predict(panel, rows.test)
    np.testing.assert_array_equal(pa.mean, pb.mean)
    np.testing.assert_array_equal(pa.lo, pb.lo)
    c, _, _ = fit(panel, splits[0], seed=4)
    assert not np.array_equal(c.predict(panel, rows.test).mean, pa.mean)  # the seed matters
    assert a.calibration is not None and a.calibration.block == "calibration"
    assert (pa.lo < pa.mean).all() and (pa.mean < pa.hi).all()
    y = panel.Y[rows.test]
    ok = np.isfinite(y)
    covered = ((y >= pa.lo) & (y <= pa.hi))[ok].mean()
    assert 0.6 < covered < 0.97  # nominal 0.8, on 120 x 3 overlapping outcomes


def test_lightgbm_saves_text_models_and_loads_them_back(tmp_path) -> None:
    panel, splits = ar1_panel()
    model, rows, _ = fit(panel, splits[0])
    out = model.save(tmp_path / "m", {"name": "t"})
    files = sorted(p.name for p in out.iterdir())
    assert files == ["lightgbm_h1.txt", "lightgbm_h2.txt", "lightgbm_h3.txt", "meta.json"]
    assert (out / "lightgbm_h1.txt").read_text().startswith("tree")  # LightGBM's text format
    loaded, meta = type(model).load(out, features=FC, train=TC)
    assert meta["name"] == "t" and meta["forecaster"] == "lightgbm"
    p0, p1 = model.predict(panel, rows.test), loaded.predict(panel, rows.test)
    np.testing.assert_array_equal(p0.mean, p1.mean)
    np.testing.assert_array_equal(p0.hi, p1.hi)


def test_the_engine_keeps_a_peers_band_and_the_metrics_score_its_coverage() -> None:
    from stackcast.reports.metrics import evaluate

    panel, splits = ar1_panel()
    model = make_forecaster("drift", features=FC)
    others = [make_forecaster(n, features=FC, train=TC) for n in ("random_walk", "lightgbm")]
    run = engine.backtest(panel, splits, model, others)
    frame = run.predictions
    assert {"lightgbm_lo", "lightgbm_hi"} <= set(frame.columns)
    assert "random_walk_lo" not in frame.columns  # no band, no columns (default runs unchanged)
    metrics = evaluate(frame, run.scale, nominal_coverage=TC.interval)
    overall = metrics["baselines"]["lightgbm"]["overall"]
    assert overall["coverage_nominal"] == 0.8 and 0.6 < overall["coverage"] < 0.97
    assert "coverage" not in metrics["baselines"]["random_walk"]["overall"]


def test_lightgbm_fits_without_importing_keras() -> None:
    """The held-out blocks come from ``models.holdout``, not the RNN's module (Keras)."""
    code = """
import sys
import numpy as np, pandas as pd
from stackcast.features.config import FeatureConfig
from stackcast.features.panel import build_panel
from stackcast.features.splits import walk_forward
from stackcast.models.base import make_forecaster
from stackcast.models.config import TrainConfig

fc = FeatureConfig(window=10, horizons=3, min_history=5, inputs=("log_return", "observed"),
                   calendar="observed")
dates = pd.bdate_range("2012-01-02", periods=400)
close = 50 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.01, 400)))
panel = build_panel({"AAA": pd.DataFrame({"date": dates, "close": close})}, fc)
split = walk_forward(panel.calendar(), folds=1, test_size=40, embargo=3, horizons=3,
                     mode="rolling", train_size=300, min_train=50)[-1]
model = make_forecaster("lightgbm", features=fc, train=TrainConfig(seed=3, interval=0.8))
info = model.fit(panel, split.rows(panel))
assert info.history["n_calibration"] > 0
assert "keras" not in sys.modules, "keras imported"
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
