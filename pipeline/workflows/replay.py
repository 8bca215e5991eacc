"""The replay workflow: the daily routine as production would have run it, session by session.

For every session of ``[start, end]`` it forecasts as of that session with the version that
saw the most prices without seeing past it (what ``stackcast run --as-of`` does), and
retrains on the configured retrain schedule (``[schedule] retrain_cron``) with prices up to
the last session before each retrain (what ``stackcast train --as-of`` does). The ledger is
filled point in time; the replay's run scores what it published against the random walk.
This is the backtest of the system as deployed, not of a model.

A replay writes only to its own what-if home (``stackcast.pipeline.results.whatif``): the
live ledger, registry, champion and index stay as they were, byte for byte.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from stackcast.pipeline.config import RunConfig
from stackcast.pipeline.errors import ConfigError, DataError, UserError
from stackcast.pipeline.results import ledger, registry, whatif
from stackcast.pipeline.results.runs import new_run_id, now_iso, publish_run
from stackcast.pipeline.workflows.steps import Steps

MAX_SESSIONS = 2000  # a replay is one daily run per session: refuse an accidental century


@dataclass
class ReplayResult:
    """What a replay did: one daily run per session, the retrains, its scored report and home."""

    sessions: list[str]
    retrains: list[dict[str, Any]]
    daily_runs: list[str]
    score: pd.DataFrame
    run_dir: Path
    failed: dict[str, str] = field(default_factory=dict)
    home: Path | None = None


def replay_sessions(cfg: RunConfig, start: _dt.date, end: _dt.date) -> list[_dt.date]:
    """The sessions of ``[features] calendar`` in ``[start, end]`` (bad ranges: exit 2)."""
    from stackcast.features.calendars import trading_calendar

    if start > end:
        raise ConfigError(f"--start {start} is after --end {end}")
    days = trading_calendar(cfg.features.calendar).sessions(start, end)
    if len(days) == 0:
        raise ConfigError(f"no {cfg.features.calendar} session from {start} to {end}")
    if len(days) > MAX_SESSIONS:
        raise ConfigError(f"{len(days)} sessions from {start} to {end}: at most {MAX_SESSIONS}")
    return [_dt.date.fromisoformat(str(d)) for d in days]


def retrain_days(cfg: RunConfig, sessions: list[_dt.date]) -> dict[_dt.date, _dt.date]:
    """Session -> the as-of date of the retrain that fires before its daily forecast.

    A retrain at time t (``retrain_cron`` in ``[schedule] timezone``) trains on prices up to
    the last session on or before t's date; the next session's forecast is the first to use it.
    """
    from cronsim import CronSim

    tz = ZoneInfo(cfg.schedule.timezone)
    begin = _dt.datetime.combine(sessions[0] - _dt.timedelta(days=1), _dt.time(), tz)
    out: dict[_dt.date, _dt.date] = {}
    for fired in CronSim(cfg.schedule.retrain_cron, begin):
        day = fired.date()
        if day >= sessions[-1]:
            break
        before = [s for s in sessions if s <= day]
        after = [s for s in sessions if s > day]
        if before and after:
            out.setdefault(after[0], before[-1])
    return out


def _ensure_model(
    cfg: RunConfig, day: _dt.date, steps: Steps, *, exact: bool
) -> dict[str, Any] | None:
    """Train an as-of version for ``day`` unless one exists; the retrain record, if trained.

    ``exact``: only a version that saw prices up to ``day`` itself counts (a scheduled
    retrain); otherwise any version that saw nothing after ``day`` does (the first model).
    """
    from stackcast.pipeline.workflows.daily import read_meta
    from stackcast.pipeline.workflows.training import retrain

    try:
        _, directory = registry.version_as_of(cfg.home(), cfg.name, day)
        if not exact or read_meta(directory).get("seen_until") == str(day):
            return None
    except registry.NoChampion:
        pass
    result = retrain(cfg, steps=steps, as_of=day)
    return {"as_of": str(day), "version": result.challenger.version}


def replay(
    cfg: RunConfig,
    start: _dt.date,
    end: _dt.date,
    *,
    steps: Steps | None = None,
    home: str | Path | None = None,
) -> ReplayResult:
    """Walk every session of ``[start, end]``: retrain on schedule, forecast, then score.

    Everything the replay writes (its versions, ledger, daily runs, report, index) goes to its
    own what-if home: ``home``, default a new STACKCAST_HOME/replays/<id>/. The live ledger,
    registry, champion and index are never written; live versions that saw nothing after a
    session may forecast it, read in place.

    Raises:
        ConfigError: ``start`` after ``end``, no session between them, or a bad ``home``.
        DataError: Nothing could be forecast on any session.
    """
    steps = steps or Steps()
    days = replay_sessions(cfg, start, end)
    with whatif.what_if(cfg, "replay", home) as inner:
        return _replay(inner, days, steps)


def _replay(cfg: RunConfig, days: list[_dt.date], steps: Steps) -> ReplayResult:
    """The replay of ``days`` in the what-if home ``cfg`` points at."""
    from stackcast.pipeline.workflows.daily import daily_forecast

    schedule = retrain_days(cfg, days)
    steps.say(f"replay: {len(days)} sessions {days[0]}..{days[-1]}, {len(schedule)} retrains")
    steps.say(f"replay home: {cfg.home()}")
    retrains: list[dict[str, Any]] = []
    first = _ensure_model(cfg, days[0] - _dt.timedelta(days=1), steps, exact=False)
    retrains += [first] if first else []
    runs: list[str] = []
    failed: dict[str, str] = {}
    for k, day in enumerate(days, 1):
        if day in schedule:
            made = _ensure_model(cfg, schedule[day], steps, exact=True)
            retrains += [made] if made else []
        try:
            daily = daily_forecast(cfg, day, steps=steps, refresh=False)
        except UserError as exc:
            failed[str(day)] = str(exc)
            steps.say(f"replay {k}/{len(days)} {day}: failed: {exc}")
            continue
        runs.append(daily.run_id)
        failed |= {f"{day} {t}": why for t, why in daily.failed.items()}
        steps.say(f"replay {k}/{len(days)} {day}: {daily.model['version']}")
    if not runs:
        raise DataError("the replay published nothing: " + "; ".join(failed.values()))
    score, run_dir = steps.call(
        "write-replay-report", publish_replay, cfg, days, runs, retrains, failed
    )
    return ReplayResult([str(d) for d in days], retrains, runs, score, run_dir, failed, cfg.home())


def publish_replay(
    cfg: RunConfig,
    days: list[_dt.date],
    runs: list[str],
    retrains: list[dict[str, Any]],
    failed: dict[str, str],
) -> tuple[pd.DataFrame, Path]:
    """Score the replay's published forecasts against the random walk and publish its run."""
    from stackcast.pipeline.workflows.daily import score_summary, stored_frame
    from stackcast.reports import scoreboard as sb
    from stackcast.reports.daily import DailyData, render_daily

    book = ledger.read(cfg.home())
    book = book[book["run_id"].isin(runs)]
    frames = {}
    for ticker in sorted(book["ticker"].unique()):
        try:
            frames[ticker] = stored_frame(cfg, ticker)
        except DataError:
            continue
    realised = ledger.score(book, frames)
    score = sb.summary(realised, by=("horizon",))
    run_id, created = new_run_id("replay"), now_iso()
    span = f"{days[0]} .. {days[-1]}"
    warnings = [f"{k}: {why}" for k, why in failed.items()]
    html = render_daily(
        DailyData(
            title=f"stackcast replay: {cfg.name}, {span}",
            run_id=run_id,
            created=created,
            as_of=span,
            model={
                "name": cfg.name,
                "version": ", ".join(sorted(set(book["model_version"]))),
                "seen_until": None,
            },
            forecasts=book,
            score=score,
            score_by_ticker=sb.summary(realised, by=("ticker", "horizon")),
            running=sb.cumulative(realised, by=()),
            failed={},
            warnings=warnings,
        )
    )
    metrics = {
        "home": str(cfg.home()),
        "live_home": str(whatif.live_home(cfg.home())),
        "start": str(days[0]),
        "end": str(days[-1]),
        "sessions": len(days),
        "daily_runs": runs,
        "retrains": retrains,
        "score": score.replace({np.nan: None}).to_dict("records"),
        "failed": failed,
    }
    summary = score_summary(run_id, created, "replay", f"replay {span}", book, score)
    files = {"forecasts.parquet": realised, "metrics.json": metrics, "report.html": html}
    return score, publish_run(cfg.home(), run_id, files, summary)
