"""Denominators said out loud: per-fold MASE scales, relative MAE, unscored tickers, coverage
by fold and by ticker."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from stackcast.reports.config import ReportConfig
from stackcast.reports.coverage import coverage_groups
from stackcast.reports.denominators import scale_lookup
from stackcast.reports.metrics import evaluate

from tests.reports import synth


def _fold_scales(pr: pd.DataFrame, value: float, skip: tuple[str, int] | None = None):
    rows = [
        {"ticker": t, "horizon": h, "fold": f, "scale": value * f}
        for t in sorted(pr["ticker"].unique())
        for f in sorted(pr["fold"].unique())
        for h in range(1, 6)
        if (t, f) != skip
    ]
    return pd.DataFrame(rows)


def test_mase_divides_by_the_scale_of_the_rows_own_fold() -> None:
    px = synth.prices()
    pr = synth.predictions(px)
    out = evaluate(pr, _fold_scales(pr, 0.01), ReportConfig())
    known = pr.dropna(subset=["y_true"])
    want = np.mean(np.abs(known["y_true"] - known["y_pred"]) / (0.01 * known["fold"]))
    assert out["model"]["overall"]["mase"] == pytest.approx(want)
    assert out["mase_coverage"] == {
        "rows": len(known), "of": len(known), "share": 1.0, "excluded_tickers": []
    }  # fmt: skip
    assert out["scoring_warnings"] == []
    # (ticker, horizon) keys still apply to every fold
    flat = {(t, h): 0.02 for t in ("AAA", "BBB") for h in range(1, 6)}
    m = evaluate(pr, flat, ReportConfig())["model"]["overall"]
    assert m["mase"] == pytest.approx(m["mae"] / 0.02)


def test_rows_without_a_scale_are_counted_named_and_warned() -> None:
    px = synth.prices()
    pr = synth.predictions(px)
    out = evaluate(pr, _fold_scales(pr, 0.01, skip=("BBB", 1)), ReportConfig())
    known = pr.dropna(subset=["y_true"])
    left = int(((known["ticker"] == "BBB") & (known["fold"] == 1)).sum())
    cov = out["mase_coverage"]
    assert cov["of"] == len(known) and cov["rows"] == len(known) - left
    assert cov["excluded_tickers"] == ["BBB"]
    [warning] = out["scoring_warnings"]
    assert f"MASE leaves out {left} of {len(known)} scored rows" in warning and "BBB" in warning
    kept = known[~((known["ticker"] == "BBB") & (known["fold"] == 1))]
    want = np.mean(np.abs(kept["y_true"] - kept["y_pred"]) / (0.01 * kept["fold"]))
    assert out["model"]["overall"]["mase"] == pytest.approx(want)
    # MAE still covers every row
    assert out["model"]["overall"]["n"] == len(known)


def test_relative_mae_is_the_ratio_to_the_random_walk_on_the_same_rows() -> None:
    px = synth.prices()
    pr = synth.predictions(px)
    out = evaluate(pr, None, ReportConfig())
    rw = out["baselines"]["random_walk"]
    assert rw["overall"]["rel_mae"] == 1.0
    assert all(r["rel_mae"] == 1.0 for r in rw["by_horizon"] + rw["by_ticker"])
    for block in (out["model"], out["baselines"]["drift"]):
        for mine, ref in zip(block["by_horizon"], rw["by_horizon"], strict=True):
            assert mine["rel_mae"] == pytest.approx(mine["mae"] / ref["mae"])
        t = block["by_ticker"][3]
        ref = next(
            r for r in rw["by_ticker"] if (r["ticker"], r["horizon"]) == (t["ticker"], t["horizon"])
        )
        assert t["rel_mae"] == pytest.approx(t["mae"] / ref["mae"])


def test_tickers_without_a_scored_forecast_are_named() -> None:
    px = synth.prices()
    pr = synth.predictions(px)
    unknown = pr[pr["ticker"] == "AAA"].assign(ticker="NEW", y_true=np.nan)
    frame = pd.concat([pr, unknown], ignore_index=True)
    tickers = {"AAA": "2021-07-14", "BBB": "2021-07-14", "NEW": "2021-07-14", "YHOO": "2017-06-16"}
    out = evaluate(frame, None, ReportConfig(), tickers=tickers)
    assert [u["ticker"] for u in out["unscored"]] == ["NEW", "YHOO"]
    first = pd.Timestamp(pr["origin"].min()).date()
    yhoo = out["unscored"][1]
    assert yhoo["last_bar"] == "2017-06-16"
    assert yhoo["reason"] == f"its prices end 2017-06-16, before the first test origin {first}"
    assert "known outcome" in out["unscored"][0]["reason"]
    assert any(w.startswith("YHOO is not scored") for w in out["scoring_warnings"])
    assert out["tickers"] == ["AAA", "BBB"]


def test_coverage_by_fold_flags_folds_outside_two_standard_errors() -> None:
    # three folds of 400 rows each at 70%, 80% and 90% coverage of an 80% band: se = 2 points
    n = 400
    cover = np.r_[np.arange(n) < 280, np.arange(n) < 320, np.arange(n) < 360]
    df = pd.DataFrame(
        {
            "fold": np.repeat([1, 2, 3], n),
            "ticker": np.tile(["AAA", "BBB"], 3 * n // 2),
            "y_true": np.where(cover, 0.0, 5.0),
            "lo": -1.0,
            "hi": 1.0,
        }
    )
    rows = coverage_groups(df, "fold", 0.8)
    assert [r["coverage"] for r in rows] == [0.7, 0.8, 0.9]
    assert [r["flag"] for r in rows] == ["low", None, "high"]
    assert rows[0]["low"] == pytest.approx(0.76) and rows[0]["high"] == pytest.approx(0.84)
    assert [r["ticker"] for r in coverage_groups(df, "ticker", 0.8)] == ["AAA", "BBB"]
    assert coverage_groups(df.assign(lo=np.nan), "fold", 0.8) == []


def test_scale_lookup_keeps_the_fold() -> None:
    frame = pd.DataFrame(
        {"ticker": ["A", "A"], "horizon": [1, 1], "fold": [1, 2], "scale": [0.01, 0.0]}
    )
    assert scale_lookup(frame) == {("A", 1, 1): 0.01}  # a zero scale is unusable
    assert scale_lookup({("A", 2, 3): 0.5}) == {("A", 2, 3): 0.5}


def test_the_report_shows_relative_mae_coverage_by_fold_and_who_is_left_out() -> None:
    from stackcast.reports.html import ReportData, render_report

    px = synth.prices(n=260)
    pr = synth.predictions(px, folds=2, test_size=40)
    headline = evaluate(
        pr,
        _fold_scales(pr, 0.01, skip=("BBB", 1)),
        ReportConfig(),
        nominal_coverage=0.8,
        tickers={"AAA": None, "BBB": None, "YHOO": "2019-12-31"},
    )
    html = render_report(
        ReportData(title="t", run_id="r", created="c", headline=headline, audit=synth.audit(2))
    )
    head = html.split('id="headline"')[1].split("</section>")[0]
    assert "<th>rel. MAE</th>" in head and "not a defect" in head
    assert f"MASE covers {headline['mase_coverage']['rows']} of" in head
    assert "YHOO is not scored: its prices end 2019-12-31" in head
    assert (
        "<h3>Interval coverage by fold</h3>" in head and "<h3>Interval coverage by ticker" in head
    )
    folds = head.split('aria-label="coverage by fold"')[1].split("</table>")[0]
    for r in headline["coverage"]["by_fold"]:
        assert f"<td>{100 * r['coverage']:.1f}%</td>" in folds
    rw_rows = [r for r in headline["baselines"]["random_walk"]["by_horizon"]]
    assert all(r["rel_mae"] == 1.0 for r in rw_rows)
