"""The daily forecast as plain steps: forecast -> publish -> score -> report.

``stackcast run`` calls ``run_daily`` directly (no Prefect server needed); the Prefect flow
``stackcast.pipeline.orchestration.flows.daily_forecast_flow`` wraps the same steps in tasks so tickers fan out and
fail independently: ``champion_info``, ``stored_frame`` + ``forecast_ticker`` per ticker,
``combine``, ``publish``, ``scoreboard``, ``write_daily``.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from stackcast.pipeline.config import RunConfig
from stackcast.pipeline.errors import DataError, UserError
from stackcast.pipeline.results import ledger, registry
from stackcast.pipeline.workflows.backtest import Progress, _say


@dataclass
class DailyResult:
    """A published daily run."""

    run_id: str
    run_dir: Path
    report: Path
    forecasts: pd.DataFrame
    added: int
    replaced: int
    score: pd.DataFrame
    failed: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=dict)


def forecast_ticker(
    cfg: RunConfig,
    directory: Path,
    ticker: str,
    frame: pd.DataFrame,
    as_of: _dt.date | None = None,
) -> pd.DataFrame:
    """Forecast one ticker's latest origin (on or before ``as_of``) with a saved model."""
    from stackcast.pipeline.workflows.training import build, forecast_rows, latest_origins

    panel = build(cfg, {ticker: frame})
    rows = latest_origins(panel, as_of)
    if len(rows) == 0:
        raise DataError(f"{ticker}: no usable origin on or before {as_of or 'today'}")
    return forecast_rows(directory, cfg, panel, rows)[0]


def stored_frame(cfg: RunConfig, ticker: str, as_of: _dt.date | None = None) -> pd.DataFrame:
    """One ticker's stored prices, cut at ``as_of`` (else at ``[data] end``) like ``load_prices``.

    Raises:
        DataError: Nothing stored for ``ticker``, or nothing on or before the cut.
    """
    from stackcast.pipeline.data.store import PriceStore

    frame = PriceStore(cfg.home()).read(ticker)
    cut = as_of or cfg.data.end
    if cut is not None:
        frame = frame[frame["date"] <= pd.Timestamp(cut)]
        if not len(frame):
            raise DataError(f"{ticker}: no stored prices on or before {cut}")
    return frame.reset_index(drop=True)


def combine(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """One frame of every ticker's forecasts (``DataError`` when there are none)."""
    if not parts:
        raise DataError("no ticker could be forecast")
    return pd.concat(parts, ignore_index=True)


def report_day(forecasts: pd.DataFrame, as_of: _dt.date | None = None) -> str:
    """The day a run is reported as: ``as_of``, else the latest forecast origin."""
    return str(as_of or pd.Timestamp(forecasts["origin"].max()).date())


def champion_info(cfg: RunConfig) -> tuple[Path, dict[str, Any]]:
    """The champion's directory and a short description for reports and artifacts."""
    home = cfg.home()
    version, directory = registry.champion_dir(home, cfg.name)
    record = registry.champion(home, cfg.name) or {}
    return directory, {
        "name": cfg.name,
        "version": version,
        "promoted_at": record.get("promoted_at"),
        "reason": record.get("reason"),
    }


def publish(cfg: RunConfig, forecasts: pd.DataFrame, run_id: str) -> ledger.LedgerUpdate:
    """Append the run's forecasts to the ledger (same origin again replaces, never duplicates)."""
    return ledger.append(cfg.home(), forecasts.assign(run_id=run_id))


def scoreboard(cfg: RunConfig, frames: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Score every published forecast of this model against the stored closes."""
    from stackcast.reports import scoreboard as sb

    book = ledger.read(cfg.home())
    book = book[book["model_name"] == cfg.name]
    realised = ledger.score(book, frames)
    return {
        "by_horizon": sb.summary(realised, by=("horizon",)),
        "by_ticker": sb.summary(realised, by=("ticker", "horizon")),
        "running": sb.cumulative(realised, by=()),
    }


def write_daily(
    cfg: RunConfig,
    forecasts: pd.DataFrame,
    update: ledger.LedgerUpdate,
    score: dict[str, pd.DataFrame],
    model: dict[str, Any],
    as_of: str,
    failed: dict[str, str],
    warnings: list[str],
    run_id: str | None = None,
) -> tuple[str, Path]:
    """Publish the run directory (report, forecasts, score) and refresh the index."""
    from stackcast.pipeline.atomic import atomic_write_json, atomic_write_parquet, atomic_write_text
    from stackcast.pipeline.results.runs import staged_run, update_index, write_summary
    from stackcast.reports.daily import DailyData, render_daily

    home = cfg.home()
    with staged_run(home, "daily", run_id=run_id) as run:
        rid = run.run_id
        created = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
        html = render_daily(
            DailyData(
                title=f"stackcast daily forecast: {cfg.name}",
                run_id=rid,
                created=created,
                as_of=as_of,
                model=model,
                forecasts=forecasts,
                score=score["by_horizon"],
                score_by_ticker=score["by_ticker"],
                running=score["running"],
                failed=failed,
                warnings=warnings,
            )
        )
        atomic_write_parquet(forecasts, run.staging / "forecasts.parquet")
        h1 = score["by_horizon"]
        h1 = h1[h1["horizon"] == 1] if len(h1) else h1
        atomic_write_json(
            run.staging / "metrics.json",
            {
                "as_of": as_of,
                "model": model,
                "ledger": {
                    "added": update.added,
                    "replaced": update.replaced,
                    "total": update.total,
                },
                "score": score["by_horizon"].to_dict("records"),
                "failed": failed,
                "warnings": warnings,
            },
        )
        atomic_write_text(run.staging / "report.html", html)
        verdict = ""
        if len(h1):
            r = h1.iloc[0]
            better = "beats" if r["mae"] < r["rw_mae"] else "does not beat"
            verdict = (
                f"published 1-step forecasts {better} the random walk so far "
                f"(MAE {100 * r['mae']:.3f}% vs {100 * r['rw_mae']:.3f}%, n = {r['n']})"
            )
        write_summary(
            run,
            {
                "run_id": rid,
                "created": created,
                "kind": "daily",
                "title": f"as of {as_of}",
                "tickers": sorted(forecasts["ticker"].unique().tolist()) if len(forecasts) else [],
                "mae_model": float(h1.iloc[0]["mae"]) if len(h1) else None,
                "mae_rw": float(h1.iloc[0]["rw_mae"]) if len(h1) else None,
                "verdict": verdict,
            },
        )
    update_index(home)
    return run.run_id, run.final


def run_daily(
    cfg: RunConfig,
    *,
    as_of: _dt.date | None = None,
    progress: Progress | None = None,
    refresh: bool = True,
) -> DailyResult:
    """Ingest new bars, forecast every ticker with the champion, publish, score and report.

    One ticker that cannot be forecast is reported in ``failed`` and does not stop the rest.
    """
    from stackcast.pipeline.data.prices import load_prices

    directory, model = champion_info(cfg)
    frames, warnings = load_prices(
        cfg, refresh=refresh and as_of is None, as_of=as_of, progress=progress
    )
    parts, failed = [], {}
    for ticker, frame in frames.items():
        try:
            parts.append(forecast_ticker(cfg, directory, ticker, frame, as_of))
            _say(progress, f"forecast {ticker}: ok")
        except UserError as exc:
            failed[ticker] = str(exc)
            _say(progress, f"forecast {ticker}: failed: {exc}")
    if not parts:
        raise DataError(
            "no ticker could be forecast: " + "; ".join(f"{t}: {w}" for t, w in failed.items())
        )
    forecasts = combine(parts)
    from stackcast.pipeline.results.runs import new_run_id

    run_id = new_run_id("daily")
    update = publish(cfg, forecasts, run_id)
    _say(progress, f"ledger: {update.added} new, {update.replaced} replaced, {update.total} total")
    score = scoreboard(cfg, frames)
    day = report_day(forecasts, as_of)
    rid, run_dir = write_daily(cfg, forecasts, update, score, model, day, failed, warnings, run_id)
    return DailyResult(
        rid,
        run_dir,
        run_dir / "report.html",
        forecasts,
        update.added,
        update.replaced,
        score["by_horizon"],
        failed,
        warnings,
        model,
    )
