"""Prefect flows: thin wrappers that run the workflow bodies as tasks and publish artifacts.

Every served flow takes a short run form (``stackcast.pipeline.orchestration.parameters``):
what a one-off run changes (``as_of``, ``tickers``, ``model_name``), then ``overrides`` (dotted
config keys) and ``cfg`` (the TOML file the rest comes from, or a ``RunConfig`` from Python).
It runs the same body as the CLI (``stackcast.pipeline.workflows``) with ``PrefectSteps``:
per-ticker work fans out on the task runner (``ingest-<T>``, ``forecast-<T>``), whole-panel
steps run in the flow's process, one task each.

Failure semantics: one ticker that fails (ingest after its retries, or forecast) fails only
its own task; the flow goes on with the others and lists the failure in its summary artifact
and its final state's message. A flow whose work was done for at least one ticker ends
COMPLETED (message ``"... 1 ticker(s) failed: NOPE"``): the published forecasts of the
healthy tickers are valid. A flow FAILS when nothing usable comes out: no champion, no
ticker forecast, no prices at all, training diverged. Failed flows still publish their
summary artifact, with the error.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow
from prefect.states import State
from stackcast.pipeline.config import RunConfig
from stackcast.pipeline.errors import DataError
from stackcast.pipeline.orchestration.artifacts import (
    LEDGER_TABLE,
    cell,
    daily_summary,
    decision_rows,
    finished,
    markdown_table,
    metric_rows,
    metric_warnings,
    metrics_md,
    publish_artifacts,
    summary_on_failure,
    table_rows,
    verdicts_md,
    warnings_md,
)
from stackcast.pipeline.orchestration.parameters import (
    AsOf,
    ConfigSource,
    Grid,
    ModelName,
    Overrides,
    Tickers,
    flow_config,
)
from stackcast.pipeline.orchestration.tasks import PrefectSteps, prepared, task_runner_for
from stackcast.pipeline.workflows.backtest import run_backtest
from stackcast.pipeline.workflows.common import bare_message, ingest_all, ingest_warnings
from stackcast.pipeline.workflows.daily import daily_forecast
from stackcast.pipeline.workflows.training import retrain


@flow(name="ingest")
def ingest_flow(
    cfg: ConfigSource = "", tickers: Tickers = None, overrides: Overrides = None
) -> State[Any]:
    """Fetch, validate and store prices, one task per ticker (retried on network errors).

    ``[data]`` names the source and the tickers (a sample or file source without configured
    tickers ingests all it holds). Parameters: the run form (``parameters``).
    """
    from stackcast.pipeline.data.ingest import resolve_tickers
    from stackcast.pipeline.data.sources import parse_source

    cfg = prepared(flow_config(cfg, tickers=tickers, overrides=overrides))
    with summary_on_failure("ingest", "Ingest"):
        tickers = resolve_tickers(cfg, None, parse_source(cfg.data.source))
        with task_runner_for(cfg.runtime) as runner:
            ingested, failed = ingest_all(PrefectSteps(runner), cfg, tickers)
        rows = [
            ingested.get(t)
            or {"ticker": t, "status": "failed", "message": bare_message(t, failed[t])}
            for t in tickers
        ]
        warnings = ingest_warnings(ingested, {})
        warnings += [f"{t}: ingest failed: {bare_message(t, why)}" for t, why in failed.items()]
        added = sum(r["rows_added"] for r in ingested.values())
        md = (
            f"# Ingest: {len(ingested)} of {len(tickers)} tickers from {cfg.data.source}\n\n"
            f"{added} new bars stored in `{cfg.home() / 'prices'}`.\n\n"
            + markdown_table(
                [{**r, "rows_added": r.get("rows_added", 0)} for r in rows],
                ["ticker", "status", "action", "rows_added", "rows", "first", "last", "message"],
            )
            + warnings_md(warnings)
        )
        table = [{k: cell(v) for k, v in r.items() if k != "warnings"} for r in rows]
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
def daily_forecast_flow(
    as_of: AsOf = None,
    tickers: Tickers = None,
    model_name: ModelName = "",
    overrides: Overrides = None,
    *,
    cfg: ConfigSource = "",
) -> State[Any]:
    """Ingest new bars, forecast every ticker with the champion, publish, score and report.

    The run form leads with ``as_of`` (a past day replays on the stored prices into the
    what-if home STACKCAST_HOME/as-of, never the live ledger; empty: today, after ingesting
    the new bars), the tickers and the model's name; ``overrides`` and the ``cfg`` file
    hold the rest (``parameters``).
    """
    cfg = prepared(flow_config(cfg, tickers=tickers, model_name=model_name, overrides=overrides))
    with summary_on_failure("daily-forecast", f"Daily forecast: {cfg.name}"):
        with task_runner_for(cfg.runtime) as runner:
            result = daily_forecast(cfg, as_of, steps=PrefectSteps(runner))
        forecasts, update = result.forecasts, result.update
        md = daily_summary(
            cfg, forecasts, update, result.score["by_horizon"], result.model, result.day,
            result.warnings,
        )  # fmt: skip
        ledger_rows = table_rows(forecasts.assign(run_id=result.run_id), LEDGER_TABLE)
        link = publish_artifacts(
            "daily-forecast",
            md,
            ("daily-forecast-ledger", ledger_rows, "The ledger rows this run published"),
            result.report,
            cfg.home(),
        )
    tickers = sorted(forecasts["ticker"].unique().tolist())
    data = {
        "run_id": result.run_id,
        "report": str(result.report),
        "link": link,
        "as_of": result.day,
        "model": result.model,
        "tickers": [t for t in cfg.data.tickers if t in tickers],
        "failed": result.failed,
        "ledger": {"added": update.added, "replaced": update.replaced, "total": update.total},
        "warnings": result.warnings,
        "home": str(result.home),  # a what-if home for a run as of a past day
    }
    message = f"{len(tickers)} ticker(s) forecast as of {result.day}; ledger +{update.added} new"
    return finished(message, data, result.failed)


def _retrain(cfg: RunConfig, prefix: str, title: str) -> State[Any]:
    """Run the retrain body as tasks and publish its decision (train and weekly-retrain)."""
    with summary_on_failure(prefix, title):
        with task_runner_for(cfg.runtime) as runner:
            result = retrain(cfg, steps=PrefectSteps(runner))
        challenger, numbers = result.challenger, result.numbers
        rows = metric_rows(result.metrics)
        split = challenger.model.meta["split"]
        md = (
            f"# {title}: {cfg.name} {challenger.version} "
            f"{'**promoted** to champion' if result.promoted else '— champion **kept**'}\n\n"
            f"Decision: {result.reason}.\n\n"
            + markdown_table(decision_rows(numbers), ["", "validation MAE"])
            + f"\n## Validation block ({split['test_start']} .. {split['test_end']}), "
            "per horizon\n\n" + metrics_md(rows) + warnings_md(result.warnings)
        )
        report = result.run_dir / "report.html"
        link = publish_artifacts(
            prefix,
            md,
            (f"{prefix}-validation", rows, "Validation-block errors per horizon vs baselines"),
            report,
            cfg.home(),
        )
    data = {
        "version": challenger.version,
        "promoted": result.promoted,
        "reason": result.reason,
        "numbers": numbers,
        "run_id": result.run_dir.name,
        "report": str(report),
        "link": link,
        "warnings": result.warnings,
    }
    verb = "promoted" if result.promoted else "champion kept"
    return finished(f"{challenger.version}: {verb}: {result.reason}", data, result.ingest_failed)


@flow(name="train")
def train_flow(
    cfg: ConfigSource = "",
    tickers: Tickers = None,
    model_name: ModelName = "",
    overrides: Overrides = None,
) -> State[Any]:
    """Train a new champion candidate: what ``stackcast train`` does, as tasks.

    Trains a new version on the latest data, validates it on the latest block of known
    outcomes, and makes it the champion only if it beats the champion and the random walk
    there (or there is no champion yet). Parameters: the run form (``parameters``).
    """
    cfg = flow_config(cfg, tickers=tickers, model_name=model_name, overrides=overrides)
    return _retrain(prepared(cfg), "train", "Train")


@flow(name="weekly-retrain")
def weekly_retrain_flow(
    cfg: ConfigSource = "",
    tickers: Tickers = None,
    model_name: ModelName = "",
    overrides: Overrides = None,
) -> State[Any]:
    """Retrain a challenger; it replaces the champion only if it beats it and the random walk.

    Both are scored on the latest validation block (the challenger's own held-out block);
    the decision and its numbers go into the run's artifacts and ``metrics.json``.
    Parameters: the run form (``parameters``).
    """
    cfg = flow_config(cfg, tickers=tickers, model_name=model_name, overrides=overrides)
    return _retrain(prepared(cfg), "weekly-retrain", "Weekly retrain")


@flow(name="backtest")
def backtest_flow(
    cfg: ConfigSource = "",
    tickers: Tickers = None,
    model_name: ModelName = "",
    overrides: Overrides = None,
) -> State[Any]:
    """Walk-forward backtest against the ``[backtest] forecasters``, with a report.

    ``[backtest]`` sets the folds. Parameters: the run form (``parameters``).
    """
    cfg = prepared(flow_config(cfg, tickers=tickers, model_name=model_name, overrides=overrides))
    with summary_on_failure("backtest", f"Backtest: {cfg.report.title}"):
        with task_runner_for(cfg.runtime) as runner:
            result, run_dir = run_backtest(cfg, steps=PrefectSteps(runner))
        metrics = result.metrics
        warnings = list(result.warnings) + metric_warnings(metrics)
        rows = metric_rows(metrics)
        folds = metrics.get("folds", [])
        span = f"{folds[0]['test_start']} .. {folds[-1]['test_end']}" if folds else ""
        md = (
            f"# Backtest: {cfg.report.title}\n\n"
            f"{len(folds)} walk-forward fold(s), test origins {span}, "
            f"tickers {', '.join(metrics.get('tickers', []))}; "
            f"{metrics.get('n', 0)} scored forecasts.\n\n"
            + metrics_md(rows)
            + "\n"
            + verdicts_md(metrics)
            + warnings_md(warnings)
        )
        link = publish_artifacts(
            "backtest",
            md,
            ("backtest-metrics", rows, "Errors per horizon: model vs baselines (percent)"),
            run_dir / "report.html",
            cfg.home(),
        )
    data = {
        "run_id": run_dir.name,
        "report": str(run_dir / "report.html"),
        "link": link,
        "verdicts": [v["sentence"] for v in metrics.get("verdicts", [])],
        "warnings": warnings,
    }
    return finished(f"backtest {run_dir.name}", data, result.ingest_failed)


@flow(name="sweep")
def sweep_flow(
    cfg: ConfigSource = "",
    grid: Grid = None,
    tickers: Tickers = None,
    model_name: ModelName = "",
    overrides: Overrides = None,
) -> State[Any]:
    """Backtest every combination of a grid; choose on validation folds, report the test folds.

    ``grid`` maps dotted config keys to lists of values (``{"model.dropout": [0.0, 0.2]}``);
    ``[sweep]`` sets the validation folds and the most combinations, ``[backtest]`` the test
    folds. Parameters: the run form (``parameters``).
    """
    from stackcast.pipeline.workflows.sweep import run_sweep

    cfg = prepared(flow_config(cfg, tickers=tickers, model_name=model_name, overrides=overrides))
    grid = grid or {}
    with summary_on_failure("sweep", f"Sweep: {cfg.report.title}"):
        with task_runner_for(cfg.runtime) as runner:
            result, run_dir = run_sweep(cfg, grid, steps=PrefectSteps(runner))
        rows = [
            {
                "candidate": r["label"],
                "status": r["status"],
                "chosen": r["candidate"] == result.winner.index,
                **{k: cell(r.get(k)) for k in ("validation_mae", "test_mae", "test_rw_mae")},
            }
            for r in result.rows
        ]
        md = (
            f"# Sweep: {cfg.report.title}\n\n"
            f"Chosen on validation: **{result.winner.label}** "
            f"({len(result.rows)} candidates, {len(result.failed)} failed).\n\n"
            + markdown_table(
                rows, ["candidate", "status", "chosen", "validation_mae", "test_mae", "test_rw_mae"]
            )
            + "\n"
            + verdicts_md(result.verdicts)
            + warnings_md(result.warnings)
        )
        report = run_dir / "report.html"
        link = publish_artifacts(
            "sweep", md, ("sweep-candidates", rows, "Every candidate: validation and test MAE"),
            report, cfg.home(),
        )  # fmt: skip
    data = {
        "run_id": run_dir.name,
        "report": str(report),
        "link": link,
        "winner": result.winner.label,
        "winner_config": str(run_dir / "winner.toml"),
        "verdicts": [v["sentence"] for v in result.verdicts.get("verdicts", [])],
        "failed": result.failed,
    }
    message = f"sweep {run_dir.name}: chose {result.winner.label}"
    if result.failed:
        message += f"; {len(result.failed)} candidate(s) failed: {', '.join(result.failed)}"
    return finished(message, data, {})


@flow(name="replay")
def replay_flow(cfg: RunConfig, start: date, end: date) -> State[Any]:
    """Replay the daily routine session by session, as production would have run it.

    Everything it writes goes to a new what-if home, STACKCAST_HOME/replays/<id>/; the live
    ledger, models and index are never written.

    Args:
        cfg: The stackcast configuration (the retrain schedule comes from ``[schedule]``).
        start: First session to replay.
        end: Last session to replay.
    """
    from stackcast.pipeline.workflows.replay import replay

    cfg = prepared(cfg)
    with summary_on_failure("replay", f"Replay: {cfg.name}"):
        with task_runner_for(cfg.runtime) as runner:
            result = replay(cfg, start, end, steps=PrefectSteps(runner))
        rows = [{k: cell(v) for k, v in r.items()} for r in result.score.to_dict("records")]
        md = (
            f"# Replay: {cfg.name}, {start} .. {end}\n\n"
            f"{len(result.daily_runs)} daily runs, {len(result.retrains)} retrains, written to "
            f"the replay's own home `{result.home}` (the live ledger, models and index are "
            "untouched).\n\n"
            + markdown_table(rows, ["horizon", "n", "mae", "rw_mae", "mae_ratio"])
            + warnings_md([f"{k}: {why}" for k, why in result.failed.items()])
        )
        report = result.run_dir / "report.html"
        link = publish_artifacts(
            "replay", md, ("replay-score", rows, "Published forecasts vs random walk"),
            report, cfg.home(),
        )  # fmt: skip
    data = {
        "run_id": result.run_dir.name,
        "report": str(report),
        "link": link,
        "home": str(result.home),
    }
    return finished(f"replayed {len(result.sessions)} sessions", data, {})
