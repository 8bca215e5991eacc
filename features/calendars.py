"""Trading-session calendars: which dates a market trades, and date arithmetic in sessions.

A *calendar spec* is a string:

* an exchange code known to ``exchange_calendars``: ``"XNYS"`` (the default), ``"XLON"``,
  ``"XTKS"``, ... Its aliases resolve to the code (``"NYSE"`` -> ``"XNYS"``), and its
  ``"24/5"`` is Monday-Friday, the old business-day calendar ``"B"``.
* ``"24/7"``: every calendar day.
* ``"observed"``: the dates the source delivered (``observed_dates``, the union over tickers).
  It starts at the first of them; past the last it goes on with weekdays (Mon-Fri), so that
  forecast target dates exist.

Sessions come from ``exchange_calendars`` (Apache-2.0, maintained, about 70 exchanges, holiday
rules plus ad-hoc closures such as 2001-09-11..14 and Hurricane Sandy). It is pure: its rules
are code, it reads no data file and no network. ``pandas_market_calendars`` was not chosen: it
wraps ``exchange_calendars`` (it depends on it) and adds a second layer of names and schedule
objects we do not need.

``exchange_calendars`` builds a calendar for a window that defaults to today - 20 years ..
today + 1 year, so here every build has an explicit window: 1960-2049, widened by whole
decades to cover the request, clipped to the exchange's bounds (in 4.13 XTKS starts 1997-01-01;
XBOM, XSES, XSHG end 2026-12-31; others are open, up to pandas' 2262 limit). A request
outside the bounds raises ``ValueError``. The session arrays of the last 16 windows are kept
(``functools.lru_cache``); the library itself keeps the last calendar object it built per
exchange. Caveat: XNYS before the 1950s had Saturday sessions and long closures (1914) that
the library does not model.

Dates go in as anything ``pandas.to_datetime`` reads (strings, Timestamps, datetime64; a
tz-aware time counts by its local date) and come out as ``numpy.datetime64[D]`` arrays.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

import numpy as np
import pandas as pd

DEFAULT_CALENDAR = "XNYS"
ALWAYS_OPEN = "24/7"
OBSERVED = "observed"

DateLike: TypeAlias = str | dt.date | np.datetime64 | pd.Timestamp
Dates: TypeAlias = DateLike | Sequence[DateLike] | np.ndarray | pd.Index | pd.Series

_DAY = np.timedelta64(1, "D")
_FIRST = np.datetime64("0001-01-01")
_LAST = np.datetime64("9999-12-31")
# exchange_calendars uses nanosecond Timestamps: 1677-09-21 .. 2262-04-11.
_PANDAS_FIRST = np.datetime64("1678-01-01")
_PANDAS_LAST = np.datetime64("2261-12-31")
_EXAMPLES = "XNYS, XLON, XTKS, XHKG"
# Builds run one at a time: holiday rules hide pandas' "Non-vectorized DateOffset"
# PerformanceWarning with ``warnings.catch_warnings``, which is not thread-safe, so two builds
# in parallel threads (per-ticker tasks) undo each other's filter and the warning escapes.
_BUILD_LOCK = threading.Lock()


def as_days(dates: Dates) -> np.ndarray:
    """Dates as a ``datetime64[D]`` array shaped like the input (a scalar gives 0-d).

    Raises:
        ValueError: On a missing (NaT) or unparseable date.
    """
    if isinstance(dates, pd.Series | pd.Index):
        dates = dates.to_numpy()
    arr = np.asarray(dates)
    if arr.dtype.kind != "M":
        idx = pd.DatetimeIndex(pd.to_datetime(arr.ravel()))
        if idx.tz is not None:
            idx = idx.tz_localize(None)
        arr = idx.to_numpy().reshape(arr.shape)
    out = arr.astype("datetime64[D]")
    if np.isnat(out).any():
        raise ValueError("missing date (NaT) where a date is required")
    return out


def canonical_spec(spec: str) -> str:
    """Validate a calendar spec and return its canonical form (an alias -> its exchange code).

    Raises:
        ValueError: On a spec that is neither an exchange code, ``"24/7"`` nor ``"observed"``.
    """
    if spec in (ALWAYS_OPEN, OBSERVED):
        return spec
    import exchange_calendars as xc

    if isinstance(spec, str) and spec:
        try:
            return str(xc.resolve_alias(spec))
        except xc.errors.InvalidCalendarName:
            pass
    close = difflib.get_close_matches(str(spec), xc.get_calendar_names(), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(
        f"unknown calendar {spec!r}{hint}: use an exchange code such as {_EXAMPLES} "
        "(exchange_calendars.get_calendar_names() lists them all), '24/7' for every day, "
        "or 'observed' for the source's own dates"
    )


@functools.cache  # one entry per exchange code: a pair of dates
def _exchange_bounds(name: str) -> tuple[np.datetime64, np.datetime64]:
    import exchange_calendars as xc

    factories = getattr(xc.calendar_utils.global_calendar_dispatcher, "_calendar_factories", {})
    cls = factories.get(name) or type(xc.get_calendar(name))
    lo, hi = cls.bound_min(), cls.bound_max()
    lo = _PANDAS_FIRST if lo is None else max(_PANDAS_FIRST, np.datetime64(lo.date(), "D"))
    hi = _PANDAS_LAST if hi is None else min(_PANDAS_LAST, np.datetime64(hi.date(), "D"))
    return lo, hi


@functools.lru_cache(maxsize=16)
def _exchange_sessions(name: str, start_year: int, end_year: int) -> np.ndarray:
    """Sorted, read-only sessions of exchange ``name`` in ``start_year..end_year``, clipped."""
    import exchange_calendars as xc

    lo, hi = _exchange_bounds(name)
    start = max(lo, np.datetime64(f"{start_year:04d}-01-01"))
    end = min(hi, np.datetime64(f"{end_year:04d}-12-31"))
    with _BUILD_LOCK:
        # A standing filter, not a context: another thread leaving catch_warnings restores
        # the filters it saw on entry, which would drop a filter set here for the build only.
        warnings.filterwarnings(
            "ignore", category=pd.errors.PerformanceWarning, module=r"exchange_calendars\."
        )
        cal = xc.get_calendar(name, start=str(start), end=str(end))
    out = cal.sessions.to_numpy().astype("datetime64[D]")
    out.flags.writeable = False
    return out


def _year(d: np.datetime64) -> int:
    return int(d.astype("datetime64[Y]").astype(np.int64)) + 1970


# Years one exchange build covers at least: a build costs about the same for ninety years as
# for ten (evaluating holiday rules dominates), so a process's file checks, panels and target
# dates share one build instead of one per decade they touch.
_SPAN = (1960, 2049)


def _build_years(lo: int, hi: int) -> tuple[int, int]:
    """First and last year to build for a request in ``lo..hi``: ``_SPAN``, widened by decades."""
    return min(lo // 10 * 10, _SPAN[0]), max(hi // 10 * 10 + 9, _SPAN[1])


@dataclass(frozen=True, eq=False)
class TradingCalendar:
    """The sessions of one calendar spec; build it with ``trading_calendar``.

    Attributes:
        spec: Canonical spec: an exchange code, ``"24/7"`` or ``"observed"``.
        observed: For ``"observed"``, the sorted unique delivered dates (read-only); else None.
    """

    spec: str
    observed: np.ndarray | None = field(default=None, repr=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TradingCalendar) or other.spec != self.spec:
            return False
        if self.observed is None or other.observed is None:
            return self.observed is other.observed
        return np.array_equal(self.observed, other.observed)

    def __hash__(self) -> int:
        obs = None if self.observed is None else self.observed.tobytes()
        return hash((self.spec, obs))

    def __str__(self) -> str:
        return self.spec

    @property
    def bounds(self) -> tuple[np.datetime64, np.datetime64]:
        """First and last date (inclusive) this calendar can answer for."""
        if self.spec == ALWAYS_OPEN:
            return _FIRST, _LAST
        if self.observed is not None:
            return self.observed[0], _LAST
        return _exchange_bounds(self.spec)

    def _grid(self, lo: np.datetime64, hi: np.datetime64) -> np.ndarray:
        """All sessions of a span covering ``[lo, hi]`` (maybe more), sorted, maybe read-only."""
        first, last = self.bounds
        if lo < first or hi > last:
            raise ValueError(
                f"calendar {self.spec} covers {first} .. {last} only; asked for {lo} .. {hi}"
            )
        if hi < lo:
            return np.zeros(0, dtype="datetime64[D]")
        if self.spec == ALWAYS_OPEN:
            return np.arange(lo, hi + _DAY, dtype="datetime64[D]")
        if self.observed is not None:
            tail = self.observed[-1]
            if hi <= tail:
                return self.observed
            extra = np.arange(tail + _DAY, hi + _DAY, dtype="datetime64[D]")
            return np.concatenate([self.observed, extra[np.is_busday(extra)]])
        return _exchange_sessions(self.spec, *_build_years(_year(lo), _year(hi)))

    def sessions(self, start: DateLike, end: DateLike) -> np.ndarray:
        """Sessions from ``start`` to ``end``, both inclusive (empty if ``end < start``).

        Raises:
            ValueError: On a range outside ``bounds``.
        """
        lo, hi = as_days(start)[()], as_days(end)[()]
        grid = self._grid(lo, hi)
        return grid[np.searchsorted(grid, lo) : np.searchsorted(grid, hi, side="right")].copy()

    def is_session(self, dates: Dates) -> np.ndarray:
        """Bool array shaped like ``dates``: True where the date is a session.

        Raises:
            ValueError: On a date outside ``bounds``.
        """
        d = as_days(dates)
        if d.size == 0:
            return np.zeros(d.shape, dtype=bool)
        grid = self._grid(d.min(), d.max())
        pos = np.searchsorted(grid, d)
        return (pos < len(grid)) & (grid[np.minimum(pos, len(grid) - 1)] == d)

    def non_sessions(self, dates: Dates) -> np.ndarray:
        """The sorted unique dates among ``dates`` that are not sessions (bad bar dates)."""
        d = as_days(dates).ravel()
        return np.unique(d[~self.is_session(d)])

    def next_sessions(self, after: DateLike, n: int) -> np.ndarray:
        """The ``n`` sessions strictly after ``after`` (which need not be a session).

        Raises:
            ValueError: If ``n < 0``, or the sessions would pass the end of ``bounds``.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        a = as_days(after)[()]
        last = self.bounds[1]
        span = np.timedelta64(2 * n + 14, "D")
        while True:
            hi = min(a + span, last)
            grid = self._grid(min(a + _DAY, hi), hi)
            i = np.searchsorted(grid, a, side="right")
            if len(grid) - i >= n:
                return grid[i : i + n].copy()
            if hi == last:
                raise ValueError(
                    f"calendar {self.spec} ends {last}: fewer than {n} sessions after {a}"
                )
            span *= 2

    def add_sessions(self, dates: Dates, h: int | np.ndarray) -> np.ndarray:
        """The session ``h`` sessions after each date (before it if ``h < 0``), vectorised.

        Args:
            dates: Sessions of this calendar, any shape.
            h: Session count: an int, or an int array broadcastable against ``dates``.

        Returns:
            ``datetime64[D]`` array of the broadcast shape.

        Raises:
            ValueError: If a date is not a session, or a result would be outside ``bounds``.
        """
        steps = np.asarray(h)
        if steps.dtype.kind not in "iu":
            raise ValueError(f"h must be an integer or integer array, got dtype {steps.dtype}")
        d, steps = np.broadcast_arrays(as_days(dates), steps.astype(np.int64))
        if d.size == 0:
            return d.copy()
        bad = self.non_sessions(d)
        if bad.size:
            raise ValueError(
                f"add_sessions counts from sessions only: {bad.size} date(s) are not sessions "
                f"of {self.spec}, e.g. {bad[0]}"
            )
        first, last = self.bounds
        back = np.timedelta64(2 * max(0, -int(steps.min())) + 14, "D")
        ahead = np.timedelta64(2 * max(0, int(steps.max())) + 14, "D")
        while True:
            lo = d.min() - back if d.min() - first > back else first
            hi = d.max() + ahead if last - d.max() > ahead else last
            grid = self._grid(lo, hi)
            pos = np.searchsorted(grid, d) + steps
            under, over = pos.min() < 0, pos.max() >= len(grid)
            if not (under or over):
                return grid[pos]
            if (under and lo == first) or (over and hi == last):
                raise ValueError(
                    f"calendar {self.spec} covers {first} .. {last}: "
                    f"a date plus {int(steps.min() if under else steps.max())} sessions is outside"
                )
            back, ahead = (back * 2 if under else back), (ahead * 2 if over else ahead)


def trading_calendar(
    spec: str = DEFAULT_CALENDAR, observed_dates: Dates | None = None
) -> TradingCalendar:
    """Build the ``TradingCalendar`` of a spec.

    Args:
        spec: An exchange code (``"XNYS"``) or alias, ``"24/7"`` or ``"observed"``.
        observed_dates: The dates the source delivered (the union over its tickers); required
            by ``"observed"``, ignored by the others (so callers may always pass it).

    Raises:
        ValueError: On an unknown spec, or ``"observed"`` without dates.
    """
    name = canonical_spec(spec)
    if name != OBSERVED:
        return TradingCalendar(name)
    if observed_dates is None:
        raise ValueError("calendar 'observed' needs observed_dates (the dates the source sent)")
    obs = np.unique(as_days(observed_dates).ravel())
    if obs.size == 0:
        raise ValueError("calendar 'observed' needs at least one observed date")
    obs.flags.writeable = False
    return TradingCalendar(name, obs)
