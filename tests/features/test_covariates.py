"""Covariates: alignment on the ticker's sessions, masking, and no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from stackcast.features.config import FeatureConfig
from stackcast.features.covariates import align_covariate, covariate_bars
from stackcast.features.indicators import INDICATORS
from stackcast.features.panel import build_panel
from stackcast.features.scaling import FoldScaler
from stackcast.features.windows import materialize

from tests.features.frames import random_frame

CFG = FeatureConfig(window=10, horizons=3, min_history=4, volume_window=5, covariates=("IDX",))
EVERYTHING = CFG.model_copy(
    update={
        "inputs": ("log_return", "range", "volume_z", "observed", *INDICATORS),
        "covariates": ("IDX", "BBB"),
        "momentum_windows": (2, 7),
        "volatility_window": 6,
        "rsi_window": 5,
        "ma_window": 8,
    }
)


def test_columns_follow_the_covariate_frame() -> None:
    frames = {"AAA": random_frame(1, 60), "IDX": random_frame(2, 70, ticker="IDX")}
    p = build_panel({"AAA": frames["AAA"]}, CFG, covariates={"IDX": frames["IDX"]})
    assert p.tickers == ("AAA",)
    assert p.feature_names[4:] == ("IDX:log_return", "IDX:range", "IDX:volume_z", "IDX:observed")
    close_only = random_frame(2, 70, ticker="IDX", columns=("close",))
    q = build_panel({"AAA": frames["AAA"]}, CFG, covariates={"IDX": close_only})
    assert q.feature_names[4:] == ("IDX:log_return", "IDX:observed")
    # Taken from the frames when not given apart (then it is forecast too).
    both = build_panel(frames, CFG)
    assert both.tickers == ("AAA", "IDX") and both.feature_names == p.feature_names


def test_alignment_by_date_masks_missing_bars() -> None:
    days = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-05", "2024-01-08"])
    cov = pd.DataFrame(
        {"date": days, "close": [100.0, 110.0, 121.0, 121.0], "high": 2.0, "low": 1.0}
    )
    bars = covariate_bars("IDX", cov, 5)
    ticker_days = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"])
    got = align_covariate(bars, ticker_days.to_numpy())
    # log return, range, observed; 01-04 has no covariate bar: masked (0) with flag 0.
    np.testing.assert_allclose(got[:, 0], [0.0, np.log(1.1), 0.0, np.log(1.1)])
    np.testing.assert_allclose(got[:, 1], [np.log(2)] * 2 + [0.0] + [np.log(2)])
    np.testing.assert_array_equal(got[:, 2], [1.0, 1.0, 0.0, 1.0])
    # The 01-08 bar is after every ticker row: it never enters.
    changed = cov.assign(close=[100.0, 110.0, 121.0, 999.0])
    np.testing.assert_array_equal(
        align_covariate(covariate_bars("IDX", changed, 5), ticker_days), got
    )


def test_covariate_flags_pass_through_the_scaler() -> None:
    frames = {"AAA": random_frame(1, 80)}
    p = build_panel(
        frames, CFG, covariates={"IDX": random_frame(3, 80, ticker="IDX", gap_rate=0.2)}
    )
    scaler = FoldScaler.fit_panel(p, np.ones(p.n_rows, dtype=bool), CFG)
    Xs = scaler.transform_inputs(p.X, p.ticker_id)
    j = p.feature_names.index("IDX:observed")
    np.testing.assert_array_equal(Xs[:, j], p.X[:, j])
    assert "IDX:observed" in scaler.to_json()["passthrough"]


def test_missing_covariate_is_refused() -> None:
    with pytest.raises(ValueError, match=r"covariate.*IDX"):
        build_panel({"AAA": random_frame(1, 40)}, CFG)


@pytest.mark.parametrize("name", ["a:b", "", "../x"])
def test_bad_covariate_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="covariate"):
        FeatureConfig(covariates=(name,))


def test_covariate_names_are_upper_cased_and_unique() -> None:
    assert FeatureConfig(covariates=["spy", "^vix"]).covariates == ("SPY", "^VIX")
    with pytest.raises(ValidationError, match="repeat"):
        FeatureConfig(covariates=["spy", "SPY"])


def _moved(frame: pd.DataFrame, after: pd.Timestamp, rng: np.random.Generator) -> pd.DataFrame:
    g = frame.copy()
    later = g["date"] > after
    for col in ("open", "close", "volume"):
        g.loc[later, col] *= np.exp(rng.normal(0, 0.2, later.sum()))
    g.loc[later, "high"] = g.loc[later, ["open", "close"]].max(axis=1) * 1.01
    g.loc[later, "low"] = g.loc[later, ["open", "close"]].min(axis=1) * 0.99
    return g


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("cov_freq", ["B", "D"])
def test_perturbing_every_price_after_an_origin_changes_no_input_of_it(
    seed: int, cov_freq: str
) -> None:
    """Every own input and every covariate column at or before D is bit-for-bit unchanged
    when every price (ticker and covariate) after D moves; so are the windows and scalers of
    origins whose targets end by D."""
    frames = {t: random_frame(seed + i, 90, ticker=t) for i, t in enumerate(("AAA", "BBB"))}
    # A covariate on another calendar (every day) and a covariate that is itself forecast.
    covs = {"IDX": random_frame(seed + 7, 130, ticker="IDX", freq=cov_freq, gap_rate=0.1)}
    covs["BBB"] = frames["BBB"]
    D = frames["AAA"]["date"].iloc[50 + seed]
    rng = np.random.default_rng(seed)
    moved = {t: _moved(f, D, rng) for t, f in frames.items()}
    moved_covs = {"IDX": _moved(covs["IDX"], D, rng), "BBB": moved["BBB"]}
    a = build_panel(frames, EVERYTHING, covariates=covs)
    b = build_panel(moved, EVERYTHING, covariates=moved_covs)
    d = np.datetime64(D, "D")
    np.testing.assert_array_equal(a.dates, b.dates)
    upto = a.dates <= d
    np.testing.assert_array_equal(a.X[upto], b.X[upto])
    o = a.origins(before=d + 1)
    assert len(o) and np.array_equal(o, b.origins(before=d + 1))
    np.testing.assert_array_equal(
        materialize(a.X, o, a.starts[o], 10, -10.0), materialize(b.X, o, b.starts[o], 10, -10.0)
    )
    fit = a.target_end <= d
    cfg = EVERYTHING
    assert (
        FoldScaler.fit_panel(a, fit, cfg).to_json() == FoldScaler.fit_panel(b, fit, cfg).to_json()
    )
    # Not vacuous: every covariate column and every indicator moved somewhere after D.
    later = ~upto
    for j, name in enumerate(a.feature_names):
        if name.endswith("observed") or "_sin" in name or "_cos" in name:
            continue
        assert not np.array_equal(a.X[later, j], b.X[later, j]), name
