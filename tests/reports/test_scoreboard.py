from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from stackcast.reports import scoreboard


def _prices() -> dict[str, pd.DataFrame]:
    # 2024-01-01 is a Monday; 01-03 is missing for BBB (a gap).
    aaa = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]),
            "close": [100.0, 110.0, 99.0, 121.0],
        }
    )
    bbb = pd.DataFrame(
        {"date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-04"]), "close": [50.0] * 3}
    )
    return {"AAA": aaa, "BBB": bbb}


def _forecasts() -> pd.DataFrame:
    rows = [
        # ticker, origin, horizon, target, y_pred, lo, hi, model
        ("AAA", "2024-01-01", 1, "2024-01-02", 0.05, 0.0, 0.2, "m"),  # y_true = log(1.1)
        ("AAA", "2024-01-01", 2, "2024-01-03", 0.02, -0.2, -0.05, "m"),  # log(0.99)
        ("AAA", "2024-01-02", 1, "2024-01-03", -0.10, -0.2, 0.0, "m"),  # log(0.9)
        ("AAA", "2024-01-04", 1, "2024-01-05", 0.01, -0.1, 0.1, "m"),  # pending
        ("BBB", "2024-01-02", 1, "2024-01-03", 0.01, np.nan, np.nan, "m"),  # missing (gap)
        ("BBB", "2024-01-02", 2, "2024-01-04", -0.01, np.nan, np.nan, "m"),  # y_true = 0
        ("CCC", "2024-01-02", 1, "2024-01-03", 0.01, np.nan, np.nan, "m"),  # no prices: pending
    ]
    df = pd.DataFrame(
        rows,
        columns=["ticker", "origin", "horizon", "target_date", "y_pred", "lo", "hi", "model_name"],
    )
    df["origin"] = pd.to_datetime(df["origin"])
    df["target_date"] = pd.to_datetime(df["target_date"])
    df["origin_close"] = 1.0
    return df


def test_realise_fills_y_true_and_status() -> None:
    out = scoreboard.realise(_forecasts(), _prices())
    assert list(out["status"]) == [
        "scored",
        "scored",
        "scored",
        "pending",
        "missing",
        "scored",
        "pending",
    ]
    expected = [math.log(1.1), math.log(0.99), math.log(0.9), np.nan, np.nan, 0.0, np.nan]
    np.testing.assert_allclose(out["y_true"].to_numpy(), expected, rtol=1e-12)
    # the origin close comes from the prices, not from the ledger's origin_close column
    assert out["close_origin"].iloc[0] == 100.0
    assert out["close_target"].iloc[2] == 99.0


def test_realise_falls_back_to_ledger_origin_close() -> None:
    df = _forecasts().iloc[[0]].copy()
    df["origin"] = pd.Timestamp("2023-12-29")  # not in the price frame
    df["origin_close"] = 88.0
    out = scoreboard.realise(df, _prices())
    assert out["y_true"].iloc[0] == pytest.approx(math.log(110.0 / 88.0))


def test_summary_by_horizon_hand_computed() -> None:
    realised = scoreboard.realise(_forecasts(), _prices())
    s = scoreboard.summary(realised, by=("model_name", "horizon")).set_index("horizon")
    # horizon 1, scored rows: (y_pred, y_true) = (0.05, log 1.1), (-0.10, log 0.9)
    a, b = math.log(1.1), math.log(0.9)
    h1 = s.loc[1]
    assert h1["n"] == 2
    assert h1["mae"] == pytest.approx((abs(0.05 - a) + abs(-0.10 - b)) / 2)
    assert h1["rmse"] == pytest.approx(math.sqrt(((0.05 - a) ** 2 + (-0.10 - b) ** 2) / 2))
    assert h1["rw_mae"] == pytest.approx((abs(a) + abs(b)) / 2)
    assert h1["rw_rmse"] == pytest.approx(math.sqrt((a**2 + b**2) / 2))
    assert h1["mae_ratio"] == pytest.approx(h1["mae"] / h1["rw_mae"])
    assert h1["dir_acc"] == 1.0
    assert h1["up_share"] == 0.5
    # bands: log 1.1 = 0.0953 in [0, 0.2]; log 0.9 = -0.105 in [-0.2, 0]
    assert h1["coverage"] == 1.0
    # horizon 2: (0.02, log 0.99) wrong sign; (-0.01, 0.0) has no move -> left out of dir_acc
    h2 = s.loc[2]
    c = math.log(0.99)
    assert h2["n"] == 2
    assert h2["mae"] == pytest.approx((abs(0.02 - c) + 0.01) / 2)
    assert h2["dir_acc"] == 0.0
    assert h2["up_share"] == 0.0
    # only the AAA row has a band, and log 0.99 = -0.01 is outside [-0.2, -0.05]
    assert h2["coverage"] == 0.0


def test_summary_overall_and_by_ticker() -> None:
    realised = scoreboard.realise(_forecasts(), _prices())
    overall = scoreboard.summary(realised, by=())
    assert len(overall) == 1
    assert overall["n"].iloc[0] == 4
    by_ticker = scoreboard.summary(realised, by=("ticker",))
    assert dict(zip(by_ticker["ticker"], by_ticker["n"], strict=True)) == {"AAA": 3, "BBB": 1}
    bbb = by_ticker.set_index("ticker").loc["BBB"]
    assert bbb["rw_mae"] == 0.0
    assert np.isnan(bbb["mae_ratio"])  # no random-walk error to compare with
    assert np.isnan(bbb["dir_acc"])  # no move


def test_cumulative_runs_over_target_dates() -> None:
    realised = scoreboard.realise(_forecasts(), _prices())
    cum = scoreboard.cumulative(realised)
    assert list(cum["date"]) == list(pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"]))
    assert list(cum["n"]) == [1, 3, 4]
    a, b, c = math.log(1.1), math.log(0.99), math.log(0.9)
    errors = [abs(0.05 - a), abs(0.02 - b), abs(-0.10 - c), 0.01]
    assert cum["mae"].iloc[0] == pytest.approx(errors[0])
    assert cum["mae"].iloc[1] == pytest.approx(sum(errors[:3]) / 3)
    assert cum["mae"].iloc[2] == pytest.approx(sum(errors) / 4)
    assert cum["rw_mae"].iloc[2] == pytest.approx((abs(a) + abs(b) + abs(c)) / 4)
    # hits: day 1 right; day 2 one wrong (h2), one right (h1); day 3 no move
    assert list(cum["dir_acc"]) == pytest.approx([1.0, 2 / 3, 2 / 3])
    per_h = scoreboard.cumulative(realised, by=("horizon",))
    assert set(per_h["horizon"]) == {1, 2}
    assert per_h[per_h["horizon"] == 2]["n"].tolist() == [1, 2]


def test_empty_inputs() -> None:
    realised = scoreboard.realise(_forecasts().iloc[:0], _prices())
    assert realised.empty
    assert scoreboard.summary(realised).empty
    assert scoreboard.summary(realised, by=())["n"].iloc[0] == 0
    assert scoreboard.cumulative(realised).empty


def _scored_book(n: int, inside: int) -> pd.DataFrame:
    """``n`` scored horizon-1 rows, the first ``inside`` of them inside their band."""
    origin = pd.bdate_range("2024-01-01", periods=n)
    y = 0.01 + 0.004 * np.sin(np.arange(n))
    lo = np.where(np.arange(n) < inside, y - 0.01, y + 0.001)
    return pd.DataFrame(
        {
            "ticker": "AAA",
            "origin": origin,
            "horizon": 1,
            "target_date": origin + pd.offsets.BDay(1),
            "y_pred": 0.005,
            "lo": lo,
            "hi": lo + 0.02,
            "model_name": "m",
            "y_true": y,
            "status": scoreboard.SCORED,
        }
    )


def test_summary_with_a_nominal_level_warns_on_low_coverage() -> None:
    low = scoreboard.summary(_scored_book(100, 60), by=("horizon",), nominal=0.8)
    assert low.loc[0, "coverage"] == pytest.approx(0.6) and low.loc[0, "coverage_n"] == 100
    assert low.loc[0, "coverage_nominal"] == 0.8
    (warning,) = scoreboard.coverage_warnings(low)
    assert warning.startswith("published forecasts: interval coverage at horizon 1 is 60.0%")
    fine = scoreboard.summary(_scored_book(100, 78), by=("horizon",), nominal=0.8)
    assert scoreboard.coverage_warnings(fine) == []  # 2 points short: within sampling error
    # Without a nominal level there is nothing to compare with.
    assert (
        scoreboard.coverage_warnings(scoreboard.summary(_scored_book(100, 60), ("horizon",))) == []
    )


def test_daily_page_and_index_sentence_give_numbers_not_a_bare_beats() -> None:
    from stackcast.reports.daily import DailyData, daily_verdict, render_daily

    score = scoreboard.summary(_scored_book(14, 5), by=("horizon",), nominal=0.8)
    row = score.iloc[0]  # mixed dtypes: n comes back as a float here
    sentence = daily_verdict(row)
    assert "n = 14)" in sentence and "n = 14.0" not in sentence
    assert "beats" not in sentence and "too few scored forecasts" in sentence
    assert re.search(r"MAE \d\.\d{3}% vs random walk \d\.\d{3}% \(n = 14\)", sentence)
    many = scoreboard.summary(_scored_book(40, 30), by=("horizon",), nominal=0.8)
    assert "Diebold-Mariano p = " in daily_verdict(many.iloc[0])

    forecasts = pd.DataFrame(
        columns=["ticker", "origin", "horizon", "target_date", "y_pred", "lo", "hi"]
    )
    html = render_daily(
        DailyData(
            "t",
            "r",
            "now",
            "2024-02-01",
            {"name": "m", "version": "v1", "seen_until": None},
            forecasts,
            score,
        )
    )
    board = html.split('id="scoreboard"')[1].split("</section>")[0]
    assert "beats" not in board
    assert "too few scored forecasts for a test (n = 14 &lt; 30)" in board
    assert "interval coverage at horizon 1 is 35.7%" in board and "nominal 80%" in board


def test_scoreboard_dm_is_the_backtests_pooled_test_over_dates() -> None:
    """Rows of 3 tickers in any order: one p-value, from the loss averaged per origin date."""
    from stackcast.reports.significance import diebold_mariano, dm_tables

    rng = np.random.default_rng(5)
    origins = pd.bdate_range("2024-01-01", periods=40)
    rows = pd.DataFrame(
        {
            "ticker": np.tile(["A", "B", "C"], 40),
            "origin": np.repeat(origins, 3),
            "horizon": 2,
            "y_true": rng.normal(0, 0.01, 120),
            "y_pred": rng.normal(0, 0.005, 120),
        }
    )
    shuffled = rows.sample(frac=1, random_state=1)
    p = scoreboard.dm_p_value(shuffled, 2)
    d = (rows["y_pred"] - rows["y_true"]) ** 2 - rows["y_true"] ** 2
    per_date = d.groupby(rows["origin"]).mean().to_numpy()
    assert p == pytest.approx(diebold_mariano(per_date, 2)["p_one_sided"])
    assert p == pytest.approx(dm_tables(rows, 0.05)[1][0]["p_one_sided"])
    assert np.isnan(scoreboard.dm_p_value(rows.head(29), 2))  # fewer than MIN_DM rows
    # 30 rows but only 10 origin dates: too few dates for the test.
    assert np.isnan(scoreboard.dm_p_value(rows.head(30), 2))
    assert scoreboard.dm_note(30, 10, 2) == "too few origin dates for a test (10 < 30)"
    assert scoreboard.min_dates(5) == 75 and scoreboard.dm_note(75, 75, 5) is None
