"""Fold scalers: fit on a fold's training rows only, per ticker or pooled, JSON-serialisable.

Statistics come from scikit-learn (``StandardScaler``: mean and standard deviation;
``RobustScaler``: median and interquartile range; ``"none"``: identity) and are applied as
``(a - center) / scale`` with per-ticker lookup tables, so transforms are vectorised and the
inverse ``z * scale + center`` is exact to rounding. Inputs are scaled per feature, targets per
horizon. The ``observed`` column and covariates' ``SYMBOL:observed`` flags pass through
unscaled.

Per-ticker fallback: in ``per_ticker`` scope, a ticker with no fit rows (or a column with no
finite value among them) uses the pooled statistics of all fit rows; such tickers are listed
in ``fallback``. A column with no finite value at all gets the identity (center 0, scale 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np
from stackcast.features.config import FeatureConfig
from stackcast.features.scaler_stats import column_stats, standard_stats, ticker_stats

__all__ = ["FoldScaler", "passthrough", "standard_stats"]

FORMAT = "stackcast.FoldScaler"
VERSION = 1
PASSTHROUGH = ("observed",)


def passthrough(name: str) -> bool:
    """Whether an input column is a 0/1 flag left unscaled (own or a covariate's observed)."""
    return name in PASSTHROUGH or name.endswith(":observed")


def _runs(A: np.ndarray, ids: np.ndarray) -> list[tuple[int, int, int]] | None:
    """``(first, end, id)`` of each run of rows of one ticker, when rows come in few runs."""
    if A.ndim != 2 or not len(ids):
        return None
    cut = (np.flatnonzero(ids[1:] != ids[:-1]) + 1).tolist()
    if (len(cut) + 1) * 32 > len(ids):
        return None
    bounds = [0, *cut, len(ids)]
    return [(a, b, int(ids[a])) for a, b in pairwise(bounds)]


def _standardised(
    A: np.ndarray, ids: np.ndarray, center: np.ndarray, scale: np.ndarray
) -> np.ndarray:
    """``(A - center[ids]) / scale[ids]``, the same bits, without ``[N, F]`` table copies.

    Rows that come in runs of one ticker (a panel's do) are scaled a run at a time.
    """
    runs = _runs(A, ids)
    if runs is None:
        return (A - center[ids]) / scale[ids]
    out = np.empty(A.shape)
    for a, b, k in runs:
        np.subtract(A[a:b], center[k], out=out[a:b])
        np.divide(out[a:b], scale[k], out=out[a:b])
    return out


def _floats(a: np.ndarray) -> list[Any]:
    return np.asarray(a, dtype=np.float64).tolist()


class FoldScaler:
    """Input and target scaling of one fold (see the module docstring).

    Attributes:
        kind: ``"standard"``, ``"robust"`` or ``"none"``.
        scope: ``"per_ticker"`` or ``"pooled"``.
        feature_names: Input column names; ``observed`` is never scaled.
        tickers: Ticker names in ``ticker_id`` order.
        x_center, x_scale: ``[n_tickers, F]`` input statistics.
        y_center, y_scale: ``[n_tickers, H]`` target statistics.
        pooled: The pooled statistics (``x_center, x_scale, y_center, y_scale`` vectors).
        fallback: Tickers that use the pooled statistics in ``per_ticker`` scope.
        n_fit_rows: Rows the inputs were fit on.
    """

    def __init__(
        self,
        *,
        kind: str,
        scope: str,
        feature_names: Sequence[str],
        tickers: Sequence[str],
        x_center: np.ndarray,
        x_scale: np.ndarray,
        y_center: np.ndarray,
        y_scale: np.ndarray,
        pooled: dict[str, np.ndarray],
        fallback: Sequence[str] = (),
        n_fit_rows: int = 0,
    ) -> None:
        self.kind = kind
        self.scope = scope
        self.feature_names = tuple(feature_names)
        self.tickers = tuple(tickers)
        self.x_center = np.asarray(x_center, dtype=np.float64)
        self.x_scale = np.asarray(x_scale, dtype=np.float64)
        self.y_center = np.asarray(y_center, dtype=np.float64)
        self.y_scale = np.asarray(y_scale, dtype=np.float64)
        self.pooled = {k: np.asarray(v, dtype=np.float64) for k, v in pooled.items()}
        self.fallback = tuple(fallback)
        self.n_fit_rows = int(n_fit_rows)

    # -- fitting -------------------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        X: np.ndarray,
        Y: np.ndarray,
        ticker_id: np.ndarray,
        fit_rows: np.ndarray,
        cfg: FeatureConfig,
        *,
        feature_names: Sequence[str] | None = None,
        tickers: Sequence[str] | None = None,
    ) -> FoldScaler:
        """Fit on the rows marked ``fit_rows`` (the fold's training range) only.

        Inputs are fit on ``X[fit_rows]`` minus unobserved rows (``observed == 0``, when that
        column is present: their zeros are placeholders); targets on the finite values of
        ``Y[fit_rows]``, per horizon. Rows outside ``fit_rows`` never influence the result.

        Args:
            X: ``[N, F]`` inputs.
            Y: ``[N, H]`` targets (NaN allowed).
            ticker_id: ``[N]`` ticker index of each row.
            fit_rows: ``[N]`` bool mask of training rows.
            cfg: Uses ``scaler`` and ``scaler_scope``.
            feature_names: Names of ``X``'s columns (``Panel.feature_names``); defaults to
                ``cfg.inputs`` when it has ``F`` names.
            tickers: Names of the ticker ids (``Panel.tickers``); defaults to ``"0", "1", ...``.

        Raises:
            ValueError: On mismatched shapes or missing ``feature_names``.
        """
        X = np.asarray(X, dtype=np.float64)
        Y = np.asarray(Y, dtype=np.float64)
        if Y.ndim == 1:
            Y = Y[:, None]
        ticker_id = np.asarray(ticker_id, dtype=np.int64)
        fit_rows = np.asarray(fit_rows, dtype=bool)
        n, F = X.shape
        if not (len(Y) == len(ticker_id) == len(fit_rows) == n):
            raise ValueError("X, Y, ticker_id and fit_rows must have the same number of rows")
        if feature_names is None:
            if len(cfg.inputs) != F:
                raise ValueError(
                    f"X has {F} columns but cfg.inputs has {len(cfg.inputs)}: "
                    "pass feature_names=panel.feature_names"
                )
            feature_names = cfg.inputs
        names = tuple(feature_names)
        if len(names) != F:
            raise ValueError(f"{len(names)} feature names for {F} columns")
        n_t = int(ticker_id.max()) + 1 if n else 0
        if tickers is None:
            tickers = [str(k) for k in range(n_t)]
        tickers = tuple(tickers)
        if len(tickers) < n_t:
            raise ValueError(f"ticker_id reaches {n_t - 1} but only {len(tickers)} tickers named")
        n_t = len(tickers)

        xrows = fit_rows.copy()
        for j, name in enumerate(names):
            if name == "observed":
                xrows &= X[:, j] != 0.0
        keep = np.array([not passthrough(nm) for nm in names])

        # Fit rows (ascending, as a boolean mask selects them): inputs without the unscaled
        # flags, and targets; the pooled statistics and each ticker's come from these arrays.
        x_idx, y_idx = np.flatnonzero(xrows), np.flatnonzero(fit_rows)
        Xk, Yf = X[x_idx][:, keep], Y[y_idx]
        pxc, pxs = np.zeros(F), np.ones(F)
        if cfg.scaler != "none" and keep.any():
            stats = column_stats(cfg.scaler, Xk) if len(x_idx) else (np.nan, np.nan)
            pxc[keep], pxs[keep] = stats
        if cfg.scaler != "none" and not len(y_idx):
            pyc, pys = np.full(Y.shape[1], np.nan), np.full(Y.shape[1], np.nan)
        else:
            pyc, pys = column_stats(cfg.scaler, Yf)
        # A column with no finite value anywhere falls back to the identity.
        for c, s in ((pxc, pxs), (pyc, pys)):
            miss = ~(np.isfinite(c) & np.isfinite(s))
            c[miss], s[miss] = 0.0, 1.0
        pooled = {"x_center": pxc, "x_scale": pxs, "y_center": pyc, "y_scale": pys}

        xc, xs = np.tile(pxc, (n_t, 1)), np.tile(pxs, (n_t, 1))
        yc, ys = np.tile(pyc, (n_t, 1)), np.tile(pys, (n_t, 1))
        fallback: list[str] = []
        if cfg.scaler_scope == "per_ticker":
            # Every ticker's statistics at once (each ticker's own rows, the same bits as one
            # ticker at a time); a statistic that is not finite falls back to the pooled one.
            tc, ts = np.zeros((n_t, F)), np.ones((n_t, F))
            if cfg.scaler != "none" and keep.any():
                tc[:, keep], ts[:, keep] = ticker_stats(cfg.scaler, Xk, ticker_id[x_idx], n_t)
            uc, us = ticker_stats(cfg.scaler, Yf, ticker_id[y_idx], n_t)
            used_pooled = np.zeros(n_t, dtype=bool)
            for table_c, table_s, c, s in ((xc, xs, tc, ts), (yc, ys, uc, us)):
                ok = np.isfinite(c) & np.isfinite(s)
                table_c[ok], table_s[ok] = c[ok], s[ok]
                used_pooled |= ~ok.all(axis=1)
            fallback = [tickers[k] for k in np.flatnonzero(used_pooled)]
        return cls(
            kind=cfg.scaler,
            scope=cfg.scaler_scope,
            feature_names=names,
            tickers=tickers,
            x_center=xc,
            x_scale=xs,
            y_center=yc,
            y_scale=ys,
            pooled=pooled,
            fallback=fallback,
            n_fit_rows=int(xrows.sum()),
        )

    @classmethod
    def fit_panel(cls, panel: Any, fit_rows: np.ndarray, cfg: FeatureConfig) -> FoldScaler:
        """``fit`` on a ``Panel``'s ``X``, ``Y`` and ticker names."""
        return cls.fit(
            panel.X,
            panel.Y,
            panel.ticker_id,
            fit_rows,
            cfg,
            feature_names=panel.feature_names,
            tickers=panel.tickers,
        )

    # -- transforms ----------------------------------------------------------------------------

    def _ids(self, ticker_id: np.ndarray | int, n: int) -> np.ndarray:
        ids = np.broadcast_to(np.asarray(ticker_id, dtype=np.int64), (n,))
        if n and (ids.min() < 0 or ids.max() >= len(self.tickers)):
            raise ValueError(
                f"ticker_id out of range for {len(self.tickers)} tickers; "
                "use for_tickers(panel.tickers) for a panel with other tickers"
            )
        return ids

    def transform_inputs(self, X: np.ndarray, ticker_id: np.ndarray | int) -> np.ndarray:
        """Scaled copy of ``X [N, F]``; ``ticker_id`` is ``[N]`` (or one id for all rows)."""
        X = np.asarray(X, dtype=np.float64)
        ids = self._ids(ticker_id, len(X))
        return _standardised(X, ids, self.x_center, self.x_scale)

    def inverse_inputs(self, Xs: np.ndarray, ticker_id: np.ndarray | int) -> np.ndarray:
        """Undo ``transform_inputs``."""
        Xs = np.asarray(Xs, dtype=np.float64)
        ids = self._ids(ticker_id, len(Xs))
        return Xs * self.x_scale[ids] + self.x_center[ids]

    def transform_targets(self, Y: np.ndarray, ticker_id: np.ndarray | int) -> np.ndarray:
        """Scaled copy of targets ``[N, H]`` (NaN stays NaN)."""
        Y = np.asarray(Y, dtype=np.float64)
        ids = self._ids(ticker_id, len(Y))
        return _standardised(Y, ids, self.y_center, self.y_scale)

    def inverse_targets(self, Ys: np.ndarray, ticker_id: np.ndarray | int) -> np.ndarray:
        """Scaled targets or forecasts ``[N, H]`` back to log returns."""
        Ys = np.asarray(Ys, dtype=np.float64)
        ids = self._ids(ticker_id, len(Ys))
        return Ys * self.y_scale[ids] + self.y_center[ids]

    def inverse_spread(self, Ss: np.ndarray, ticker_id: np.ndarray | int) -> np.ndarray:
        """A spread (standard deviation, half-width) in scaled units back to log returns."""
        Ss = np.asarray(Ss, dtype=np.float64)
        ids = self._ids(ticker_id, len(Ss))
        return Ss * self.y_scale[ids]

    def for_tickers(self, tickers: Sequence[str]) -> FoldScaler:
        """This scaler re-indexed for another ticker order; unknown tickers get pooled stats."""
        tickers = tuple(tickers)
        index = {t: k for k, t in enumerate(self.tickers)}
        fallback = [t for t in self.fallback if t in tickers]
        rows = {}
        for name, table, key in (
            ("x_center", self.x_center, "x_center"),
            ("x_scale", self.x_scale, "x_scale"),
            ("y_center", self.y_center, "y_center"),
            ("y_scale", self.y_scale, "y_scale"),
        ):
            rows[name] = np.array(
                [table[index[t]] if t in index else self.pooled[key] for t in tickers]
            ).reshape(len(tickers), table.shape[1])
        fallback += [t for t in tickers if t not in index and self.scope == "per_ticker"]
        return FoldScaler(
            kind=self.kind,
            scope=self.scope,
            feature_names=self.feature_names,
            tickers=tickers,
            pooled=self.pooled,
            fallback=fallback,
            n_fit_rows=self.n_fit_rows,
            **rows,
        )

    # -- JSON ----------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """Parameters as plain JSON types (lists of floats); ``from_json`` restores them."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "kind": self.kind,
            "scope": self.scope,
            "feature_names": list(self.feature_names),
            "passthrough": [n for n in self.feature_names if passthrough(n)],
            "tickers": list(self.tickers),
            "fallback": list(self.fallback),
            "n_fit_rows": self.n_fit_rows,
            "pooled": {k: _floats(v) for k, v in self.pooled.items()},
            "inputs": {"center": _floats(self.x_center), "scale": _floats(self.x_scale)},
            "targets": {"center": _floats(self.y_center), "scale": _floats(self.y_scale)},
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> FoldScaler:
        """Rebuild a scaler from ``to_json`` output.

        Raises:
            ValueError: If ``d`` is not a FoldScaler document of a known version.
        """
        if d.get("format") != FORMAT or d.get("version") != VERSION:
            raise ValueError(
                f"not a {FORMAT} v{VERSION} document "
                f"(format={d.get('format')!r}, version={d.get('version')!r})"
            )
        n_t, F, H = len(d["tickers"]), len(d["feature_names"]), len(d["pooled"]["y_center"])

        def table(v: Any, width: int) -> np.ndarray:
            return np.asarray(v, dtype=np.float64).reshape(n_t, width)

        return cls(
            kind=d["kind"],
            scope=d["scope"],
            feature_names=d["feature_names"],
            tickers=d["tickers"],
            x_center=table(d["inputs"]["center"], F),
            x_scale=table(d["inputs"]["scale"], F),
            y_center=table(d["targets"]["center"], H),
            y_scale=table(d["targets"]["scale"], H),
            pooled=d["pooled"],
            fallback=d.get("fallback", ()),
            n_fit_rows=d.get("n_fit_rows", 0),
        )
