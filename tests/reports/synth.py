"""Synthetic backtest outputs shaped like the backtest workflow's, for the report tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def prices(tickers: tuple[str, ...] = ("AAA", "BBB"), n: int = 400, seed: int = 0) -> pd.DataFrame:
    """Long (ticker, date, close) frame of geometric random walks on business days."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=n)
    frames = []
    for i, t in enumerate(tickers):
        r = rng.normal(0.0003, 0.012 + 0.004 * i, n)
        r[0] = 0.0
        frames.append(
            pd.DataFrame({"ticker": t, "date": dates, "close": 100 * np.exp(np.cumsum(r))})
        )
    return pd.concat(frames, ignore_index=True)


def predictions(
    px: pd.DataFrame,
    *,
    horizons: int = 5,
    folds: int = 3,
    test_size: int = 40,
    skill: float = 0.3,
    seed: int = 1,
    intervals: bool = True,
) -> pd.DataFrame:
    """Predictions for the last ``folds * test_size`` origins of each ticker.

    ``y_pred`` = ``skill`` * truth + noise, so the model has some genuine skill; the final
    origins have unknown targets (NaN y_true), as in a real backtest.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for t, g in px.groupby("ticker", sort=True):
        close = g["close"].to_numpy()
        dates = g["date"].to_numpy()
        n = len(close)
        first = n - folds * test_size
        for k, o in enumerate(range(first, n)):
            for h in range(1, horizons + 1):
                known = o + h < n
                y = float(np.log(close[o + h] / close[o])) if known else np.nan
                target = dates[o + h] if known else dates[o] + np.timedelta64(h, "D")
                sd = 0.012 * np.sqrt(h)
                pred = skill * (y if known else 0.0) + rng.normal(0, sd * 0.8)
                rows.append(
                    {
                        "ticker": t,
                        "origin": dates[o],
                        "horizon": h,
                        "target_date": target,
                        "y_true": y,
                        "fold": k // test_size + 1,
                        "y_pred": pred,
                        "lo": pred - 1.28 * sd if intervals else np.nan,
                        "hi": pred + 1.28 * sd if intervals else np.nan,
                        "random_walk": 0.0,
                        "drift": 0.0003 * h,
                        "ridge": rng.normal(0, sd * 0.3),
                    }
                )
    return pd.DataFrame(rows)


def scale(px: pd.DataFrame, horizons: int = 5, n_train: int = 200) -> dict[tuple[str, int], float]:
    """Mean |h-step log return| over each ticker's first ``n_train`` bars."""
    out = {}
    for t, g in px.groupby("ticker"):
        lc = np.log(g["close"].to_numpy()[:n_train])
        for h in range(1, horizons + 1):
            out[(t, h)] = float(np.mean(np.abs(lc[h:] - lc[:-h])))
    return out


def history(epochs: int = 6, seed: int = 0, layers: tuple[str, ...] = ("rnn_0", "rnn_1")) -> dict:
    """A Keras-like training history with per-layer gradient norms."""
    rng = np.random.default_rng(seed)
    e = np.arange(epochs)
    h: dict[str, Any] = {
        "loss": (0.9 * np.exp(-e / 3) + 0.3 + rng.normal(0, 0.01, epochs)).tolist(),
        "val_loss": (0.8 * np.exp(-e / 4) + 0.4 + rng.normal(0, 0.02, epochs)).tolist(),
        "lr": [1e-3] * epochs,
    }
    for i, layer in enumerate(layers):
        mean = 0.5 / (i + 1) * np.exp(-e / 5) + 0.05
        h[f"grad_norm/{layer}"] = {"mean": mean.tolist(), "max": (mean * 3).tolist()}
    return h


def audit(folds: int = 3) -> list[dict[str, Any]]:
    """Leakage-audit rows like stackcast.features.splits.Split.audit()."""
    rows = []
    for f in range(folds):
        rows.append(
            {
                "fold": f + 1,
                "train_start": f"2020-0{f + 1}-01",
                "train_end": f"2020-0{f + 6}-01",
                "scaler_fit_start": f"2020-0{f + 1}-01",
                "scaler_fit_end": f"2020-0{f + 6}-01",
                "embargo": 5,
                "first_test_origin": f"2020-0{f + 6}-15",
                "test_end": f"2020-0{f + 7}-10",
            }
        )
    return rows
