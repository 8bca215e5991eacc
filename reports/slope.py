"""The predicted-against-realised slope and a standard error that allows for how it was pooled.

The report regresses realised on predicted log returns over every scored row of a horizon,
pooled over tickers. Those rows are not independent: the targets of neighbouring origins
overlap (h-step returns share h - 1 days) and the errors of different tickers on the same day
move together. An i.i.d. OLS standard error ignores both and reads several times too small.

``slope_fit`` uses the same long-run variance as the Diebold-Mariano test
(``stackcast.reports.significance``): the products ``(x - mean x) * residual`` are summed per
origin date (clustering the tickers of a day), their long-run variance is taken over ``h - 1``
lags of dates (rectangular weights, Bartlett/Newey-West where that is not positive), with the
Harvey-Leybourne-Newbold small-sample factor. Simulated with no signal (tests/reports/
test_slope.py) ``|slope / se| > 1.96`` happens about 5% of the time at a few hundred origin
dates; with few dates and very persistent forecasts the standard error is still somewhat
optimistic (about 10% at 120 dates, h = 5 and forecasts with autocorrelation 0.9).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from stackcast.reports.significance import hln_factor, long_run_variance


@dataclass(frozen=True)
class SlopeFit:
    """``y = intercept + slope x``; ``se`` the slope's standard error (None when undefined).

    ``dates`` is the number of distinct origin dates the standard error is computed over.
    """

    intercept: float
    slope: float
    se: float | None
    n: int
    dates: int


def slope_fit(x: np.ndarray, y: np.ndarray, dates: Any, h: int) -> SlopeFit | None:
    """OLS of ``y`` on ``x`` with a standard error over origin dates (module docstring).

    Args:
        x: predicted values, one per row.
        y: realised values, aligned with ``x``.
        dates: each row's origin date (any sortable values).
        h: forecast horizon: the standard error sums ``h - 1`` lags of dates.

    Returns:
        The fit, or None with fewer than 3 rows or no spread in ``x``. ``se`` is None with
        fewer than ``max(3, 2h)`` dates or no positive variance.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = x.size
    if n < 3:
        return None
    xc = x - x.mean()
    sxx = float(np.dot(xc, xc))
    if not sxx > 0:
        return None
    b = float(np.dot(xc, y - y.mean()) / sxx)
    a = float(y.mean() - b * x.mean())
    codes, uniques = pd.factorize(np.asarray(dates), sort=True)
    t = len(uniques)
    score = np.bincount(codes, weights=xc * (y - a - b * x), minlength=t)
    se = None
    if t >= max(3, 2 * h):
        var, _ = long_run_variance(score, h)
        hln = hln_factor(t, h)
        if var > 0 and hln > 0:
            se = math.sqrt(t * var / hln) / sxx
    return SlopeFit(a, b, se, int(n), int(t))
