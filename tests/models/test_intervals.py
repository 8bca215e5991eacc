"""Conformal intervals: the finite-sample quantile, the held-out blocks, the volatility scale."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from stackcast.features.config import FeatureConfig
from stackcast.features.panel import build_panel
from stackcast.features.scaling import FoldScaler
from stackcast.features.splits import holdout_split, walk_forward
from stackcast.models.config import LayerConfig, ModelConfig, TrainConfig
from stackcast.models.engine import fold_rows
from stackcast.models.intervals import (
    Calibration,
    calibrate,
    conformal_quantiles,
    min_calibration,
    trailing_volatility,
)
from stackcast.models.predict import predict, predict_blocks
from stackcast.models.rnn import RNNForecaster, held_out_masks, scaler_rows

from tests.features.frames import random_frame


def test_finite_sample_quantile_on_a_known_sample() -> None:
    scores = np.arange(1.0, 20.0)[::-1]  # 19 scores, order does not matter
    (lo, hi), n = conformal_quantiles(scores, 0.8)
    # alpha = 0.2, n = 19: upper rank ceil(20 * 0.9) = 18, lower rank floor(20 * 0.1) = 2.
    assert (lo[0], hi[0], n[0]) == (2.0, 18.0, 19)
    # n = 9 is the smallest sample with both ranks inside it: ranks 9 and 1.
    assert min_calibration(0.8) == 9
    (lo, hi), _ = conformal_quantiles(np.arange(1.0, 10.0), 0.8)
    assert (lo[0], hi[0]) == (1.0, 9.0)
    # NaN scores are left out per horizon (column).
    two = np.column_stack([np.arange(1.0, 20.0), np.r_[np.arange(1.0, 10.0), [np.nan] * 10]])
    offsets, n = conformal_quantiles(two, 0.8)
    assert n.tolist() == [19, 9] and offsets[:, 1].tolist() == [1.0, 9.0]
    # Plain np.nanquantile would give a narrower band than the conformal ranks.
    assert hi[0] >= np.quantile(np.arange(1.0, 10.0), 0.9)


def test_conformal_band_covers_at_least_its_level_on_exchangeable_data() -> None:
    rng = np.random.default_rng(0)
    hits = []
    for _ in range(4000):
        s = rng.standard_t(3, size=20)
        (lo, hi), _ = conformal_quantiles(s[:19], 0.8)
        hits.append(lo[0] <= s[19] <= hi[0])
    # Exact level here: ranks 2 and 18 of 20 exchangeable values -> 16/20 = 0.8.
    assert np.mean(hits) == pytest.approx(0.8, abs=0.02)


def _panel_like(close: np.ndarray, observed: np.ndarray | None = None) -> SimpleNamespace:
    n = len(close)
    return SimpleNamespace(
        close=np.asarray(close, float),
        observed=np.ones(n, bool) if observed is None else observed,
        starts=np.zeros(n, dtype=np.int64),
    )


def test_trailing_volatility_is_the_windows_rms_return_and_point_in_time() -> None:
    close = 100 * np.exp(np.cumsum([0.0, 0.01, -0.02, 0.03, 0.01, -0.01, 0.05]))
    p = _panel_like(close)
    r = np.diff(np.log(close))
    vol = trailing_volatility(p, np.array([3, 6]), lookback=3)
    assert vol[0] == pytest.approx(np.sqrt(np.mean(r[0:3] ** 2)))
    assert vol[1] == pytest.approx(np.sqrt(np.mean(r[3:6] ** 2)))
    # A later price changes nothing at an earlier origin.
    later = close.copy()
    later[4:] *= 3.0
    assert trailing_volatility(_panel_like(later), np.array([3]), 3)[0] == vol[0]
    # The block's first row has no previous close; an unobserved row is left out.
    assert np.isnan(trailing_volatility(p, np.array([0, 1]), 3)).all()
    gap = np.ones(7, bool)
    gap[2] = False
    masked = trailing_volatility(_panel_like(close, gap), np.array([3]), 3)[0]
    assert masked == pytest.approx(np.sqrt(np.mean(r[[0, 2]] ** 2)))


def test_calibration_json_round_trip_and_normalised_offsets() -> None:
    rng = np.random.default_rng(1)
    vol = rng.uniform(0.01, 0.03, 200)
    residuals = rng.normal(size=(200, 2)) * vol[:, None]
    cal = calibrate(residuals, 0.8, volatility=vol, lookback=20)
    assert cal.method == "volatility" and cal.n == (200, 200) and cal.lookback == 20
    assert cal.offsets[0, 0] == pytest.approx(-1.28, abs=0.25)  # N(0, 1) quantiles
    back = Calibration.from_json(json.loads(json.dumps(cal.to_json())))
    assert back.method == cal.method and np.array_equal(back.offsets, cal.offsets)
    assert back.fallback_scale == cal.fallback_scale and back.n == cal.n


def _panel_and_split(h: int = 2):
    cfg = FeatureConfig(window=8, horizons=h, min_history=3)
    frames = {
        "AAA": random_frame(3, 260, ticker="AAA"),
        "BBB": random_frame(4, 220, ticker="BBB", start="2020-03-02"),
    }
    panel = build_panel(frames, cfg)
    split = walk_forward(
        panel.calendar(), folds=1, test_size=20, embargo=h, horizons=h, mode="expanding"
    )[0]
    return cfg, panel, split


def _fold_blocks(h: int = 2):
    """A fold's panel, split and rows, and the held-out masks of 15% + 15% blocks."""
    _, panel, split = _panel_and_split(h)
    rows = fold_rows(panel, split)
    tc = TrainConfig(validation_fraction=0.15, calibration_fraction=0.15)
    return panel, split, rows, held_out_masks(panel.dates[rows.train], tc, h)


def test_calibration_block_is_disjoint_from_early_stopping_and_before_the_test() -> None:
    h = 2
    panel, split, rows, (fit, val, cal, warning) = _fold_blocks(h)
    assert warning is None
    assert not (fit & val).any() and not (fit & cal).any() and not (val & cal).any()
    cal_dates = np.unique(panel.calendar())
    pos = {d: k for k, d in enumerate(cal_dates)}

    def span(mask: np.ndarray) -> tuple[int, int]:
        d = panel.dates[rows.train[mask]]
        return pos[d.min()], pos[d.max()]

    (_, f1), (v0, v1), (c0, _) = span(fit), span(val), span(cal)
    assert f1 < v0 and v1 < c0  # time order: fit, early stopping, calibration
    assert v0 - f1 > h and c0 - v1 > h  # H-date gaps: no target reaches the next block
    assert (panel.target_end[rows.train[fit]] < cal_dates[v0]).all()
    assert (panel.target_end[rows.train[val]] < cal_dates[c0]).all()
    # Both blocks and their targets lie before the test origins.
    assert (panel.target_end[rows.train[cal]] < split.test_start).all()
    assert panel.dates[rows.test].min() > panel.dates[rows.train[cal]].max()


def test_the_scaler_sees_neither_held_out_block() -> None:
    panel, _, rows, (fit, val, cal, _) = _fold_blocks(2)
    held = rows.train[val | cal]
    used = scaler_rows(panel, rows.fit_rows, held)
    first_held = panel.dates[held].min()
    assert used.any() and not (used & ~rows.fit_rows).any()
    assert (panel.dates[used] < first_held).all()
    assert (panel.target_end[used] < first_held).all()  # no held-out target either
    # every origin that trains is inside the scaler's rows (observed rows of the fit part)
    train_fit = rows.train[fit]
    assert used[train_fit[panel.observed[train_fit]]].all()
    # nothing held out: the fold's whole scaler range
    assert scaler_rows(panel, rows.fit_rows, np.zeros(0, np.int64)) is rows.fit_rows


def test_too_few_origins_calibrate_on_the_early_stopping_block_with_a_warning() -> None:
    dates = np.arange(np.datetime64("2020-01-01"), np.datetime64("2020-01-31"))
    tc = TrainConfig(validation_fraction=0.15, calibration_fraction=0.15, interval=0.8)
    fit, val, cal, warning = held_out_masks(dates, tc, 2)
    assert cal is val and val.sum() == 4 and warning is not None
    assert "early-stopping block" in warning and "at least 9" in warning
    off = TrainConfig(calibration_fraction=0.0)
    *_, cal_off, silent = held_out_masks(dates, off, 2)
    assert silent is None and cal_off.sum() == 4
    none = TrainConfig(validation_fraction=0.0)
    fit, val, cal, _ = held_out_masks(dates, none, 2)
    assert fit.all() and not val.any() and not cal.any()


def test_holdout_split_blocks_and_errors() -> None:
    dates = np.repeat(np.arange(np.datetime64("2021-01-01"), np.datetime64("2021-04-11")), 2)
    fit, a, b = holdout_split(dates, (0.2, 0.1), gap=3)  # 100 dates: 20 and 10, gaps of 3
    assert [len(np.unique(dates[m])) for m in (fit, a, b)] == [64, 20, 10]
    with pytest.raises(ValueError, match="too few"):
        holdout_split(dates[:20], (0.5, 0.4), gap=3)


def test_config_refuses_held_out_fractions_that_leave_nothing_to_fit() -> None:
    with pytest.raises(ValueError, match="calibration_fraction"):
        TrainConfig(validation_fraction=0.5, calibration_fraction=0.4)


@pytest.mark.slow
def test_fit_save_load_keep_the_band_and_old_models_load_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fc, panel, split = _panel_and_split(2)
    tc = TrainConfig(epochs=1, batch_size=64, mc_samples=3, seed=3)
    model = ModelConfig(layers=(LayerConfig(cell="gru", units=4, bidirectional=False),))
    f = RNNForecaster(fc, model, tc)
    rows = fold_rows(panel, split)
    info = f.fit(panel, rows)
    assert info.history["calibration_block"] == "calibration" and info.history["n_calibration"]
    assert f.calibration is not None and f.calibration.method == "volatility"
    # the scaler was fit on the rows before the held-out blocks only
    _, val, cal, _ = held_out_masks(panel.dates[rows.train], tc, 2)
    used = scaler_rows(panel, rows.fit_rows, rows.train[val | cal])
    want = FoldScaler.fit_panel(panel, used, fc)
    np.testing.assert_array_equal(f.scaler.x_center, want.x_center)
    np.testing.assert_array_equal(f.scaler.y_scale, want.y_scale)
    assert info.history["scaler_rows"] == int(used.sum()) < int(rows.fit_rows.sum())
    assert info.history["scaler_fit_end"] == str(panel.dates[used].max())
    calls: list[int] = []
    monkeypatch.setattr(
        "stackcast.models.rnn.predict_blocks",
        lambda *a, **k: calls.append(1) or predict_blocks(*a, **k),
    )
    before = f.predict(panel, rows.test)
    # the test block was predicted with the calibration block, in fit: the same forecasts
    # and band as a prediction of its own, bit for bit
    assert calls == []
    again = f.predict(panel, rows.test)
    for a, b in ((before.mean, again.mean), (before.lo, again.lo), (before.hi, again.hi)):
        np.testing.assert_array_equal(a, b)
    assert calls == [1]
    assert (before.lo < before.mean).all() and (before.mean < before.hi).all()
    # The band's half-widths follow each origin's volatility.
    vol = trailing_volatility(panel, rows.test, fc.window)[:, None]
    assert np.allclose(before.hi - before.mean, f.calibration.offsets[1] * vol)
    # The calibrated point forecast is one pass with dropout off (point_forecast default).
    Xs = f.scaler.transform_inputs(panel.X, panel.ticker_id)
    plain = predict(f.network, panel.batches(rows.test, 64, X=Xs), 0, 0.8)[0]
    tid = panel.ticker_id[rows.test]
    np.testing.assert_array_equal(before.mean, f.scaler.inverse_targets(plain, tid))

    f.save(tmp_path / "m", {"config": {"features": fc.model_dump(), "train": tc.model_dump()}})
    loaded, _ = RNNForecaster.load(tmp_path / "m")
    after = loaded.predict(panel, rows.test)
    for a, b in ((before.mean, after.mean), (before.lo, after.lo), (before.hi, after.hi)):
        np.testing.assert_allclose(a, b, rtol=1e-6)

    # A meta.json from before interval_calibration: residual offsets in scaled units.
    path = tmp_path / "m" / "meta.json"
    old = json.loads(path.read_text())
    del old["interval_calibration"]
    del old["config"]["train"]["point_forecast"]
    old["interval_offsets"] = [[-0.5, -0.7], [0.5, 0.7]]
    path.write_text(json.dumps(old))
    legacy, _ = RNNForecaster.load(tmp_path / "m")
    assert legacy.calibration is not None and legacy.calibration.method == "residual"
    assert legacy.train_config.point_forecast == "mc_mean"  # calibrated on the MC mean then
    p = legacy.predict(panel, rows.test)
    scale = legacy.scaler.y_scale[panel.ticker_id[rows.test]]
    np.testing.assert_allclose(p.hi - p.mean, 0.5 * np.array([1.0, 1.4]) * scale, rtol=1e-6)
