"""Prefect flows: ingest, train, weekly retrain, backtest and the daily forecast.

Every flow takes the whole ``RunConfig`` as its ``cfg`` parameter (a pydantic model, so the
Prefect UI renders it as a form with the config's values as defaults and the fields'
descriptions as help), and is built from small tasks over the plain steps of
``pipeline.ingest``, ``pipeline.forecasting``, ``pipeline.backtest`` and ``pipeline.daily``.

Task layout:

- Per-ticker work fans out on the task runner: ``ingest-ticker`` (every flow that needs
  prices) and ``forecast-ticker`` (the daily forecast). Ingest retries network trouble with
  backoff (``INGEST_RETRIES`` retries, ``INGEST_RETRY_DELAYS`` seconds, 20 % jitter) but never
  bad input (an unknown ticker, data that fails validation): ``retry_transient``.
- Whole-panel steps (train, decide, promote, backtest, publish to the ledger, score, report)
  run in the flow's own process, one task each, in order.

Failure semantics: one ticker that fails (ingest after its retries, or forecast) fails only
its own task; the flow goes on with the others and lists the failure in its summary artifact
and its final state's message. A flow whose work was done for at least one ticker ends
COMPLETED (message ``"... 1 of 3 tickers failed: NOPE"``): the published forecasts of the
healthy tickers are valid, and a FAILED run would stand for "nothing usable came out" to
anyone watching the schedule. An ingest failure of a ticker that is already stored is only a
warning (it is forecast or trained from the stored bars). A flow FAILS when nothing usable
comes out: no champion, no ticker forecast, no prices at all, training diverged. Failed flows
still publish their summary artifact, with the error.

Task runner: ``[runtime] task_runner`` picks ``ThreadPoolTaskRunner(max_workers)`` or
``prefect_dask.DaskTaskRunner`` (``address=[runtime] dask_address`` joins an existing
cluster; without one, a local cluster of ``max_workers`` single-threaded worker processes is
started for the run). The runner is built from the ``cfg`` parameter inside the flow, at run
time: in Prefect 3.8.8 the flow engine enters ``flow.task_runner.duplicate()`` before the
flow function runs (``prefect/flow_engine.py``, ``FlowRunEngine.setup_run_context``), and a
served deployment runs the module-level flow object from its entrypoint, so
``flow.with_options(task_runner=...)`` could only take effect as a second (sub)flow run.
Tasks submitted to a runner directly (``runner.submit(task, parameters)``, which is what
``Task.submit`` does with the flow's runner) still run inside the flow run's context and show
in its task graph. Dask workers import ``pipeline`` and read and write the same
``STACKCAST_HOME`` (pinned into ``cfg.paths.home`` at the start of every flow), so on other
machines they need stackcast installed and the home on a shared disk.

Artifacts (stable keys, so the UI's Artifacts page keeps each key's history): every run
publishes ``<flow>-summary`` (markdown: headline numbers, decision, warnings such as "model
does not beat random walk" or training's gradient warnings), a table and, when its report
can be linked, ``<flow>-report`` (a link). The tables: ``daily-forecast-ledger`` (the ledger
rows the run published), ``backtest-metrics`` (errors per horizon, model vs baselines),
``weekly-retrain-validation`` / ``train-validation`` (the same for the challenger's
validation block) and ``ingest-tickers`` (one row per ticker; ingest writes no report).
Link artifacts point at the report server that ``stackcast serve`` runs
(``pipeline.reportserver.link_for``); flows run elsewhere skip them.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, State
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from pipeline import daily
from pipeline.config import RunConfig, RuntimeConfig
from pipeline.errors import ConfigError, DataError, UserError
from pipeline.reportserver import link_for
from pipeline.runs import new_run_id

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
    from pipeline.ingest import ingest

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
    from pipeline.commands import quiet_tensorflow

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
    from pipeline.prices import load_prices

    frames, _ = load_prices(cfg, refresh=False, as_of=as_of)
    return daily.scoreboard(cfg, frames)


@_step("write-daily-report")
def write_daily_report(cfg: RunConfig, **kwargs: Any) -> tuple[str, Path]:
    """The daily run directory: report, forecasts, metrics; the run index."""
    return daily.write_daily(cfg, **kwargs)


@_step("load-prices")
def load_stored(cfg: RunConfig) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Every configured ticker's stored prices (up to ``[data] end``), with warnings."""
    from pipeline.prices import load_prices

    return load_prices(cfg, refresh=False)


@_step("train-challenger")
def train_challenger(cfg: RunConfig, frames: dict[str, pd.DataFrame]) -> tuple[Any, Any]:
    """Build the panel and train, validate and save a new version (not yet champion)."""
    from pipeline.forecasting import build, train_version
    from pipeline.runs import run_metadata

    panel = build(cfg, frames)
    return panel, train_version(cfg, panel, {"run": run_metadata()}, _progress)


@_step("decide")
def decide(cfg: RunConfig, panel: Any, challenger: Any) -> tuple[bool, str, dict[str, Any]]:
    """Whether the challenger beats the champion and the random walk on the validation block."""
    from pipeline.forecasting import decide as decide_

    promoted, reason, numbers = decide_(cfg, panel, challenger)
    _logger().info("%s: %s", "promote" if promoted else "keep the champion", reason)
    return promoted, reason, numbers


@_step("promote")
def promote(cfg: RunConfig, version: str, reason: str, numbers: dict[str, Any]) -> None:
    """Make ``version`` the champion."""
    from pipeline import registry

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
    from pipeline.backtest import run_backtest

    return run_backtest(cfg, refresh=False, progress=_progress)


# ----------------------------------------------------------------------------- plain helpers


def prepared(cfg: RunConfig) -> RunConfig:
    """``cfg`` with STACKCAST_HOME pinned (task runs on other threads or workers see it)."""
    from pipeline.commands import quiet_tensorflow

    quiet_tensorflow()
    return cfg.model_copy(update={"paths": cfg.paths.model_copy(update={"home": str(cfg.home())})})


def ingest_all(
    runner: TaskRunner[Any], cfg: RunConfig, tickers: Sequence[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Ingest every ticker on the runner, with the retry delays as they are now."""
    fn = ingest_ticker.with_options(retry_delay_seconds=list(INGEST_RETRY_DELAYS))
    return fan_out(runner, fn, tickers, "ticker", cfg=cfg)


def _bare(ticker: str, message: str) -> str:
    return message.removeprefix(f"{ticker}: ")


def ingest_warnings(ingested: Mapping[str, Any], failed: Mapping[str, str]) -> list[str]:
    """Validation warnings of the ingested tickers and one line per failed ingest."""
    out = [f"{t}: {w}" for t, r in ingested.items() for w in r["warnings"]]
    out += [
        f"{t}: ingest failed ({_bare(t, why)}); using the stored prices"
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
    from pipeline.atomic import atomic_write_json, atomic_write_parquet, atomic_write_text
    from pipeline.backtest import CONTRACT_COLUMNS, BacktestOutput, render, rw_scale
    from pipeline.config import to_toml
    from pipeline.runs import run_metadata, staged_run, update_index, write_summary
    from reports.html import index_entry

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


# ----------------------------------------------------------------------------- artifacts


def _cell(value: Any) -> Any:
    """A JSON-able table cell: dates as ISO text, NaN as None, numpy scalars as Python."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float):
        return None if not math.isfinite(value) else round(value, 6)
    if isinstance(value, date):
        return value.isoformat()
    return value


def table_rows(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """``frame`` as JSON-able rows (at most ``TABLE_ROWS``) for a table artifact."""
    cols = [c for c in (columns or frame.columns) if c in frame.columns]
    return [
        {c: _cell(v) for c, v in zip(cols, row, strict=True)}
        for row in frame[cols].head(TABLE_ROWS).itertuples(index=False, name=None)
    ]


def _fmt(value: Any, spec: str = ".5f") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return format(value, spec) if isinstance(value, int | float) else str(value)


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A GitHub-flavoured markdown table (what the Prefect UI renders)."""
    if not rows:
        return "_none_\n"
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = (str(r.get(c, "")).replace("|", "\\|") for c in columns)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _warnings_md(warnings: Sequence[str]) -> str:
    if not warnings:
        return ""
    return "\n## Warnings\n\n" + "".join(f"- ⚠ {w}\n" for w in warnings)


def publish_artifacts(
    prefix: str,
    summary: str,
    table: tuple[str, list[dict[str, Any]], str] | None,
    report: Path | None,
    home: Path,
) -> str | None:
    """Create the run's summary, its table and (under ``stackcast serve``) its report link.

    Args:
        prefix: The flow's name; keys are ``<prefix>-summary``, ``<prefix>-report`` and the
            table's own.
        summary: Markdown; the report link is appended when there is one.
        table: ``(key, rows, description)`` of the table artifact, or None.
        report: The run's ``report.html`` under ``home``, or None.
        home: STACKCAST_HOME.

    Returns:
        The report's http link, or None when no report server is known.
    """
    link = link_for(home, report) if report is not None else None
    if link:
        summary += f"\n[Open the report]({link})\n"
    elif report is not None:
        summary += f"\nReport: `{report}`\n"
    create_markdown_artifact(summary, key=f"{prefix}-summary", description=f"{prefix} summary")
    if table is not None:
        key, rows, description = table
        create_table_artifact(rows, key=key, description=description)
    if link:
        create_link_artifact(
            link, link_text="report", key=f"{prefix}-report", description=f"{prefix} report"
        )
    return link


@contextlib.contextmanager
def summary_on_failure(prefix: str, title: str) -> Iterator[None]:
    """On an exception, publish a summary artifact with the error, then re-raise."""
    try:
        yield
    except Exception as exc:
        text = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(Exception):
            create_markdown_artifact(
                f"# {title}: failed\n\n{text}\n",
                key=f"{prefix}-summary",
                description=f"{prefix} summary",
            )
        raise


def finished(message: str, data: dict[str, Any], failed: Mapping[str, str]) -> State[Any]:
    """The flow's final state: COMPLETED, its message naming any failed tickers."""
    if failed:
        message += f"; {len(failed)} ticker(s) failed: {', '.join(failed)}"
    return Completed(message=message, data=data)


def metric_rows(metrics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per-horizon metrics of the model against the baselines (compact)."""
    base = metrics.get("baselines", {})

    def by_h(block: Mapping[str, Any]) -> dict[int, Mapping[str, Any]]:
        return {int(r["horizon"]): r for r in block.get("by_horizon", [])}

    model = by_h(metrics.get("model", {}))
    others = {name: by_h(block) for name, block in base.items()}
    dm = {int(r["horizon"]): r for r in metrics.get("dm", {}).get("pooled", [])}
    rows = []
    for h, m in sorted(model.items()):
        row: dict[str, Any] = {"horizon": h, "n": m.get("n"), "mae": m.get("mae")}
        for name, block in others.items():
            row[f"{name}_mae"] = block.get(h, {}).get("mae")
        row |= {
            "rmse": m.get("rmse"),
            "mase": m.get("mase"),
            "dir_acc": m.get("dir_acc"),
            "coverage": m.get("coverage"),
            "dm_p": dm.get(h, {}).get("p_one_sided"),
            "beats_random_walk": dm.get(h, {}).get("beats_random_walk"),
        }
        rows.append({k: _cell(v) for k, v in row.items()})
    return rows


def _metrics_md(rows: Sequence[Mapping[str, Any]]) -> str:
    shown = [
        {
            "horizon": r["horizon"],
            "n": r["n"],
            "model MAE": _fmt(r["mae"]),
            "random walk MAE": _fmt(r.get("random_walk_mae")),
            "drift MAE": _fmt(r.get("drift_mae")),
            "ridge MAE": _fmt(r.get("ridge_mae")),
            "DM p": _fmt(r["dm_p"], ".3f"),
        }
        for r in rows
    ]
    return markdown_table(shown, list(shown[0]) if shown else ["horizon"])


def not_beating_rw(metrics: Mapping[str, Any]) -> list[str]:
    """One warning naming the horizons where the model does not beat the random walk."""
    lost = [str(v["horizon"]) for v in metrics.get("verdicts", []) if not v["beats_random_walk"]]
    if not lost:
        return []
    level = metrics.get("significance", 0.05)
    return [
        f"model does not beat random walk at horizon(s) {', '.join(lost)} "
        f"(Diebold-Mariano, one-sided, {level:.0%} level)"
    ]


# ----------------------------------------------------------------------------- flows


@flow(name="ingest")
def ingest_flow(cfg: RunConfig) -> dict[str, Any]:
    """Fetch, validate and store prices, one task per ticker (retried on network errors).

    Args:
        cfg: The stackcast configuration; ``[data]`` names the source and the tickers
            (a sample or file source without configured tickers ingests all it holds).
    """
    from pipeline.ingest import resolve_tickers
    from pipeline.sources import parse_source

    cfg = prepared(cfg)
    with summary_on_failure("ingest", "Ingest"):
        tickers = resolve_tickers(cfg, None, parse_source(cfg.data.source))
        with task_runner_for(cfg.runtime) as runner:
            ingested, failed = ingest_all(runner, cfg, tickers)
        rows = [
            ingested.get(t) or {"ticker": t, "status": "failed", "message": _bare(t, failed[t])}
            for t in tickers
        ]
        warnings = ingest_warnings(ingested, {})
        warnings += [f"{t}: ingest failed: {_bare(t, why)}" for t, why in failed.items()]
        added = sum(r["rows_added"] for r in ingested.values())
        md = (
            f"# Ingest: {len(ingested)} of {len(tickers)} tickers from {cfg.data.source}\n\n"
            f"{added} new bars stored in `{cfg.home() / 'prices'}`.\n\n"
            + markdown_table(
                [{**r, "rows_added": r.get("rows_added", 0)} for r in rows],
                ["ticker", "status", "action", "rows_added", "rows", "first", "last", "message"],
            )
            + _warnings_md(warnings)
        )
        table = [{k: _cell(v) for k, v in r.items() if k != "warnings"} for r in rows]
        publish_artifacts(
            "ingest", md, ("ingest-tickers", table, "One row per ticker"), None, cfg.home()
        )
        if not ingested:
            raise DataError(
                "no ticker could be ingested: " + "; ".join(f"{t}: {w}" for t, w in failed.items())
            )
    data = {"tickers": list(ingested), "failed": failed, "rows_added": added}
    return finished(f"{len(ingested)} ticker(s) ingested, {added} new bars", data, failed)


@flow(name="daily-forecast")
def daily_forecast_flow(cfg: RunConfig, as_of: date | None = None) -> dict[str, Any]:
    """Ingest new bars, forecast every ticker with the champion, publish, score and report.

    Args:
        cfg: The stackcast configuration (tickers, model name, runtime, report settings).
        as_of: Replay this past day on the stored prices (no ingest); empty: today, after
            ingesting the new bars.
    """
    cfg = prepared(cfg)
    log = get_run_logger()
    with summary_on_failure("daily-forecast", f"Daily forecast: {cfg.name}"):
        directory, model = find_champion(cfg)
        log.info("champion: %s %s", model["name"], model["version"])
        tickers = list(cfg.data.tickers)
        ingested: dict[str, Any] = {}
        ingest_failed: dict[str, str] = {}
        with task_runner_for(cfg.runtime) as runner:
            if as_of is None:
                ingested, ingest_failed = ingest_all(runner, cfg, tickers)
            parts, failed = fan_out(
                runner,
                forecast_ticker,
                tickers,
                "ticker",
                cfg=cfg,
                directory=directory,
                as_of=as_of,
            )
        for t, why in failed.items():
            failed[t] = _bare(t, why)
            if t in ingest_failed:
                failed[t] = f"ingest failed ({_bare(t, ingest_failed[t])}); {failed[t]}"
        stale = {t: why for t, why in ingest_failed.items() if t not in failed}
        warnings = ingest_warnings(ingested, stale)
        warnings += [f"{t}: not forecast: {why}" for t, why in failed.items()]
        if not parts:
            raise DataError(
                "no ticker could be forecast: " + "; ".join(f"{t}: {w}" for t, w in failed.items())
            )
        forecasts = daily.combine([parts[t] for t in tickers if t in parts])
        run_id = new_run_id("daily")
        update = publish_ledger(cfg, forecasts, run_id)
        score = score_ledger(cfg, as_of)
        day = daily.report_day(forecasts, as_of)
        rid, run_dir = write_daily_report(
            cfg,
            forecasts=forecasts,
            update=update,
            score=score,
            model=model,
            as_of=day,
            failed=failed,
            warnings=warnings,
            run_id=run_id,
        )
        report = run_dir / "report.html"
        md = daily_summary(cfg, forecasts, update, score["by_horizon"], model, day, warnings)
        link = publish_artifacts(
            "daily-forecast",
            md,
            (
                "daily-forecast-ledger",
                table_rows(forecasts.assign(run_id=rid), LEDGER_TABLE),
                "The ledger rows this run published",
            ),
            report,
            cfg.home(),
        )
    data = {
        "run_id": rid,
        "report": str(report),
        "link": link,
        "as_of": day,
        "model": model,
        "tickers": [t for t in tickers if t in parts],
        "failed": failed,
        "ledger": {"added": update.added, "replaced": update.replaced, "total": update.total},
        "warnings": warnings,
    }
    message = f"{len(parts)} ticker(s) forecast as of {day}; ledger +{update.added} new"
    return finished(message, data, failed)


LEDGER_TABLE = (
    "ticker",
    "origin",
    "horizon",
    "target_date",
    "origin_close",
    "price_pred",
    "y_pred",
    "lo",
    "hi",
    "model_version",
    "run_id",
)


def daily_summary(
    cfg: RunConfig,
    forecasts: pd.DataFrame,
    update: Any,
    score: pd.DataFrame,
    model: Mapping[str, Any],
    day: str,
    warnings: list[str],
) -> str:
    """The daily run's markdown: next-bar forecasts, ledger change, scoreboard, warnings."""
    h1 = forecasts[forecasts["horizon"] == 1]
    rows = [
        {
            "ticker": r.ticker,
            "origin": pd.Timestamp(r.origin).date(),
            "close": _fmt(r.origin_close, ".2f"),
            "target date": pd.Timestamp(r.target_date).date(),
            "forecast": _fmt(r.price_pred, ".2f"),
            "band": f"{_fmt(r.origin_close * math.exp(r.lo), '.2f')} – "
            f"{_fmt(r.origin_close * math.exp(r.hi), '.2f')}"
            if math.isfinite(r.lo) and math.isfinite(r.hi)
            else "—",
        }
        for r in h1.itertuples()
    ]
    warn = list(warnings)
    score_rows = []
    for r in score.itertuples():
        verdict = "beats RW" if r.mae < r.rw_mae else "does not beat RW"
        score_rows.append(
            {
                "horizon": r.horizon,
                "n": r.n,
                "MAE": _fmt(r.mae),
                "random walk MAE": _fmt(r.rw_mae),
                "": verdict,
            }
        )
        if r.horizon == 1 and not r.mae < r.rw_mae:
            warn.append(
                f"model does not beat random walk on the published 1-step forecasts so far "
                f"(MAE {r.mae:.5f} vs {r.rw_mae:.5f}, n = {r.n})"
            )
    scored = (
        markdown_table(score_rows, ["horizon", "n", "MAE", "random walk MAE", ""])
        if score_rows
        else "_no published forecast has reached its target date yet_\n"
    )
    return (
        f"# Daily forecast: {cfg.name}, as of {day}\n\n"
        f"Model **{model['name']} {model['version']}** (promoted "
        f"{model.get('promoted_at') or '?'}: {model.get('reason') or '?'}). "
        f"{forecasts['ticker'].nunique()} of {len(cfg.data.tickers)} tickers forecast; "
        f"ledger: **{update.added} new**, {update.replaced} replaced, {update.total} total.\n\n"
        "## Next bar\n\n"
        + markdown_table(rows, ["ticker", "origin", "close", "target date", "forecast", "band"])
        + "\n## Scoreboard (forecasts whose dates have passed)\n\n"
        + scored
        + _warnings_md(warn)
    )


def _retrain(cfg: RunConfig, prefix: str, title: str) -> State[Any]:
    """Ingest, train a challenger, decide, promote if it wins, report (train and weekly)."""
    log = get_run_logger()
    with summary_on_failure(prefix, title):
        with task_runner_for(cfg.runtime) as runner:
            ingested, ingest_failed = ingest_all(runner, cfg, list(cfg.data.tickers))
        frames, load_warnings = load_stored(cfg)
        warnings = ingest_warnings(ingested, ingest_failed)
        warnings += [w for w in load_warnings if "no stored prices" in w]
        panel, challenger = train_challenger(cfg, frames)
        warnings += [f"{t}: skipped: {why}" for t, why in panel.skipped.items()]
        warnings += list(challenger.fold.warnings)
        promoted, reason, numbers = decide(cfg, panel, challenger)
        if promoted:
            promote(cfg, challenger.version, reason, numbers)
        else:
            log.info("champion kept: %s", reason)
        val = challenger.validation
        if not val["y_pred"] < val["random_walk"]:
            warnings.append(
                f"model does not beat random walk on the validation block "
                f"(MAE {val['y_pred']:.5f} vs {val['random_walk']:.5f})"
            )
        decision = {"promoted": promoted, "reason": reason, **numbers}
        run_id, run_dir, metrics = write_validation_report(
            cfg, panel, frames, challenger, decision, warnings
        )
        rows = metric_rows(metrics)
        md = (
            f"# {title}: {cfg.name} {challenger.version} "
            f"{'**promoted** to champion' if promoted else '— champion **kept**'}\n\n"
            f"Decision: {reason}.\n\n"
            + markdown_table(decision_rows(numbers), ["", "validation MAE"])
            + f"\n## Validation block ({challenger.fold.split.audit()['test_start']} .. "
            f"{challenger.fold.split.audit()['test_end']}), per horizon\n\n"
            + _metrics_md(rows)
            + _warnings_md(warnings)
        )
        link = publish_artifacts(
            prefix,
            md,
            (f"{prefix}-validation", rows, "Validation-block errors per horizon vs baselines"),
            run_dir / "report.html",
            cfg.home(),
        )
    data = {
        "version": challenger.version,
        "promoted": promoted,
        "reason": reason,
        "numbers": numbers,
        "run_id": run_id,
        "report": str(run_dir / "report.html"),
        "link": link,
        "warnings": warnings,
    }
    verb = "promoted" if promoted else "champion kept"
    return finished(f"{challenger.version}: {verb}: {reason}", data, ingest_failed)


def decision_rows(numbers: Mapping[str, Any]) -> list[dict[str, str]]:
    """The numbers behind a promotion decision, as markdown rows."""
    names = [
        (f"challenger {numbers.get('challenger', '')}", "challenger_y_pred"),
        (f"champion {numbers.get('champion', '(none)')}", "champion_mae"),
        ("random walk", "challenger_random_walk"),
        ("drift", "challenger_drift"),
        ("ridge", "challenger_ridge"),
    ]
    return [{"": label, "validation MAE": _fmt(numbers.get(key))} for label, key in names]


@flow(name="train")
def train_flow(cfg: RunConfig) -> dict[str, Any]:
    """Train a new champion candidate: what ``stackcast train`` does, as tasks.

    The steps of ``forecasting.retrain``: train a new version on the latest data, validate it
    on the latest block of known outcomes, and make it the champion only if it beats the
    champion and the random walk there (or there is no champion yet).

    Args:
        cfg: The stackcast configuration (data, features, model, training, backtest sizes).
    """
    return _retrain(prepared(cfg), "train", "Train")


@flow(name="weekly-retrain")
def weekly_retrain_flow(cfg: RunConfig) -> dict[str, Any]:
    """Retrain a challenger; it replaces the champion only if it beats it and the random walk.

    Both are scored on the latest validation block (the challenger's own held-out block);
    the decision and its numbers go into the run's artifacts and ``metrics.json``.

    Args:
        cfg: The stackcast configuration (data, features, model, training, backtest sizes).
    """
    return _retrain(prepared(cfg), "weekly-retrain", "Weekly retrain")


@flow(name="backtest")
def backtest_flow(cfg: RunConfig) -> dict[str, Any]:
    """Walk-forward backtest against the random walk, drift and ridge, with a report.

    Args:
        cfg: The stackcast configuration (``[backtest]`` sets the folds).
    """
    cfg = prepared(cfg)
    with summary_on_failure("backtest", f"Backtest: {cfg.report.title}"):
        with task_runner_for(cfg.runtime) as runner:
            ingested, ingest_failed = ingest_all(runner, cfg, list(cfg.data.tickers))
        result = backtest(cfg)
        warnings = ingest_warnings(ingested, ingest_failed) + list(result.warnings)
        warnings += not_beating_rw(result.metrics)
        rows = metric_rows(result.metrics)
        folds = result.metrics.get("folds", [])
        span = f"{folds[0]['test_start']} .. {folds[-1]['test_end']}" if folds else ""
        md = (
            f"# Backtest: {cfg.report.title}\n\n"
            f"{len(folds)} walk-forward fold(s), test origins {span}, "
            f"tickers {', '.join(result.metrics.get('tickers', []))}; "
            f"{result.metrics.get('n', 0)} scored forecasts.\n\n"
            + _metrics_md(rows)
            + "\n"
            + "".join(f"- {v['sentence']}\n" for v in result.metrics.get("verdicts", []))
            + _warnings_md(warnings)
        )
        link = publish_artifacts(
            "backtest",
            md,
            ("backtest-metrics", rows, "Errors per horizon: model vs baselines (log returns)"),
            result.report,
            cfg.home(),
        )
    data = {
        "run_id": result.run_id,
        "report": str(result.report),
        "link": link,
        "verdicts": [v["sentence"] for v in result.metrics.get("verdicts", [])],
        "warnings": warnings,
    }
    return finished(f"backtest {result.run_id}", data, ingest_failed)
