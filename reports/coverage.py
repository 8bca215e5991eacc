"""Interval coverage against its nominal level: per horizon, per fold and per ticker.

Coverage is the share of realised outcomes inside the model's ``[lo, hi]`` band (rows with a
finite band). A group is flagged when its coverage lies more than ``COVERAGE_SE`` binomial
standard errors ``sqrt(p (1 - p) / n)`` from the nominal ``p``: ``"low"`` below (the band is
too narrow there, the dangerous side: a warning sentence) or ``"high"`` above (wider than
needed). The standard error counts rows as independent, but overlapping targets (``h > 1``)
and same-day errors of different tickers are correlated: the effective ``n`` is smaller than
the count, the true sampling error larger, so a correctly calibrated band is flagged far more
often than two standard errors suggest (simulated, an exact 80% band, 10 tickers with
same-day correlation 0.5, 60 origins x horizons 1..5 per fold: about 30% of folds flagged
"low"). A flag is a place to look, not evidence of miscalibration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from stackcast.reports.significance import finite_or_none

COVERAGE_SE = 2.0  # standard errors from nominal that flag a group


def standard_error(p: float, n: int) -> float:
    """The binomial standard error of a share ``p`` over ``n`` rows."""
    return float(np.sqrt(p * (1.0 - p) / n))


def shortfall_sentence(what: str, c: float, n: int, p: float) -> str | None:
    """The warning for coverage ``c`` of ``what`` (n rows), or None within ``COVERAGE_SE``."""
    se = standard_error(p, n)
    if not c < p - COVERAGE_SE * se:
        return None
    return (
        f"interval coverage {what} is {100 * c:.1f}% (n = {n}), below the nominal "
        f"{100 * p:.0f}% by {100 * (p - c):.1f} points, more than {COVERAGE_SE:g} binomial "
        f"standard errors ({100 * se:.1f} points each)"
    )


def coverage_warnings(by_horizon: Sequence[Mapping[str, Any]]) -> list[str]:
    """Horizons whose interval covers less than nominal by more than ``COVERAGE_SE`` errors.

    Args:
        by_horizon: The model's per-horizon records (``horizon, coverage, coverage_n,
            coverage_nominal``).

    Returns:
        One sentence per such horizon, with the coverage, ``n`` and the shortfall.
    """
    out = []
    for r in by_horizon:
        c, n, p = r.get("coverage"), r.get("coverage_n") or 0, r.get("coverage_nominal")
        if c is None or p is None or n <= 0:
            continue
        line = shortfall_sentence(f"at horizon {r['horizon']}", c, n, p)
        if line:
            out.append(line)
    return out


def coverage_groups(df: pd.DataFrame, key: str, nominal: float | None) -> list[dict[str, Any]]:
    """Coverage per value of ``key`` (``fold`` or ``ticker``) over every horizon.

    Args:
        df: Scored rows with ``y_true``, ``lo``, ``hi`` and ``key``.
        key: The grouping column.
        nominal: The band's nominal level (None: no flags).

    Returns:
        ``[{key, n, coverage, low, high, flag}]`` in key order, where ``low``/``high`` bound
        nominal +- ``COVERAGE_SE`` standard errors and ``flag`` is ``"low"``, ``"high"`` or
        None; empty without finite bands.
    """
    if not {"lo", "hi"} <= set(df.columns) or len(df) == 0:
        return []
    y, lo, hi = (df[c].to_numpy(float) for c in ("y_true", "lo", "hi"))
    ok = np.isfinite(lo) & np.isfinite(hi)
    if not ok.any():
        return []
    inside = (y >= lo) & (y <= hi)
    out = []
    for value, idx in sorted(df.groupby(key, sort=False).indices.items()):
        idx = idx[ok[idx]]
        n = len(idx)
        if n == 0:
            continue
        c = float(inside[idx].mean())
        rec: dict[str, Any] = {key: value if key != "fold" else int(value), "n": n}
        rec |= {"coverage": finite_or_none(c), "low": None, "high": None, "flag": None}
        if nominal is not None:
            se = standard_error(nominal, n)
            rec["low"] = max(0.0, nominal - COVERAGE_SE * se)
            rec["high"] = min(1.0, nominal + COVERAGE_SE * se)
            rec["flag"] = "low" if c < rec["low"] else "high" if c > rec["high"] else None
        out.append(rec)
    return out


def coverage_detail(df: pd.DataFrame, nominal: float | None) -> dict[str, Any]:
    """Coverage by fold and by ticker with the per-fold warnings (``metrics.json`` entry).

    Returns:
        ``{"nominal", "by_fold": [...], "by_ticker": [...], "warnings": [...]}`` (see
        ``coverage_groups``); ``warnings`` has one sentence per fold below nominal by more
        than ``COVERAGE_SE`` standard errors.
    """
    by_fold = coverage_groups(df, "fold", nominal) if "fold" in df.columns else []
    warnings = []
    if nominal is not None:
        for r in by_fold:
            line = shortfall_sentence(f"in fold {r['fold']}", r["coverage"], r["n"], nominal)
            if line:
                warnings.append(line)
    return {
        "nominal": nominal,
        "by_fold": by_fold,
        "by_ticker": coverage_groups(df, "ticker", nominal),
        "warnings": warnings,
    }


def coverage_view(
    headline: Mapping[str, Any], audit: Sequence[Mapping[str, Any]], limit: int
) -> dict[str, Any] | None:
    """What the report's coverage table shows, or None without a band.

    Folds carry their test period from ``audit``; tickers are all listed up to ``limit``,
    beyond that only the flagged ones (``tickers_total`` counts all).
    """
    detail = headline.get("coverage") or {}
    if not detail.get("by_fold") and not detail.get("by_ticker"):
        return None
    periods = {a.get("fold"): a for a in audit}
    folds = [
        {
            **r,
            "test_start": periods.get(r["fold"], {}).get("test_start"),
            "test_end": periods.get(r["fold"], {}).get("test_end"),
        }
        for r in detail.get("by_fold", [])
    ]
    tickers = list(detail.get("by_ticker", []))
    flagged = [r for r in tickers if r.get("flag")]
    return {
        "nominal": detail.get("nominal"),
        "folds": folds,
        "tickers": tickers if len(tickers) <= limit else flagged,
        "tickers_total": len(tickers),
        "tickers_flagged": len(flagged),
        "all_tickers": len(tickers) <= limit,
    }
