"""Input windows as strided views, materialised one batch at a time.

A window of length ``L`` ends at its origin row and never reaches past it. An origin with
fewer than ``L`` rows of history in its ticker block (``origin - start + 1 < L``) is
*right-padded*: its real rows come first (starting at the block start) and the remaining steps
hold ``mask_value``, which is what Keras' cuDNN kernels need. A window always has at least one
real step.

Memory stays ``O(rows x features)``: ``WindowBatches`` keeps one float32 copy of ``X`` and a
``sliding_window_view`` over it; only ``__getitem__`` materialises ``[B, L, F]``.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def sliding_windows(X: np.ndarray, window: int) -> np.ndarray:
    """Read-only strided view ``[N - window + 1, window, F]`` of ``X [N, F]`` (no copy).

    ``view[i]`` is ``X[i : i + window]``: the full-history window ending at row
    ``i + window - 1``.
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D [rows, features], got shape {X.shape}")
    if window < 1:
        raise ValueError("window must be >= 1")
    # sliding_window_view puts the window axis last: [N-W+1, F, W] -> [N-W+1, W, F].
    return sliding_window_view(X, window, axis=0).transpose(0, 2, 1)


def window_lengths(origins: np.ndarray, starts: np.ndarray, window: int) -> np.ndarray:
    """Real steps per window: ``min(window, origin - start + 1)`` (int64)."""
    origins = np.asarray(origins, dtype=np.int64)
    starts = np.asarray(starts, dtype=np.int64)
    return np.minimum(window, origins - starts + 1)


def materialize(
    X: np.ndarray,
    origins: np.ndarray,
    starts: np.ndarray,
    window: int,
    mask_value: float,
    dtype: np.dtype | type = np.float32,
) -> np.ndarray:
    """Windows ``[len(origins), window, F]`` for the given origins (see the module docstring).

    A convenience for small sets; ``WindowBatches`` does the same batch by batch.
    """
    wb = WindowBatches(X, origins, starts, window, max(len(origins), 1), mask_value)
    out = wb.take(np.arange(len(origins)))
    return out.astype(dtype, copy=False)


class WindowBatches:
    """Lazy, indexable batches of right-padded windows (and optionally their targets).

    Built for ``keras.utils.PyDataset``: ``len(batches)`` batches; ``batches[i]`` returns
    ``x`` float32 ``[B, window, F]``, or ``(x, y)`` with ``y`` float32 ``[B, H]`` when targets
    were given; ``on_epoch_end()`` reshuffles when ``shuffle`` is on (seeded, reproducible).

    Args:
        X: ``[N, F]`` inputs (already scaled); must be finite.
        origins: ``[n]`` global row indices of the origins.
        starts: ``[n]`` first row of each origin's ticker block (``Panel.starts[origins]``),
            or a scalar for a single block.
        window: Window length ``L``.
        batch_size: Origins per batch (the last batch may be smaller).
        mask_value: Value of padded steps.
        targets: Optional ``[n, H]`` targets, one row per origin (not per panel row).
        shuffle: Shuffle the origin order at construction and after every epoch.
        seed: Seed of the shuffling generator.
    """

    def __init__(
        self,
        X: np.ndarray,
        origins: np.ndarray,
        starts: np.ndarray | int,
        window: int,
        batch_size: int,
        mask_value: float,
        targets: np.ndarray | None = None,
        shuffle: bool = False,
        seed: int = 0,
    ) -> None:
        X = np.asarray(X)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D [rows, features], got shape {X.shape}")
        if window < 1 or batch_size < 1:
            raise ValueError("window and batch_size must be >= 1")
        origins = np.asarray(origins, dtype=np.int64).reshape(-1)
        starts = np.broadcast_to(np.asarray(starts, dtype=np.int64), origins.shape).copy()
        n_rows = X.shape[0]
        if len(origins) and (origins.min() < 0 or origins.max() >= n_rows):
            raise IndexError(f"origins must lie in [0, {n_rows})")
        if np.any(starts < 0) or np.any(starts > origins):
            raise ValueError("every start must satisfy 0 <= start <= origin")
        # One float32 copy plus window-1 mask rows at the end, so a short window beginning near
        # the end still has a full view row; the rows after its origin are masked on gather.
        data = np.empty((n_rows + window - 1, X.shape[1]), dtype=np.float32)
        with np.errstate(over="ignore", invalid="ignore"):
            data[:n_rows] = X
        data[n_rows:] = mask_value
        bad = ~np.isfinite(data[:n_rows])
        if bad.any():
            row = int(np.argwhere(bad)[0, 0])
            raise ValueError(
                f"X has non-finite values in float32 (first at row {row}); windows need finite"
            )
        if targets is not None:
            targets = np.asarray(targets, dtype=np.float32)
            if targets.ndim == 1:
                targets = targets[:, None]
            if len(targets) != len(origins):
                raise ValueError(
                    f"targets has {len(targets)} rows for {len(origins)} origins "
                    "(targets are per origin, e.g. Y[origins])"
                )
        self.window = int(window)
        self.batch_size = int(batch_size)
        self.mask_value = float(mask_value)
        self.origins = origins
        self.starts = starts
        self.targets = targets
        self.shuffle = bool(shuffle)
        self.n_features = X.shape[1]
        self.lengths = window_lengths(origins, starts, window)
        # First row of each window: the origin's full window, or its block start when short.
        self._begin = origins - self.lengths + 1
        self._data = data
        self._view = sliding_windows(self._data, self.window)
        self._steps = np.arange(self.window)
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(len(origins))
        if self.shuffle:
            self._order = self._rng.permutation(len(origins))

    def __len__(self) -> int:
        return -(-len(self.origins) // self.batch_size)

    def batch_positions(self, i: int) -> np.ndarray:
        """Positions (into ``origins``) of the samples in batch ``i``, in batch order."""
        if not -len(self) <= i < len(self):
            raise IndexError(f"batch {i} out of range ({len(self)} batches)")
        i %= len(self)
        return self._order[i * self.batch_size : (i + 1) * self.batch_size]

    def take(self, positions: np.ndarray) -> np.ndarray:
        """Windows ``[len(positions), window, F]`` float32 for positions into ``origins``."""
        positions = np.asarray(positions, dtype=np.int64)
        x = self._view[self._begin[positions]]  # fancy index: copies [B, L, F]
        pad = self._steps[None, :] >= self.lengths[positions][:, None]
        x[pad] = self.mask_value
        return x

    def __getitem__(self, i: int) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        pos = self.batch_positions(i)
        x = self.take(pos)
        if self.targets is None:
            return x
        return x, self.targets[pos]

    def on_epoch_end(self) -> None:
        """Reshuffle the origin order (only when ``shuffle``)."""
        if self.shuffle:
            self._order = self._rng.permutation(len(self.origins))
