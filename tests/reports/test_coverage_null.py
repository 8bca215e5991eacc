"""The coverage flags under their null: a band that covers exactly its nominal share.

A group is flagged "low" when its coverage lies more than two standard errors below nominal,
one-sided 2.3% under the null. With overlapping targets and same-day correlation across
tickers, the binomial error (rows taken as independent) flags about 30% of folds; the error
clustered by origin date with h-1 lags of dates (``coverage_se``) keeps the rate near the
level.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from stackcast.reports.coverage import coverage_groups

Z80 = stats.norm.ppf(0.9)  # an exact 80% band of a standard normal outcome
TICKERS, HORIZONS = 10, 5


def fold_rows(rng: np.random.Generator, origins: int, rho: float, overlap: bool) -> pd.DataFrame:
    """One fold's scored rows: 10 tickers, ``origins`` dates, horizons 1..5, exact bands."""
    common = rng.standard_normal((origins + HORIZONS, 1))
    r = np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.standard_normal(
        (origins + HORIZONS, TICKERS)
    )
    cs = np.vstack([np.zeros((1, TICKERS)), np.cumsum(r, axis=0)])
    dates = np.repeat(pd.bdate_range("2021-01-04", periods=origins).to_numpy(), TICKERS)
    parts = []
    for h in range(1, HORIZONS + 1):
        y = (
            cs[h : h + origins] - cs[:origins]
            if overlap
            else rng.standard_normal((origins, TICKERS)) * np.sqrt(h)
        )
        band = Z80 * np.sqrt(h)
        parts.append(
            pd.DataFrame(
                {"fold": 1, "origin": dates, "horizon": h, "y_true": y.ravel(), "lo": -band}
            ).assign(hi=band)
        )
    return pd.concat(parts, ignore_index=True)


def low_rate(
    rng: np.random.Generator, reps: int, rho: float, overlap: bool, *, dates: bool = True
) -> float:
    """Share of folds flagged "low" (60 origins a fold); ``dates=False``: the binomial error."""
    flagged = 0
    for _ in range(reps):
        rows = fold_rows(rng, 60, rho, overlap)
        (group,) = coverage_groups(rows if dates else rows.drop(columns="origin"), "fold", 0.8)
        flagged += group["flag"] == "low"
    return flagged / reps


def test_independent_rows_are_flagged_at_the_two_standard_error_rate() -> None:
    rate = low_rate(np.random.default_rng(1), 600, 0.0, overlap=False)
    assert 0.005 <= rate <= 0.05, rate  # 2.3% expected; three binomial SEs over 600 runs


def test_correlated_rows_keep_the_rate_with_the_clustered_error() -> None:
    rate = low_rate(np.random.default_rng(2), 400, 0.5, overlap=True)
    assert rate <= 0.06, rate  # 2.3% nominal; a little over it with 60 dates a fold


def test_the_binomial_error_would_flag_far_more_often() -> None:
    rate = low_rate(np.random.default_rng(2), 300, 0.5, overlap=True, dates=False)
    assert rate > 0.15, rate  # about 30%: rows taken as independent


def test_one_row_per_date_gives_the_clustered_error_of_any_row_order() -> None:
    """A group with one row per date, in date order, skips the date coding: the same bits."""
    from stackcast.reports.coverage import coverage_se

    rng = np.random.default_rng(7)
    dates = np.arange("2020-01-01", "2020-07-01", dtype="datetime64[D]")
    inside = rng.random(len(dates)) < 0.8
    perm = rng.permutation(len(dates))  # shuffled: the rows are coded by date, then summed
    for h in (1, 3, 5):
        assert coverage_se(inside, dates, h, 0.8) == coverage_se(inside[perm], dates[perm], h, 0.8)
    assert coverage_se(inside[:1], dates[:1], 1, 0.8) == coverage_se(inside[:1], None, 1, 0.8)
