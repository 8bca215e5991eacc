"""Prefect tasks and task runners behind the flows in ``stackcast.pipeline.orchestration.flows``.

Per-ticker work fans out on the task runner: ``ingest-ticker`` and ``forecast-ticker``.
Ingest retries network trouble with backoff (``INGEST_RETRIES`` retries,
``INGEST_RETRY_DELAYS`` seconds, 20 % jitter) but never bad input (``retry_transient``).
Whole-panel steps (train, decide, promote, backtest, ledger, score, report) run in the flow's
own process, one task each, in order.

Task runner: ``[runtime] task_runner`` picks ``ThreadPoolTaskRunner(max_workers)`` or
``prefect_dask.DaskTaskRunner`` (``address=[runtime] dask_address`` joins an existing
cluster; without one, a local cluster of ``max_workers`` single-threaded worker processes is
started for the run). The runner is built from the ``cfg`` parameter inside the flow, at run
time: in Prefect 3.8.8 the flow engine enters ``flow.task_runner.duplicate()`` before the
flow function runs (``prefect/flow_engine.py``, ``FlowRunEngine.setup_run_context``), and a
served deployment runs the module-level flow object from its entrypoint, so
``flow.with_options(task_runner=...)`` could only take effect as a second (sub)flow run.
Tasks submitted to a runner directly (``runner.submit(task, parameters)``) still run inside
the flow run's context and show in its task graph. Dask workers import ``pipeline`` and use
the same ``STACKCAST_HOME`` (pinned into ``cfg.paths.home`` at the start of every flow).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import State
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from stackcast.pipeline.config import RunConfig, RuntimeConfig
from stackcast.pipeline.errors import ConfigError, DataError, UserError
from stackcast.pipeline.workflows import daily

INGEST_RETRIES = 3
INGEST_RETRY_DELAYS: Sequence[float] = (30.0, 120.0, 300.0)
INGEST_RETRY_JITTER = 0.2
TABLE_ROWS = 500  # most rows in one table artifact


# ----------------------------------------------------------------------------- runners


def task_runner_for(runtime: RuntimeConfig) -> TaskRunner[Any]:
    """The task runner ``[runtime]`` asks for (not started).

    Raises:
        ConfigError: ``dask`` without ``prefect-dask`` installed.
    """
    if runtime.task_runner == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise ConfigError(
                "[runtime] task_runner = 'dask' needs prefect-dask: pip install 'stackcast[dask]'"
            ) from None
        if runtime.dask_address:
            return DaskTaskRunner(address=runtime.dask_address)
        return DaskTaskRunner(
            cluster_kwargs={"n_workers": runtime.max_workers, "threads_per_worker": 1}
        )
    return ThreadPoolTaskRunner(max_workers=runtime.max_workers)


def fan_out(
    runner: TaskRunner[Any], fn: Any, keys: Iterable[str], key_param: str, **params: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    """Submit ``fn`` once per key and wait for all of them.

    Returns:
        ``(results by key, error message by key)``: a failed (or crashed) task never stops
        the others.
    """
    futures = {k: runner.submit(fn, {**params, key_param: k}) for k in keys}
    done: dict[str, Any] = {}
    failed: dict[str, str] = {}
    for key, future in futures.items():
        future.wait()
        state = future.state
        if state.is_completed():
            done[key] = future.result()
        else:
            failed[key] = failure_message(state)
    return done, failed


def failure_message(state: State[Any]) -> str:
    """The error of a failed task run (its exception's text), else the state's message."""
    exc = _exception(state)
    if exc is None:  # crashed or cancelled: no exception to show
        return state.message or state.type.value.lower()
    text = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
    return text or type(exc).__name__


def _exception(state: State[Any]) -> BaseException | None:
    """The exception a failed state holds (as such, or in its in-memory result record)."""
    data = state.data
    if isinstance(data, BaseException) or data is None:
        return data
    result = getattr(data, "result", None)  # a ResultRecord
    return result if isinstance(result, BaseException) else None


def retry_transient(task: Any, task_run: Any, state: State[Any]) -> bool:
    """Retry condition: network trouble and unexpected errors, never bad input.

    A ``UserError`` (unknown ticker, invalid data, bad config) will fail again; a
    ``SourceUnavailable`` (the source stayed unreachable: ``exit_code`` 1) or any other
    exception (a timeout, a reset connection) may not.
    """
    exc = _exception(state)
    if isinstance(exc, UserError):
        return getattr(exc, "exit_code", 2) != 2
    return True


# ----------------------------------------------------------------------------- tasks


def _logger() -> Any:
    return get_run_logger()


def _progress(message: str) -> None:
    _logger().info(message.strip())


@task(
    name="ingest-ticker",
    task_run_name="ingest-{ticker}",
    retries=INGEST_RETRIES,
    retry_delay_seconds=list(INGEST_RETRY_DELAYS),
    retry_jitter_factor=INGEST_RETRY_JITTER,
    retry_condition_fn=retry_transient,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def ingest_ticker(cfg: RunConfig, ticker: str) -> dict[str, Any]:
    """Fetch, validate and store one ticker's new bars; raise on failure (so it can retry)."""
    from stackcast.pipeline.data.ingest import ingest

    (result,) = ingest(cfg, tickers=[ticker])
    log = _logger()
    for w in result.warnings:
        log.warning("%s: %s", ticker, w)
    if not result.ok:
        if isinstance(result.error, Exception):
            raise result.error
        raise DataError(f"{ticker}: {result.message}")
    log.info("%s: %s, +%d rows (%d stored)", ticker, result.action, result.rows_added, result.rows)
    return {
        "ticker": ticker,
        "status": "ok",
        "action": result.action,
        "rows_added": result.rows_added,
        "rows": result.rows,
        "first": str(result.first) if result.first else None,
        "last": str(result.last) if result.last else None,
        "message": result.message,
        "warnings": list(result.warnings),
    }


@task(
    name="forecast-ticker",
    task_run_name="forecast-{ticker}",
    cache_policy=NO_CACHE,
    persist_result=False,
)
def forecast_ticker(
    cfg: RunConfig, directory: Path, ticker: str, as_of: date | None = None
) -> pd.DataFrame:
    """Forecast one ticker's latest stored origin (on or before ``as_of``) with a saved model."""
    from stackcast.pipeline.cli.commands import quiet_tensorflow

    quiet_tensorflow()
    frame = daily.stored_frame(cfg, ticker, as_of)
    out = daily.forecast_ticker(cfg, Path(directory), ticker, frame, as_of)
    first = out.iloc[0]
    _logger().info(
        "%s: origin %s close %.4f -> %s %.4f",
        ticker,
        pd.Timestamp(first["origin"]).date(),
        first["origin_close"],
        pd.Timestamp(first["target_date"]).date(),
        first["price_pred"],
    )
    return out


def _step(name: str) -> Any:
    """A whole-panel step: a task run in the flow's process, never cached or persisted."""
    return task(name=name, cache_policy=NO_CACHE, persist_result=False)


@_step("find-champion")
def find_champion(cfg: RunConfig) -> tuple[Path, dict[str, Any]]:
    """The champion's directory and description (``NoChampion`` says how to train one)."""
    return daily.champion_info(cfg)


@_step("publish-ledger")
def publish_ledger(cfg: RunConfig, forecasts: pd.DataFrame, run_id: str) -> Any:
    """Append the forecasts to the ledger (a rerun of the same origin replaces its rows)."""
    update = daily.publish(cfg, forecasts, run_id)
    _logger().info(
        "ledger: %d new, %d replaced, %d total", update.added, update.replaced, update.total
    )
    return update


@_step("score-ledger")
def score_ledger(cfg: RunConfig, as_of: date | None) -> dict[str, pd.DataFrame]:
    """Score every published forecast whose target date has a stored close."""
    from stackcast.pipeline.data.prices import load_prices

    frames, _ = load_prices(cfg, refresh=False, as_of=as_of)
    return daily.scoreboard(cfg, frames)


@_step("write-daily-report")
def write_daily_report(cfg: RunConfig, **kwargs: Any) -> tuple[str, Path]:
    """The daily run directory: report, forecasts, metrics; the run index."""
    return daily.write_daily(cfg, **kwargs)


@_step("load-prices")
def load_stored(cfg: RunConfig) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Every configured ticker's stored prices (up to ``[data] end``), with warnings."""
    from stackcast.pipeline.data.prices import load_prices

    return load_prices(cfg, refresh=False)


@_step("train-challenger")
def train_challenger(cfg: RunConfig, frames: dict[str, pd.DataFrame]) -> tuple[Any, Any]:
    """Build the panel and train, validate and save a new version (not yet champion)."""
    from stackcast.pipeline.results.runs import run_metadata
    from stackcast.pipeline.workflows.training import build, train_version

    panel = build(cfg, frames)
    return panel, train_version(cfg, panel, {"run": run_metadata()}, _progress)


@_step("decide")
def decide(cfg: RunConfig, panel: Any, challenger: Any) -> tuple[bool, str, dict[str, Any]]:
    """Whether the challenger beats the champion and the random walk on the validation block."""
    from stackcast.pipeline.workflows.training import decide as decide_

    promoted, reason, numbers = decide_(cfg, panel, challenger)
    _logger().info("%s: %s", "promote" if promoted else "keep the champion", reason)
    return promoted, reason, numbers


@_step("promote")
def promote(cfg: RunConfig, version: str, reason: str, numbers: dict[str, Any]) -> None:
    """Make ``version`` the champion."""
    from stackcast.pipeline.results import registry

    registry.promote(cfg.home(), cfg.name, version, reason, numbers)


@_step("write-validation-report")
def write_validation_report(
    cfg: RunConfig,
    panel: Any,
    frames: dict[str, pd.DataFrame],
    challenger: Any,
    decision: dict[str, Any],
    warnings: list[str],
) -> tuple[str, Path, dict[str, Any]]:
    """A report of the challenger on its validation block, in a new run directory."""
    return validation_report(cfg, panel, frames, challenger, decision, warnings)


@_step("backtest")
def backtest(cfg: RunConfig) -> Any:
    """Walk-forward backtest of the stored prices, with its report."""
    from stackcast.pipeline.workflows.backtest import run_backtest

    return run_backtest(cfg, refresh=False, progress=_progress)


# ----------------------------------------------------------------------------- plain helpers


def prepared(cfg: RunConfig) -> RunConfig:
    """``cfg`` with STACKCAST_HOME pinned (task runs on other threads or workers see it)."""
    from stackcast.pipeline.cli.commands import quiet_tensorflow

    quiet_tensorflow()
    return cfg.model_copy(update={"paths": cfg.paths.model_copy(update={"home": str(cfg.home())})})


def ingest_all(
    runner: TaskRunner[Any], cfg: RunConfig, tickers: Sequence[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Ingest every ticker on the runner, with the retry delays as they are now."""
    fn = ingest_ticker.with_options(retry_delay_seconds=list(INGEST_RETRY_DELAYS))
    return fan_out(runner, fn, tickers, "ticker", cfg=cfg)


def bare_message(ticker: str, message: str) -> str:
    """``message`` without a leading ``"<ticker>: "``."""
    return message.removeprefix(f"{ticker}: ")


def ingest_warnings(ingested: Mapping[str, Any], failed: Mapping[str, str]) -> list[str]:
    """Validation warnings of the ingested tickers and one line per failed ingest."""
    out = [f"{t}: {w}" for t, r in ingested.items() for w in r["warnings"]]
    out += [
        f"{t}: ingest failed ({bare_message(t, why)}); using the stored prices"
        for t, why in failed.items()
    ]
    return out


def validation_report(
    cfg: RunConfig,
    panel: Any,
    frames: dict[str, pd.DataFrame],
    challenger: Any,
    decision: dict[str, Any],
    warnings: list[str],
) -> tuple[str, Path, dict[str, Any]]:
    """Write ``runs/<run_id>/`` for a trained version: its validation block as a report.

    The block is scored like one backtest fold (model against the baselines, with the
    training history), and ``metrics.json`` also holds the promotion decision.

    Returns:
        ``(run_id, run directory, metrics)``.
    """
    from stackcast.pipeline.atomic import atomic_write_json, atomic_write_parquet, atomic_write_text
    from stackcast.pipeline.config import to_toml
    from stackcast.pipeline.results.runs import (
        run_metadata,
        staged_run,
        update_index,
        write_summary,
    )
    from stackcast.pipeline.workflows.backtest import (
        CONTRACT_COLUMNS,
        BacktestOutput,
        render,
        rw_scale,
    )
    from stackcast.reports.html import index_entry

    fold = challenger.fold
    title = f"stackcast {cfg.name} {challenger.version}: validation block"
    titled = cfg.model_copy(update={"report": cfg.report.model_copy(update={"title": title})})
    scale = rw_scale(panel, fold.split.rows(panel).train)
    output = BacktestOutput(fold.predictions, [fold], panel, scale, list(warnings))
    home = cfg.home()
    with staged_run(home, "train") as run:
        created = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
        metrics, html = render(titled, output, frames, run.run_id, created, run_metadata(), "train")
        metrics["decision"] = decision
        metrics["run"] = {"run_id": run.run_id, "created": created, "warnings": warnings}
        atomic_write_parquet(fold.predictions[CONTRACT_COLUMNS], run.staging / "forecasts.parquet")
        atomic_write_json(run.staging / "metrics.json", metrics)
        atomic_write_text(run.staging / "config.toml", to_toml(cfg))
        atomic_write_text(run.staging / "report.html", html)
        verb = "promoted" if decision["promoted"] else "kept the champion"
        entry = index_entry(
            run.run_id,
            created,
            "train",
            metrics,
            tickers=list(panel.tickers),
            title=f"{cfg.name} {challenger.version}: {verb}",
        )
        write_summary(run, entry)
    update_index(home)
    return run.run_id, run.final, metrics
