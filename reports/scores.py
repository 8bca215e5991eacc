"""Scores of aligned arrays: point errors, directional accuracy and interval coverage.

``point_metrics`` scores one predictor, ``point_rows`` several at once with the same numbers;
``fill_dir_p`` sets their directional p-values in one vectorised call; ``interval_metrics``
scores a band. ``stackcast.reports.metrics`` applies them per horizon and ticker.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from stackcast.reports.coverage import coverage_se
from stackcast.reports.significance import binomial_p, binomial_ps, finite_or_none


def point_metrics(
    y: np.ndarray,
    pred: np.ndarray,
    scale: np.ndarray | None = None,
    *,
    directional: bool = True,
    p_value: bool = True,
) -> dict[str, Any]:
    """MAE, RMSE, MASE, bias and directional accuracy of one predictor on aligned arrays.

    Args:
        y: realised log returns.
        pred: predicted log returns.
        scale: per-row MASE scale (NaN where unknown), or ``None``.
        directional: compute directional accuracy (``False`` for a zero forecast).
        p_value: compute ``dir_p`` here; ``False`` leaves it ``None`` and records the hits in
            ``_dir_hits`` for ``fill_dir_p`` (one vectorised call for many groups).

    Returns:
        ``n, mae, rmse, mase, bias, dir_acc, dir_n, dir_p`` (``None`` where undefined).
    """
    y = np.asarray(y, dtype=float)
    pred = np.asarray(pred, dtype=float)
    e = y - pred
    n = int(e.size)
    out: dict[str, Any] = {
        "n": n,
        "mae": finite_or_none(np.mean(np.abs(e))) if n else None,
        "rmse": finite_or_none(np.sqrt(np.mean(e**2))) if n else None,
        "bias": finite_or_none(np.mean(e)) if n else None,
        "mase": None,
        "dir_acc": None,
        "dir_n": 0,
        "dir_p": None,
    }
    if scale is not None and n:
        s = np.asarray(scale, dtype=float)
        ok = np.isfinite(s) & (s > 0)
        if ok.any():
            out["mase"] = finite_or_none(np.mean(np.abs(e[ok]) / s[ok]))
    if directional and n and np.any(pred != 0):
        moved = y != 0
        k = int(np.sum(np.sign(pred[moved]) == np.sign(y[moved])))
        m = int(moved.sum())
        out["dir_n"] = m
        out["dir_acc"] = finite_or_none(k / m) if m else None
        if p_value:
            out["dir_p"] = binomial_p(k, m)
        else:
            out["_dir_hits"] = k
    return out


def fill_dir_p(records: Sequence[dict[str, Any]]) -> None:
    """Set ``dir_p`` of ``point_metrics(..., p_value=False)`` records, in one call."""
    todo = [r for r in records if "_dir_hits" in r]
    hits = np.array([r.pop("_dir_hits") for r in todo], dtype=np.int64)
    for r, p in zip(todo, binomial_ps(hits, np.array([r["dir_n"] for r in todo])), strict=True):
        r["dir_p"] = p


def interval_metrics(
    y: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    nominal: float | None,
    dates: np.ndarray | None = None,
    horizon: int = 1,
) -> dict[str, Any]:
    """Empirical coverage of ``[lo, hi]`` (rows with finite bounds) against the nominal level.

    With ``nominal``, also ``coverage_se``: its standard error with the rows clustered by
    their origin ``dates`` (``stackcast.reports.coverage.coverage_se``).
    """
    y, lo, hi = (np.asarray(a, dtype=float) for a in (y, lo, hi))
    ok = np.isfinite(lo) & np.isfinite(hi)
    m = int(ok.sum())
    covered = (y[ok] >= lo[ok]) & (y[ok] <= hi[ok])
    se = None
    if m and nominal is not None:
        se = coverage_se(covered, None if dates is None else dates[ok], horizon, nominal)
    return {
        "coverage": finite_or_none(covered.mean()) if m else None,
        "coverage_se": finite_or_none(se),
        "coverage_n": m,
        "coverage_nominal": finite_or_none(nominal),
        "interval_width": finite_or_none(np.mean(hi[ok] - lo[ok])) if m else None,
    }


def point_rows(
    y: np.ndarray, preds: np.ndarray, scale: np.ndarray, directional: Sequence[bool]
) -> list[dict[str, Any]]:
    """``point_metrics(y, preds[i], scale, p_value=False)`` for every row ``i`` of ``preds``.

    One numpy reduction per statistic for all predictors together: each row is reduced along
    its own contiguous memory, as ``point_metrics`` reduces one array, so the numbers are the
    same to the last bit.
    """
    n = int(y.size)
    if n == 0:
        return [
            point_metrics(y, p, scale, directional=d, p_value=False)
            for p, d in zip(preds, directional, strict=True)
        ]
    # Row-major (a column selection of ``preds`` is column-major): each row's reduction then
    # runs over contiguous memory in the order a 1-d reduction does.
    e = np.ascontiguousarray(y - preds)
    mae, rmse, bias = np.abs(e).mean(axis=1), np.sqrt((e**2).mean(axis=1)), e.mean(axis=1)
    ok = np.isfinite(scale) & (scale > 0)
    scaled = np.ascontiguousarray(np.abs(e[:, ok]) / scale[ok])
    mase = scaled.mean(axis=1) if ok.any() else [None] * len(preds)
    moved = y != 0
    m = int(moved.sum())
    hits = (np.sign(preds[:, moved]) == np.sign(y[moved])).sum(axis=1).tolist()
    nonzero = (preds != 0).any(axis=1).tolist()
    out = []
    for i, d in enumerate(directional):
        rec: dict[str, Any] = {
            "n": n,
            "mae": finite_or_none(mae[i]),
            "rmse": finite_or_none(rmse[i]),
            "bias": finite_or_none(bias[i]),
            "mase": finite_or_none(mase[i]),
            "dir_acc": None,
            "dir_n": 0,
            "dir_p": None,
        }
        if d and nonzero[i]:
            rec["dir_n"] = m
            rec["dir_acc"] = finite_or_none(hits[i] / m) if m else None
            rec["_dir_hits"] = int(hits[i])
        out.append(rec)
    return out


def _same_length_runs(
    starts: np.ndarray, counts: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(groups, [G, L] positions)`` per length ``L > 0``: group ``g``'s positions ``starts[g]..``.

    Groups of one length are reduced together along the last axis of a ``[.., G, L]`` copy:
    each group's values contiguous, so each reduction runs as a 1-d one over the same values.
    """
    out = []
    for length in np.unique(counts[counts > 0]):
        groups = np.flatnonzero(counts == length)
        out.append((groups, starts[groups][:, None] + np.arange(length)))
    return out


def _masked_means(
    values: np.ndarray, mask: np.ndarray, bounds: np.ndarray, divisor: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per group ``a:b`` of ``bounds``: the mean of its ``mask`` rows and how many there are.

    The rows are ``values[..., a:b][mask[a:b]]``, over ``divisor`` first when given; the mean
    is NaN where there are none. The same bits as ``np.mean`` of each group's masked values
    (``values`` is ``[N]`` or ``[P, N]``; the means are ``[G]`` or ``[P, G]``).
    """
    kept = np.flatnonzero(mask)  # sorted, so each group's kept rows are a run of ``kept``
    first = np.searchsorted(kept, bounds[:, 0])
    counts = np.searchsorted(kept, bounds[:, 1]) - first
    means = np.full((*values.shape[:-1], len(bounds)), np.nan)
    for groups, pos in _same_length_runs(first, counts):
        rows = kept[pos]
        part = values[..., rows] if divisor is None else values[..., rows] / divisor[rows]
        # C order (a fancy index may hand back another layout): each group's values adjacent
        means[..., groups] = np.ascontiguousarray(part).mean(axis=-1)
    return means, counts


def _finite(values: np.ndarray) -> list[Any]:
    """``values.tolist()`` with ``None`` for each non-finite number (``finite_or_none``)."""
    if values.ndim > 1:
        return [_finite(row) for row in values]
    return [x if math.isfinite(x) else None for x in values.tolist()]


def group_point_rows(
    y: np.ndarray,
    preds: np.ndarray,
    scale: np.ndarray,
    directional: Sequence[bool],
    bounds: np.ndarray,
) -> list[list[dict[str, Any]]]:
    """``point_rows`` of each group ``a:b`` of ``bounds`` (``[G, 2]``, non-empty), at once.

    Groups of the same length are reduced together (``_masked_means``), so each number is the
    one ``point_rows`` of the group's slice gives, to the last bit.
    """
    every = np.ones(len(y), dtype=bool)
    e = y - preds
    mae, _ = _masked_means(np.abs(e), every, bounds)
    mse, _ = _masked_means(e**2, every, bounds)
    bias, _ = _masked_means(e, every, bounds)
    rmse = np.sqrt(mse)
    mase, _ = _masked_means(np.abs(e), np.isfinite(scale) & (scale > 0), bounds, scale)
    moved = y != 0
    agree = (np.sign(preds) == np.sign(y)) & moved

    def per_group(flags: np.ndarray) -> np.ndarray:  # exact counts over each group's rows
        total = np.concatenate([np.zeros((*flags.shape[:-1], 1), np.int64), flags.cumsum(-1)], -1)
        return total[..., bounds[:, 1]] - total[..., bounds[:, 0]]

    hits, moved_n = per_group(agree).tolist(), per_group(moved).tolist()
    nonzero = (per_group(preds != 0) > 0).tolist()
    mae, rmse, bias, mase = (_finite(v) for v in (mae, rmse, bias, mase))
    out = []
    for g, (a, b) in enumerate(bounds.tolist()):
        m = moved_n[g]
        recs = []
        for i, d in enumerate(directional):
            rec: dict[str, Any] = {
                "n": b - a,
                "mae": mae[i][g],
                "rmse": rmse[i][g],
                "bias": bias[i][g],
                "mase": mase[i][g],
                "dir_acc": None,
                "dir_n": 0,
                "dir_p": None,
            }
            if d and nonzero[i][g]:
                k = hits[i][g]
                rec["dir_n"] = m
                rec["dir_acc"] = finite_or_none(k / m) if m else None
                rec["_dir_hits"] = k
            recs.append(rec)
        out.append(recs)
    return out


def group_interval_metrics(
    y: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    nominal: float | None,
    dates: np.ndarray,
    horizons: np.ndarray,
    bounds: np.ndarray,
) -> list[dict[str, Any]]:
    """``interval_metrics`` of each group ``g`` (rows ``a:b`` of ``bounds``, ``horizons[g]``).

    The same records as ``interval_metrics(y[a:b], lo[a:b], hi[a:b], nominal, dates[a:b],
    horizons[g])``, the widths averaged per group length at once (``_masked_means``).
    """
    ok = np.isfinite(lo) & np.isfinite(hi)
    width, counts = _masked_means(hi - lo, ok, bounds)
    covered = (y >= lo) & (y <= hi)
    out = []
    for g, (a, b) in enumerate(bounds.tolist()):
        m = int(counts[g])
        inside = covered[a:b][ok[a:b]]
        se = None
        if m and nominal is not None:
            se = coverage_se(inside, dates[a:b][ok[a:b]], int(horizons[g]), nominal)
        out.append(
            {
                "coverage": finite_or_none(inside.mean()) if m else None,
                "coverage_se": finite_or_none(se),
                "coverage_n": m,
                "coverage_nominal": finite_or_none(nominal),
                "interval_width": finite_or_none(width[g]) if m else None,
            }
        )
    return out
