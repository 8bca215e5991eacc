"""Scaler statistics: center and scale per column, for all rows or for each ticker's rows.

``standard_stats`` is scikit-learn's ``StandardScaler`` fit, bit for bit. ``ticker_stats``
gives every ticker's statistics in a few array passes instead of a dozen small NumPy calls per
ticker, with the same bits. A ticker's rows reach ``standard_stats`` column by column (its
array comes from fancy indexing, so its columns are contiguous), and NumPy sums a contiguous
column pairwise; so tickers with the same number of rows are stacked as ``[columns, tickers,
rows]``, contiguous along the rows, and reduced along them in one call: the same pairwise
sum of the same values per ticker and column. A ticker with a column without any finite
value, and any ticker of the robust scaler, goes through ``column_stats`` alone, as before.
"""

from __future__ import annotations

import warnings

import numpy as np


def column_stats(kind: str, A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Center and scale per column of ``A`` (NaN ignored); NaN where a column has no data."""
    d = A.shape[1]
    if kind == "none":
        return np.zeros(d), np.ones(d)
    finite = np.isfinite(A).any(axis=0)
    center, scale = np.full(d, np.nan), np.full(d, np.nan)
    if not finite.any():
        return center, scale
    sub = A[:, finite]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        if kind == "standard":
            center[finite], scale[finite] = standard_stats(sub)
        elif kind == "robust":
            from sklearn.preprocessing import RobustScaler  # scikit-learn: only when used

            sk = RobustScaler().fit(sub)
            center[finite], scale[finite] = sk.center_, sk.scale_
        else:
            raise ValueError(f"unknown scaler {kind!r}")
    return center, scale


def standard_stats(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``StandardScaler().fit(A)``'s ``mean_`` and ``scale_``, bit for bit, without its overhead.

    The same operations in the same order as scikit-learn's first ``partial_fit`` on a dense
    float64 array (``_incremental_mean_and_var``: NaN-aware sums, a corrected two-pass
    variance; near-constant columns get scale 1), so forecasts do not change; about 50x less
    time per call, which matters with one call per ticker, fold and forecaster. Every column
    needs a finite value. ``tests/features/test_scaling.py`` checks it against scikit-learn.
    """
    A = np.asarray(A, dtype=np.float64)
    nan = np.isnan(A)
    total = np.nansum if nan.any() else np.sum
    new_sum = total(A, axis=0)
    count = A.shape[0] - np.sum(nan.astype(np.float64), axis=0)
    mean = (np.zeros(A.shape[1]) + new_sum) / count
    temp = A - new_sum / count
    correction = total(temp, axis=0)
    temp **= 2
    var = (total(temp, axis=0) - correction**2 / count) / count
    return mean, _scale(var, mean, count)


def _scale(var: np.ndarray, mean: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Standard deviation, 1 for a (near-)constant column, as scikit-learn decides it."""
    eps = np.finfo(np.float64).eps
    constant = var <= count * eps * var + (count * mean * eps) ** 2
    scale = np.sqrt(var)
    scale[constant] = 1.0
    return scale


def ticker_stats(
    kind: str, A: np.ndarray, ticker_id: np.ndarray, n_t: int
) -> tuple[np.ndarray, np.ndarray]:
    """``column_stats(kind, A[ticker_id == k])`` for every ticker ``k``, as ``[n_t, d]`` tables.

    ``A`` holds a fold's fit rows, ``ticker_id`` each one's ticker; a ticker without rows gets
    NaN statistics (the identity for ``kind="none"``).
    """
    d = A.shape[1]
    if kind == "none":
        return np.zeros((n_t, d)), np.ones((n_t, d))
    center, scale = np.full((n_t, d), np.nan), np.full((n_t, d), np.nan)
    rows = np.argsort(ticker_id, kind="stable")  # each ticker's rows together, in row order
    bounds = np.searchsorted(ticker_id[rows], np.arange(n_t + 1))
    sizes = np.diff(bounds)
    fast = sizes > 0
    if kind == "standard" and fast.any():
        seen = np.logical_or.reduceat(np.isfinite(A)[rows], bounds[:-1][fast], axis=0)
        fast[fast] = seen.all(axis=1)
    else:
        fast[:] = False
    for k in np.flatnonzero((sizes > 0) & ~fast):
        center[k], scale[k] = column_stats(kind, A[rows[bounds[k] : bounds[k + 1]]])
    if fast.any():
        # The fast tickers' rows, column by column: one [d, rows] copy, worked on in place.
        columns = A.T.take(rows[np.repeat(fast, sizes)], axis=1)
        center[fast], scale[fast] = _grouped_standard(columns, sizes[fast])
    return center, scale


def _blocks(sizes: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(groups, column positions [groups, size])`` per group size (groups laid end to end)."""
    starts = np.cumsum(sizes) - sizes
    out = []
    for size in np.unique(sizes):
        g = np.flatnonzero(sizes == size)
        out.append((g, starts[g][:, None] + np.arange(size)))
    return out


def _sums(columns: np.ndarray, blocks: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Each group's sum of each column ``[groups, d]``, each summed pairwise as NumPy sums it.

    Groups of one size are one ``[d, groups, size]`` C-ordered block reduced along its last
    axis: the sum NumPy computes for one contiguous column.
    """
    out = np.empty((sum(len(g) for g, _ in blocks), len(columns)))
    for g, at in blocks:
        if len(blocks) == 1:  # every group of one size: the columns as they lie
            block = columns.reshape(len(columns), len(g), at.shape[1])
        else:
            block = np.ascontiguousarray(columns.take(at, axis=1))
        out[g] = np.add.reduce(block, axis=2).T
    return out


def _grouped_standard(columns: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``standard_stats`` of each group (every column with a finite value), ``[groups, d]``.

    ``columns`` (``[d, rows]``, changed in place) holds the groups' rows end to end.
    """
    blocks = _blocks(sizes)
    nan = np.isnan(columns)
    columns[nan] = 0.0  # nansum: a NaN adds nothing
    with np.errstate(all="ignore"):
        new_sum = _sums(columns, blocks)
        nans = np.add.reduceat(nan, np.cumsum(sizes) - sizes, axis=1, dtype=np.int64).T
        count = (sizes[:, None] - nans).astype(np.float64)
        mean = (np.zeros(len(columns)) + new_sum) / count
        columns -= np.repeat((new_sum / count).T, sizes, axis=1)  # temp = A - mean
        columns[nan] = 0.0
        correction = _sums(columns, blocks)
        columns **= 2
        var = (_sums(columns, blocks) - correction**2 / count) / count
        return mean, _scale(var, mean, count)
