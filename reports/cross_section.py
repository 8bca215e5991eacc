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
from stackcast.reports.figures import COLORS, fixed_margins, new_figure, set_title, to_data_uri
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


def cross_section(headline: Mapping[str, Any], k: int = BEST_WORST) -> dict[str, Any]:
    """What the report's cross-section shows.

    Returns:
        ``{"horizons", "summary": [{horizon, tickers, better, share_better, q10, median,
        q90}], "best": rows, "worst": rows, "tickers": n, "family": ...}``: the ``k`` rows of
        ``skill_table`` with the lowest and the highest mean ratio (highest first in ``worst``;
        at most half the tickers each, so small runs do not list a ticker twice); ``family``
        is the run's ``ticker_family`` (what the flags mean and what chance would give), or
        None.
    """
    table = skill_table(headline)
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
    """Histograms of the per-ticker MAE ratio model / random walk, one panel per horizon."""
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
    fig, axes = new_figure(2.6, 1, len(shown), sharey=True, layout=None)
    fixed_margins(fig, 0.6, 0.2, 0.3, 0.5, wspace=0.15)  # one row of same-shaped panels
    for ax, h in zip(axes[0], shown, strict=True):
        v = per_h[h]
        ax.hist(v, bins=bins, color=COLORS["model"], alpha=0.8, histtype="stepfilled")
        ax.axvline(1.0, color=COLORS["actual"], lw=1.0, ls="--")
        set_title(ax, f"h={h}: {int((v < 1).sum())}/{v.size} better")
        ax.set_xlabel("MAE model / RW", fontsize=8)
    axes[0, 0].set_ylabel("tickers")
    return to_data_uri(fig)
