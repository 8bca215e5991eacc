"""stackcast.reports.trading against hand-worked examples with costs.

Positions decided at a close are filled at the next bar: its open (``next_open``) or its close
(``next_close``, and wherever the source has no open).
"""

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
CFG = ReportConfig(
    cost_bps=10.0, periods_per_year=4, risk_free=0.0, fill="next_close"
)  # 4 bars = 1 year
# long/flat at the next close: p = [1, 0, 1, 1] earns the previous bar's p: [0, 1, 0, 1] * R,
# turnover |p - p_prev| = [1, 1, 1, 0] at 10 bps.
LF_NET = [-0.001, -0.011, -0.001, 0.05]
LF_TOTAL = 0.999 * 0.989 * 0.999 * 1.05 - 1


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


def test_performance_by_hand():
    # net = [0.019, -0.001, -0.031, 0.05] from positions [1, 0, 1, 1] and R = SIMPLE.
    net_hand = np.array([0.019, -0.001, -0.031, 0.05])
    pos = np.array([1.0, 0, 1, 1])
    gross = pos * np.array(SIMPLE)
    turnover = np.array([1.0, 1, 1, 0])
    # equity: 1.019, 1.019*0.999 = 1.017981, *0.969 = 0.986423589, *1.05 = 1.03574476845
    eq = equity_curve(net_hand)
    np.testing.assert_allclose(eq, [1, 1.019, 1.017981, 0.986423589, 1.03574476845], rtol=1e-12)
    # peak 1.019, trough 0.986423589: drawdown = 0.999 * 0.969 - 1 = -0.031969
    assert drawdown(eq).min() == pytest.approx(-0.031969)

    p = performance(net_hand, gross, turnover, pos, periods_per_year=4, risk_free=0.0)
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


def test_strategy_returns_next_close_by_hand():
    pos = positions(np.array(Y_PRED), "long_flat")
    prev = np.concatenate([[0.0], pos[:-1]])
    net, gross, turnover, held = strategy_returns(pos, prev, np.log1p(SIMPLE), None, 10.0)
    assert turnover.tolist() == [1, 1, 1, 0]
    assert held.tolist() == [0, 1, 0, 1]  # the previous close's decision holds the bar
    np.testing.assert_allclose(gross, [0, -0.01, 0, 0.05], atol=1e-12)
    np.testing.assert_allclose(net, LF_NET, atol=1e-12)


def test_simulate_next_close_by_hand_all_rules():
    res = simulate(frame(), CFG)
    rows = {r["strategy"]: r for r in res.rows}
    assert [r["name"] for r in res.rows] == ["AAA"] * 3  # one ticker: no portfolio
    assert rows["long_flat"]["total_return"] == pytest.approx(LF_TOTAL)
    # long/short: p = [1, -1, 1, 1], held [0, 1, -1, 1], turnover [1, 2, 2, 0]
    # net = [-.001, -0.01 - .002, 0.03 - .002, 0.05]
    ls = 0.999 * 0.988 * 1.028 * 1.05 - 1
    assert rows["long_short"]["total_return"] == pytest.approx(ls)
    assert rows["long_short"]["turnover"] == pytest.approx((1 + 2 + 2 + 0) / 4 * 4)
    # buy & hold: held [0, 1, 1, 1] (bought at the first bar's close), turnover [1, 0, 0, 0]
    bh = 0.999 * 0.99 * 0.97 * 1.05 - 1
    assert rows["buy_hold"]["total_return"] == pytest.approx(bh)
    assert rows["buy_hold"]["hit_rate"] == pytest.approx(1 / 3)  # in market on 3 bars: -, -, +
    assert rows["buy_hold"]["exposure"] == pytest.approx(0.75)
    curves = res.curves["AAA"]
    assert curves.index[0] == pd.Timestamp("2024-01-01")  # starts at the first origin
    assert curves.index[-1] == pd.Timestamp("2024-01-05")  # ends at the last target date
    assert curves["buy_hold"].iloc[-1] == pytest.approx(1 + bh)
    assert res.fill == "next_close" and res.fills == {"next_open": 0, "next_close": 4}
    assert res.fill_note.startswith("Fill: next close")
    json.dumps(res.to_json(), allow_nan=False)


# A hand-made path: closes C0..C4 on the five dates, opens O1..O4 (O0 is never used).
CLOSE = [100.0, 102.0, 101.0, 98.0, 103.0]
OPEN = [99.0, 101.0, 103.0, 99.0, 100.0]


def path_frames(close=CLOSE, open_=OPEN, y_pred=Y_PRED, ticker="AAA"):
    """Predictions whose ``y_true`` are the path's close-to-close log returns, and its prices."""
    dates = pd.bdate_range("2024-01-01", periods=len(close))
    simple = np.array(close[1:]) / np.array(close[:-1]) - 1
    pr = frame(ticker, y_pred=y_pred, simple=simple)
    px = pd.DataFrame({"ticker": ticker, "date": dates, "open": open_, "close": close})
    return pr, px


def test_next_open_fill_is_a_round_trip_at_opens():
    pr, px = path_frames()
    free = ReportConfig(cost_bps=0.0, periods_per_year=4, fill="next_open")
    res = simulate(pr, free, px)
    lf = {r["strategy"]: r for r in res.rows}["long_flat"]
    # p = [1, 0, 1, 1]: long bought at the open of Jan 2 (101), sold at the open of Jan 3 (103),
    # bought at the open of Jan 4 (99) and marked at the last close (103).
    assert lf["total_return"] == pytest.approx(103 / 101 * 103 / 99 - 1)
    assert res.fills == {"next_open": 4, "next_close": 0} and res.fallback == {}
    assert "next open" in res.fill_note and "fell back" not in res.fill_note
    bh = {r["strategy"]: r for r in res.rows}["buy_hold"]
    assert bh["total_return"] == pytest.approx(103 / 101 - 1)  # bought at the first next open
    # The same at the next close: bought at 102, sold at 101; bought at 98, marked at 103.
    closed = simulate(pr, free.model_copy(update={"fill": "next_close"}), px)
    lf = {r["strategy"]: r for r in closed.rows}["long_flat"]
    assert lf["total_return"] == pytest.approx(101 / 102 * 103 / 98 - 1)
    # With costs (10 bps a unit, paid on the bar of each trade at the open):
    res = simulate(pr, CFG.model_copy(update={"fill": "next_open"}), px)
    lf = {r["strategy"]: r for r in res.rows}["long_flat"]
    nets = [102 / 101 - 1.001, 103 / 102 - 1.001, 98 / 99 - 1.001, 103 / 98 - 1]
    assert lf["total_return"] == pytest.approx(np.prod(1 + np.array(nets)) - 1)


@pytest.mark.parametrize("fill", ["next_open", "next_close"])
def test_no_entry_at_or_before_the_signal_close(fill):
    # One long decided at the close of origin k; every price at or before that close changes,
    # and the trade's P&L must not.
    rng = np.random.default_rng(7)
    n, k = 30, 12
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    open_ = close * np.exp(rng.normal(0, 0.01, n))
    y_pred = np.where(np.arange(n - 1) == k, 0.01, -0.01)
    cfg = ReportConfig(cost_bps=5.0, periods_per_year=252, fill=fill)

    def long_flat(c, o):
        pr, px = path_frames(list(c), list(o), y_pred)
        return {r["strategy"]: r for r in simulate(pr, cfg, px).rows}["long_flat"]

    base = long_flat(close, open_)
    shaken = close.copy(), open_.copy()
    shaken[0][: k + 1] *= rng.uniform(0.5, 1.5, k + 1)
    shaken[1][: k + 1] *= rng.uniform(0.5, 1.5, k + 1)
    assert long_flat(*shaken)["total_return"] == pytest.approx(base["total_return"], abs=1e-12)
    # Costs (5 bps a unit) are paid on the bar of each trade: buy at k + 1, sell at k + 2.
    c = 5e-4
    if fill == "next_open":  # in at the open of k + 1, out at the open of k + 2
        legs = (close[k + 1] / open_[k + 1] - c) * (open_[k + 2] / close[k + 1] - c)
    else:  # in at the close of k + 1, out at the close of k + 2
        legs = (1 - c) * (close[k + 2] / close[k + 1] - c)
    assert base["total_return"] == pytest.approx(legs - 1, abs=1e-12)
    # ...while the entry price does move it.
    moved = (close.copy(), open_.copy())
    moved[0 if fill == "next_close" else 1][k + 1] *= 1.1
    assert long_flat(*moved)["total_return"] != pytest.approx(base["total_return"])


def test_missing_opens_fall_back_to_the_next_close():
    pr, px = path_frames()
    qr, qx = path_frames(ticker="BBB")
    qx["open"] = np.nan  # a close-only source
    px.loc[2, "open"] = np.nan  # one missing open: that bar fills at its close
    res = simulate(
        pd.concat([pr, qr]), CFG.model_copy(update={"fill": "next_open"}), pd.concat([px, qx])
    )
    assert res.fills == {"next_open": 3, "next_close": 5}
    assert res.fallback == {"AAA": 1, "BBB": 4}
    assert "no open for 5 of 8 bars" in res.fill_note and "BBB (4)" in res.fill_note
    bbb = {r["strategy"]: r for r in res.rows if r["name"] == "BBB"}["long_flat"]
    close_only = simulate(qr, CFG).rows[0]
    assert bbb["total_return"] == pytest.approx(close_only["total_return"])
    assert res.to_json()["fallback"] == {"AAA": 1, "BBB": 4}
    # The default asks for the next open; without any prices every bar falls back.
    assert ReportConfig().fill == "next_open"
    res = simulate(frame(), CFG.model_copy(update={"fill": "next_open"}))
    assert res.fallback == {"AAA": 4} and res.rows[0]["total_return"] == pytest.approx(LF_TOTAL)


def test_risk_free_lowers_sharpe():
    rf = 1.01**4 - 1  # 1% per bar
    p0 = simulate(frame(), CFG).rows[0]
    p1 = simulate(frame(), CFG.model_copy(update={"risk_free": rf})).rows[0]
    net = np.array(LF_NET)
    assert p1["sharpe"] == pytest.approx((net - 0.01).mean() / net.std(ddof=1) * 2)
    assert p1["sharpe"] < p0["sharpe"]


def test_unknown_outcomes_dropped_and_missing_forecast_is_flat():
    df = frame(y_pred=[0.01, np.nan, 0.03, 0.01, 0.02], simple=[0.02, -0.01, -0.03, 0.05, 0.0])
    df.loc[4, "y_true"] = np.nan  # the last origin's outcome is not known yet
    row = simulate(df, CFG).rows[0]
    assert row["bars"] == 4
    assert row["total_return"] == pytest.approx(LF_TOTAL)  # same as the hand example


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
    assert bh["total_return"] == pytest.approx(0.999 * 1.03 * 1.05 - 1)  # bought at Tue's close


def test_equal_weight_portfolio():
    a = frame("AAA")
    b = frame("BBB", y_pred=[-0.01, -0.01], simple=[0.01, -0.02], start="2024-01-02")
    res = simulate(pd.concat([a, b]), CFG)
    assert list(res.curves) == [PORTFOLIO, "AAA", "BBB"]
    assert [r["name"] for r in res.rows[:3]] == [PORTFOLIO] * 3
    port = {r["strategy"]: r for r in res.rows if r["name"] == PORTFOLIO}
    # buy & hold nets by realisation date: AAA [-.001, -.01, -.03, .05] from Jan 2;
    # BBB [-.001, -.02] on Jan 3, 4 -> mean over tickers trading that day.
    nets = [-0.001, (-0.01 - 0.001) / 2, (-0.03 - 0.02) / 2, 0.05]
    assert port["buy_hold"]["total_return"] == pytest.approx(np.prod(1 + np.array(nets)) - 1)
    assert res.curves[PORTFOLIO].index[0] == pd.Timestamp("2024-01-01")


def test_an_unobserved_next_bar_reads_the_return_from_the_horizon_reaching_the_next_origin():
    """Origin 1's horizon-1 bar is unobserved: its return to origin 2 comes from horizon 2."""
    one = frame(y_pred=[0.01, -0.02, 0.03], simple=[0.02, -0.01, -0.03])
    one.loc[1, "y_true"] = np.nan  # no bar the day after origin 1
    origins = one["origin"]
    two = one.assign(horizon=2, y_true=[0.5, math.log(1.04), 0.7], target_date=origins.shift(-1))
    two.loc[0, "target_date"] = origins[0] + pd.offsets.BDay(2)
    other = two.assign(ticker="BBB", y_true=9.0)  # another ticker's row: never linked
    dup = two.iloc[[1]].assign(y_true=5.0)  # a later duplicate of the link: the first is used
    pr = pd.concat([one, two, other, dup], ignore_index=True)
    bars = trading_bars(pr)
    got = bars.loc[bars["ticker"] == "AAA"].reset_index(drop=True)
    want = [math.log1p(0.02), math.log(1.04), math.log1p(-0.03)]
    assert got["ret"].tolist() == pytest.approx(want)
    assert got["end"].tolist() == [one["target_date"][0], origins[2], one["target_date"][2]]
    assert got["prev_pred"].isna().tolist() == [True, False, False]
    # Without the link (the horizon-2 rows gone) the bar has no known return and is dropped.
    alone = trading_bars(one)
    assert alone["origin"].tolist() == [origins[0], origins[2]]
