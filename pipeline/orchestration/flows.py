"""Prefect flows: ingest, train, weekly retrain, backtest and the daily forecast.

Every flow takes the whole ``RunConfig`` as its ``cfg`` parameter (a pydantic model, so the
Prefect UI renders it as a form with the config's values as defaults and the fields'
descriptions as help), and is built from small tasks over the plain steps of
``stackcast.pipeline.data.ingest``, ``stackcast.pipeline.workflows.training``, ``stackcast.pipeline.workflows.backtest`` and ``stackcast.pipeline.workflows.daily``.

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

Task layout and runners: ``stackcast.pipeline.orchestration.tasks``; artifact content: ``stackcast.pipeline.orchestration.artifacts``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, get_run_logger
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
    metrics_md,
    not_beating_rw,
    publish_artifacts,
    summary_on_failure,
    table_rows,
    warnings_md,
)
from stackcast.pipeline.orchestration.tasks import (
    backtest,
    bare_message,
    decide,
    fan_out,
    find_champion,
    forecast_ticker,
    ingest_all,
    ingest_warnings,
    load_stored,
    prepared,
    promote,
    publish_ledger,
    score_ledger,
    task_runner_for,
    train_challenger,
    write_daily_report,
    write_validation_report,
)
from stackcast.pipeline.results.runs import new_run_id
from stackcast.pipeline.workflows import daily

# ----------------------------------------------------------------------------- flows


@flow(name="ingest")
def ingest_flow(cfg: RunConfig) -> dict[str, Any]:
    """Fetch, validate and store prices, one task per ticker (retried on network errors).

    Args:
        cfg: The stackcast configuration; ``[data]`` names the source and the tickers
            (a sample or file source without configured tickers ingests all it holds).
    """
    from stackcast.pipeline.data.ingest import resolve_tickers
    from stackcast.pipeline.data.sources import parse_source

    cfg = prepared(cfg)
    with summary_on_failure("ingest", "Ingest"):
        tickers = resolve_tickers(cfg, None, parse_source(cfg.data.source))
        with task_runner_for(cfg.runtime) as runner:
            ingested, failed = ingest_all(runner, cfg, tickers)
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
            failed[t] = bare_message(t, why)
            if t in ingest_failed:
                failed[t] = f"ingest failed ({bare_message(t, ingest_failed[t])}); {failed[t]}"
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
            + metrics_md(rows)
            + warnings_md(warnings)
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
            + metrics_md(rows)
            + "\n"
            + "".join(f"- {v['sentence']}\n" for v in result.metrics.get("verdicts", []))
            + warnings_md(warnings)
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
