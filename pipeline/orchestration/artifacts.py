"""Artifact content for the flows: markdown summaries, tables and report links.

Keys are stable (``<flow>-summary``, ``<flow>-report`` and one table per flow:
``daily-forecast-ledger``, ``backtest-metrics``, ``weekly-retrain-validation`` /
``train-validation``, ``ingest-tickers``), so the UI's Artifacts page keeps each key's history.
Link artifacts point at the report server that ``stackcast serve`` runs
(``stackcast.pipeline.results.reportserver.link_for``); flows run elsewhere skip them.

Every error figure a person reads here is percent of price: the log-return error x 100, in
columns or values marked ``%`` (table keys end in ``_pct``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)
from prefect.states import Completed, State
from stackcast.models.base import label
from stackcast.pipeline.config import RunConfig
from stackcast.pipeline.errors import UserError
from stackcast.pipeline.results.reportserver import link_for
from stackcast.reports.scoreboard import coverage_warnings as score_coverage_warnings
from stackcast.reports.verdicts import format_p

TABLE_ROWS = 500  # most rows in one table artifact

# ----------------------------------------------------------------------------- artifacts


def cell(value: Any) -> Any:
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
        {c: cell(v) for c, v in zip(cols, row, strict=True)}
        for row in frame[cols].head(TABLE_ROWS).itertuples(index=False, name=None)
    ]


def _fmt(value: Any, spec: str = ".5f") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return format(value, spec) if isinstance(value, int | float) else str(value)


def pct(value: Any, digits: int = 3) -> str:
    """A log-return error (or a share) as percent text: ``0.01954`` -> ``1.954%``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{100 * float(value):.{digits}f}%"


def _x100(value: Any) -> Any:
    return None if value is None else 100 * float(value)


def markdown_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """A GitHub-flavoured markdown table (what the Prefect UI renders)."""
    if not rows:
        return "_none_\n"
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = (str(r.get(c, "")).replace("|", "\\|") for c in columns)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def warnings_md(warnings: Sequence[str]) -> str:
    """A markdown "Warnings" list (empty text when there are none)."""
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
    """Per-horizon metrics of the model against the baselines (compact).

    Errors and coverage are percent (keys ending ``_pct``); ``dm_p`` is the one-sided
    Diebold-Mariano p-value and ``dm_p_holm`` the Holm-adjusted one the verdict uses.
    """
    base = metrics.get("baselines", {})

    def by_h(block: Mapping[str, Any]) -> dict[int, Mapping[str, Any]]:
        return {int(r["horizon"]): r for r in block.get("by_horizon", [])}

    model = by_h(metrics.get("model", {}))
    others = {name: by_h(block) for name, block in base.items()}
    dm = {int(r["horizon"]): r for r in metrics.get("dm", {}).get("pooled", [])}
    rows = []
    for h, m in sorted(model.items()):
        row: dict[str, Any] = {"horizon": h, "n": m.get("n"), "mae_pct": _x100(m.get("mae"))}
        for name, block in others.items():
            row[f"{name}_mae_pct"] = _x100(block.get(h, {}).get("mae"))
        row |= {
            "rmse_pct": _x100(m.get("rmse")),
            "mase": m.get("mase"),
            "dir_acc": m.get("dir_acc"),
            "coverage_pct": _x100(m.get("coverage")),
            "dm_p": dm.get(h, {}).get("p_one_sided"),
            "dm_p_holm": dm.get(h, {}).get("p_holm"),
            "beats_random_walk": dm.get(h, {}).get("beats_random_walk"),
        }
        rows.append({k: cell(v) for k, v in row.items()})
    return rows


def _p(value: Any) -> str:
    """A p-value as the report and the verdicts print it (``format_p``); ``—`` when missing."""
    return "—" if value is None else format_p(float(value))


def metrics_md(rows: Sequence[Mapping[str, Any]]) -> str:
    """Per-horizon errors of the model and baselines (percent) as a markdown table."""

    def p(value: Any) -> str:
        return "—" if value is None else f"{value:.3f}%"

    shown = [
        {
            "horizon": r["horizon"],
            "n": r["n"],
            "model MAE %": p(r["mae_pct"]),
            **{
                f"{label(k.removesuffix('_mae_pct'))} MAE %": p(v)
                for k, v in r.items()
                if k.endswith("_mae_pct") and k != "mae_pct"
            },
            "coverage": "—" if r.get("coverage_pct") is None else f"{r['coverage_pct']:.1f}%",
            "DM p": _p(r["dm_p"]),
            "DM p (Holm)": _p(r.get("dm_p_holm")),
        }
        for r in rows
    ]
    return markdown_table(shown, list(shown[0]) if shown else ["horizon"])


def verdicts_md(metrics: Mapping[str, Any]) -> str:
    """The verdict sentences as a markdown list, then how their p-values were adjusted."""
    lines = "".join(f"- {v['sentence']}\n" for v in metrics.get("verdicts", []))
    note = metrics.get("verdict_note")
    text = lines + (f"\n_{note}_\n" if note else "")
    for peer in metrics.get("peers", {}).values():
        text += "\n" + "".join(f"- {s}\n" for s in peer["sentences"]) + f"\n_{peer['note']}_\n"
    return text


def not_beating_rw(metrics: Mapping[str, Any]) -> list[str]:
    """One warning naming the horizons where the model does not beat the random walk."""
    lost = [str(v["horizon"]) for v in metrics.get("verdicts", []) if not v["beats_random_walk"]]
    if not lost:
        return []
    level = metrics.get("significance", 0.05)
    m = len(metrics.get("verdicts", []))
    return [
        f"model does not beat random walk at horizon(s) {', '.join(lost)} "
        f"(Diebold-Mariano, one-sided, Holm-adjusted across {m} horizon(s), {level:.0%} level)"
    ]


def metric_warnings(metrics: Mapping[str, Any]) -> list[str]:
    """A backtest's warnings: no win over the random walk, unscored rows, low coverage."""
    return (
        not_beating_rw(metrics)
        + list(metrics.get("scoring_warnings", []))
        + list(metrics.get("coverage_warnings", []))
    )


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


def dm_text(note: Any, p: Any) -> str:
    """A scoreboard row's test result: its DM p-value, or why there is none (``dm_note``)."""
    if isinstance(note, str):
        return note
    return f"Diebold-Mariano p = {_fmt(p, '.3f')} (one-sided, model better)"


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
    warn = list(warnings) + score_coverage_warnings(score)
    score_rows = []
    for r in score.itertuples():
        n = int(r.n)
        score_rows.append(
            {
                "horizon": int(r.horizon),
                "n": n,
                "MAE %": pct(r.mae),
                "random walk MAE %": pct(r.rw_mae),
                "coverage": pct(getattr(r, "coverage", None), 1),
                "": dm_text(getattr(r, "dm_note", None), getattr(r, "dm_p", float("nan"))),
            }
        )
        if r.horizon == 1 and not r.mae < r.rw_mae:
            warn.append(
                f"published 1-step forecasts are no more accurate than the random walk so far "
                f"(MAE {pct(r.mae)} vs {pct(r.rw_mae)}, n = {n})"
            )
    scored = (
        markdown_table(score_rows, ["horizon", "n", "MAE %", "random walk MAE %", "coverage", ""])
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
        + warnings_md(warn)
    )


def decision_rows(numbers: Mapping[str, Any]) -> list[dict[str, str]]:
    """The numbers behind a promotion decision, as markdown rows (MAE in percent)."""
    names = [
        (f"challenger {numbers.get('challenger', '')}", "challenger_y_pred"),
        (f"champion {numbers.get('champion', '(none)')}", "champion_mae"),
    ]
    names += [
        (label(key.removeprefix("challenger_")), key)
        for key in numbers
        if key.startswith("challenger_") and key not in ("challenger_y_pred", "challenger_ratio")
    ]
    return [{"": name, "validation MAE": pct(numbers.get(key))} for name, key in names]
