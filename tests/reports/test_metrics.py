"""stackcast.reports.metrics against values worked out by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from stackcast.reports.config import ReportConfig
from stackcast.reports.metrics import (
    coverage_warnings,
    error_by_fold,
    evaluate,
    interval_metrics,
    point_metrics,
    scale_lookup,
)
from stackcast.reports.significance import binomial_p, diebold_mariano, holm
from stackcast.reports.verdicts import format_p, verdict_sentence

from tests.reports import synth


def frame(ticker: str, y: list[float], pred: list[float], h: int = 1, **cols) -> pd.DataFrame:
    n = len(y)
    origin = pd.bdate_range("2024-01-01", periods=n)
    return pd.DataFrame(
        {
            "ticker": ticker,
            "origin": origin,
            "horizon": h,
            "target_date": origin + pd.offsets.BDay(h),
            "y_true": y,
            "fold": 0,
            "y_pred": pred,
            "random_walk": 0.0,
            **cols,
        }
    )


def test_point_metrics_by_hand():
    y = np.array([0.01, -0.02, 0.03, 0.0])
    pred = np.array([0.02, -0.01, -0.01, 0.01])
    m = point_metrics(y, pred, np.full(4, 0.02))
    # e = y - pred = [-0.01, -0.01, 0.04, -0.01]
    assert m["n"] == 4
    assert m["mae"] == pytest.approx(0.07 / 4)  # (.01 + .01 + .04 + .01) / 4
    assert m["rmse"] == pytest.approx(math.sqrt((3 * 1e-4 + 16e-4) / 4))
    assert m["bias"] == pytest.approx(0.01 / 4)
    assert m["mase"] == pytest.approx(0.0175 / 0.02)  # 0.875
    # Direction: y == 0 (last row) is ignored; signs (+,-,-) vs (+,-,+): 2 hits of 3.
    assert m["dir_n"] == 3
    assert m["dir_acc"] == pytest.approx(2 / 3)
    # P(X >= 2 | n=3, p=.5) = (C(3,2) + C(3,3)) / 8 = 4/8.
    assert m["dir_p"] == pytest.approx(0.5)


def test_binomial_p_by_hand():
    # P(X >= 7 | n=10) = (C(10,7) + C(10,8) + C(10,9) + C(10,10)) / 2**10 = 176 / 1024
    assert binomial_p(7, 10) == pytest.approx(176 / 1024)
    assert binomial_p(0, 0) is None


def test_binomial_ps_equals_binomtest_exactly():
    from stackcast.reports.significance import binomial_ps

    pairs = [
        (k, n) for n in (0, 1, 2, 3, 10, 57, 251, 1000) for k in range(0, n + 1, max(1, n // 9))
    ]
    got = binomial_ps(np.array([k for k, _ in pairs]), np.array([n for _, n in pairs]))
    want = [
        float(stats.binomtest(k, n, 0.5, alternative="greater").pvalue) if n else None
        for k, n in pairs
    ]
    assert got == want  # bit for bit with scipy's binomtest, None for n = 0
    assert binomial_ps(np.array([], dtype=int), np.array([], dtype=int)) == []


def test_zero_forecast_has_no_direction():
    m = point_metrics(np.array([0.01, -0.01]), np.zeros(2), directional=True)
    assert m["dir_acc"] is None and m["dir_p"] is None
    m = point_metrics(np.array([0.01, -0.01]), np.array([0.01, 0.01]), directional=False)
    assert m["dir_acc"] is None


def test_interval_coverage_by_hand():
    y = np.array([0.0, 0.1, -0.1, 0.05])
    lo = np.array([-0.05, -0.05, -0.05, np.nan])
    hi = np.array([0.05, 0.05, 0.05, np.nan])
    m = interval_metrics(y, lo, hi, 0.8)
    assert m["coverage_n"] == 3
    assert m["coverage"] == pytest.approx(1 / 3)
    assert m["coverage_nominal"] == 0.8
    assert m["interval_width"] == pytest.approx(0.1)
    assert interval_metrics(y, lo * np.nan, hi * np.nan, 0.8)["coverage"] is None


def test_dm_rectangular_by_hand():
    # d = [1, 1, -1, -1, -3, -3], h = 2: mean -1, centred [2, 2, 0, 0, -2, -2]
    # gamma0 = 16/6, gamma1 = (4 + 0 + 0 + 0 + 4)/6 = 8/6, V = 16/6 + 2*8/6 = 16/3
    # DM = -1 / sqrt(V/6) = -1 / sqrt(8/9); HLN factor sqrt((6 + 1 - 4 + 2/6)/6) = sqrt(5/9)
    # => stat = -(3 / (2 sqrt 2)) * (sqrt 5 / 3) = -sqrt(5/8)
    res = diebold_mariano(np.array([1, 1, -1, -1, -3, -3.0]), h=2)
    stat = -math.sqrt(5 / 8)
    assert res["variance"] == "rectangular"
    assert res["stat"] == pytest.approx(stat)
    assert res["p_one_sided"] == pytest.approx(stats.t.cdf(stat, df=5))
    assert res["p_two_sided"] == pytest.approx(2 * stats.t.sf(abs(stat), df=5))
    assert res["mean_diff"] == pytest.approx(-1)


def test_dm_h1_by_hand():
    # d = [-1, 0, -2, 1, -3]: mean -1, centred [0, 1, -1, 2, -2], V = gamma0 = 10/5 = 2
    # DM = -1 / sqrt(2/5); HLN sqrt((5 + 1 - 2)/5) = sqrt(4/5) => stat = -sqrt(2)
    res = diebold_mariano(np.array([-1, 0, -2, 1, -3.0]), h=1)
    assert res["stat"] == pytest.approx(-math.sqrt(2))
    assert res["p_one_sided"] == pytest.approx(stats.t.cdf(-math.sqrt(2), df=4))


def test_dm_falls_back_to_bartlett_when_variance_not_positive():
    # d = [1, -2, 0, -3, -1, -1], h = 2: centred [2, -1, 1, -2, 0, 0]
    # gamma0 = 10/6, gamma1 = (-2 - 1 - 2 + 0 + 0)/6 = -5/6 -> rectangular V = 0
    # Bartlett: V = 10/6 + 2 * (1/2) * (-5/6) = 5/6; DM = -1/sqrt(5/36) = -6/sqrt 5
    # HLN sqrt(5/9) => stat = -6/sqrt5 * sqrt5/3 = -2
    res = diebold_mariano(np.array([1, -2, 0, -3, -1, -1.0]), h=2)
    assert res["variance"] == "bartlett"
    assert res["stat"] == pytest.approx(-2.0)
    assert res["p_one_sided"] == pytest.approx(stats.t.cdf(-2.0, df=5))


def test_dm_undefined_cases():
    assert diebold_mariano(np.zeros(20), h=1)["stat"] is None  # identical forecasts
    assert diebold_mariano(np.full(20, 0.1), h=1)["stat"] is None  # constant difference
    assert diebold_mariano(np.array([1.0, -1.0, 2.0]), h=2)["stat"] is None  # too short


def test_evaluate_dm_per_ticker_and_pooled_by_origin():
    rng = np.random.default_rng(3)
    n = 30
    ya, yb = rng.normal(0, 0.01, n), rng.normal(0, 0.01, n)
    pa, pb = 0.5 * ya + rng.normal(0, 0.004, n), rng.normal(0, 0.01, n)
    df = pd.concat([frame("AAA", ya, pa), frame("BBB", yb, pb)], ignore_index=True)
    out = evaluate(df.sample(frac=1, random_state=0), None, ReportConfig())  # order must not matter
    da, db = (pa - ya) ** 2 - ya**2, (pb - yb) ** 2 - yb**2
    per = {e["ticker"]: e for e in out["dm"]["by_ticker"]}
    assert per["AAA"]["stat"] == pytest.approx(diebold_mariano(da, 1)["stat"])
    assert per["BBB"]["stat"] == pytest.approx(diebold_mariano(db, 1)["stat"])
    pooled = out["dm"]["pooled"][0]
    assert pooled["n"] == n and pooled["tickers"] == 2
    assert pooled["stat"] == pytest.approx(diebold_mariano((da + db) / 2, 1)["stat"])
    assert pooled["model_mse"] == pytest.approx(np.mean(((pa - ya) ** 2 + (pb - yb) ** 2) / 2))


def test_evaluate_shape_json_and_verdicts():
    px = synth.prices()
    pr = synth.predictions(px, skill=0.9)
    pr.loc[pr["horizon"] >= 2, "y_pred"] = 0.0  # no skill beyond h = 1
    out = evaluate(pr, synth.scale(px), ReportConfig(significance=0.05), nominal_coverage=0.8)
    json.dumps(out, allow_nan=False)
    assert set(out) >= {"model", "baselines", "dm", "verdicts", "by_fold", "horizons", "n"}
    assert set(out["baselines"]) == {"random_walk", "drift", "ridge"}
    assert out["horizons"] == [1, 2, 3, 4, 5]
    assert out["n"] == int(pr["y_true"].notna().sum())
    assert [r["horizon"] for r in out["model"]["by_horizon"]] == [1, 2, 3, 4, 5]
    assert len(out["model"]["by_ticker"]) == 2 * 5
    assert out["baselines"]["random_walk"]["overall"]["dir_acc"] is None
    assert out["model"]["overall"]["coverage_nominal"] == 0.8
    v = {x["horizon"]: x for x in out["verdicts"]}
    assert v[1]["beats_random_walk"] is True
    assert v[1]["sentence"] == "the model beats a random walk at horizon 1, Holm p < 0.001"
    # A zero forecast is the random walk: the test is undefined, never a win.
    assert v[3]["beats_random_walk"] is False and v[3]["p_value"] is None
    assert v[3]["sentence"] == "the model does not beat a random walk at horizon 3, Holm p = n/a"


def test_evaluate_mase_scale_forms_and_common_rows():
    df = frame("AAA", [0.01, -0.02, np.nan, 0.03], [0.0, -0.01, 0.5, 0.01], drift=0.001)
    df["ridge"] = np.nan  # an absent baseline is dropped, not a reason to drop rows
    d = {("AAA", 1): 0.02}
    s = pd.DataFrame({"ticker": ["AAA"], "horizon": [1], "scale": [0.02]})
    a, b = evaluate(df, d, ReportConfig()), evaluate(df, s, ReportConfig())
    assert scale_lookup(s) == d
    assert set(a["baselines"]) == {"random_walk", "drift"}
    m = a["model"]["overall"]
    assert m["n"] == 3  # the NaN y_true row is left out
    assert m["mae"] == pytest.approx((0.01 + 0.01 + 0.02) / 3)
    assert m["mase"] == pytest.approx(m["mae"] / 0.02)
    assert b["model"]["overall"]["mase"] == pytest.approx(m["mase"])
    assert m["coverage"] is None  # no interval columns
    assert evaluate(df, None, ReportConfig())["model"]["overall"]["mase"] is None


def test_error_by_fold_rows():
    df = pd.concat(
        [
            frame("AAA", [0.01, 0.02], [0.0, 0.0]).assign(fold=0),
            frame("AAA", [0.03, -0.01], [0.01, 0.01]).assign(fold=1),
        ]
    )
    rows = {(r["fold"], r["predictor"]): r for r in error_by_fold(df)}
    assert rows[(0, "model")]["mae"] == pytest.approx(0.015)
    assert rows[(1, "model")]["mae"] == pytest.approx(0.02)  # (.02 + .02)/2
    assert rows[(1, "random_walk")]["rmse"] == pytest.approx(math.sqrt((9e-4 + 1e-4) / 2))


def test_format_p_and_sentence():
    assert format_p(0.41) == "0.41"
    assert format_p(0.0123) == "0.012"
    assert format_p(0.0004) == "< 0.001"
    assert format_p(None) == "n/a"
    assert verdict_sentence(1, False, 0.41) == (
        "the model does not beat a random walk at horizon 1, Holm p = 0.41"
    )
    assert (
        verdict_sentence(5, True, 0.01)
        == "the model beats a random walk at horizon 5, Holm p = 0.010"
    )


def test_holm_on_known_p_values():
    # m = 4 defined: sorted 0.01, 0.02, 0.03, 0.5 -> 4*0.01, max(.04, 3*.02), max(.06, 2*.03), 0.5
    got = holm([0.03, 0.01, None, 0.5, 0.02])
    assert got[2] is None
    assert got == pytest.approx([0.06, 0.04, None, 0.5, 0.06], nan_ok=False)
    assert holm([0.9, 0.8]) == [1.0, 1.0]  # capped at 1, monotone in the sorted order
    assert holm([]) == []


def test_verdicts_use_the_holm_adjusted_p():
    px = synth.prices()
    pr = synth.predictions(px, skill=0.9)
    out = evaluate(pr, synth.scale(px), ReportConfig(significance=0.05), nominal_coverage=0.8)
    pooled = out["dm"]["pooled"]
    assert [e["p_holm"] for e in pooled] == pytest.approx(holm([e["p_one_sided"] for e in pooled]))
    for e, v in zip(pooled, out["verdicts"], strict=True):
        assert v["p_value"] == e["p_holm"] and v["p_raw"] == e["p_one_sided"]
        assert v["beats_random_walk"] == (e["p_holm"] < 0.05 and e["mean_diff"] < 0)
        assert e["p_holm"] >= e["p_one_sided"]
    # Per-ticker flags: one Holm family of every ticker x horizon test.
    rows = out["dm"]["by_ticker"]
    assert [e["p_holm"] for e in rows] == pytest.approx(holm([e["p_one_sided"] for e in rows]))
    family = out["dm"]["ticker_family"]
    assert family["tests"] == len(rows) == 10 and family["chance_raw"] == pytest.approx(0.5)
    assert family["flagged"] == sum(e["beats_random_walk"] for e in rows)
    assert out["verdict"] == out["verdicts"][0] and out["verdict"]["horizon"] == 1
    assert "Holm-adjusted across 5 horizons" in out["verdict_note"]
    assert "log return" in out["units"]["mae, rmse, bias, interval_width, scale"]


def test_a_raw_p_below_the_level_is_not_a_win_after_holm():
    # Five horizons, one raw p of 0.02: Holm multiplies the smallest by 5 -> 0.1, no win.
    p = holm([0.02, 0.4, 0.5, 0.6, 0.7])
    assert p[0] == pytest.approx(0.1) and not p[0] < 0.05


def _cov(horizon: int, coverage: float, n: int, nominal: float = 0.8) -> dict:
    return {"horizon": horizon, "coverage": coverage, "coverage_n": n, "coverage_nominal": nominal}


def test_coverage_warning_fires_beyond_two_standard_errors():
    # n = 400, p = 0.8: se = 0.02, so the threshold is 0.76.
    warned = coverage_warnings([_cov(1, 0.75, 400), _cov(2, 0.77, 400), _cov(3, 0.9, 400)])
    assert len(warned) == 1
    assert "horizon 1 is 75.0% (n = 400)" in warned[0] and "nominal 80%" in warned[0]
    assert coverage_warnings([_cov(1, 0.761, 400)]) == []
    # The same shortfall on a small sample is within sampling error.
    assert coverage_warnings([_cov(1, 0.75, 25)]) == []
    assert coverage_warnings([_cov(1, None, 0)]) == []


def test_evaluate_lists_coverage_warnings():
    px = synth.prices()
    pr = synth.predictions(px, skill=0.9)
    narrow = pr.assign(lo=pr["y_pred"] - 1e-6, hi=pr["y_pred"] + 1e-6)
    out = evaluate(narrow, synth.scale(px), ReportConfig(), nominal_coverage=0.8)
    folds = sorted(pr["fold"].unique())
    assert [w.split(" is ")[0] for w in out["coverage_warnings"]] == [
        f"interval coverage at horizon {h}" for h in range(1, 6)
    ] + [f"interval coverage in fold {f}" for f in folds]
    assert [r["flag"] for r in out["coverage"]["by_fold"]] == ["low"] * len(folds)
    wide = pr.assign(lo=pr["y_pred"] - 1.0, hi=pr["y_pred"] + 1.0)
    assert (
        evaluate(wide, synth.scale(px), ReportConfig(), nominal_coverage=0.8)["coverage_warnings"]
        == []
    )


def test_scale_lookup_forms():
    want = {("AAA", 1): 0.02, ("AAA", 2): 0.03}
    idx = pd.MultiIndex.from_tuples(list(want), names=["ticker", "horizon"])
    series = pd.Series(list(want.values()), index=idx)
    assert scale_lookup(series) == want
    assert scale_lookup(series.to_frame("whatever")) == want
    assert scale_lookup(series.rename("err").reset_index()) == want
    assert scale_lookup({("AAA", 1): 0.0, ("AAA", 2): float("nan")}) == {}  # unusable scales


def test_point_rows_match_point_metrics_to_the_last_bit():
    from stackcast.reports.scores import point_rows

    rng = np.random.default_rng(3)
    n = 3000
    y = np.round(rng.standard_normal(n) * 0.02, 4)  # some exact zeros: unmoved rows
    preds = rng.standard_normal((4, n)) * 0.01
    preds[1] = 0.0  # a zero forecast: no directional accuracy
    scale = np.where(rng.random(n) < 0.1, np.nan, rng.uniform(0.005, 0.02, n))
    directional = [True, False, True, True]
    for idx in (slice(None), rng.choice(n, 777, replace=False), np.arange(5), np.arange(0)):
        rows = point_rows(y[idx], preds[:, idx], scale[idx], directional)
        for p, d, got in zip(preds, directional, rows, strict=True):
            want = point_metrics(y[idx], p[idx], scale[idx], directional=d, p_value=False)
            assert got == want  # floats compared exactly


def test_grouped_scores_match_each_group_scored_alone_to_the_last_bit():
    from stackcast.reports.scores import (
        group_interval_metrics,
        group_point_rows,
        interval_metrics,
        point_rows,
    )

    rng = np.random.default_rng(5)
    sizes = rng.choice([1, 2, 7, 8, 9, 63, 125, 126, 300], 60)
    n = int(sizes.sum())
    bounds = np.stack([np.cumsum(sizes) - sizes, np.cumsum(sizes)], axis=1)
    y = np.round(rng.standard_normal(n) * 0.02, 4)
    preds = rng.standard_normal((3, n)) * 0.01
    preds[1] = 0.0
    preds[2, bounds[4, 0] : bounds[4, 1]] = 0.0  # a group where one forecast is all zero
    scale = np.where(rng.random(n) < 0.2, np.nan, rng.uniform(0.005, 0.02, n))
    scale[bounds[3, 0] : bounds[3, 1]] = np.nan  # a group without any scale: no MASE
    lo = y - rng.uniform(-0.01, 0.03, n)
    hi = lo + rng.uniform(0, 0.05, n)
    lo[rng.random(n) < 0.1] = np.nan
    lo[bounds[5, 0] : bounds[5, 1]] = np.nan  # a group without a band
    dates = np.datetime64("2024-01-01") + rng.integers(0, 200, n)
    horizons = rng.integers(1, 6, len(bounds))
    directional = [True, False, True]
    rows = group_point_rows(y, preds, scale, directional, bounds)
    spans = group_interval_metrics(y, lo, hi, 0.8, dates, horizons, bounds)
    for (a, b), got, span, h in zip(bounds, rows, spans, horizons, strict=True):
        assert got == point_rows(y[a:b], preds[:, a:b], scale[a:b], directional)
        assert span == interval_metrics(y[a:b], lo[a:b], hi[a:b], 0.8, dates[a:b], int(h))
