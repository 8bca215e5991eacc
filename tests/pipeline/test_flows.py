"""The Prefect flows on the bundled sample, under a temporary Prefect API (tiny model)."""

from __future__ import annotations

import datetime as _dt
import json
import shutil
import time
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from prefect.states import Failed
from stackcast.pipeline.config import RunConfig, RuntimeConfig, builtin_config
from stackcast.pipeline.errors import DataError, SourceError, SourceUnavailable
from stackcast.pipeline.orchestration import artifacts as artifact_content
from stackcast.pipeline.orchestration import flows, tasks
from stackcast.pipeline.results import ledger, registry

# configs/demo.toml, shrunk: ~600 bars per ticker, one small GRU layer, 2 epochs.
SHRINK: dict[str, Any] = {
    "name": "tiny",
    "data": {"start": "2006-06-01", "end": "2008-10-14"},
    "features": {"window": 16, "horizons": 2, "min_history": 16},
    "model": {"layers": [{"cell": "gru", "units": 8, "bidirectional": False}]},
    "train": {"epochs": 2, "warm_epochs": 1, "batch_size": 128, "mc_samples": 3, "patience": 1},
    "backtest": {"folds": 1, "test_size": 20, "train_size": 300},
    "report": {"title": "tiny flow test"},
}


def tiny_config(home: Path | None = None, **data: Any) -> RunConfig:
    """The demo config shrunk for tests; ``home`` pins ``[paths] home``; ``data`` overrides."""
    raw = tomllib.loads(builtin_config("demo").read_text(encoding="utf-8"))
    for key, value in SHRINK.items():
        raw[key] = raw.get(key, {}) | value if isinstance(value, dict) else value
    raw["data"] |= data
    if home is not None:
        raw["paths"] = {"home": str(home)}
    return RunConfig.model_validate(raw)


def artifacts(state: Any) -> dict[str, Any]:
    """The flow run's artifacts by key."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    run_id = state.state_details.flow_run_id
    flt = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
    with get_client(sync_client=True) as client:
        return {a.key: a for a in client.read_artifacts(artifact_filter=flt)}


def task_states(state: Any, expect: tuple[str, ...] = (), timeout: float = 20.0) -> dict[str, str]:
    """Task run name -> final state type of the flow run.

    The harness stores task runs from client events, shortly after the flow returns: poll
    until every name in ``expect`` is there in a final state (or ``timeout``).
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    flt = FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(flow_run_filter=flt)
            got = {t.name: t.state.type.value for t in runs if t.state is not None}
            final = all(got.get(n) in ("COMPLETED", "FAILED", "CRASHED") for n in expect)
            if final or time.monotonic() > deadline:
                return got
            time.sleep(0.25)


def table(artifact: Any) -> list[dict[str, Any]]:
    data = artifact.data
    return json.loads(data) if isinstance(data, str) else data


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> dict[str, Any]:
    """One weekly-retrain run in a fresh home: the first champion, shared read-only."""
    home = tmp_path_factory.mktemp("trained")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("STACKCAST_REPORTS_URL", raising=False)
        state = flows.weekly_retrain_flow(tiny_config(home), return_state=True)
    return {"home": home, "state": state, "artifacts": artifacts(state)}


def with_champion(trained: dict[str, Any], home: Path) -> None:
    """Copy the trained champion and the stored prices into this test's home."""
    for part in ("models", "prices"):
        shutil.copytree(trained["home"] / part, home / part, dirs_exist_ok=True)


def test_weekly_retrain_first_run_promotes(trained: dict[str, Any]) -> None:
    state, home = trained["state"], trained["home"]
    assert state.is_completed(), state.message
    result = state.result()
    assert result["version"] == "v0001"
    assert result["promoted"] is True and result["reason"] == "no champion yet"
    assert registry.champion(home, "tiny")["version"] == "v0001"

    arts = trained["artifacts"]
    assert set(arts) == {"weekly-retrain-summary", "weekly-retrain-validation"}  # no server
    summary = arts["weekly-retrain-summary"].data
    assert "v0001 **promoted** to champion" in summary
    assert "no champion yet" in summary and "random walk" in summary
    rows = table(arts["weekly-retrain-validation"])
    assert [r["horizon"] for r in rows] == [1, 2]
    assert {"mae_pct", "random_walk_mae_pct", "drift_mae_pct", "ridge_mae_pct", "dm_p"} <= set(
        rows[0]
    )

    metrics = json.loads((Path(result["report"]).parent / "metrics.json").read_text())
    assert metrics["decision"]["promoted"] is True
    assert metrics["decision"]["challenger"] == "v0001"
    assert "validation block" in Path(result["report"]).read_text(encoding="utf-8")


@pytest.mark.usefixtures("prefect_harness")
def test_train_flow_records_the_decision_against_the_champion(
    trained: dict[str, Any], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_champion(trained, home)
    monkeypatch.setenv("STACKCAST_REPORTS_URL", "http://127.0.0.1:9/")
    state = flows.train_flow(tiny_config(), return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    numbers = result["numbers"]
    assert result["version"] == "v0002" and numbers["champion"] == "v0001"
    # Same data: the refit champion saw the whole block, so both are compared by their
    # out-of-sample MAE / random walk, each on its own validation block.
    assert "saw this block" in result["reason"]
    ratio = numbers["challenger_ratio"]
    wins = ratio < 1 and ratio < numbers["champion_ratio"]
    assert result["promoted"] is wins
    assert registry.champion(home, "tiny")["version"] == ("v0002" if wins else "v0001")

    arts = artifacts(state)
    assert set(arts) == {"train-summary", "train-validation", "train-report"}
    summary = arts["train-summary"].data
    assert "champion v0001" in summary and result["reason"] in summary
    assert arts["train-report"].data == f"[report]({result['link']})"
    assert result["link"] == f"http://127.0.0.1:9/runs/{result['run_id']}/report.html"


@pytest.mark.usefixtures("prefect_harness")
def test_daily_forecast_bad_ticker_and_rerun(
    trained: dict[str, Any], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ticker missing from the source fails its own tasks only; a rerun adds no rows."""
    with_champion(trained, home)
    monkeypatch.setenv("STACKCAST_REPORTS_URL", "http://127.0.0.1:9/")
    state = flows.daily_forecast_flow(
        cfg=tiny_config(tickers=["MSFT", "NOPE", "GOOG"]), return_state=True
    )
    assert state.is_completed(), state.message
    assert state.message.endswith("1 ticker(s) failed: NOPE")
    result = state.result()
    assert result["tickers"] == ["MSFT", "GOOG"]
    why = result["failed"]["NOPE"]
    assert why.startswith("ingest failed (not in the bundled sample") and "no stored prices" in why
    assert result["warnings"] == [f"NOPE: not forecast: {why}"]
    assert result["ledger"] == {"added": 4, "replaced": 0, "total": 4}
    names = tuple(f"{s}-{t}" for s in ("ingest", "forecast") for t in ("MSFT", "NOPE", "GOOG"))
    tasks = task_states(state, expect=names)
    assert tasks["ingest-NOPE"] == "FAILED" and tasks["forecast-NOPE"] == "FAILED"
    for t in ("MSFT", "GOOG"):
        assert tasks[f"ingest-{t}"] == "COMPLETED" and tasks[f"forecast-{t}"] == "COMPLETED"
    assert tasks["ingest-NOPE"] == "FAILED"

    arts = artifacts(state)
    assert set(arts) == {"daily-forecast-summary", "daily-forecast-ledger", "daily-forecast-report"}
    summary = arts["daily-forecast-summary"].data
    assert "2 of 3 tickers forecast" in summary and "**4 new**" in summary
    assert "NOPE: not forecast" in summary
    rows = table(arts["daily-forecast-ledger"])
    assert {(r["ticker"], r["horizon"]) for r in rows} == {
        ("MSFT", 1),
        ("MSFT", 2),
        ("GOOG", 1),
        ("GOOG", 2),
    }
    assert all(r["origin"] == "2008-10-14" and r["run_id"] == result["run_id"] for r in rows)
    report = Path(result["report"])
    assert result["link"] == "http://127.0.0.1:9/" + report.relative_to(home).as_posix()
    assert "NOPE" in report.read_text(encoding="utf-8")

    again = flows.daily_forecast_flow(cfg=tiny_config(), return_state=True)
    assert again.is_completed() and again.message.endswith("ledger +0 new")
    assert again.result()["ledger"] == {"added": 0, "replaced": 4, "total": 4}
    book = ledger.read(home)
    assert len(book) == 4 and not book.duplicated(list(ledger.KEY)).any()
    assert set(book["run_id"]) == {again.result()["run_id"]}

    # the plain `stackcast run` path gives the same forecasts (and replaces them again)
    from stackcast.pipeline.workflows.daily import daily_forecast

    plain = daily_forecast(tiny_config(), refresh=False)
    assert (plain.update.added, plain.update.replaced) == (0, 4)
    merged = book.merge(plain.forecasts, on=["ticker", "origin", "horizon"])
    assert len(merged) == 4
    assert (merged["y_pred_x"] == merged["y_pred_y"]).all()


@pytest.mark.usefixtures("prefect_harness")
def test_daily_forecast_as_of_replays_and_scores(trained: dict[str, Any], home: Path) -> None:
    """``as_of`` forecasts a past day without ingesting, with a model that saw no later
    price, into the what-if home STACKCAST_HOME/as-of; a later as-of run scores it there, and
    the live ledger never sees either."""
    from stackcast.pipeline.workflows.training import retrain

    with_champion(trained, home)
    with pytest.raises(registry.NoChampion, match="train --as-of 2008-10-01"):
        flows.daily_forecast_flow(cfg=tiny_config(), as_of=_dt.date(2008, 10, 1))
    made = retrain(tiny_config(), as_of=_dt.date(2008, 10, 1))
    assert made.challenger.model.meta["seen_until"] == "2008-10-01" and not made.promoted
    past = flows.daily_forecast_flow(
        cfg=tiny_config(), as_of=_dt.date(2008, 10, 1), return_state=True
    )
    assert past.is_completed(), past.message
    whatif = home / "as-of"
    assert past.result()["as_of"] == "2008-10-01" and past.result()["home"] == str(whatif)
    assert not any(name.startswith("ingest-") for name in task_states(past))
    assert set(ledger.read(whatif)["origin"]) == {pd.Timestamp("2008-10-01")}
    assert past.result()["model"]["version"] == made.challenger.version
    assert "no published forecast has reached its target date" in (
        artifacts(past)["daily-forecast-summary"].data
    )

    later = flows.daily_forecast_flow(
        cfg=tiny_config(), as_of=_dt.date(2008, 10, 7), return_state=True
    )
    assert later.is_completed(), later.message
    book = ledger.read(whatif)
    assert len(book) == 8 and set(book["origin"].dt.date.astype(str)) == {
        "2008-10-01",
        "2008-10-07",
    }
    summary = artifacts(later)["daily-forecast-summary"].data
    assert "| 1 | 2 |" in summary and "| 2 | 2 |" in summary  # both tickers scored per horizon
    assert not ledger.ledger_path(home).exists()  # production published nothing


@pytest.mark.usefixtures("prefect_harness")
def test_replay_flow_writes_only_its_own_home(trained: dict[str, Any], home: Path) -> None:
    """The replay flow runs the replay body: production's files stay byte-identical."""
    from tests.reliability.helpers import snapshot

    with_champion(trained, home)
    assert flows.daily_forecast_flow(cfg=tiny_config(), return_state=True).is_completed()
    before = snapshot(home)
    assert {"ledger.parquet", "index.html", "models/tiny/champion.json"} <= set(before)
    start, end = _dt.date(2008, 10, 2), _dt.date(2008, 10, 3)
    state = flows.replay_flow(tiny_config(), start, end, return_state=True)
    assert state.is_completed(), state.message
    where = Path(state.result()["home"])
    assert where.parent == home / "replays"
    assert {k: v for k, v in snapshot(home).items() if not k.startswith("replays/")} == before
    assert len(ledger.read(where)) == 2 * 2 * 2  # 2 sessions x 2 tickers x 2 horizons
    assert "the replay's own home" in artifacts(state)["replay-summary"].data


@pytest.mark.usefixtures("prefect_harness")
def test_daily_forecast_without_champion_fails_with_a_summary(home: Path) -> None:
    state = flows.daily_forecast_flow(cfg=tiny_config(), return_state=True)
    assert state.is_failed()
    summary = artifacts(state)["daily-forecast-summary"].data
    assert "failed" in summary and "no trained model named 'tiny'" in summary
    assert not ledger.ledger_path(home).exists()


@pytest.mark.usefixtures("prefect_harness")
def test_backtest_flow_artifacts(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STACKCAST_REPORTS_URL", "http://127.0.0.1:9/")
    state = flows.backtest_flow(tiny_config(), return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    arts = artifacts(state)
    assert set(arts) == {"backtest-summary", "backtest-metrics", "backtest-report"}
    rows = table(arts["backtest-metrics"])
    assert [r["horizon"] for r in rows] == [1, 2]
    assert all(r["n"] > 0 and r["mae_pct"] > 0 and r["random_walk_mae_pct"] > 0 for r in rows)
    summary = arts["backtest-summary"].data
    assert "model MAE %" in summary and "Holm-adjusted across 2 horizons" in summary
    assert "# Backtest: tiny flow test" in summary
    for sentence in result["verdicts"]:
        assert sentence in summary
    beaten = [r["beats_random_walk"] for r in rows]
    assert ("model does not beat random walk" in summary) == (not all(beaten))
    assert Path(result["report"]).is_file()
    assert result["link"].endswith(f"/runs/{result['run_id']}/report.html")


@pytest.mark.usefixtures("prefect_harness")
def test_ingest_flow_retries_network_errors_only(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stackcast.pipeline.data import ingest as ingest_mod
    from stackcast.pipeline.data import prices as prices_mod

    real = ingest_mod.ingest
    calls: dict[str, int] = {}

    def flaky(cfg: RunConfig, tickers: list[str], **kw: Any) -> list[Any]:
        (ticker,) = tickers
        calls[ticker] = calls.get(ticker, 0) + 1
        if ticker == "MSFT" and calls[ticker] <= 2:
            exc = SourceUnavailable("MSFT", "HTTP 503 after 3 tries")
            return [ingest_mod.IngestResult("MSFT", "error", message=str(exc), error=exc)]
        return real(cfg, tickers, **kw)

    monkeypatch.setattr(prices_mod, "ingest", flaky)
    monkeypatch.setattr(tasks, "INGEST_RETRY_DELAYS", (0.0,))
    state = flows.ingest_flow(tiny_config(tickers=["MSFT", "NOPE", "GOOG"]), return_state=True)
    assert state.is_completed(), state.message
    assert calls == {"MSFT": 3, "NOPE": 1, "GOOG": 1}  # a bad ticker is not retried
    result = state.result()
    assert result["tickers"] == ["MSFT", "GOOG"] and list(result["failed"]) == ["NOPE"]
    assert (home / "prices" / "MSFT.parquet").is_file()
    arts = artifacts(state)
    assert set(arts) == {"ingest-summary", "ingest-tickers"}
    rows = {r["ticker"]: r for r in table(arts["ingest-tickers"])}
    assert rows["MSFT"]["action"] == "created" and rows["NOPE"]["status"] == "failed"
    assert "2 of 3 tickers" in arts["ingest-summary"].data


@pytest.mark.usefixtures("prefect_harness")
def test_ingest_flow_fails_when_no_ticker_can_be_ingested(home: Path) -> None:
    state = flows.ingest_flow(tiny_config(tickers=["NOPE"]), return_state=True)
    assert state.is_failed()
    assert "no ticker could be ingested" in state.message
    assert "NOPE" in artifacts(state)["ingest-summary"].data


@pytest.mark.usefixtures("prefect_harness")
def test_ingest_flow_from_the_run_form(home: Path, tmp_path: Path) -> None:
    """The form's fields as the UI sends them: a config file, tickers and dotted overrides."""
    from stackcast.pipeline.config import to_toml
    from stackcast.pipeline.data.store import PriceStore

    config = tmp_path / "served.toml"
    config.write_text(to_toml(tiny_config(tickers=["MSFT", "GOOG"])), encoding="utf-8")
    state = flows.ingest_flow(
        str(config), tickers=["GOOG"], overrides={"data.end": "2008-06-30"}, return_state=True
    )
    assert state.is_completed(), state.message
    assert state.result()["tickers"] == ["GOOG"]
    assert not (home / "prices" / "MSFT.parquet").exists()
    assert str(pd.Timestamp(PriceStore(home).read("GOOG")["date"].max()).date()) == "2008-06-30"
    bad = flows.ingest_flow(str(config), overrides={"data.nope": 1}, return_state=True)
    assert bad.is_failed() and "overrides: unknown key 'data.nope'" in bad.message


@pytest.mark.usefixtures("prefect_harness")
def test_daily_forecast_on_a_dask_cluster(trained: dict[str, Any], home: Path) -> None:
    """``[runtime] task_runner = "dask"`` with an address joins that cluster."""
    distributed = pytest.importorskip("distributed")
    with_champion(trained, home)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        runtime = RuntimeConfig(task_runner="dask", dask_address=cluster.scheduler_address)
        cfg = tiny_config(tickers=["MSFT", "NOPE", "GOOG"]).model_copy(update={"runtime": runtime})
        state = flows.daily_forecast_flow(cfg=cfg, return_state=True)
        ran = set(cluster.scheduler.task_prefixes)
    assert state.is_completed(), state.message
    assert list(state.result()["failed"]) == ["NOPE"]
    assert "no stored prices" in state.result()["failed"]["NOPE"]
    assert {"ingest_ticker", "forecast_ticker"} <= ran  # the tasks ran on the cluster
    assert len(ledger.read(home)) == 4


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("prefect_harness")
def test_ingest_flow_on_a_local_dask_cluster_of_processes(home: Path) -> None:
    """Without an address the runner starts (and stops) a local cluster of worker processes."""
    pytest.importorskip("prefect_dask")
    runtime = RuntimeConfig(task_runner="dask", max_workers=1)
    cfg = tiny_config(tickers=["MSFT", "NOPE", "GOOG"]).model_copy(update={"runtime": runtime})
    state = flows.ingest_flow(cfg, return_state=True)
    assert state.is_completed(), state.message
    assert list(state.result()["failed"]) == ["NOPE"]
    assert sorted(p.name for p in (home / "prices").glob("*.parquet")) == [
        "GOOG.parquet",
        "MSFT.parquet",
    ]
    assert task_states(state, expect=("ingest-MSFT", "ingest-GOOG", "ingest-NOPE")) == {
        "ingest-MSFT": "COMPLETED",
        "ingest-GOOG": "COMPLETED",
        "ingest-NOPE": "FAILED",
    }


# ----------------------------------------------------------------------------- units


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
