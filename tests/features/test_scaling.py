from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.preprocessing import RobustScaler, StandardScaler
from stackcast.features.config import FeatureConfig
from stackcast.features.panel import build_panel
from stackcast.features.returns import prices_from_returns
from stackcast.features.scaling import FoldScaler

from tests.features.frames import random_frame

NAMES = ("log_return", "range", "volume_z", "observed")


def _data(seed: int, n: int = 200, n_t: int = 3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)) * [0.02, 0.01, 1.0, 0.0] + [0.001, 0.02, 0.0, 0.0]
    X[:, 3] = (rng.random(n) > 0.1).astype(float)
    Y = rng.normal(0.0, 0.03, size=(n, 5))
    Y[rng.random((n, 5)) < 0.05] = np.nan
    tid = np.sort(rng.integers(0, n_t, n))
    return X, Y, tid


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    kind=st.sampled_from(["standard", "robust", "none"]),
    scope=st.sampled_from(["per_ticker", "pooled"]),
)
def test_round_trips_and_json(seed, kind, scope) -> None:
    cfg = FeatureConfig(scaler=kind, scaler_scope=scope)
    X, Y, tid = _data(seed)
    fit = np.arange(len(X)) < 120
    sc = FoldScaler.fit(X, Y, tid, fit, cfg)
    Xs, Ys = sc.transform_inputs(X, tid), sc.transform_targets(Y, tid)
    np.testing.assert_allclose(sc.inverse_inputs(Xs, tid), X, rtol=0, atol=1e-9)
    back = sc.inverse_targets(Ys, tid)
    np.testing.assert_allclose(back, Y, rtol=0, atol=1e-9)
    assert (np.isnan(back) == np.isnan(Y)).all()
    # The observed column passes through untouched.
    np.testing.assert_array_equal(Xs[:, 3], X[:, 3])
    # JSON round trip: plain types, identical parameters and transforms.
    doc = json.loads(json.dumps(sc.to_json()))
    assert doc == sc.to_json()
    sc2 = FoldScaler.from_json(doc)
    np.testing.assert_array_equal(sc2.transform_inputs(X, tid), Xs)
    np.testing.assert_array_equal(sc2.inverse_targets(Ys, tid), sc.inverse_targets(Ys, tid))
    assert sc2.to_json() == sc.to_json()


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), scope=st.sampled_from(["per_ticker", "pooled"]))
def test_rows_outside_fit_rows_have_no_influence(seed, scope) -> None:
    cfg = FeatureConfig(scaler_scope=scope)
    X, Y, tid = _data(seed)
    fit = np.zeros(len(X), dtype=bool)
    fit[::2] = True
    fit[0] = True
    X2, Y2 = X.copy(), Y.copy()
    X2[~fit, :3] += 100.0
    Y2[~fit] *= -50.0
    a = FoldScaler.fit(X, Y, tid, fit, cfg).to_json()
    b = FoldScaler.fit(X2, Y2, tid, fit, cfg).to_json()
    assert a == b


def test_matches_sklearn_per_ticker_and_pooled() -> None:
    X, Y, tid = _data(5)
    fit = np.arange(len(X)) < 150
    xrows = fit & (X[:, 3] == 1)  # unobserved rows are placeholders, not data
    for kind, cls in (("standard", StandardScaler), ("robust", RobustScaler)):
        pooled = FoldScaler.fit(X, Y, tid, fit, FeatureConfig(scaler=kind, scaler_scope="pooled"))
        want = cls().fit(X[xrows][:, :3])
        np.testing.assert_allclose(pooled.transform_inputs(X, tid)[:, :3], want.transform(X[:, :3]))
        wy = cls().fit(Y[fit])
        np.testing.assert_allclose(
            pooled.transform_targets(Y, tid), wy.transform(Y), equal_nan=True
        )
        per = FoldScaler.fit(X, Y, tid, fit, FeatureConfig(scaler=kind))
        for k in range(3):
            m = tid == k
            want = cls().fit(X[xrows & m][:, :3])
            np.testing.assert_allclose(
                per.transform_inputs(X[m], k)[:, :3], want.transform(X[m][:, :3])
            )


def test_absent_ticker_falls_back_to_pooled() -> None:
    X, Y, tid = _data(7)
    fit = tid != 2
    sc = FoldScaler.fit(X, Y, tid, fit, FeatureConfig(), tickers=["A", "B", "C"])
    assert sc.fallback == ("C",)
    np.testing.assert_array_equal(sc.x_center[2], sc.pooled["x_center"])
    np.testing.assert_array_equal(sc.y_scale[2], sc.pooled["y_scale"])
    assert not np.array_equal(sc.x_center[0], sc.pooled["x_center"])
    # Re-indexing for another panel: known tickers keep theirs, new ones get pooled.
    other = sc.for_tickers(["B", "NEW"])
    np.testing.assert_array_equal(other.x_center[0], sc.x_center[1])
    np.testing.assert_array_equal(other.x_center[1], sc.pooled["x_center"])
    assert "NEW" in other.fallback
    with pytest.raises(ValueError, match="out of range"):
        sc.transform_inputs(X[:2], np.array([0, 3]))


def test_feature_names_required_when_columns_dropped() -> None:
    X, Y, tid = _data(1)
    with pytest.raises(ValueError, match="feature_names"):
        FoldScaler.fit(X[:, :2], Y, tid, tid >= 0, FeatureConfig())
    with pytest.raises(ValueError, match="FoldScaler"):
        FoldScaler.from_json({"format": "other"})


def test_panel_scaled_forecast_back_to_prices() -> None:
    cfg = FeatureConfig(window=10, horizons=3, min_history=4)
    p = build_panel({"AAA": random_frame(3, 120), "BBB": random_frame(4, 90, ticker="BBB")}, cfg)
    fit = p.dates <= p.dates[60]
    sc = FoldScaler.fit_panel(p, fit, cfg)
    o = p.origins(require_targets=True)
    Ys = sc.transform_targets(p.Y[o], p.ticker_id[o])
    logret = sc.inverse_targets(Ys, p.ticker_id[o])
    np.testing.assert_allclose(logret, p.Y[o], rtol=0, atol=1e-9)
    prices = prices_from_returns(p.close[o], logret)
    for h in range(1, 4):
        np.testing.assert_allclose(prices[:, h - 1], p.close[o + h], rtol=1e-9)


def test_standard_stats_match_scikit_learn_bit_for_bit():
    from stackcast.features.scaling import standard_stats

    rng = np.random.default_rng(0)
    for trial in range(300):
        n, f = int(rng.integers(1, 300)), int(rng.integers(1, 5))
        A = rng.normal(rng.normal(0, 5), rng.uniform(1e-6, 3), (n, f))
        A *= 10.0 ** rng.integers(-6, 4)
        if trial % 3 == 0:
            A[rng.random((n, f)) < 0.2] = np.nan  # NaN-aware sums
        if trial % 7 == 0:
            A[:, 0] = 1.5  # a constant column: scale 1
        A[0, ~np.isfinite(A).any(axis=0)] = 1.0
        sk = StandardScaler().fit(A)
        mean, scale = standard_stats(A)
        np.testing.assert_array_equal(mean, sk.mean_)
        np.testing.assert_array_equal(scale, sk.scale_)


@pytest.mark.parametrize("seed", range(6))
def test_ticker_stats_match_one_ticker_at_a_time_bit_for_bit(seed):
    """Every ticker's statistics at once: the bits of ``column_stats`` on its rows alone."""
    from stackcast.features.scaler_stats import column_stats, ticker_stats

    rng = np.random.default_rng(seed)
    for _ in range(40):
        n_t, d = int(rng.integers(1, 12)), int(rng.integers(1, 6))
        sizes = rng.integers(0, 400, n_t) if seed % 2 else np.full(n_t, int(rng.integers(1, 300)))
        tid = rng.permutation(np.repeat(np.arange(n_t), sizes))
        A = rng.standard_t(3, (len(tid), d)) * rng.uniform(1e-3, 1e3) + rng.normal(0, 5)
        A[rng.random(A.shape) < rng.choice([0.0, 0.05, 0.9])] = np.nan
        if d > 1:
            A[tid == 0, 1] = np.nan  # a ticker with a column without data: pooled fallback
        A[:, 0] = np.where(rng.random(len(tid)) < 0.5, A[:, 0], 2.5)
        for kind in ("standard", "robust", "none"):
            center, scale = ticker_stats(kind, A, tid, n_t)
            for k in range(n_t):
                rows = A[tid == k]
                want = column_stats(kind, rows) if len(rows) or kind == "none" else None
                if want is None:
                    assert np.isnan(center[k]).all() and np.isnan(scale[k]).all()
                    continue
                np.testing.assert_array_equal(center[k], want[0])
                np.testing.assert_array_equal(scale[k], want[1])


@pytest.mark.parametrize("order", ["panel", "shuffled"])
def test_transforms_are_the_table_lookup_formulas_bit_for_bit(order):
    X, Y, tid = _data(7, n=3000, n_t=5)
    if order == "shuffled":
        tid = np.random.default_rng(1).permutation(tid)
    sc = FoldScaler.fit(X, Y, tid, np.arange(len(X)) < 2000, FeatureConfig(), feature_names=NAMES)
    want_x = (X - sc.x_center[tid]) / sc.x_scale[tid]
    want_y = (Y - sc.y_center[tid]) / sc.y_scale[tid]
    np.testing.assert_array_equal(sc.transform_inputs(X, tid), want_x)
    np.testing.assert_array_equal(sc.transform_targets(Y, tid), want_y)
    np.testing.assert_array_equal(
        sc.transform_inputs(X[:7], 2), (X[:7] - sc.x_center[2]) / sc.x_scale[2]
    )
