"""The index of runs: ``STACKCAST_HOME/index.html``, one row per run, newest first.

``index_entry`` makes a row from a run's ``evaluate`` output; ``render_index`` renders the
self-contained page (templates and escaping as in ``stackcast.reports.templating``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from stackcast.reports.templating import _env


def index_entry(
    run_id: str,
    created: str,
    kind: str,
    headline: Mapping[str, Any] | None,
    *,
    tickers: Sequence[str] | None = None,
    title: str = "",
) -> dict[str, Any]:
    """One ``render_index`` row from a run's ``evaluate`` output.

    Returns:
        ``{run_id, created, kind, title, tickers, mae_model, mae_rw, verdict}`` where the MAEs
        are at horizon 1 and ``verdict`` is the run's stored verdict (``headline["verdict"]``,
        computed once by ``verdicts.run_verdicts``; a sweep's is selection-aware).
    """
    headline = headline or {}

    def mae_h1(block: Mapping[str, Any]) -> float | None:
        return next((r["mae"] for r in block.get("by_horizon", []) if r["horizon"] == 1), None)

    verdict = verdict_text((headline.get("verdict") or {}).get("sentence", ""))
    return {
        "run_id": run_id,
        "created": created,
        "kind": kind,
        "title": title,
        "tickers": list(tickers if tickers is not None else headline.get("tickers", [])),
        "mae_model": mae_h1(headline.get("model", {})),
        "mae_rw": mae_h1(headline.get("baselines", {}).get("random_walk", {})),
        "verdict": verdict,
    }


_FLOAT_COUNT = re.compile(r"\b(n = \d+)\.0\b")


def verdict_text(verdict: Any) -> str:
    """A verdict as shown: counts as integers (``n = 14``, also for runs indexed as ``14.0``)."""
    return _FLOAT_COUNT.sub(r"\1", str(verdict or ""))


def _created_key(created: Any) -> float:
    """Sort key of an ISO timestamp (naive ones read as local time); unparsable ones last."""
    try:
        return datetime.fromisoformat(str(created)).timestamp()
    except ValueError:
        return -math.inf


def render_index(runs: Sequence[Mapping[str, Any]], *, title: str = "stackcast runs") -> str:
    """Render ``STACKCAST_HOME/index.html``: every run, newest first.

    Args:
        runs: rows like ``index_entry`` returns (``run_id`` and ``created`` required; missing
            fields show as ``—``). Each links to ``runs/<run_id>/report.html``.
        title: page title.
    """
    ordered = sorted(runs, key=lambda r: _created_key(r.get("created")), reverse=True)
    rows = []
    for r in ordered:
        tickers = r.get("tickers") or []
        rows.append(
            {
                "run_id": str(r["run_id"]),
                "created": str(r.get("created", "")).replace("T", " ", 1),
                "kind": str(r.get("kind") or "—"),
                "title": str(r.get("title") or ""),
                "tickers": ", ".join(map(str, tickers))
                if not isinstance(tickers, str)
                else tickers,
                "mae_model": r.get("mae_model"),
                "mae_rw": r.get("mae_rw"),
                "verdict": verdict_text(r.get("verdict")),
            }
        )
    return _env().get_template("index.html").render(title=title, rows=rows)
