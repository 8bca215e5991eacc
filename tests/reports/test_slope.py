"""The predicted-vs-realised slope's standard error: by hand, clustered by date, and its null."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from stackcast.reports.slope import slope_fit


def test_slope_by_hand_one_ticker_h1_is_whites_se_with_the_small_sample_factor() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    y = 0.5 * x + rng.normal(size=40)
    fit = slope_fit(x, y, np.arange(40), 1)
    b, a = np.polyfit(x, y, 1)
    assert fit.slope == pytest.approx(b) and fit.intercept == pytest.approx(a)
    xc, e = x - x.mean(), y - a - b * x
    # h = 1: no lags; HLN factor (T - 1) / T on a variance of sum((xc e)^2) / T.
    se = math.sqrt(np.sum((xc * e) ** 2) * 40 / 39) / np.sum(xc**2)
    assert fit.se == pytest.approx(se) and fit.n == fit.dates == 40


def test_rows_of_the_same_date_are_one_cluster_not_independent_evidence() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=60), rng.normal(size=60)
    one = slope_fit(x, y, np.arange(60), 2)
    # The same rows twice on the same dates (two tickers that always agree): no new evidence.
    twice = slope_fit(np.tile(x, 2), np.tile(y, 2), np.tile(np.arange(60), 2), 2)
    assert twice.slope == pytest.approx(one.slope) and twice.se == pytest.approx(one.se)
    assert twice.n == 120 and twice.dates == 60


def test_undefined_cases() -> None:
    assert slope_fit(np.ones(5), np.arange(5.0), np.arange(5), 1) is None  # no spread in x
    assert slope_fit(np.arange(2.0), np.arange(2.0), np.arange(2), 1) is None
    short = slope_fit(np.arange(8.0), np.sin(np.arange(8.0)), np.arange(8), 5)
    assert short is not None and short.se is None  # 8 dates < 2h


def null_rates(reps: int, origins: int, tickers: int, seed: int) -> dict[int, float]:
    """Share of ``|slope / se| > 1.96`` with no signal, per horizon (1 and 5).

    Realised: overlapping h-day sums of daily returns correlated 0.6 across tickers. Predicted:
    persistent forecasts (AR(1), coefficient 0.5, also correlated across tickers), independent
    of the outcomes, so the true slope is 0.
    """
    rng = np.random.default_rng(seed)
    cov = np.full((tickers, tickers), 0.6) + 0.4 * np.eye(tickers)
    root = np.linalg.cholesky(cov).T
    days = origins + 5
    r = rng.standard_normal((reps, days + 1, tickers)) @ root
    r[:, 0] = 0.0
    c = np.cumsum(r, axis=1)
    v = rng.standard_normal((reps, origins, tickers)) @ root
    x = np.empty_like(v)
    x[:, 0] = v[:, 0]
    for t in range(1, origins):  # forecasts drift slowly from one origin to the next
        x[:, t] = 0.5 * x[:, t - 1] + v[:, t]
    t = np.arange(origins)
    dates = np.repeat(pd.bdate_range("2021-01-04", periods=origins).to_numpy(), tickers)
    out = {}
    for h in (1, 5):
        y = c[:, t + h] - c[:, t]
        hits = 0
        for k in range(reps):
            fit = slope_fit(x[k].ravel(), y[k].ravel(), dates, h)
            hits += abs(fit.slope / fit.se) > 1.96
        out[h] = hits / reps
    return out


def test_a_slope_of_zero_is_rejected_about_5_percent_of_the_time() -> None:
    reps = 400
    rates = null_rates(reps, 250, 5, seed=3)
    se = math.sqrt(0.05 * 0.95 / reps)
    for h, rate in rates.items():
        assert abs(rate - 0.05) <= 3 * se, (h, rate)
