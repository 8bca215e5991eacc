"""What every error figure is divided by, and which rows and tickers it covers.

- MASE divides each absolute error by ``s``, the random walk's mean absolute h-step error on
  the same ticker's training origins of the same walk-forward fold (in sample): scales keyed
  ``(ticker, horizon, fold)``; a scale keyed ``(ticker, horizon)`` applies to every fold. A
  row without a usable scale (a ticker with no training origin in its fold) is left out of
  MASE only; ``mase_coverage`` counts those rows and names their tickers, and the run's
  ``scoring_warnings`` say so.
- Relative MAE (``rel_mae``) is a predictor's MAE divided by the random walk's MAE on the same
  rows (out of sample, every predictor is scored on the same rows): below 1, fewer errors
  than the random walk; the random walk's own is 1. Its MASE is its test-period error over its
  training-period error, so it sits above 1 when the tested period was more volatile than
  training (the 2008 crash in the demo) even though nothing is wrong.
- Tickers given to ``evaluate`` but without a single scored forecast (prices that end before
  the test period, or only unknown outcomes) are named in ``unscored``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from stackcast.reports.significance import RANDOM_WALK, finite_or_none

Scale = Mapping[tuple[Any, ...], float] | pd.DataFrame | pd.Series | None
Key = tuple[str, int] | tuple[str, int, int]


def scale_lookup(scale: Scale) -> dict[Key, float]:
    """Normalise the MASE scale to ``{(ticker, horizon[, fold]): scale}``.

    Args:
        scale: a mapping ``(ticker, horizon[, fold]) -> float``; a DataFrame with columns
            ``ticker``, ``horizon`` (optionally ``fold``) and ``scale`` (or one other numeric
            column); a Series or one-column DataFrame indexed by (ticker, horizon); or
            ``None`` (no MASE).

    Returns:
        The lookup, keeping only finite positive scales.
    """
    if scale is None:
        return {}
    if isinstance(scale, pd.DataFrame) and {"ticker", "horizon"} <= set(scale.columns):
        keys = ["ticker", "horizon"] + (["fold"] if "fold" in scale.columns else [])
        values = [c for c in scale.columns if c not in keys]
        col = "scale" if "scale" in values else values[0]
        rows: Iterable[tuple[Any, ...]] = zip(*(scale[k] for k in [*keys, col]), strict=True)
    else:
        items = scale.iloc[:, 0].items() if isinstance(scale, pd.DataFrame) else scale.items()
        rows = ((*k, v) for k, v in items)
    out: dict[Key, float] = {}
    for *key, v in rows:
        v = finite_or_none(v)
        if v is not None and v > 0:
            out[(str(key[0]), *(int(k) for k in key[1:]))] = v  # type: ignore[assignment]
    return out


def row_scales(
    df: pd.DataFrame, lookup: Mapping[Key, float], by_ticker_horizon: list[tuple[Any, np.ndarray]]
) -> np.ndarray:
    """The MASE scale of each scored row (NaN where none), one lookup per group.

    Args:
        df: The scored rows (``ticker``, ``horizon``, ``fold``; a 0..n-1 index).
        lookup: ``scale_lookup`` output.
        by_ticker_horizon: ``(key, row positions)`` of the ``ticker, horizon`` groups.
    """
    out = np.full(len(df), np.nan)
    if any(len(k) == 3 for k in lookup) and "fold" in df.columns:
        for (t, h, f), idx in df.groupby(["ticker", "horizon", "fold"], sort=False).indices.items():
            out[idx] = lookup.get((str(t), int(h), int(f)), np.nan)
        return out
    for (t, h), idx in by_ticker_horizon:
        out[idx] = lookup.get((t, h), np.nan)
    return out


def mase_coverage(df: pd.DataFrame, scales: np.ndarray, has_scale: bool) -> dict[str, Any]:
    """How many scored rows MASE covers: ``{rows, of, share, excluded_tickers}``.

    ``excluded_tickers`` lists the tickers with rows left out (no scale in their fold).
    With no scale given at all (``has_scale`` False) MASE covers nothing and names no one.
    """
    ok = np.isfinite(scales) & (scales > 0)
    missing = sorted(df.loc[~ok, "ticker"].astype(str).unique().tolist()) if has_scale else []
    n = len(df)
    return {
        "rows": int(ok.sum()),
        "of": n,
        "share": finite_or_none(ok.mean()) if n else None,
        "excluded_tickers": missing,
    }


def add_relative_mae(blocks: Mapping[str, Mapping[str, Any]]) -> None:
    """Set ``rel_mae`` (MAE / the random walk's MAE on the same rows) in every record."""
    rw = blocks.get(RANDOM_WALK)
    if rw is None:
        return

    def ratio(rec: dict[str, Any], ref: Mapping[str, Any] | None) -> None:
        mae, base = rec.get("mae"), (ref or {}).get("mae")
        rec["rel_mae"] = finite_or_none(mae / base) if mae is not None and base else None

    by_h = {r["horizon"]: r for r in rw["by_horizon"]}
    by_th = {(r["ticker"], r["horizon"]): r for r in rw["by_ticker"]}
    for block in blocks.values():
        ratio(block["overall"], rw["overall"])
        for r in block["by_horizon"]:
            ratio(r, by_h.get(r["horizon"]))
        for r in block["by_ticker"]:
            ratio(r, by_th.get((r["ticker"], r["horizon"])))


def unscored_tickers(
    predictions: pd.DataFrame, scored: Iterable[str], tickers: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """Tickers of the run without a scored forecast, each with its last bar and why.

    Args:
        predictions: The whole forecasts frame (scored or not).
        scored: Tickers with at least one scored row.
        tickers: Every ticker of the run -> its last price date (or None when unknown).

    Returns:
        ``[{"ticker", "last_bar", "reason"}]``, sorted by ticker.
    """
    done = set(map(str, scored))
    if not tickers or all(str(t) in done for t in tickers):
        return []
    forecast = set(predictions["ticker"].astype(str).unique()) if len(predictions) else set()
    first = pd.to_datetime(predictions["origin"]).min() if len(predictions) else None
    start = "" if first is None or pd.isna(first) else f" {first.date()}"
    out = []
    for t, last in sorted(tickers.items(), key=lambda kv: str(kv[0])):
        if str(t) in done:
            continue
        last = None if last is None else str(pd.Timestamp(last).date())
        if str(t) in forecast:
            reason = "no forecast in the test period has a known outcome yet"
        else:
            ends = f"its prices end {last}" if last else "it has no usable origin"
            reason = f"{ends}, before the first test origin{start}"
        out.append({"ticker": str(t), "last_bar": last, "reason": reason})
    return out


def scoring_warnings(coverage: Mapping[str, Any], unscored: list[dict[str, Any]]) -> list[str]:
    """Sentences for the rows MASE leaves out and the tickers nothing scores."""
    out = []
    left = coverage["of"] - coverage["rows"]
    if coverage["excluded_tickers"] and left > 0:
        out.append(
            f"MASE leaves out {left} of {coverage['of']} scored rows "
            f"({100 * left / coverage['of']:.1f}%): no in-sample random-walk scale in their fold "
            f"for {', '.join(coverage['excluded_tickers'])}; MAE, RMSE and relative MAE cover "
            "every row"
        )
    for u in unscored:
        out.append(f"{u['ticker']} is not scored: {u['reason']}")
    return out
