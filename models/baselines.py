"""Honest baselines, forecasters like any other, fit on the same fold's past as the model.

* ``random_walk``: tomorrow's price is today's, so every log-return forecast is 0;
* ``drift``: each ticker's mean one-bar log return over the training range, times h;
* ``ridge``: a ridge regression on the same (scaled, flattened) input windows as the model.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
from stackcast.features.panel import ticker_groups
from stackcast.features.scaling import FoldScaler
from stackcast.models.base import FitInfo, Forecaster, Prediction, Progress
from threadpoolctl import ThreadpoolController

if TYPE_CHECKING:
    from stackcast.features.panel import Panel
    from stackcast.features.splits import FoldRows

BASELINES = ("random_walk", "drift", "ridge")
RIDGE_BATCH = 1024


@cache
def _threadpools() -> ThreadpoolController:
    # Finding the loaded BLAS libraries walks every shared object of the process (milliseconds
    # with TensorFlow loaded): once per process, not on every fit and predict.
    return ThreadpoolController()


def one_blas_thread() -> AbstractContextManager[Any]:
    """A context in which BLAS runs on one thread (``threadpool_limits(1, "blas")``)."""
    return _threadpools().limit(limits=1, user_api="blas")


class RandomWalk(Forecaster):
    """Zero log return at every horizon: the price stays where it is."""

    name = "random_walk"
    concurrent = True

    def fit(
        self, panel: Panel, rows: FoldRows, *, fold: int = 0, progress: Progress | None = None
    ) -> FitInfo:
        """Nothing to fit."""
        return FitInfo()

    def predict(self, panel: Panel, rows: np.ndarray) -> Prediction:
        """Zeros, ``[len(rows), H]``."""
        return Prediction.point(np.zeros((len(rows), panel.horizons)))


def mean_return(panel: Panel, rows: np.ndarray) -> dict[int, float]:
    """Mean one-bar log return per ticker id from its first to its last row in ``rows``."""
    out: dict[int, float] = {}
    for tid, r in ticker_groups(panel, rows):
        first, last = r.min(), r.max()
        n = max(int(last - first), 1)
        out[tid] = float(np.log(panel.close[last] / panel.close[first]) / n)
    return out


def drift(mean_return: np.ndarray, horizons: int) -> np.ndarray:
    """Drift forecasts ``h * mean_return`` for each origin, shape ``[n, horizons]``."""
    steps = np.arange(1, horizons + 1, dtype=float)
    return np.asarray(mean_return, dtype=float)[:, None] * steps[None, :]


class Drift(Forecaster):
    """``h`` times the ticker's mean one-bar log return over the training range."""

    name = "drift"
    concurrent = True
    by_ticker: dict[str, float]

    def fit(
        self, panel: Panel, rows: FoldRows, *, fold: int = 0, progress: Progress | None = None
    ) -> FitInfo:
        """Each ticker's mean one-bar log return over its training origins."""
        means = mean_return(panel, rows.train)
        self.by_ticker = {panel.tickers[t]: m for t, m in means.items()}
        return FitInfo()

    def predict(self, panel: Panel, rows: np.ndarray) -> Prediction:
        """``h * mean`` per origin (0 for a ticker without training origins)."""
        names = np.asarray(panel.tickers, dtype=object)[panel.ticker_id[rows]]
        means = np.array([self.by_ticker.get(t, 0.0) for t in names], dtype=float)
        return Prediction.point(drift(means, panel.horizons))


class RidgeBaseline:
    """A linear model on flattened windows, trained batch by batch into normal equations.

    Accumulating ``X'X`` and ``X'y`` over batches keeps memory at one batch of windows, so the
    baseline scales like the model's stream instead of materialising every window at once.
    The products are small (``L*F`` square), so BLAS runs them on one thread: waking a thread
    pool for each batch costs more than the arithmetic, many times more on a busy machine.
    The fitted model is ``coef [L*F, H]`` and ``intercept [H]``; a prediction is
    ``x @ coef + intercept``, what scikit-learn's ``Ridge`` computes from the same numbers
    (without importing scikit-learn's linear models for it).
    """

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha
        self.coef: np.ndarray | None = None
        self.intercept: np.ndarray | None = None

    def fit(self, batches: Iterable[tuple[np.ndarray, np.ndarray]]) -> RidgeBaseline:
        """Fit on ``(x [B, L, F], y [B, H])`` batches of the training origins."""
        with one_blas_thread():
            return self._fit(batches)

    def _fit(self, batches: Iterable[tuple[np.ndarray, np.ndarray]]) -> RidgeBaseline:
        xtx = xty = sx = sy = None
        n = 0
        buffer = np.empty(0)
        for x, y in batches:
            # Each batch cast into one reused float64 buffer (the values of ``astype``): no
            # fresh array, and no fresh pages from the OS, per batch.
            if buffer.size < x.size:
                buffer = np.empty(x.size)
            flat = buffer[: x.size].reshape(len(x), -1)
            np.copyto(flat, x.reshape(len(x), -1))
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
        self.coef = np.linalg.solve(cxx + self.alpha * np.eye(len(cxx)), cxy)
        self.intercept = my - mx @ self.coef
        return self

    def predict(self, batches: Iterable[np.ndarray]) -> np.ndarray:
        """Predict ``[N, H]`` for ``x [B, L, F]`` batches."""
        coef, intercept = self.coef, self.intercept
        if coef is None or intercept is None:
            raise RuntimeError("RidgeBaseline.predict called before fit")
        with one_blas_thread():
            out = [x.reshape(len(x), -1).astype(np.float64) @ coef + intercept for x in batches]
        return np.concatenate(out, axis=0)


class Ridge(Forecaster):
    """Ridge regression (alpha 1) on the model's scaled windows, fit on complete targets."""

    name = "ridge"
    concurrent = True
    alpha = 1.0

    def fit(
        self, panel: Panel, rows: FoldRows, *, fold: int = 0, progress: Progress | None = None
    ) -> FitInfo:
        """Fit the fold's scaler and the regression on origins whose H targets are all known."""
        self.scaler = FoldScaler.fit_panel(panel, rows.fit_rows, self.features)
        Xs = self._scaled_inputs(panel)
        complete = rows.train[np.isfinite(panel.Y[rows.train]).all(axis=1)]
        Ys = self.scaler.transform_targets(panel.Y[complete], panel.ticker_id[complete])
        batches = panel.batches(complete, RIDGE_BATCH, X=Xs, targets=Ys)
        self.model = RidgeBaseline(self.alpha).fit(batches[i] for i in range(len(batches)))
        return FitInfo()

    def predict(self, panel: Panel, rows: np.ndarray) -> Prediction:
        """Forecast ``rows`` from their scaled windows, back in log-return units."""
        Xs = self._scaled_inputs(panel)
        batches = panel.batches(rows, self.train_config.batch_size, X=Xs)
        pred = self.model.predict(batches[i] for i in range(len(batches)))
        return Prediction.point(self.scaler.inverse_targets(pred, panel.ticker_id[rows]))

    def _scaled_inputs(self, panel: Panel) -> np.ndarray:
        """The panel's inputs through this fold's scaler; the fit's copy serves its predict."""
        key = (self.scaler, panel.X, panel.ticker_id)
        cached = getattr(self, "_scaled", None)
        if cached is None or any(a is not b for a, b in zip(cached[0], key, strict=True)):
            cached = self._scaled = (key, self.scaler.transform_inputs(panel.X, panel.ticker_id))
        return cached[1]
