"""Significance of forecast accuracy: Diebold-Mariano and binomial tests, p-values in prose.

- Directional accuracy's p-value is the one-sided binomial test against 0.5 (``binomial_p``);
  for ``h > 1`` the targets of neighbouring origins overlap, so that p-value is optimistic.
- Diebold-Mariano (``diebold_mariano``) compares the model with the random walk under
  squared-error loss (``d_t = e_model^2 - e_rw^2`` per origin), with the long-run variance of
  ``d`` summed over ``h - 1`` autocovariance lags (the MA(h-1) structure of overlapping h-step
  errors), the Harvey-Leybourne-Newbold small-sample factor and a t distribution with ``T - 1``
  degrees of freedom, as in R's ``forecast::dm.test``. If that variance estimate is not
  positive, Bartlett (Newey-West) weights are used instead and the result says so.
  ``dm_tables`` runs it per ticker on that ticker's origins and pooled, where ``d`` is first
  averaged over the tickers present at each origin date, so the cross-sectional correlation of
  same-day errors is respected.
- Five horizons are five tests: ``holm`` adjusts their one-sided p-values (Holm-Bonferroni,
  across the horizons of one table: pooled, or one ticker's), every DM entry carries it as
  ``p_holm``, and ``beats_random_walk`` is decided on it, so the chance of any false "beats"
  among the horizons stays at the significance level.
- Everything returned is JSON-able: NaN and infinities become ``None`` (``finite_or_none``).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

RANDOM_WALK = "random_walk"


def finite_or_none(x: Any) -> float | None:
    """A finite Python float, or ``None``."""
    if x is None:
        return None
    x = float(x)
    return x if np.isfinite(x) else None


def binomial_p(hits: int, n: int) -> float | None:
    """One-sided binomial p-value of ``hits`` successes in ``n`` trials against p = 0.5."""
    return binomial_ps(np.array([hits]), np.array([n]))[0]


def binomial_ps(hits: np.ndarray, n: np.ndarray) -> list[float | None]:
    """``binomial_p`` of many ``(hits, n)`` pairs in one vectorised call (``None`` for n <= 0).

    The one-sided p-value is ``P(X >= hits) = binom.sf(hits - 1, n, 0.5)``, exactly what
    ``scipy.stats.binomtest(..., alternative="greater")`` returns; one call over arrays spares
    its per-call overhead (about 40 us, thousands of calls per report).
    """
    hits = np.asarray(hits, dtype=np.int64)
    n = np.asarray(n, dtype=np.int64)
    out: list[float | None] = [None] * len(n)
    ok = np.flatnonzero(n > 0)
    if ok.size:
        for i, p in zip(ok, stats.binom.sf(hits[ok] - 1, n[ok], 0.5), strict=True):
            out[int(i)] = float(p)
    return out


def diebold_mariano(d: np.ndarray, h: int) -> dict[str, Any]:
    """Diebold-Mariano test on a loss differential series with the HLN correction.

    Args:
        d: loss differential per origin, in time order (``loss_model - loss_benchmark``;
            negative means the model is more accurate).
        h: forecast horizon; the long-run variance sums ``h - 1`` autocovariance lags.

    Returns:
        ``n, mean_diff, stat, p_two_sided, p_one_sided`` (H1: the model's loss is lower) and
        ``variance`` (``"rectangular"``, ``"bartlett"`` fallback, or ``None`` if undefined).
        The statistic is ``None`` when there are fewer than ``max(3, 2h)`` origins or ``d``
        has no variance.
    """
    d = np.asarray(d, dtype=float)
    d = d[np.isfinite(d)]
    n = int(d.size)
    out: dict[str, Any] = {
        "n": n,
        "mean_diff": finite_or_none(d.mean()) if n else None,
        "stat": None,
        "p_two_sided": None,
        "p_one_sided": None,
        "variance": None,
    }
    if n < max(3, 2 * h):
        return out
    dc = d - d.mean()
    gamma = np.array([np.dot(dc[k:], dc[: n - k]) / n for k in range(h)])
    var = gamma[0] + 2.0 * gamma[1:].sum()
    kind = "rectangular"
    if not var > 0:
        weights = 1.0 - np.arange(1, h) / h
        var = gamma[0] + 2.0 * np.dot(weights, gamma[1:])
        kind = "bartlett"
    hln = (n + 1 - 2 * h + h * (h - 1) / n) / n
    # A constant d (e.g. identical forecasts) has no variance beyond rounding: undefined.
    if not (var > 1e-14 * max(float(np.mean(d**2)), 1e-300) and hln > 0):
        return out
    stat = d.mean() / np.sqrt(var / n) * np.sqrt(hln)
    # stats.t.sf(x, df), not stats.t(df).sf(x): the same numbers without building a frozen
    # distribution per test (a millisecond each, hundreds of tests with many tickers).
    out.update(
        stat=finite_or_none(stat),
        p_two_sided=finite_or_none(2.0 * stats.t.sf(abs(stat), n - 1)),
        p_one_sided=finite_or_none(stats.t.cdf(stat, n - 1)),
        variance=kind,
    )
    return out


def holm(pvalues: list[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values, in the input order (``None`` stays ``None``).

    With the ``m`` defined p-values sorted ascending, the ``i``-th (1-based) becomes
    ``max_{j <= i} min(1, (m - j + 1) p_(j))``; rejecting where the adjusted p is below the
    level controls the family-wise error rate at that level.
    """
    idx = [k for k, p in enumerate(pvalues) if p is not None]
    order = sorted(idx, key=lambda k: pvalues[k])  # type: ignore[arg-type, return-value]
    m = len(order)
    out: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for rank, k in enumerate(order):
        running = max(running, min(1.0, (m - rank) * float(pvalues[k])))  # type: ignore[arg-type]
        out[k] = running
    return out


def _dm_entry(d: np.ndarray, h: int, model_mse: float, rw_mse: float) -> dict[str, Any]:
    res = diebold_mariano(d, h)
    res.update(
        horizon=int(h),
        model_mse=finite_or_none(model_mse),
        rw_mse=finite_or_none(rw_mse),
    )
    return res


def _adjust(entries: list[dict[str, Any]], significance: float) -> None:
    """Add ``p_holm`` across ``entries`` (one per horizon) and decide ``beats_random_walk``."""
    for e, p in zip(entries, holm([e["p_one_sided"] for e in entries]), strict=True):
        diff = e["mean_diff"]
        e["p_holm"] = p
        e["beats_random_walk"] = bool(
            p is not None and diff is not None and diff < 0 and p < significance
        )


def dm_tables(
    df: pd.DataFrame, significance: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per-ticker and pooled DM results for the model against the random walk.

    Each entry carries ``p_holm``, its one-sided p Holm-adjusted across the horizons of its
    table (pooled, or its ticker's), and ``beats_random_walk`` decided on ``p_holm``.
    """
    rw = df[RANDOM_WALK].to_numpy(float) if RANDOM_WALK in df.columns else np.zeros(len(df))
    y = df["y_true"].to_numpy(float)
    e_m2 = (y - df["y_pred"].to_numpy(float)) ** 2
    e_r2 = (y - rw) ** 2
    d = e_m2 - e_r2
    loss = df[["ticker", "horizon", "origin"]].assign(d=d, m=e_m2, r=e_r2)
    origin = df["origin"].to_numpy()
    # One grouping for every (ticker, horizon) series, scored on numpy slices in time order.
    groups = sorted(df.groupby(["ticker", "horizon"], sort=False).indices.items())
    by_ticker: list[dict[str, Any]] = []
    for ticker, series in itertools.groupby(groups, key=lambda item: item[0][0]):
        entries = []
        for (_, h), idx in series:
            idx = idx[np.argsort(origin[idx], kind="stable")]
            entry = _dm_entry(d[idx], int(h), np.mean(e_m2[idx]), np.mean(e_r2[idx]))
            entries.append({"ticker": str(ticker), **entry})
        _adjust(entries, significance)
        by_ticker += entries
    pooled: list[dict[str, Any]] = []
    for h, g in loss.groupby("horizon", sort=True):
        per_date = g.groupby("origin", sort=True)[["d", "m", "r"]].mean()
        entry = _dm_entry(
            per_date["d"].to_numpy(), int(h), per_date["m"].mean(), per_date["r"].mean()
        )
        entry["tickers"] = int(g["ticker"].nunique())
        pooled.append(entry)
    _adjust(pooled, significance)
    return by_ticker, pooled


def holm_note(horizons: int, significance: float) -> str:
    """The line next to the verdicts that says how their p-values were adjusted."""
    tests = f"{horizons} horizon" + ("" if horizons == 1 else "s")
    return (
        f"Diebold-Mariano p-values are one-sided (model better) and Holm-adjusted across "
        f'{tests}; a verdict says "beats" only below the {significance:.0%} level.'
    )


def format_p(p: float | None) -> str:
    """A p-value for prose: ``0.41``, ``0.012``, ``0.050``, ``< 0.001`` or ``n/a``."""
    if p is None:
        return "n/a"
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def verdict_sentence(h: int, beats: bool, p: float | None) -> str:
    """``the model does / does not beat a random walk at horizon h, Holm p = ...``.

    ``p`` is the Holm-adjusted one-sided p-value the verdict was decided on.
    """
    p_text = format_p(p)
    p_part = f"Holm p {p_text}" if p_text.startswith("<") else f"Holm p = {p_text}"
    does = "beats" if beats else "does not beat"
    return f"the model {does} a random walk at horizon {h}, {p_part}"
