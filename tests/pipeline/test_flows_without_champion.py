"""The Prefect flows in a home without a champion: ingest, backtest, a failing daily forecast.

On the bundled sample under a temporary Prefect API (tiny model).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from stackcast.pipeline.config import RunConfig, RuntimeConfig
from stackcast.pipeline.errors import SourceUnavailable
from stackcast.pipeline.orchestration import flows, tasks
from stackcast.pipeline.results import ledger

from tests.pipeline.flow_support import artifacts, table, task_states, tiny_config


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
