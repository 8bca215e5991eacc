"""The coverage flags under their null: a band that covers exactly its nominal share.

With independent rows a group is flagged "low" about as often as two binomial standard errors
say (2.3%); with overlapping targets and same-day correlation across tickers it is flagged far
more often, as ``stackcast.reports.coverage`` warns (a flag is a place to look).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from stackcast.reports.coverage import coverage_groups

Z80 = stats.norm.ppf(0.9)  # an exact 80% band of a standard normal outcome


def low_rate(rng: np.random.Generator, reps: int, rho: float, overlap: bool) -> float:
    """Share of folds flagged "low": 10 tickers, 60 origins, horizons 1..5 per fold."""
    origins, tickers, horizons = 60, 10, 5
    flagged = 0
    for _ in range(reps):
        common = rng.standard_normal((origins + horizons, 1))
        r = np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.standard_normal(
            (origins + horizons, tickers)
        )
        cs = np.vstack([np.zeros((1, tickers)), np.cumsum(r, axis=0)])
        parts = []
        for h in range(1, horizons + 1):
            y = (
                cs[h : h + origins] - cs[:origins]
                if overlap
                else rng.standard_normal((origins, tickers)) * np.sqrt(h)
            )
            band = Z80 * np.sqrt(h)
            parts.append(
                pd.DataFrame({"fold": 1, "ticker": 0, "y_true": y.ravel(), "lo": -band, "hi": band})
            )
        (group,) = coverage_groups(pd.concat(parts, ignore_index=True), "fold", 0.8)
        flagged += group["flag"] == "low"
    return flagged / reps


def test_independent_rows_are_flagged_at_the_two_standard_error_rate() -> None:
    rate = low_rate(np.random.default_rng(1), 600, 0.0, overlap=False)
    assert 0.005 <= rate <= 0.045, rate  # 2.3% expected; three binomial SEs over 600 runs


def test_correlated_rows_are_flagged_far_more_often_than_that() -> None:
    rate = low_rate(np.random.default_rng(2), 300, 0.5, overlap=True)
    assert rate > 0.15, rate  # about 30%: the binomial SE ignores the correlation
