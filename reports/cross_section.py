"""The cross-section of a run: how the model's skill against the random walk spreads over tickers.

Per ticker and horizon the skill ratio is the model's MAE divided by the random walk's on the
same scored rows (below 1: the model was better). The report shows its distribution per horizon
(a histogram and quantiles) and the tickers with the lowest and highest mean ratio over
horizons, each linked to its page. A ranking of estimates is not evidence: with no skill at all
about half the tickers land below 1. The evidence is the per-ticker "beats RW" flag, Holm-adjusted
across every ticker x horizon test, next to how many raw "wins" chance alone would give
(``significance.ticker_family``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from stackcast.reports.figures import COLORS
from stackcast.reports.svg_plot import Canvas, ticks
from stackcast.reports.ticker_pages import page_path

#: Rows in each of the best and worst tables.
BEST_WORST = 10
#: Histograms drawn at most (horizons spread from 1 to H).
MAX_PANELS = 5


def skill_table(headline: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per ticker: the model / random-walk MAE ratio per horizon, its mean, adjusted DM wins.

    Returns:
        Rows ``{ticker, href, n, ratios: {h: ratio}, mean_ratio, beats: [h...]}`` sorted by
        ``mean_ratio`` (best first; tickers without a ratio last).
    """
    rw = {
        (str(r["ticker"]), int(r["horizon"])): r.get("mae")
        for r in headline.get("baselines", {}).get("random_walk", {}).get("by_ticker", [])
    }
    beats: dict[str, list[int]] = {}
    for e in headline.get("dm", {}).get("by_ticker", []):
        if e.get("beats_random_walk"):
            beats.setdefault(str(e["ticker"]), []).append(int(e["horizon"]))
    rows: dict[str, dict[str, Any]] = {}
    for r in headline.get("model", {}).get("by_ticker", []):
        t, h = str(r["ticker"]), int(r["horizon"])
        row = rows.setdefault(
            t, {"ticker": t, "href": page_path(t), "n": 0, "ratios": {}, "beats": beats.get(t, [])}
        )
        row["n"] += int(r.get("n") or 0)
        base = rw.get((t, h))
        if r.get("mae") is not None and base:
            row["ratios"][h] = float(r["mae"]) / float(base)
    out = list(rows.values())
    for row in out:
        vals = list(row["ratios"].values())
        row["mean_ratio"] = float(np.mean(vals)) if vals else None
    out.sort(key=lambda r: (r["mean_ratio"] is None, r["mean_ratio"] or 0.0, r["ticker"]))
    return out


def cross_section(
    headline: Mapping[str, Any],
    k: int = BEST_WORST,
    table: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What the report's cross-section shows (``table``: ``skill_table(headline)``, if made).

    Returns:
        ``{"horizons", "summary": [{horizon, tickers, better, share_better, q10, median,
        q90}], "best": rows, "worst": rows, "tickers": n, "family": ...}``: the ``k`` rows of
        ``skill_table`` with the lowest and the highest mean ratio (highest first in ``worst``;
        at most half the tickers each, so small runs do not list a ticker twice); ``family``
        is the run's ``ticker_family`` (what the flags mean and what chance would give), or
        None.
    """
    table = skill_table(headline) if table is None else table
    horizons = [int(h) for h in headline.get("horizons", [])]
    summary = []
    for h in horizons:
        vals = np.array([r["ratios"][h] for r in table if h in r["ratios"]], dtype=float)
        if not vals.size:
            continue
        q10, med, q90 = np.quantile(vals, [0.1, 0.5, 0.9])
        better = int((vals < 1).sum())
        summary.append(
            {
                "horizon": h,
                "tickers": int(vals.size),
                "better": better,
                "share_better": better / vals.size,
                "q10": float(q10),
                "median": float(med),
                "q90": float(q90),
            }
        )
    ranked = [r for r in table if r["mean_ratio"] is not None]
    m = min(k, max(1, len(ranked) // 2)) if ranked else 0
    return {
        "horizons": horizons,
        "summary": summary,
        "best": ranked[:m],
        "worst": ranked[::-1][:m],
        "tickers": len(table),
        "family": headline.get("dm", {}).get("ticker_family"),
    }


def skill_histogram(table: list[dict[str, Any]], horizons: list[int]) -> str | None:
    """Histograms of the per-ticker MAE ratio model / random walk, one panel per horizon.

    An SVG ``data:`` URI (``stackcast.reports.svg_plot``); each panel counts the tickers whose
    model beat the random walk (ratio below 1, left of the dashed line).
    """
    per_h = {
        h: np.array([r["ratios"][h] for r in table if h in r["ratios"]], dtype=float)
        for h in horizons
    }
    per_h = {h: v[np.isfinite(v)] for h, v in per_h.items() if np.isfinite(v).any()}
    if not per_h:
        return None
    shown = list(per_h)
    if len(shown) > MAX_PANELS:
        picks = np.unique(np.linspace(0, len(shown) - 1, MAX_PANELS).round().astype(int))
        shown = [shown[i] for i in picks]
    allv = np.concatenate([per_h[h] for h in shown])
    lo, hi = float(min(allv.min(), 0.98)), float(max(allv.max(), 1.02))
    bins = np.linspace(lo, hi, max(8, min(40, int(math.sqrt(allv.size / len(shown))) * 2 + 1)))
    counts = {h: np.histogram(per_h[h], bins=bins)[0] for h in shown}
    top = max(int(c.max()) for c in counts.values()) * 1.05
    canvas = Canvas(880, 290)
    gap, left = 22, 66
    width = (880 - left - 20 - gap * (len(shown) - 1)) / len(shown)
    for i, h in enumerate(shown):
        v = per_h[h]
        x = left + i * (width + gap)
        ax = canvas.panel((x, 46, width, 190), (lo, hi), (0, top))
        ax.bars(bins, counts[h], COLORS["model"])
        ax.vline(1.0, COLORS["actual"], 1.0, "5,3")
        ax.axes(
            title=f"h = {h}",
            xlabel="MAE model / RW",
            ylabel="tickers" if i == 0 else "",
            xticks=ticks(lo, hi, n=3),
            yticks="linear" if i == 0 else [(y, "") for y, _ in ticks(0, top)],
        )
        canvas.text(x + width, 40, f"{int((v < 1).sum())}/{v.size} better", size=11, anchor="end")
    return canvas.data_uri()
