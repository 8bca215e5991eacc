"""stackcast.reports.trading against a hand-worked example with costs."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from stackcast.reports.config import ReportConfig
from stackcast.reports.trading import (
    PORTFOLIO,
    drawdown,
    equity_curve,
    performance,
    positions,
    simulate,
    strategy_returns,
    trading_bars,
)

# Four bars. Forecasts and realised simple returns; y_true is the log return.
Y_PRED = [0.01, -0.02, 0.03, 0.01]
SIMPLE = [0.02, -0.01, -0.03, 0.05]
CFG = ReportConfig(cost_bps=10.0, periods_per_year=4, risk_free=0.0)  # 4 bars = 1 year


def frame(ticker: str = "AAA", y_pred=Y_PRED, simple=SIMPLE, start="2024-01-01") -> pd.DataFrame:
    origin = pd.bdate_range(start, periods=len(y_pred))
    return pd.DataFrame(
        {
            "ticker": ticker,
            "origin": origin,
            "horizon": 1,
            "target_date": origin + pd.offsets.BDay(1),
            "y_true": np.log1p(simple),
            "fold": 0,
            "y_pred": y_pred,
        }
    )


def test_positions():
    assert positions(np.array([0.1, -0.1, 0.0, np.nan]), "long_flat").tolist() == [1, 0, 0, 0]
    assert positions(np.array([0.1, -0.1, 0.0, np.nan]), "long_short").tolist() == [1, -1, 0, 0]
    assert positions(np.array([0.1, -0.1]), "buy_hold").tolist() == [1, 1]
    with pytest.raises(ValueError, match="unknown rule"):
        positions(np.array([0.1]), "martingale")


def test_long_flat_by_hand():
    # positions [1, 0, 1, 1]; turnover |dp| with p[-1] = 0: [1, 1, 1, 0]; cost 10 bps = 0.001
    # gross = p * R = [0.02, 0, -0.03, 0.05]; net = gross - 0.001 * turnover
    #       = [0.019, -0.001, -0.031, 0.05]
    net_hand = [0.019, -0.001, -0.031, 0.05]
    pos = positions(np.array(Y_PRED), "long_flat")
    net, gross, turnover = strategy_returns(pos, np.log1p(SIMPLE), 10.0)
    assert turnover.tolist() == [1, 1, 1, 0]
    np.testing.assert_allclose(net, net_hand, atol=1e-12)
    # equity: 1.019, 1.019*0.999 = 1.017981, *0.969 = 0.986423589, *1.05 = 1.03574476845
    eq = equity_curve(net)
    np.testing.assert_allclose(eq, [1, 1.019, 1.017981, 0.986423589, 1.03574476845], rtol=1e-12)
    # peak 1.019, trough 0.986423589: drawdown = 0.999 * 0.969 - 1 = -0.031969
    assert drawdown(eq).min() == pytest.approx(-0.031969)

    p = performance(net, gross, turnover, pos, periods_per_year=4, risk_free=0.0)
    assert p["bars"] == 4
    assert p["total_return"] == pytest.approx(0.03574476845)
    assert p["cagr"] == pytest.approx(0.03574476845)  # exactly one year of bars
    assert p["max_drawdown"] == pytest.approx(-0.031969)
    assert p["calmar"] == pytest.approx(0.03574476845 / 0.031969)
    mean = (0.019 - 0.001 - 0.031 + 0.05) / 4  # 0.00925
    sd = math.sqrt(sum((r - mean) ** 2 for r in net_hand) / 3)
    assert p["volatility"] == pytest.approx(sd * 2)  # sqrt(4 bars a year)
    assert p["sharpe"] == pytest.approx(mean / sd * 2)
    downside = math.sqrt((0.001**2 + 0.031**2) / 4)  # 0.0155081
    assert p["sortino"] == pytest.approx(mean / downside * 2)
    assert p["turnover"] == pytest.approx(3.0)  # mean 0.75 per bar * 4 bars
    assert p["hit_rate"] == pytest.approx(2 / 3)  # in market on bars 0, 2, 3: +, -, +
    assert p["exposure"] == pytest.approx(0.75)


def test_simulate_by_hand_all_rules():
    res = simulate(frame(), CFG)
    rows = {r["strategy"]: r for r in res.rows}
    assert [r["name"] for r in res.rows] == ["AAA"] * 3  # one ticker: no portfolio
    # long/short: p = [1, -1, 1, 1], turnover [1, 2, 2, 0]
    # net = [0.02 - .001, 0.01 - .002, -0.03 - .002, 0.05] = [0.019, 0.008, -0.032, 0.05]
    ls = 1.019 * 1.008 * 0.968 * 1.05 - 1
    assert rows["long_short"]["total_return"] == pytest.approx(ls)
    assert rows["long_short"]["turnover"] == pytest.approx((1 + 2 + 2 + 0) / 4 * 4)
    # buy & hold: p = [1, 1, 1, 1], turnover [1, 0, 0, 0] (entry is paid once)
    # net = [0.019, -0.01, -0.03, 0.05]
    bh = 1.019 * 0.99 * 0.97 * 1.05 - 1
    assert rows["buy_hold"]["total_return"] == pytest.approx(bh)
    assert rows["buy_hold"]["hit_rate"] == pytest.approx(2 / 4)
    assert rows["long_flat"]["total_return"] == pytest.approx(0.03574476845)
    curves = res.curves["AAA"]
    assert curves.index[0] == pd.Timestamp("2024-01-01")  # starts at the first origin
    assert curves.index[-1] == pd.Timestamp("2024-01-05")  # ends at the last target date
    assert curves["buy_hold"].iloc[-1] == pytest.approx(1 + bh)
    assert curves["long_flat_dd"].min() == pytest.approx(-0.031969)
    json.dumps(res.to_json(), allow_nan=False)


def test_risk_free_lowers_sharpe():
    rf = 1.01**4 - 1  # 1% per bar
    p0 = simulate(frame(), CFG).rows[0]
    p1 = simulate(frame(), CFG.model_copy(update={"risk_free": rf})).rows[0]
    net = np.array([0.019, -0.001, -0.031, 0.05])
    assert p1["sharpe"] == pytest.approx((net - 0.01).mean() / net.std(ddof=1) * 2)
    assert p1["sharpe"] < p0["sharpe"]


def test_unknown_outcomes_dropped_and_missing_forecast_is_flat():
    df = frame(y_pred=[0.01, np.nan, 0.03, 0.01, 0.02], simple=[0.02, -0.01, -0.03, 0.05, 0.0])
    df.loc[4, "y_true"] = np.nan  # the last origin's outcome is not known yet
    row = simulate(df, CFG).rows[0]
    assert row["bars"] == 4
    assert row["total_return"] == pytest.approx(0.03574476845)  # same as the hand example


def test_holiday_bar_is_bridged_by_the_next_horizon():
    # Origins Mon 1, Tue 2, Thu 4 Jan; Wed 3 is a holiday: Tue's h=1 target is unobserved, its
    # h=2 target (Thu) is the next origin, so the Tue -> Thu return is still traded.
    o = pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-04"])
    rows = []
    for origin, h1, h2 in zip(o, [0.02, np.nan, 0.05], [0.0, 0.03, np.nan], strict=True):
        for h, r in ((1, h1), (2, h2)):
            rows.append(
                {
                    "ticker": "AAA",
                    "origin": origin,
                    "horizon": h,
                    "y_pred": 0.01,
                    "target_date": origin + pd.Timedelta(days=h),
                    "y_true": np.log1p(r),
                }
            )
    df = pd.DataFrame(rows)
    bars = trading_bars(df)
    assert bars["end"].dt.day.tolist() == [2, 4, 5]
    np.testing.assert_allclose(np.expm1(bars["ret"]), [0.02, 0.03, 0.05])
    res = simulate(df, CFG)
    bh = {r["strategy"]: r for r in res.rows}["buy_hold"]
    assert bh["total_return"] == pytest.approx(1.019 * 1.03 * 1.05 - 1)


def test_equal_weight_portfolio():
    a = frame("AAA")
    b = frame("BBB", y_pred=[-0.01, -0.01], simple=[0.01, -0.02], start="2024-01-02")
    res = simulate(pd.concat([a, b]), CFG)
    assert list(res.curves) == [PORTFOLIO, "AAA", "BBB"]
    assert [r["name"] for r in res.rows[:3]] == [PORTFOLIO] * 3
    port = {r["strategy"]: r for r in res.rows if r["name"] == PORTFOLIO}
    # buy & hold nets by realisation date: AAA [.019, -.01, -.03, .05] from Jan 2;
    # BBB [.01 - .001, -.02] on Jan 3, 4 -> mean over tickers trading that day.
    nets = [0.019, (-0.01 + 0.009) / 2, (-0.03 - 0.02) / 2, 0.05]
    assert port["buy_hold"]["total_return"] == pytest.approx(np.prod(1 + np.array(nets)) - 1)
    assert res.curves[PORTFOLIO].index[0] == pd.Timestamp("2024-01-01")
