"""Fold-parallel backtests: the same forecasts as the sequential run, whatever runs the folds."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from stackcast.pipeline.config import RuntimeConfig
from stackcast.pipeline.orchestration import flows
from stackcast.pipeline.orchestration.pool import DaskSteps
from stackcast.pipeline.workflows import backtest as bt
from stackcast.pipeline.workflows.steps import Steps

from tests.pipeline.sweep_support import mapped_steps, task_names, tiny_config


@pytest.fixture(scope="module")
def sequential(tmp_path_factory: pytest.TempPathFactory) -> bt.BacktestResult:
    """The sequential backtest of the tiny config (3 folds, no warm start)."""
    home = tmp_path_factory.mktemp("sequential")
    return bt.backtest(tiny_config(home, backtest={"folds": 3}), steps=Steps())


def test_folds_run_in_parallel_only_when_independent() -> None:
    cfg = tiny_config()
    splits = [object(), object()]
    assert not bt.folds_in_parallel(cfg, splits, Steps())  # steps that run one at a time
    assert bt.folds_in_parallel(cfg, splits, DaskSteps(client=None))
    warm = cfg.model_copy(update={"train": cfg.train.model_copy(update={"warm_start": True})})
    assert not bt.folds_in_parallel(warm, splits, DaskSteps(client=None))
    assert not bt.folds_in_parallel(cfg, splits[:1], DaskSteps(client=None))


def test_dask_folds_equal_the_sequential_run(sequential: bt.BacktestResult, home: Path) -> None:
    distributed = pytest.importorskip("distributed")
    cfg = tiny_config(home, backtest={"folds": 3})
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        lines: list[str] = []
        result = bt.backtest(cfg, steps=DaskSteps(client, lines.append))
        ran = set(cluster.scheduler.task_prefixes)
    assert "backtest-fold" in ran  # each fold was a Dask task
    assert "3 fold(s) in parallel over 2 ticker(s)" in lines
    pd.testing.assert_frame_equal(result.forecasts, sequential.forecasts, check_exact=True)
    assert result.metrics["folds"] == [
        {**f, "seconds": g["seconds"]}
        for f, g in zip(sequential.metrics["folds"], result.metrics["folds"], strict=True)
    ]
    assert [f["warm_start"] for f in result.metrics["folds"]] == [False, False, False]


@pytest.mark.usefixtures("prefect_harness")
def test_backtest_flow_runs_folds_as_tasks(
    sequential: bt.BacktestResult, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = mapped_steps(monkeypatch)
    cfg = tiny_config(home, backtest={"folds": 3}).model_copy(
        update={"runtime": RuntimeConfig(task_runner="thread", max_workers=3)}
    )
    state = flows.backtest_flow(cfg, return_state=True)
    assert state.is_completed(), state.message
    run_dir = Path(state.result()["report"]).parent
    forecasts = pd.read_parquet(run_dir / "forecasts.parquet")
    pd.testing.assert_frame_equal(forecasts, sequential.forecasts, check_exact=True)
    assert ("backtest-fold", ["0", "1", "2"]) in calls  # one Prefect task per fold
    folds = {f"backtest-fold-{k}" for k in range(3)}
    names = task_names(state, folds)
    if names:  # recorded by the API (see task_names)
        assert folds <= names
        assert "backtest" not in names  # no whole-panel engine step around them
