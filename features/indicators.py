"""Calendar and technical per-step inputs of one ticker's aligned bars.

Each input is a pure function of the bars at or before its row: row ``t`` reads the row's own
date and the (forward-filled) closes of rows ``t - n .. t`` only, so changing any bar after an
origin changes no input of that origin's window. Trailing statistics are computed from each
row's own window (not running sums), so a row's value does not depend on how much history
precedes its window; rows with less history than a window use the rows they have.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from stackcast.features.config import FeatureConfig
from stackcast.features.returns import input_matrix, step_returns

#: Inputs computed here (the base four live in ``features.returns``).
INDICATORS = ("day_of_week", "month", "volatility", "momentum", "rsi", "ma_distance")


def column_names(name: str, cfg: FeatureConfig) -> tuple[str, ...]:
    """The column names one configured input expands to (most inputs are one column)."""
    if name in ("day_of_week", "month"):
        return (f"{name}_sin", f"{name}_cos")
    if name == "momentum":
        return tuple(f"momentum_{n}" for n in cfg.momentum_windows)
    return (name,)


def cyclical(position: np.ndarray, period: float) -> np.ndarray:
    """``[T, 2]`` sine and cosine of ``position`` on a cycle of ``period``."""
    angle = 2.0 * np.pi * np.asarray(position, dtype=np.float64) / period
    return np.column_stack([np.sin(angle), np.cos(angle)])


def _trailing(values: np.ndarray, window: int) -> np.ndarray:
    """``[T, window]`` view: row ``t`` holds ``values[t - window + 1 .. t]`` (NaN before 0)."""
    padded = np.concatenate([np.full(window - 1, np.nan), values])
    return np.lib.stride_tricks.sliding_window_view(padded, window)


def realised_volatility(returns: np.ndarray, observed: np.ndarray, window: int) -> np.ndarray:
    """Root mean square of the observed one-row log returns in the trailing ``window`` rows.

    0 where the window holds fewer than two observed returns.
    """
    r = np.where(np.asarray(observed, dtype=bool), returns, np.nan)
    windows = _trailing(r, window)
    count = np.sum(~np.isnan(windows), axis=1)
    squares = np.where(np.isnan(windows), 0.0, windows * windows).sum(axis=1)
    out = np.zeros(len(r))
    enough = count >= 2
    out[enough] = np.sqrt(squares[enough] / count[enough])
    return out


def momentum(close: np.ndarray, window: int) -> np.ndarray:
    """``log(close[t] / close[t - window])`` on forward-filled closes; 0 before ``window`` rows."""
    logc = np.log(np.asarray(close, dtype=np.float64))
    out = np.zeros(len(logc))
    if len(logc) > window:
        out[window:] = logc[window:] - logc[:-window]
    return out


def rsi(returns: np.ndarray, window: int) -> np.ndarray:
    """Relative strength index over the trailing ``window`` returns, rescaled to ``-1 .. 1``.

    ``(gains - losses) / (gains + losses)`` of the log returns in the window (simple sums,
    Cutler's RSI), which is ``(RSI - 50) / 50``; 0 when nothing moved.
    """
    windows = _trailing(np.nan_to_num(returns, nan=0.0), window)
    gains = np.clip(windows, 0.0, None).sum(axis=1)
    losses = np.clip(-windows, 0.0, None).sum(axis=1)
    total = gains + losses
    out = np.zeros(len(total))
    moved = total > 0
    out[moved] = (gains[moved] - losses[moved]) / total[moved]
    return out


def ma_distance(close: np.ndarray, window: int) -> np.ndarray:
    """``log(close[t] / mean(close[t - window + 1 .. t]))`` on forward-filled closes."""
    windows = _trailing(np.asarray(close, dtype=np.float64), window)
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(windows, axis=1)
    return np.log(windows[:, -1] / mean)


def indicator_matrix(aligned: Mapping[str, Any], name: str, cfg: FeatureConfig) -> np.ndarray:
    """``[T, k]`` columns of one indicator input (``column_names`` gives their names).

    Args:
        aligned: One ticker's frame from ``align_calendar`` (``date``, ``observed``, ``close``),
            or ``aligned_bars``' arrays.
        name: One of ``INDICATORS``.
        cfg: Supplies the windows.

    Raises:
        ValueError: On a name that is not an indicator.
    """
    dates = pd.DatetimeIndex(aligned["date"])
    if name == "day_of_week":
        return cyclical(dates.day_of_week.to_numpy(), 7.0)
    if name == "month":
        return cyclical(dates.month.to_numpy() - 1, 12.0)
    close = np.asarray(aligned["close"], dtype=np.float64)
    obs = np.asarray(aligned["observed"], dtype=bool)
    if name == "momentum":
        return np.column_stack([momentum(close, n) for n in cfg.momentum_windows])
    if name == "ma_distance":
        return ma_distance(close, cfg.ma_window)[:, None]
    returns = step_returns(close, obs)
    if name == "volatility":
        return realised_volatility(returns, obs, cfg.volatility_window)[:, None]
    if name == "rsi":
        return rsi(returns, cfg.rsi_window)[:, None]
    raise ValueError(f"unknown indicator {name!r}; known: {list(INDICATORS)}")


def own_inputs(aligned: Mapping[str, Any], inputs: Sequence[str], cfg: FeatureConfig) -> np.ndarray:
    """``[T, F]`` matrix of a ticker's own inputs, in the order of ``inputs``.

    Columns are named by ``column_names`` of each input in turn.

    The base inputs come from ``returns.input_matrix`` (unchanged, so a configuration without
    indicators gives the same matrix to the bit); each indicator adds its columns in place.
    """
    base = [n for n in inputs if n not in INDICATORS]
    if len(base) == len(inputs):
        return input_matrix(aligned, inputs, cfg.volume_window)
    base_cols = input_matrix(aligned, base, cfg.volume_window)
    parts = [
        indicator_matrix(aligned, name, cfg)
        if name in INDICATORS
        else base_cols[:, [base.index(name)]]
        for name in inputs
    ]
    return np.concatenate(parts, axis=1)
