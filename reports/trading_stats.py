"""Equity, drawdown and the summary statistics of a strategy's per-bar returns.

``performance`` summarises one strategy's bars; ``group_performance`` does the same for many
runs of bars at once (every ticker of a rule), with the numbers of ``performance`` to the last
bit. ``stackcast.reports.trading`` documents the conventions.
"""

from __future__ import annotations

from typing import Any

import numpy as np

KEYS = (
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "turnover",
    "hit_rate",
    "exposure",
)


def _f(x: Any) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def equity_curve(net: np.ndarray) -> np.ndarray:
    """Equity starting at 1: ``[1, 1 + r0, (1 + r0)(1 + r1), ...]`` (length ``n + 1``)."""
    return np.concatenate([[1.0], np.cumprod(1.0 + np.asarray(net, dtype=float))])


def drawdown(equity: np.ndarray) -> np.ndarray:
    """``equity / running_max - 1`` (0 at new highs, negative below)."""
    equity = np.asarray(equity, dtype=float)
    return equity / np.maximum.accumulate(equity) - 1.0


def _summary(
    n: int, ppy: int, end: Any, sd: Any, downside: Any, mdd: float, parts: dict[str, Any]
) -> dict[str, Any]:
    """The statistics of one strategy from its reductions, as ``performance`` returns them.

    ``parts`` holds ``excess_mean``, ``turnover_mean``, ``hits``, ``in_market`` (bars in the
    market, of which ``hits`` had a positive gross return) and ``exposure``.
    """
    cagr = end ** (ppy / n) - 1.0 if end > 0 else -1.0
    hits, in_market = parts["hits"], parts["in_market"]
    return {
        "bars": n,
        "total_return": _f(end - 1.0),
        "cagr": _f(cagr),
        "volatility": _f(sd * np.sqrt(ppy)),
        "sharpe": _f(parts["excess_mean"] / sd * np.sqrt(ppy)) if sd > 0 else None,
        "sortino": _f(parts["excess_mean"] / downside * np.sqrt(ppy)) if downside > 0 else None,
        "max_drawdown": _f(mdd),
        "calmar": _f(cagr / abs(mdd)) if mdd < 0 else None,
        "turnover": _f(parts["turnover_mean"] * ppy),
        "hit_rate": _f(hits / in_market) if in_market else None,
        "exposure": _f(parts["exposure"]),
    }


def performance(
    net: np.ndarray,
    gross: np.ndarray,
    turnover: np.ndarray,
    position: np.ndarray,
    *,
    periods_per_year: int = 252,
    risk_free: float = 0.0,
) -> dict[str, Any]:
    """Summary statistics of one strategy's per-bar returns (see ``stackcast.reports.trading``).

    Returns:
        ``bars, total_return, cagr, volatility, sharpe, sortino, max_drawdown, calmar,
        turnover, hit_rate, exposure`` (``None`` where undefined).
    """
    net = np.asarray(net, dtype=float)
    if net.size == 0:
        return {"bars": 0} | dict.fromkeys(KEYS)
    bars = (net, *(np.asarray(a, dtype=float) for a in (gross, turnover, position)))
    one = np.array([[0, net.size]])
    stats, _ = group_performance(*bars, one, periods_per_year=periods_per_year, risk_free=risk_free)
    return stats[0]


def group_performance(
    net: np.ndarray,
    gross: np.ndarray,
    turnover: np.ndarray,
    position: np.ndarray,
    bounds: np.ndarray,
    *,
    periods_per_year: int = 252,
    risk_free: float = 0.0,
) -> tuple[list[dict[str, Any]], list[tuple[np.ndarray, np.ndarray]]]:
    """``performance`` of each run ``a:b`` of ``bounds`` (``[G, 2]``, non-empty) of the bars.

    Runs of one length are reduced together, each run's values contiguous in a ``[G, L]``
    copy: every number is the one the run's own arrays give alone, to the last bit.

    Returns:
        Per run: its statistics, and its ``(equity_curve, drawdown)``.
    """
    ppy = periods_per_year
    rf = (1.0 + risk_free) ** (1.0 / ppy) - 1.0
    counts = bounds[:, 1] - bounds[:, 0]
    stats: list[Any] = [None] * len(bounds)
    curves: list[Any] = [None] * len(bounds)
    for n in np.unique(counts).tolist():
        runs = np.flatnonzero(counts == n)
        rows = bounds[runs, :1] + np.arange(n)
        r = np.ascontiguousarray(net[rows])
        held = np.ascontiguousarray(position[rows])
        equity = np.concatenate([np.ones((len(runs), 1)), np.cumprod(1.0 + r, axis=-1)], -1)
        dd = equity / np.maximum.accumulate(equity, axis=-1) - 1.0
        excess = r - rf
        sd = np.std(r, axis=-1, ddof=1) if n > 1 else np.full(len(runs), np.nan)
        downside = np.sqrt(np.mean(np.minimum(excess, 0.0) ** 2, axis=-1))
        in_market = held != 0
        parts = {
            "excess_mean": excess.mean(axis=-1),
            "turnover_mean": np.ascontiguousarray(turnover[rows]).mean(axis=-1),
            "hits": ((gross[rows] > 0) & in_market).sum(axis=-1).tolist(),
            "in_market": in_market.sum(axis=-1).tolist(),
            "exposure": np.abs(held).mean(axis=-1),
        }
        mdd = dd.min(axis=-1).tolist()
        for j, g in enumerate(runs.tolist()):
            mine = {k: v[j] for k, v in parts.items()}
            stats[g] = _summary(n, ppy, equity[j, -1], sd[j], downside[j], mdd[j], mine)
            curves[g] = (equity[j], dd[j])
    return stats, curves
