"""Covariates: other tickers' per-step inputs, aligned on a forecast ticker's sessions.

A covariate (an index, VIX, a sector ETF, another forecast ticker) contributes, at each row of
a ticker, its one-step log return, its range and volume z-score where its bars have those
columns, and its own observed flag (``<SYMBOL>:<input>`` columns). Row ``t`` of the ticker
reads only covariate bars dated on or before row ``t``'s date:

* the log return is ``log(C(d_t) / C(d_{t-1}))`` where ``C(d)`` is the covariate's last close
  dated on or before ``d``, so it spans the same interval as the ticker's own return;
* range and volume z-score are those of the covariate's bar dated ``d_t`` (the z-score's
  trailing statistics use the covariate's bars up to that bar only);
* a row whose date has no covariate bar (a holiday of the covariate's exchange, a gap) is an
  unobserved step: every covariate value 0 and its flag 0.

Bars are daily: a bar dated the origin's day enters that origin's window, and a bar dated
after the origin never does. The daily run forecasts after the day's closes, when that bar is
known. A covariate whose exchange closes later on the same date than the ticker's (SPY for a
Tokyo ticker) is thus known at forecast time but not at the ticker's own close: a strategy that
trades at the origin's close should not use such a covariate.

A covariate that is itself forecast is no leak either: as a covariate it enters each window
through its bars dated at or before that window's origin only, exactly like the ticker's own
past returns, while its targets (returns after the origin) are never inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from stackcast.features.returns import log_range, sorted_bars, volume_zscore

#: Inputs a covariate can contribute, in column order (``observed`` always).
COVARIATE_INPUTS = ("log_return", "range", "volume_z", "observed")


@dataclass(frozen=True, eq=False)
class CovariateBars:
    """One covariate's bars, ready to align.

    Attributes:
        name: The covariate's symbol.
        dates: ``[B]`` sorted unique bar dates (datetime64[D]).
        close: ``[B]`` closes.
        values: Input name -> ``[B]`` per-bar values (``range``, ``volume_z`` when available).
    """

    name: str
    dates: np.ndarray
    close: np.ndarray
    values: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names this covariate contributes (``SYMBOL:input``)."""
        inputs = ("log_return", *self.values, "observed")
        return tuple(f"{self.name}:{x}" for x in inputs)


def covariate_bars(name: str, frame: pd.DataFrame, volume_window: int) -> CovariateBars:
    """A covariate's price frame (``date``, ``close``, optional ``high, low, volume``) as bars.

    Raises:
        ValueError: No ``date``/``close`` column, no bars, duplicate dates, or a close that is
            not finite and positive.
    """
    try:
        stamps, columns = sorted_bars(frame)
    except ValueError as err:
        raise ValueError(f"covariate {name}: {err}") from None
    if not len(stamps):
        raise ValueError(f"covariate {name}: no prices")
    days = stamps.astype("datetime64[D]")
    close = columns["close"]
    every = np.ones(len(days), dtype=bool)  # a covariate's own bars are all observed
    values: dict[str, np.ndarray] = {}
    if {"high", "low"} <= set(columns):
        values["range"] = log_range(columns["high"], columns["low"], every)
    if "volume" in columns:
        values["volume_z"] = volume_zscore(columns["volume"], every, volume_window)
    return CovariateBars(name, days, close, values)


def align_covariate(bars: CovariateBars, dates: np.ndarray) -> np.ndarray:
    """``[T, k]`` covariate columns (``bars.columns``) on a ticker's row dates.

    Row ``t`` reads only bars dated on or before ``dates[t]``; see the module docstring.

    Args:
        bars: The covariate.
        dates: ``[T]`` the ticker's sorted row dates (any datetime64 unit).
    """
    days = np.asarray(dates).astype("datetime64[D]")
    last = np.searchsorted(bars.dates, days, side="right") - 1  # last bar on or before
    has = last >= 0
    at = np.where(has, last, 0)
    observed = has & (bars.dates[at] == days)
    asof = np.where(has, bars.close[at], np.nan)
    ret = np.zeros(len(days))
    if len(days) > 1:
        with np.errstate(invalid="ignore"):
            step = np.log(asof[1:] / asof[:-1])
        ret[1:] = np.where(observed[1:] & np.isfinite(step), step, 0.0)
    cols = [ret]
    cols += [np.where(observed, v[at], 0.0) for v in bars.values.values()]
    cols.append(observed.astype(np.float64))
    return np.column_stack(cols)


def covariate_set(
    names: Sequence[str], frames: Mapping[str, pd.DataFrame], volume_window: int
) -> list[CovariateBars]:
    """The configured covariates' bars, in configured order.

    Raises:
        ValueError: A covariate without a frame, or with a malformed one.
    """
    missing = [c for c in names if c not in frames]
    if missing:
        raise ValueError(f"no prices for covariate(s) {', '.join(missing)}")
    return [covariate_bars(c, frames[c], volume_window) for c in names]


def covariate_matrix(covariates: Sequence[CovariateBars], dates: np.ndarray) -> np.ndarray:
    """Every covariate's columns on a ticker's row dates, side by side (``[T, 0]`` if none)."""
    if not covariates:
        return np.zeros((len(dates), 0))
    return np.concatenate([align_covariate(c, dates) for c in covariates], axis=1)
