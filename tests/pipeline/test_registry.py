"""``[backtest] forecasters``: the registry decides what a run scores, everywhere it is shown."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from stackcast.models import base
from stackcast.models.base import Registered, lineup
from stackcast.pipeline.cli.commands import overall_line
from stackcast.pipeline.orchestration.artifacts import (
    decision_rows,
    metric_rows,
    metrics_md,
    verdicts_md,
)
from stackcast.pipeline.workflows.training import fit_version

import stackcast

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
TINY = {
    "data": {"end": "2008-10-14", "tickers": ["GOOG"]},
    "features": {"window": 16, "horizons": 2, "min_history": 8},
    "model": {"layers": [{"cell": "gru", "units": 4}], "dropout": 0.0, "between_dropout": 0.0},
    "train": {"epochs": 1, "warm_epochs": 1, "mc_samples": 3, "batch_size": 128},
    "backtest": {"folds": 2, "test_size": 15, "train_size": 250},
}


def test_lineup_puts_the_model_first_and_always_scores_the_random_walk() -> None:
    assert lineup(base.DEFAULT_FORECASTERS) == ("rnn", ("random_walk", "drift", "ridge"))
    assert lineup(["rnn", "ridge"]) == ("rnn", ("random_walk", "ridge"))
    assert lineup(["rnn", "ridge", "random_walk"]) == ("rnn", ("random_walk", "ridge"))
    for names, match in [
        (["ridge", "rnn"], "cannot be the published model"),
        (["rnn", "ridge", "ridge"], "ridge more than once"),
        (["rnn", "nope"], "unknown forecaster 'nope'"),
        ([], "empty"),
    ]:
        with pytest.raises(ValueError, match=match):
            lineup(names)


def test_a_bad_forecasters_list_is_one_config_error(monkeypatch) -> None:
    with pytest.raises(stackcast.StackcastError, match=r"backtest.forecasters.*unknown forecaster"):
        stackcast.RunConfig.model_validate({"backtest": {"forecasters": ["rnn", "xgb"]}})
    monkeypatch.setitem(
        base.FORECASTERS, "needy", Registered("x:Y", "needy", requires="no_such_package_26")
    )
    with pytest.raises(stackcast.StackcastError, match=r"needs the no_such_package_26 package"):
        stackcast.RunConfig.model_validate({"backtest": {"forecasters": ["rnn", "needy"]}})


@pytest.mark.slow
def test_a_new_forecaster_is_one_module_and_one_line_and_shows_everywhere(
    monkeypatch, home: Path
) -> None:
    monkeypatch.setitem(
        base.FORECASTERS,
        "last_return",
        Registered("tests.pipeline.registry_support:LastReturn", "last return"),
    )
    cfg = stackcast.RunConfig.model_validate(
        {**TINY, "backtest": {**TINY["backtest"], "forecasters": ["rnn", "last_return"]}}
    )
    prices = pd.read_csv(SAMPLE / "GOOG.csv")
    result = stackcast.backtest(cfg, prices=prices)
    metrics = result.metrics
    assert list(metrics["baselines"]) == ["random_walk", "last_return"]  # RW always, first
    assert {r["predictor"] for r in metrics["by_fold"]} == {"model", "random_walk", "last_return"}
    out = result.save(home / "run")
    assert "last return" in (out / "report.html").read_text()  # the report's error table
    assert "last return MAE %" in metrics_md(metric_rows(metrics))  # Prefect artifacts
    assert "last return" in overall_line(metrics)  # the CLI's summary line
    assert "peers" not in metrics and "LightGBM" not in verdicts_md(metrics)
    # Train/retrain: the version's validation block scores the same list.
    version = fit_version(cfg, prices)
    assert set(version.validation) == {"y_pred", "random_walk", "last_return"}
    rows = decision_rows({f"challenger_{k}": v for k, v in version.validation.items()})
    assert [r[""] for r in rows][2:] == ["random walk", "last return"]
