"""Log returns, per-step inputs and multi-horizon targets of one ticker's price bars.

Every function here is pure and causal where it matters: row ``t`` of an input matrix uses
data dated at or before row ``t`` only. Missing bars never shift the calendar: a ticker is first
aligned to the sessions of its trading calendar (``align_calendar``) and the sessions without
a bar become *unobserved* rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from stackcast.features.calendars import TradingCalendar, trading_calendar
from stackcast.features.config import calendar_spec

#: Which price-frame columns each input needs (``observed`` needs nothing).
INPUT_COLUMNS: dict[str, tuple[str, ...]] = {
    "log_return": ("close",),
    "range": ("high", "low"),
    "volume_z": ("volume",),
    "observed": (),
    "day_of_week": (),
    "month": (),
    "volatility": ("close",),
    "momentum": ("close",),
    "rsi": ("close",),
    "ma_distance": ("close",),
}
_PRICE_COLUMNS = ("open", "high", "low", "close", "volume")


def sorted_bars(df: pd.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A price frame's bars in date order, checked: ``(dates, columns)``.

    Returns:
        ``dates``: ``[B]`` the bars' days as datetime64[ns] (time of day and time zone
        dropped), sorted; ``columns``: each price column the frame has (``open, high, low,
        close, volume``) -> ``[B]`` float64 values in that order.

    Raises:
        ValueError: Missing ``date``/``close``, duplicate dates, or a close that is not finite
            and positive.
    """
    for col in ("date", "close"):
        if col not in df.columns:
            raise ValueError(f"price frame has no {col!r} column")
    cols = [c for c in _PRICE_COLUMNS if c in df.columns]
    dates = df["date"]
    if not (isinstance(dates.dtype, np.dtype) and dates.dtype.kind == "M"):  # not yet naive dates
        dates = pd.to_datetime(dates)
        if getattr(dates.dt, "tz", None) is not None:
            dates = dates.dt.tz_localize(None)
    # NumPy from here on: a few whole-array steps per ticker instead of a reindexed frame.
    # Midnight of each day (what ``dt.normalize`` gives, without its cost per ticker).
    stamps = dates.to_numpy().astype("datetime64[D]").astype("datetime64[ns]")
    values = {c: df[c].to_numpy(dtype=np.float64) for c in cols}
    if len(stamps) > 1 and not (stamps[1:] >= stamps[:-1]).all():  # not yet in date order
        order = np.argsort(stamps, kind="stable")
        stamps, values = stamps[order], {c: v[order] for c, v in values.items()}
    if len(stamps) > 1 and (stamps[1:] == stamps[:-1]).any():
        dup = stamps[1:][stamps[1:] == stamps[:-1]][0]
        raise ValueError(f"duplicate date {pd.Timestamp(dup).date()} in price frame")
    close = values["close"]
    if not (np.isfinite(close).all() and (close > 0).all()):
        raise ValueError("close prices must be finite and positive")
    return stamps, values


def log_range(high: np.ndarray, low: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """``log(high / low)`` on observed rows, 0 elsewhere and where it is not finite."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.log(np.asarray(high, dtype=np.float64) / np.asarray(low, dtype=np.float64))
    out[~np.asarray(observed, dtype=bool) | ~np.isfinite(out)] = 0.0
    return out


def align_calendar(df: pd.DataFrame, calendar: TradingCalendar | str) -> pd.DataFrame:
    """Align one ticker's bars to its trading sessions, turning missing bars into unobserved rows.

    The grid is every session of ``calendar`` from the ticker's first to its last bar. A
    session without a bar (a halt, a gap in the source) becomes a row with ``observed=False``,
    ``close`` forward-filled and the other price columns NaN, so later rows keep their true
    dates and "h rows later" is always "h sessions later". Non-sessions are not rows.

    Args:
        df: One ticker's bars: ``date`` and ``close`` required; ``open, high, low, volume``
            optional; other columns (``ticker``) are ignored.
        calendar: The ticker's trading calendar, or a calendar spec (``"observed"`` then
            means this frame's own dates).

    Returns:
        A new frame with a fresh index: ``date`` (datetime64[ns]), ``observed`` (bool) and the
        price columns the input has.

    Raises:
        ValueError: Missing ``date``/``close``, duplicate dates, a close that is not finite
            and positive, or a bar dated on a non-session of ``calendar``.
    """
    return pd.DataFrame(aligned_bars(df, calendar))


def aligned_bars(df: pd.DataFrame, calendar: TradingCalendar | str) -> dict[str, np.ndarray]:
    """The columns of ``align_calendar``'s frame as arrays, without building the frame.

    Returns:
        ``date`` (datetime64[ns]), ``observed`` (bool) and the price columns ``df`` has, each
        ``[T]``, in that order.

    Raises:
        ValueError: As ``align_calendar``.
    """
    stamps, values = sorted_bars(df)
    cols = list(values)
    if len(stamps) == 0:
        empty = {"date": stamps, "observed": np.zeros(0, dtype=bool)}
        return empty | {c: np.zeros(0) for c in cols}
    days = stamps.astype("datetime64[D]")
    if isinstance(calendar, str):
        calendar = trading_calendar(calendar_spec(calendar), days)
    # The grid of sessions from the first bar to the last; a bar off it is not a session.
    grid = calendar.sessions(days[0], days[-1])
    at = np.searchsorted(grid, days)
    off = at >= len(grid)
    off[~off] = grid[at[~off]] != days[~off]
    if off.any():
        bad = np.unique(days[off])
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise ValueError(
            f"bar dated {bad[0]} is not a session of the {calendar.spec} calendar{more}; "
            "if the dates were misread from a file, ingest it again with its date format "
            "(`stackcast inspect FILE` shows how it reads); if they are right, set "
            "[features] calendar (or [data] calendars for this ticker) to its exchange, "
            "'24/7' or 'observed'"
        )
    # every bar is a session, so each lands on its own row (``at``)
    observed = np.zeros(len(grid), dtype=bool)
    observed[at] = True
    out: dict[str, np.ndarray] = {"date": grid.astype("datetime64[ns]"), "observed": observed}
    for c in cols:
        column = np.full(len(grid), np.nan)
        column[at] = values[c]
        out[c] = column
    # close forward-filled over unobserved sessions (the first row is always a bar).
    last_bar = np.maximum.accumulate(np.where(observed, np.arange(len(grid)), 0))
    out["close"] = out["close"][last_bar]
    return out


def available_inputs(
    columns: Iterable[str], requested: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split requested inputs into those the columns support and those they do not.

    ``range`` needs ``high`` and ``low``; ``volume_z`` needs ``volume``; ``log_return`` needs
    ``close``; ``observed`` is always available.

    Returns:
        ``(used, dropped)``, each in the requested order.

    Raises:
        ValueError: On an unknown input name.
    """
    have = set(columns)
    used: list[str] = []
    dropped: list[str] = []
    for name in requested:
        if name not in INPUT_COLUMNS:
            raise ValueError(f"unknown input {name!r}; known: {sorted(INPUT_COLUMNS)}")
        (used if set(INPUT_COLUMNS[name]) <= have else dropped).append(name)
    return tuple(used), tuple(dropped)


def log_returns(close: np.ndarray) -> np.ndarray:
    """One-bar log returns ``log(close[t] / close[t-1])``; element 0 is NaN."""
    close = np.asarray(close, dtype=np.float64)
    out = np.full(close.shape, np.nan)
    out[1:] = np.log(close[1:] / close[:-1])
    return out


def step_returns(close: np.ndarray, observed: np.ndarray) -> np.ndarray:
    """One-row log returns of the forward-filled closes; 0 on unobserved rows, NaN on row 0."""
    out = log_returns(close)
    out[1:][~np.asarray(observed, dtype=bool)[1:]] = 0.0
    return out


def volume_zscore(volume: np.ndarray, observed: np.ndarray, window: int) -> np.ndarray:
    """Trailing z-score of ``log1p(volume)`` over the last ``window`` observed bars.

    The statistics at row ``t`` use observed bars at or before ``t`` only (current bar
    included; population standard deviation). Unobserved rows, rows with a missing volume, rows
    with fewer than two bars of history and rows whose window has no spread get 0.
    """
    volume = np.asarray(volume, dtype=np.float64)
    observed = np.asarray(observed, dtype=bool)
    out = np.zeros(volume.shape)
    vals = np.log1p(np.where(volume >= 0, volume, np.nan))[observed]
    if vals.size == 0:
        return out
    # Each row's statistics from its own window only (not a running sum), so a row's value
    # does not depend on how much history precedes its window, to the last bit.
    if np.isfinite(vals).all():
        mean, std, count = _window_moments(vals, window)
    else:
        mean, std, count = _window_moments_nan(vals, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean[count < 2] = std[count < 2] = np.nan
        z = (vals - mean) / std
    flat = ~(std > 1e-9 * np.maximum(1.0, np.abs(mean)))
    z[flat | ~np.isfinite(z)] = 0.0
    out[observed] = z
    return out


def _window_moments(vals: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trailing mean, population std and count of finite ``vals`` (``_window_moments_nan``'s bits).

    The same contiguous rows (padding as 0) summed the same way, without the NaN masks.
    """
    n = len(vals)
    padded = np.concatenate([np.zeros(window - 1), vals])
    rows = np.lib.stride_tricks.sliding_window_view(padded, window).copy()
    count = np.minimum(np.arange(1, n + 1), window)
    mean = np.sum(rows, axis=1) / count
    rows -= mean[:, None]
    np.square(rows, out=rows)
    top = min(window - 1, n)  # rows whose window starts before the first value: zero the padding
    rows[:top][np.arange(window)[None, :] < (window - 1 - np.arange(top))[:, None]] = 0.0
    std = np.sqrt(np.sum(rows, axis=1) / count)
    return mean, std, count


def _window_moments_nan(vals: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trailing NaN-skipping mean, population std and count of ``vals`` (NaN where none)."""
    padded = np.concatenate([np.full(window - 1, np.nan), vals])
    windows = np.lib.stride_tricks.sliding_window_view(padded, window)
    missing = np.isnan(windows)
    count = np.sum(~missing, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):  # all-NaN windows: NaN, then 0 later
        # np.nanmean's own steps (a copy with NaN as 0, its sum, over the count), to the bit,
        # without its overhead per call
        mean = np.sum(np.where(missing, 0.0, windows), axis=1) / count
        dev = (windows - mean[:, None]) ** 2
        unknown = np.isnan(dev)
        std = np.sqrt(np.sum(np.where(unknown, 0.0, dev), axis=1) / np.sum(~unknown, axis=1))
    return mean, std, count


def input_matrix(
    aligned: Mapping[str, Any], inputs: Sequence[str], volume_window: int
) -> np.ndarray:
    """Per-step inputs of an aligned frame, float64 ``[T, F]`` in the order of ``inputs``.

    ``aligned`` is ``align_calendar``'s frame or ``aligned_bars``' arrays.

    * ``log_return``: ``log(close[t] / close[t-1])`` on observed rows (the forward-filled close
      makes the first bar after a gap span the whole gap), 0 on unobserved rows, NaN on row 0
      (no previous close: callers drop that row).
    * ``range``: ``log(high / low)`` on observed rows, else 0.
    * ``volume_z``: see ``volume_zscore``.
    * ``observed``: 1.0 / 0.0.

    Row ``t`` only uses data dated at or before row ``t``.

    Raises:
        ValueError: On an input whose columns ``aligned`` lacks (see ``available_inputs``).
    """
    used, dropped = available_inputs(list(aligned), inputs)
    if dropped:
        raise ValueError(f"inputs {list(dropped)} need columns the frame lacks")
    obs = np.asarray(aligned["observed"], dtype=bool)
    out = np.zeros((len(obs), len(used)))
    for j, name in enumerate(used):
        if name == "log_return":
            col = step_returns(np.asarray(aligned["close"]), obs)
        elif name == "range":
            col = log_range(np.asarray(aligned["high"]), np.asarray(aligned["low"]), obs)
        elif name == "volume_z":
            col = volume_zscore(np.asarray(aligned["volume"]), obs, volume_window)
        else:
            col = obs.astype(np.float64)
        out[:, j] = col
    return out


def target_matrix(close: np.ndarray, observed: np.ndarray, horizons: int) -> np.ndarray:
    """Multi-horizon targets ``Y[t, h-1] = log(close[t+h] / close[t])``, shape ``[T, H]``.

    NaN where ``t + h`` is past the end, or where row ``t`` (the origin) or row ``t + h`` (the
    target bar) is unobserved. Horizons count calendar rows, so the target of horizon ``h`` is
    the calendar date ``h`` bars after the origin.
    """
    close = np.asarray(close, dtype=np.float64)
    observed = np.asarray(observed, dtype=bool)
    n = len(close)
    out = np.full((n, horizons), np.nan)
    logc = np.log(close)
    for h in range(1, horizons + 1):
        if h >= n:
            break
        ok = observed[:-h] & observed[h:]
        out[:-h, h - 1] = np.where(ok, logc[h:] - logc[:-h], np.nan)
    return out


def prices_from_returns(origin_close: np.ndarray | float, logret: np.ndarray) -> np.ndarray:
    """Prices implied by log returns from an origin close: ``origin_close * exp(logret)``.

    Args:
        origin_close: Scalar or ``[N]`` origin closes.
        logret: ``[H]`` or ``[N, H]`` cumulative log returns from the origin (targets or
            forecasts, already inverse-scaled).

    Returns:
        Prices with the shape of ``logret``.
    """
    logret = np.asarray(logret, dtype=np.float64)
    c = np.asarray(origin_close, dtype=np.float64)
    if c.ndim == 1 and logret.ndim == 2:
        c = c[:, None]
    return c * np.exp(logret)
