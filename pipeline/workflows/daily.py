"""The daily forecast workflow: ingest -> forecast each ticker -> ledger -> score -> report.

``daily_forecast`` is the one body: ``stackcast run`` calls it with in-process steps, the
``daily-forecast`` flow with Prefect tasks (``ingest-<T>`` and ``forecast-<T>`` fan out per
ticker, then ``forecast-all`` predicts every ticker that passed in one go). A ticker that
cannot be ingested but is stored is forecast from its stored bars (a warning); one that
cannot be forecast is reported in ``failed`` and the rest go on.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from stackcast.pipeline.config import RunConfig
from stackcast.pipeline.data.prices import stored_frame
from stackcast.pipeline.errors import DataError
from stackcast.pipeline.results import ledger, registry, whatif
from stackcast.pipeline.results.runs import new_run_id, now_iso, publish_run
from stackcast.pipeline.workflows.common import bare_message, ingest_all, ingest_warnings
from stackcast.pipeline.workflows.forecast import forecast_tickers
from stackcast.pipeline.workflows.steps import Steps


@dataclass
class DailyResult:
    """A published daily run."""

    run_id: str
    run_dir: Path
    forecasts: pd.DataFrame
    update: ledger.LedgerUpdate
    score: dict[str, pd.DataFrame]
    day: str
    failed: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=dict)
    home: Path | None = None

    @property
    def report(self) -> Path:
        """The run's ``report.html``."""
        return self.run_dir / "report.html"


def champion_info(cfg: RunConfig, as_of: _dt.date | None = None) -> tuple[Path, dict[str, Any]]:
    """The model a forecast uses, and a short description for reports and artifacts.

    Today's forecast uses the champion; a forecast as of a past day uses the version that
    saw the most prices without seeing past that day (``registry.version_as_of``).

    Raises:
        NoChampion: No such model, with the command that trains one.
    """
    home = cfg.home()
    if as_of is None:
        version, directory = registry.champion_dir(home, cfg.name)
        record = registry.champion(home, cfg.name) or {}
    else:
        version, directory = registry.version_as_of(home, cfg.name, as_of)
        record = {"reason": f"newest version that saw no price after {as_of}"}
    from stackcast.reports.daily import forecast_caption

    meta = read_meta(directory)
    return directory, {
        "name": cfg.name,
        "version": version,
        "seen_until": meta.get("seen_until"),
        "promoted_at": record.get("promoted_at"),
        "reason": record.get("reason"),
        "forecast": forecast_caption(meta),
    }


def read_meta(directory: Path) -> dict[str, Any]:
    """A version's ``meta.json`` (empty when unreadable: loading it later says why)."""
    import json

    try:
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def publish(cfg: RunConfig, forecasts: pd.DataFrame, run_id: str) -> ledger.LedgerUpdate:
    """Append the run's forecasts to the ledger (same origin again replaces, never duplicates)."""
    return ledger.append(cfg.home(), forecasts.assign(run_id=run_id))


def scoreboard(cfg: RunConfig, as_of: _dt.date | None = None) -> dict[str, pd.DataFrame]:
    """Score every published forecast of this model against the stored closes."""
    from stackcast.reports import scoreboard as sb

    frames = {}
    for ticker in cfg.data.tickers:
        try:
            frames[ticker] = stored_frame(cfg, ticker, as_of)
        except DataError:  # nothing stored, or damaged: its forecasts wait to be scored
            continue
    book = ledger.read(cfg.home())
    realised = ledger.score(book[book["model_name"] == cfg.name], frames)
    return {
        "by_horizon": sb.summary(
            realised, by=("horizon",), nominal=cfg.train.interval if cfg.train.mc_samples else None
        ),
        "by_ticker": sb.summary(realised, by=("ticker", "horizon")),
        "running": sb.cumulative(realised, by=("horizon",)),
    }


def write_daily(
    cfg: RunConfig,
    run_id: str,
    forecasts: pd.DataFrame,
    update: ledger.LedgerUpdate,
    score: dict[str, pd.DataFrame],
    model: dict[str, Any],
    day: str,
    failed: dict[str, str],
    warnings: list[str],
) -> Path:
    """Publish the daily run directory (report, forecasts, metrics) and refresh the index."""
    from stackcast.reports.daily import DailyData, render_daily
    from stackcast.reports.scoreboard import UNITS as SCORE_UNITS

    created = now_iso()
    html = render_daily(
        DailyData(
            title=f"stackcast daily forecast: {cfg.name}",
            run_id=run_id,
            created=created,
            as_of=day,
            model=model,
            forecasts=forecasts,
            score=score["by_horizon"],
            score_by_ticker=score["by_ticker"],
            running=score["running"],
            failed=failed,
            warnings=warnings,
        )
    )
    metrics = {
        "as_of": day,
        "model": model,
        "ledger": {"added": update.added, "replaced": update.replaced, "total": update.total},
        "score": score["by_horizon"].to_dict("records"),
        "units": dict(SCORE_UNITS),
        "failed": failed,
        "warnings": warnings,
    }
    summary = score_summary(
        run_id, created, "daily", f"as of {day}", forecasts, score["by_horizon"]
    )
    files = {"forecasts.parquet": forecasts, "metrics.json": metrics, "report.html": html}
    return publish_run(cfg.home(), run_id, files, summary)


def score_summary(
    run_id: str, created: str, kind: str, title: str, forecasts: pd.DataFrame, score: pd.DataFrame
) -> dict[str, Any]:
    """The index's row for a run of published forecasts: horizon-1 MAEs and the verdict."""
    from stackcast.reports.daily import daily_verdict

    h1 = score[score["horizon"] == 1] if len(score) else score
    return {
        "run_id": run_id,
        "created": created,
        "kind": kind,
        "title": title,
        "tickers": sorted(forecasts["ticker"].unique().tolist()),
        "mae_model": float(h1.iloc[0]["mae"]) if len(h1) else None,
        "mae_rw": float(h1.iloc[0]["rw_mae"]) if len(h1) else None,
        "verdict": daily_verdict(h1.iloc[0]) if len(h1) else "",
    }


def daily_forecast(
    cfg: RunConfig,
    as_of: _dt.date | None = None,
    *,
    steps: Steps | None = None,
    refresh: bool = True,
    home: str | Path | None = None,
) -> DailyResult:
    """Ingest new bars, forecast every ticker with the champion, publish, score and report.

    A run ``as_of`` a past day is a what-if run: it writes its ledger rows, run and index to
    a what-if home (``home``, default STACKCAST_HOME/as-of), never to the live ones, and it
    scores only the forecasts published there.

    Args:
        cfg: The configuration (``[data] tickers``, the model ``name``).
        as_of: Replay this past day on the stored prices (no ingest).
        steps: How steps run (default: in this process).
        refresh: Ingest new bars first (never with ``as_of``).
        home: The what-if home of an ``as_of`` run.
    """
    if as_of is not None and not whatif.is_whatif(cfg.home()):
        with whatif.what_if(cfg, "as-of", home) as inner:
            return daily_forecast(inner, as_of, steps=steps, refresh=False)
    whatif.refuse_home_without_as_of(home, as_of)
    steps = steps or Steps()
    directory, model = steps.call("find-champion", champion_info, cfg, as_of)
    steps.say(f"model: {model['name']} {model['version']}, seen until {model['seen_until']}")
    tickers = list(cfg.data.tickers)
    ingested: dict[str, Any] = {}
    ingest_failed: dict[str, str] = {}
    if refresh and as_of is None:
        fetch = list(dict.fromkeys([*tickers, *cfg.features.covariates]))
        ingested, ingest_failed = ingest_all(steps, cfg, fetch)
    forecasts, failed = forecast_tickers(steps, cfg, directory, tickers, as_of)
    for t in tickers:
        if t in failed:
            failed[t] = bare_message(t, failed[t])
            if t in ingest_failed:
                failed[t] = f"ingest failed ({bare_message(t, ingest_failed[t])}); {failed[t]}"
            steps.say(f"forecast {t}: failed: {failed[t]}")
        else:
            steps.say(f"forecast {t}: ok")
    stale = {t: why for t, why in ingest_failed.items() if t not in failed}
    warnings = ingest_warnings(ingested, stale)
    warnings += [f"{t}: not forecast: {why}" for t, why in failed.items()]
    if forecasts is None:
        raise DataError(
            "no ticker could be forecast: " + "; ".join(f"{t}: {w}" for t, w in failed.items())
        )
    run_id = new_run_id("daily")
    update = steps.call("publish-ledger", publish, cfg, forecasts, run_id)
    steps.say(f"ledger: {update.added} new, {update.replaced} replaced, {update.total} total")
    score = steps.call("score-ledger", scoreboard, cfg, as_of)
    day = str(as_of or pd.Timestamp(forecasts["origin"].max()).date())
    run_dir = steps.call(
        "write-daily-report", write_daily, cfg, run_id, forecasts, update, score, model, day,
        failed, warnings,
    )  # fmt: skip
    return DailyResult(
        run_id, run_dir, forecasts, update, score, day, failed, warnings, model, cfg.home()
    )
