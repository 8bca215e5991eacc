"""Significance of forecast accuracy: Diebold-Mariano and binomial tests, p-values in prose.

- Directional accuracy's p-value is the one-sided binomial test against 0.5 (``binomial_p``);
  for ``h > 1`` the targets of neighbouring origins overlap, so that p-value is optimistic.
- Diebold-Mariano (``diebold_mariano``) compares the model with the random walk under
  squared-error loss (``d_t = e_model^2 - e_rw^2``), the long-run variance of ``d`` summed over
  ``h - 1`` lags (overlapping h-step errors; ``long_run_variance``; Bartlett weights, said so,
  when that is not positive), the Harvey-Leybourne-Newbold factor and t(T - 1), as in R's
  ``forecast::dm.test``; SciPy loads only where a p-value is computed.
- Every place that tests skill on many tickers (the backtest, the daily scoreboard, the replay,
  the sweep, the ticker pages) calls ``dm_by_date``: ``d`` is first averaged over the tickers
  present at each origin date, so ``T`` counts dates and the lags pair neighbouring dates; the
  cross-sectional correlation of same-day errors is respected. ``dm_tables`` runs it per ticker
  (one row per date) and pooled.
- Many tests read together are adjusted (Holm-Bonferroni, ``holm_adjust``): the pooled test's
  horizons form one family; the per-ticker tests form one family of every ticker x horizon
  (``ticker_family`` counts them and what chance alone would flag). ``beats_random_walk`` is
  decided on the adjusted ``p_holm``, so the chance of any false "beats" in a family stays at
  the significance level.
- ``stackcast.reports.verdicts`` turns the pooled tests into the run's verdict sentences.
- Everything returned is JSON-able: NaN and infinities become ``None`` (``finite_or_none``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

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
        from scipy import stats  # SciPy loads only where a p-value is computed

        for i, p in zip(ok, stats.binom.sf(hits[ok] - 1, n[ok], 0.5), strict=True):
            out[int(i)] = float(p)
    return out


def long_run_variance(d: np.ndarray, h: int) -> tuple[float, str]:
    """Long-run variance of a series with ``h - 1`` autocovariance lags, and its kernel.

    ``d`` is centred on its mean first. Rectangular weights (unbiased for an MA(h-1) series);
    if that sum is not positive, Bartlett (Newey-West) weights ``1 - k / h``.

    Returns:
        ``(variance, "rectangular" | "bartlett")``.
    """
    d = np.asarray(d, dtype=float)
    n = d.size
    dc = d - d.sum() / n  # the mean (np.mean without its per-call overhead)
    gamma = np.array([np.dot(dc[k:], dc[: n - k]) / n for k in range(min(h, n))])
    var = float(gamma[0] + 2.0 * gamma[1:].sum())
    if var > 0:
        return var, "rectangular"
    weights = 1.0 - np.arange(1, gamma.size) / h
    return float(gamma[0] + 2.0 * np.dot(weights, gamma[1:])), "bartlett"


def hln_factor(n: int, h: int) -> float:
    """Harvey-Leybourne-Newbold small-sample factor on the variance's reciprocal."""
    return (n + 1 - 2 * h + h * (h - 1) / n) / n


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
    mean = float(d.sum()) / n if n else math.nan
    out: dict[str, Any] = {
        "n": n,
        "mean_diff": finite_or_none(mean) if n else None,
        "stat": None,
        "p_two_sided": None,
        "p_one_sided": None,
        "variance": None,
    }
    if n < max(3, 2 * h):
        return out
    var, kind = long_run_variance(d, h)
    hln = hln_factor(n, h)
    # A constant d (e.g. identical forecasts) has no variance beyond rounding: undefined.
    if not (var > 1e-14 * max(float(np.dot(d, d)) / n, 1e-300) and hln > 0):
        return out
    stat = mean / math.sqrt(var / n) * math.sqrt(hln)
    # special.stdtr(df, x) is what stats.t.cdf(x, df) computes, bit for bit, without its
    # argument checking (tens of microseconds a call, thousands of tests with many tickers).
    # SciPy loads only here and in binomial_ps, where a p-value is computed.
    from scipy import special

    out.update(
        stat=finite_or_none(stat),
        p_two_sided=finite_or_none(2.0 * special.stdtr(n - 1, -abs(stat))),
        p_one_sided=finite_or_none(special.stdtr(n - 1, stat)),
        variance=kind,
    )
    return out


def date_means(dates: Any, *values: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """The sorted distinct ``dates`` and, per array of ``values``, its mean on each date."""
    codes, uniques = pd.factorize(np.asarray(dates), sort=True)
    return np.asarray(uniques), _code_means(codes, len(uniques), values)


def _code_means(codes: np.ndarray, size: int, values: Any) -> list[np.ndarray]:
    """Per array of ``values``, its mean per date code (``0 <= code < size``).

    Dates in code order; dates without a row are left out.
    """
    counts = np.bincount(codes, minlength=size)
    seen = counts > 0
    return [
        np.bincount(codes, weights=np.asarray(v, float), minlength=size)[seen] / counts[seen]
        for v in values
    ]


def dm_by_date(d: np.ndarray, dates: Any, h: int) -> dict[str, Any]:
    """``diebold_mariano`` of a panel's loss differential averaged per origin date.

    Args:
        d: loss differential per (ticker, origin) row, any order; non-finite rows are left out.
        dates: each row's origin date.
        h: forecast horizon.

    Returns:
        ``diebold_mariano``'s result, ``n`` counting origin dates.
    """
    d = np.asarray(d, dtype=float)
    ok = np.isfinite(d)
    _, (per_date,) = date_means(np.asarray(dates)[ok], d[ok])
    return diebold_mariano(per_date, h)


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


def holm_adjust(
    entries: list[dict[str, Any]], significance: float, key: str = "p_one_sided"
) -> None:
    """Holm-adjust ``entries[key]`` as one family: set ``p_holm`` and ``beats_random_walk``.

    A "beats" needs the adjusted p below ``significance`` and a negative ``mean_diff``.
    """
    for e, p in zip(entries, holm([e[key] for e in entries]), strict=True):
        diff = e["mean_diff"]
        e["p_holm"] = p
        e["beats_random_walk"] = bool(
            p is not None and diff is not None and diff < 0 and p < significance
        )


def _dm_entry(
    codes: np.ndarray, size: int, h: int, d: np.ndarray, m: np.ndarray, r: np.ndarray
) -> dict[str, Any]:
    """One DM entry on rows with origin-date ``codes``.

    ``d``, ``m`` and ``r`` are averaged per date (as ``dm_by_date`` does) before the test and
    the mean squared errors of the model and the random walk.
    """
    d_date, m_date, r_date = _code_means(codes, size, (d, m, r))
    res = diebold_mariano(d_date, h)
    res.update(
        horizon=int(h),
        model_mse=finite_or_none(m_date.sum() / m_date.size) if m_date.size else None,
        rw_mse=finite_or_none(r_date.sum() / r_date.size) if r_date.size else None,
    )
    return res


def row_groups(df: pd.DataFrame, keys: str | list[str]) -> list[tuple[Any, np.ndarray]]:
    """``(key, row positions)`` per group of ``df`` (a 0..n-1 index), in sorted key order."""
    return sorted(df.groupby(keys, sort=False).indices.items())


def dm_tables(
    df: pd.DataFrame,
    significance: float,
    groups: Mapping[str, list[tuple[Any, np.ndarray]]] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per-ticker and pooled DM results for the model against the random walk.

    ``df`` holds scored rows (``ticker, origin, horizon, y_true, y_pred``, optional
    ``random_walk``), every value finite. Each test averages the loss differential per origin
    date (``dm_by_date``). Pooled entries carry ``p_holm`` adjusted across the horizons;
    per-ticker entries ``p_holm`` adjusted across every ticker x horizon test of the run.
    Both decide ``beats_random_walk`` on ``p_holm``. ``groups``: the row positions of the
    ``horizon`` and ``ticker_horizon`` groups in key order, when the caller has them.
    """
    rw = df[RANDOM_WALK].to_numpy(float) if RANDOM_WALK in df.columns else np.zeros(len(df))
    y = df["y_true"].to_numpy(float)
    e_m2 = (y - df["y_pred"].to_numpy(float)) ** 2
    e_r2 = (y - rw) ** 2
    d = e_m2 - e_r2
    # Origin dates coded once (in date order) for every group's per-date means.
    codes, uniques = pd.factorize(df["origin"].to_numpy(), sort=True)
    size = len(uniques)

    def entry(idx: np.ndarray, h: int) -> dict[str, Any]:
        return _dm_entry(codes[idx], size, h, d[idx], e_m2[idx], e_r2[idx])

    pairs = groups["ticker_horizon"] if groups else row_groups(df, ["ticker", "horizon"])
    by_ticker = [{"ticker": str(t), **entry(idx, int(h))} for (t, h), idx in pairs]
    holm_adjust(by_ticker, significance)
    pooled = []
    for h, idx in groups["horizon"] if groups else row_groups(df, "horizon"):
        tickers = sum(1 for (_, g), _ in pairs if g == h)  # those with a row at this horizon
        pooled.append(entry(idx, int(h)) | {"tickers": tickers})
    holm_adjust(pooled, significance)
    return by_ticker, pooled


def ticker_family(by_ticker: list[dict[str, Any]], significance: float) -> dict[str, Any]:
    """What the per-ticker "beats" flags mean, and what chance alone would flag.

    Returns:
        ``{tests, tickers, horizons, significance, raw_below, chance_raw, flagged,
        flagged_tickers, note}``: ``tests`` is the number of per-ticker DM tests with a p-value
        (one Holm family); ``raw_below`` how many raw one-sided p are below the level (model
        better), ``chance_raw`` how many of those a model with no skill at all would give on
        average (``significance x tests``); ``flagged`` the ticker x horizon "beats" after Holm
        (at most a ``significance`` chance of even one false flag), from ``flagged_tickers``.
    """
    tested = [e for e in by_ticker if e.get("p_one_sided") is not None]
    raw = sum(1 for e in tested if e["p_one_sided"] < significance and (e["mean_diff"] or 0) < 0)
    flagged = [e for e in by_ticker if e.get("beats_random_walk")]
    tickers = sorted({str(e["ticker"]) for e in tested})
    horizons = sorted({int(e["horizon"]) for e in tested})
    m = len(tested)
    chance = significance * m
    note = (
        f"Per-ticker Diebold-Mariano p-values are Holm-adjusted across all {m} ticker x horizon "
        f"tests ({len(tickers)} ticker(s) x {len(horizons)} horizon(s)); a ticker is flagged "
        f'"beats RW" at a horizon only below the {significance:.0%} level, so the chance of even '
        f"one false flag is at most {significance:.0%}. Unadjusted, a model with no skill at all "
        f"would show about {chance:.1f} raw p-values below {significance:g} by chance; this run "
        f"has {raw}. Flagged after adjustment: {len(flagged)}."
    )
    return {
        "tests": m,
        "tickers": len(tickers),
        "horizons": len(horizons),
        "significance": significance,
        "raw_below": raw,
        "chance_raw": chance,
        "flagged": len(flagged),
        "flagged_tickers": sorted({str(e["ticker"]) for e in flagged}),
        "note": note,
    }


def pairwise_dm(
    df: pd.DataFrame, first: str, second: str, significance: float, *, two_sided: bool = False
) -> list[dict[str, Any]]:
    """DM tests of column ``first`` against column ``second``, one per horizon (``dm_by_date``).

    Squared-error loss ``d = e_first^2 - e_second^2`` averaged per origin date, as every other
    test. The horizons form one Holm family: ``p_holm`` adjusts the one-sided p (H1: ``first``
    is more accurate) or, with ``two_sided``, the two-sided p (H1: they differ). ``better``
    names the column found more accurate at the level (``None``: no significant difference).
    """
    y = df["y_true"].to_numpy(float)
    d = (y - df[first].to_numpy(float)) ** 2 - (y - df[second].to_numpy(float)) ** 2
    origins = df["origin"].to_numpy()
    out = []
    for h, idx in sorted(df.groupby("horizon", sort=False).indices.items()):
        out.append({"horizon": int(h), **dm_by_date(d[idx], origins[idx], int(h))})
    key = "p_two_sided" if two_sided else "p_one_sided"
    for e, p in zip(out, holm([e[key] for e in out]), strict=True):
        diff = e["mean_diff"]
        e["p_holm"] = p
        e["better"] = None
        if p is not None and diff is not None and p < significance:
            e["better"] = first if diff < 0 else (second if two_sided and diff > 0 else None)
    return out
