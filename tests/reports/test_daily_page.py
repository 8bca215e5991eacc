"""The daily page's running-MAE chart (per horizon), table headings and verdict sentence."""

from __future__ import annotations

import base64
import re

import numpy as np
import pandas as pd
from stackcast.reports import scoreboard
from stackcast.reports.daily import DailyData, daily_verdict, render_daily, running_plot

PNG = b"\x89PNG\r\n\x1a\n"


def realised(n: int = 30, horizons: int = 3) -> pd.DataFrame:
    """Scored ledger rows: one ticker, ``n`` origins, ``horizons`` horizons."""
    rng = np.random.default_rng(0)
    origins = pd.bdate_range("2024-01-01", periods=n)
    rows = [
        {
            "model_name": "m",
            "ticker": "AAA",
            "origin": o,
            "horizon": h,
            "target_date": o + pd.offsets.BDay(h),
            "y_true": rng.normal(0, 0.01),
            "y_pred": rng.normal(0, 0.005),
            "status": scoreboard.SCORED,
        }
        for o in origins
        for h in range(1, horizons + 1)
    ]
    return pd.DataFrame(rows)


def test_running_plot_per_horizon_and_pooled():
    done = scoreboard.only_scored(realised())
    per_h = scoreboard.cumulative(done, by=("horizon",))
    for running in (per_h, scoreboard.cumulative(done, by=())):
        uri = running_plot(running)
        assert uri is not None and uri.startswith("data:image/png;base64,")
        assert base64.b64decode(uri.split(",", 1)[1]).startswith(PNG)
    assert running_plot(None) is None and running_plot(per_h.iloc[:0]) is None


def test_daily_page_headings_and_chart():
    done = scoreboard.only_scored(realised())
    forecasts = pd.DataFrame(
        {
            "ticker": ["AAA"],
            "origin": ["2024-03-01"],
            "horizon": [1],
            "target_date": ["2024-03-04"],
            "y_pred": [0.001],
            "lo": [-0.01],
            "hi": [0.01],
            "origin_close": [100.0],
            "price_pred": [100.1],
        }
    )
    html = render_daily(
        DailyData(
            title="daily",
            run_id="r",
            created="c",
            as_of="2024-03-01",
            model={"name": "m", "version": "v1", "seen_until": "2024-02-29"},
            forecasts=forecasts,
            score=scoreboard.summary(done, by=("horizon",)),
            score_by_ticker=scoreboard.summary(done, by=("ticker", "horizon")),
            running=scoreboard.cumulative(done, by=("horizon",)),
        )
    )
    assert "<h3>Running MAE by horizon</h3>" in html and "data:image/png;base64," in html
    for m in re.finditer(r"<table", html):
        before = html[: m.start()]
        assert max(before.rfind("<h2"), before.rfind("<h3")) > before.rfind("</table>")


def test_daily_verdict_prints_an_integer_count():
    row = pd.DataFrame({"mae": [0.01], "rw_mae": [0.012], "n": [14]}).astype(float).iloc[0]
    text = daily_verdict(row)
    assert "n = 14)" in text and "14.0" not in text


def test_running_plot_with_one_or_two_scored_days_draws_without_warnings():
    import warnings

    for n in (1, 2):
        done = scoreboard.only_scored(realised(n=n))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # matplotlib's date locator warns on tiny ranges
            assert running_plot(scoreboard.cumulative(done, by=("horizon",))) is not None
