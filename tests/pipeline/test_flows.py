"""The Prefect flows with a trained champion, on the bundled sample under a temporary Prefect API.

One weekly-retrain run (tiny model) makes the first champion; the other flows run on copies of
it: train, daily forecast (bad ticker, rerun, as-of, on a Dask cluster) and replay.
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from stackcast.pipeline.config import RuntimeConfig
from stackcast.pipeline.orchestration import flows
from stackcast.pipeline.results import ledger, registry

from tests.pipeline.flow_support import artifacts, table, task_states, tiny_config


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
    assert {"ingest_ticker", "forecast_inputs"} <= ran  # the tasks ran on the cluster
    assert len(ledger.read(home)) == 4
