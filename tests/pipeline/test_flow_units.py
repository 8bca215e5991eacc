"""Units of the Prefect orchestration: task runners, retries, artifact tables, run forms."""

from __future__ import annotations

import json

import pandas as pd
from prefect.states import Failed
from stackcast.pipeline.config import RuntimeConfig
from stackcast.pipeline.errors import DataError, SourceError, SourceUnavailable
from stackcast.pipeline.orchestration import artifacts as artifact_content
from stackcast.pipeline.orchestration import tasks

from tests.pipeline.flow_support import tiny_config


def test_task_runner_for_config() -> None:
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    thread = tasks.task_runner_for(RuntimeConfig(max_workers=3))
    assert isinstance(thread, ThreadPoolTaskRunner) and thread._max_workers == 3
    joined = tasks.task_runner_for(RuntimeConfig(task_runner="dask", dask_address="tcp://h:8786"))
    assert isinstance(joined, DaskTaskRunner) and joined.address == "tcp://h:8786"
    local = tasks.task_runner_for(RuntimeConfig(task_runner="dask", max_workers=2))
    assert local.address is None
    assert local.cluster_kwargs == {"n_workers": 2, "threads_per_worker": 1}


def test_retry_only_transient_failures() -> None:
    def retried(exc: BaseException) -> bool:
        return tasks.retry_transient(None, None, Failed(data=exc))

    assert retried(SourceUnavailable("X", "timeout"))
    assert retried(ConnectionResetError("reset"))
    assert not retried(SourceError("X", "not in the bundled sample"))
    assert not retried(DataError("X: high < low"))
    state = Failed(data=DataError("X: bad"), message="Task run encountered ...")
    assert tasks.failure_message(state) == "X: bad"
    assert tasks.failure_message(Failed(data=KeyError("k"))) == "KeyError: 'k'"
    assert tasks.failure_message(Failed(message="crashed")) == "crashed"


def test_table_rows_are_json_ready() -> None:
    frame = pd.DataFrame(
        {
            "origin": pd.to_datetime(["2008-10-14"]),
            "y": [float("nan")],
            "n": [3],
            "p": [0.123456789],
        }
    )
    rows = artifact_content.table_rows(frame)
    assert rows == [{"origin": "2008-10-14", "y": None, "n": 3, "p": 0.123457}]
    json.dumps(rows)
    md = artifact_content.markdown_table([{"a": "x|y", "b": 1}], ["a", "b"])
    assert md.splitlines()[2] == "| x\\|y | 1 |"


def test_flow_parameters_render_as_short_forms() -> None:
    """Every deployment's run form: a few described fields, the config folded into two."""
    from stackcast.pipeline.orchestration.deployments import deployments_for, to_runner_deployments

    deployments = to_runner_deployments(deployments_for(tiny_config()))
    by_name = {d.name: d for d in deployments}
    assert set(by_name) == {"daily-forecast", "weekly-retrain", "backtest", "ingest", "sweep"}
    for dep in deployments:
        schema = dep._parameter_openapi_schema.model_dump()
        assert not schema["definitions"]  # no config model unfolded into the form
        assert {"cfg", "overrides", "tickers"} <= set(schema["properties"])
        assert all(p["description"] for p in schema["properties"].values()), dep.name
    daily = by_name["daily-forecast"]._parameter_openapi_schema.model_dump()
    assert set(daily["properties"]) == {"as_of", "tickers", "model_name", "overrides", "cfg"}
    assert "Replay this past day" in daily["properties"]["as_of"]["description"]
    assert set(by_name["ingest"].parameters) == {"tickers", "overrides", "cfg"}
    assert by_name["sweep"].parameters["grid"] == {"model.dropout": [0.0, 0.2]}
