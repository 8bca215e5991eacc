"""Error figures a person reads are percent of price; verdicts say how p was adjusted."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import stackcast.pipeline.workflows.backtest as backtest_workflow
from stackcast.pipeline.cli.app import app
from stackcast.pipeline.config import RunConfig
from stackcast.pipeline.orchestration import artifacts
from stackcast.reports import scoreboard
from stackcast.reports.config import ReportConfig
from stackcast.reports.metrics import evaluate
from typer.testing import CliRunner

from tests.reports import synth


@pytest.fixture(scope="module")
def metrics() -> dict:
    px = synth.prices()
    pr = synth.predictions(px, skill=0.9)
    pr = pr.assign(lo=pr["y_pred"] - 1e-4, hi=pr["y_pred"] + 1e-4)  # far too narrow
    return evaluate(pr, synth.scale(px), ReportConfig(), nominal_coverage=0.8)


def test_backtest_cli_prints_percent_holm_note_and_coverage_warnings(
    metrics: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def fake_run(cfg, out=None, steps=None):
        return SimpleNamespace(metrics=metrics, warnings=[]), tmp_path

    monkeypatch.setattr(backtest_workflow, "run_backtest", fake_run)
    result = CliRunner().invoke(app, ["demo"])
    assert result.exit_code == 0, result.output
    mae = metrics["model"]["by_horizon"][0]["mae"]
    line = next(s for s in result.stdout.splitlines() if s.startswith("h=1:"))
    assert f"MAE {100 * mae:.3f}%" in line and "(nominal 80%)" in line
    assert not re.search(r"\b0\.0\d{3,}\b", result.stdout)  # no bare fractions
    assert "Holm-adjusted across 5 horizons" in result.stdout
    assert "Holm p" in result.stdout
    assert "warning: interval coverage at horizon 1 is" in result.stderr


def test_artifact_tables_and_markdown_are_percent(metrics: dict) -> None:
    rows = artifacts.metric_rows(metrics)
    mae = metrics["model"]["by_horizon"][0]["mae"]
    assert rows[0]["mae_pct"] == pytest.approx(100 * mae, abs=1e-6)
    assert {"random_walk_mae_pct", "coverage_pct", "dm_p", "dm_p_holm"} <= set(rows[0])
    md = artifacts.metrics_md(rows)
    assert "model MAE %" in md and f"{100 * mae:.3f}%" in md and "DM p (Holm)" in md
    verdicts = artifacts.verdicts_md(metrics)
    assert "Holm-adjusted across 5 horizons" in verdicts
    warned = artifacts.metric_warnings(metrics)
    assert any(w.startswith("interval coverage at horizon") for w in warned)
    assert artifacts.decision_rows({"challenger_y_pred": 0.01954})[0]["validation MAE"] == (
        "1.954%"
    )


def test_daily_summary_is_percent_and_never_says_a_bare_beats() -> None:
    cfg = RunConfig.model_validate({"data": {"tickers": ["AAA"]}})
    forecasts = pd.DataFrame(
        {
            "ticker": ["AAA"],
            "origin": [pd.Timestamp("2024-02-01")],
            "horizon": [1],
            "target_date": [pd.Timestamp("2024-02-02")],
            "origin_close": [100.0],
            "price_pred": [101.0],
            "lo": [-0.01],
            "hi": [0.02],
        }
    )
    score = pd.DataFrame(
        {
            "horizon": [1, 2],
            "n": [14, 40],
            "mae": [0.01, 0.03],
            "rw_mae": [0.02, 0.02],
            "coverage": [0.5, 0.6],
            "coverage_n": [14, 40],
            "coverage_nominal": [0.8, 0.8],
            "dm_p": [float("nan"), 0.2],
            "dm_note": [scoreboard.dm_note(14, 14, 1), None],
        }
    )
    update = SimpleNamespace(added=1, replaced=0, total=1)
    model = {"name": "m", "version": "v1"}
    md = artifacts.daily_summary(cfg, forecasts, update, score, model, "2024-02-01", [])
    assert "beats" not in md
    too_few = "too few scored forecasts for a test (n = 14 < 30)"
    assert f"| 1 | 14 | 1.000% | 2.000% | 50.0% | {too_few} |" in md
    assert "Diebold-Mariano p = 0.200" in md
    assert "interval coverage at horizon 2 is 60.0% (n = 40)" in md
    assert "n = 14.0" not in md


def test_promotion_reasons_and_train_lines_are_percent_averaged_over_horizons() -> None:
    from stackcast.pipeline.units import percent
    from stackcast.pipeline.workflows.training import over_horizons

    cfg = RunConfig.model_validate({"data": {"tickers": ["AAA"]}, "features": {"horizons": 3}})
    assert percent(0.04006) == "4.006%" and percent(float("nan")) == "n/a"
    assert over_horizons(cfg) == "averaged over horizons 1..3"


def test_train_cli_says_percent_and_over_which_horizons(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import stackcast.pipeline.workflows.training as training

    def fake_retrain(cfg, steps=None, as_of=None, home=None):
        steps.say(f"validation MAE ({training.over_horizons(cfg)}) model x")
        model = SimpleNamespace(validation={"y_pred": 0.04006, "random_walk": 0.03891})
        challenger = SimpleNamespace(name=cfg.name, version="v0001", model=model)
        return SimpleNamespace(
            warnings=[],
            challenger=challenger,
            promoted=True,
            reason="no champion yet",
            run_dir=tmp_path,
        )

    monkeypatch.setattr(training, "retrain", fake_retrain)
    result = CliRunner().invoke(app, ["train", "--tickers", "AAA", "--source", "sample"])
    assert result.exit_code == 0, result.output
    assert (
        "validation MAE 4.006% (random walk 3.891%), averaged over horizons 1..5" in result.stdout
    )
    assert not re.search(r"\b0\.0\d{3,}\b", result.stdout + result.stderr)


def test_daily_caption_matches_the_models_configuration() -> None:
    from stackcast.reports.daily import forecast_caption

    cal = {"method": "volatility", "n": [120, 118], "block": "calibration", "offsets": []}
    det = {"config": {"train": {"point_forecast": "deterministic", "mc_samples": 20}}}
    text = forecast_caption({**det, "interval_calibration": cal})
    assert "one pass of the network with dropout off" in text and "MC-dropout" not in text
    assert "80% split-conformal band" in text and "118 held-out origins" in text
    assert "trailing volatility" in text
    refit = forecast_caption(
        {**det, "interval_calibration": cal, "refit": {"calibration_block": "calibration"}}
    )
    assert "the refit's own calibration block" in refit
    mc = {"config": {"train": {"point_forecast": "mc_mean", "mc_samples": 20, "interval": 0.9}}}
    assert "the mean of 20 MC-dropout passes" in forecast_caption(
        {**mc, "interval_calibration": cal}
    )
    assert "90% quantiles of 20 MC-dropout passes (not calibrated" in forecast_caption(mc)
    none = {"config": {"train": {"mc_samples": 0}}}
    assert forecast_caption(none).endswith("No interval ([train] mc_samples = 0).")
    old = {"config": {"train": {"mc_samples": 30}}, "interval_calibration": cal}
    assert "mean of 30 MC-dropout passes" in forecast_caption(old)  # saved before the option


def test_daily_page_shows_the_models_caption_not_a_fixed_one() -> None:
    from stackcast.reports.daily import DailyData, render_daily

    columns = [
        "ticker",
        "origin",
        "horizon",
        "target_date",
        "y_pred",
        "lo",
        "hi",
        "origin_close",
        "price_pred",
    ]
    values = ["AAA", "2024-03-01", 1, "2024-03-04", 0.001, -0.01, 0.01, 100.0, 100.1]
    forecasts = pd.DataFrame([values], columns=columns)
    model = {
        "name": "m",
        "version": "v1",
        "seen_until": None,
        "forecast": "Point forecast: one pass.",
    }
    html = render_daily(DailyData("t", "r", "c", "2024-03-01", model, forecasts))
    assert "Point forecast: one pass." in html and "MC-dropout mean" not in html
    bare = {"name": "m", "version": "v1", "seen_until": None}
    generic = render_daily(DailyData("t", "r", "c", "2024-03-01", bare, forecasts))
    assert "meta.json records how" in generic and "MC-dropout mean" not in generic
