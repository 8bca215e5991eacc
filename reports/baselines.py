"""Honest baselines evaluated on the same origins as the model.

* random walk: tomorrow's price is today's, so every log-return forecast is 0;
* drift: the mean one-bar log return of the fold's training range, times h;
* ridge: scikit-learn ``Ridge`` on the same (scaled, flattened) input windows as the model.

All three see only the fold's training range, like the model.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sklearn.linear_model import Ridge

BASELINES = ("random_walk", "drift", "ridge")


def random_walk(n: int, horizons: int) -> np.ndarray:
    """Zero log-return forecasts, shape ``[n, horizons]``."""
    return np.zeros((n, horizons))


def drift(mean_return: np.ndarray, horizons: int) -> np.ndarray:
    """Drift forecasts ``h * mean_return`` for each origin, shape ``[n, horizons]``.

    Args:
        mean_return: Per-origin mean one-bar log return of its ticker's training range.
        horizons: Number of horizons H.
    """
    steps = np.arange(1, horizons + 1, dtype=float)
    return np.asarray(mean_return, dtype=float)[:, None] * steps[None, :]


class RidgeBaseline:
    """A linear model on flattened windows, trained batch by batch into normal equations.

    Accumulating ``X'X`` and ``X'y`` over batches keeps memory at one batch of windows, so the
    baseline scales like the model's stream instead of materialising every window at once.
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha
        self._model: Ridge | None = None

    def fit(self, batches: Iterable[tuple[np.ndarray, np.ndarray]]) -> RidgeBaseline:
        """Fit on ``(x [B, L, F], y [B, H])`` batches of the training origins."""
        xtx = xty = None
        sx = sy = None
        n = 0
        for x, y in batches:
            flat = x.reshape(len(x), -1).astype(np.float64)
            yy = np.asarray(y, dtype=np.float64)
            if xtx is None:
                xtx = np.zeros((flat.shape[1], flat.shape[1]))
                xty = np.zeros((flat.shape[1], yy.shape[1]))
                sx = np.zeros(flat.shape[1])
                sy = np.zeros(yy.shape[1])
            xtx += flat.T @ flat
            xty += flat.T @ yy
            sx += flat.sum(axis=0)
            sy += yy.sum(axis=0)
            n += len(flat)
        if xtx is None or n < 2:
            raise ValueError("ridge baseline needs at least two training windows")
        # Centre the normal equations (equivalent to fitting an intercept).
        mx, my = sx / n, sy / n
        cxx = xtx - n * np.outer(mx, mx)
        cxy = xty - n * np.outer(mx, my)
        coef = np.linalg.solve(cxx + self.alpha * np.eye(len(cxx)), cxy)
        model = Ridge(alpha=self.alpha)
        model.coef_ = coef.T
        model.intercept_ = my - mx @ coef
        model.n_features_in_ = len(mx)
        self._model = model
        return self

    def predict(self, batches: Iterable[np.ndarray]) -> np.ndarray:
        """Predict ``[N, H]`` for ``x [B, L, F]`` batches."""
        if self._model is None:
            raise RuntimeError("RidgeBaseline.predict called before fit")
        out = [self._model.predict(x.reshape(len(x), -1).astype(np.float64)) for x in batches]
        return np.concatenate(out, axis=0)
