"""Whether a price file may be stored: every ticker valid, every date plausible; all or nothing.

A file is stored whole or not at all: ``load_price_file`` reads it (``pricefile``), validates
every ticker in it (``validate``) and checks its dates against each ticker's trading calendar,
and raises one ``DataError`` if anything fails, before any ticker reaches the store.

Plausibility: dates that fall on non-sessions of the ticker's exchange calendar in numbers
(``MISREAD_SHARE`` of the rows or more) mean the file was misread (a wrong date format) and
refuse it, naming the dates and the format used; a series with a bar on every calendar day is
told apart (a market that trades every day: set its calendar). A few such dates only warn,
as a holiday the exchange calendar does not share would.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from stackcast.features.calendars import ALWAYS_OPEN, DEFAULT_CALENDAR, OBSERVED, trading_calendar
from stackcast.pipeline.config import DataConfig
from stackcast.pipeline.data.dates import describe
from stackcast.pipeline.data.pricefile import PriceTable, ReadRules, read_price_file
from stackcast.pipeline.data.problems import Loaded, PriceValidationError
from stackcast.pipeline.data.validate import validate_prices
from stackcast.pipeline.errors import DataError

MISREAD_SHARE = 0.10  # rows on non-sessions from which a file counts as misread
SHOWN = 3


@dataclass(frozen=True)
class Assessment:
    """Every ticker of a file: its validated prices (``loaded``) or its error (``errors``)."""

    loaded: dict[str, Loaded] = field(default_factory=dict)
    errors: dict[str, DataError] = field(default_factory=dict)

    def verdict(self, name: str) -> DataError | None:
        """The one error that refuses the file (None: it may be stored)."""
        if not self.errors:
            return None
        if len(self.errors) == 1:
            (err,) = self.errors.values()
            if not self.loaded:
                return err
            note = f" ({len(self.loaded)} other ticker(s) in {name} not stored either: a file "
            note += "is stored whole or not at all)"
            if isinstance(err, PriceValidationError):
                return PriceValidationError(f"{err}{note}", err.problems)
            return DataError(f"{err}{note}")
        shown = "; ".join(str(e) for e in list(self.errors.values())[:SHOWN])
        more = f"; and {len(self.errors) - SHOWN} more" if len(self.errors) > SHOWN else ""
        total = len(self.errors) + len(self.loaded)
        return DataError(
            f"{name}: {len(self.errors)} of {total} tickers have problems, nothing stored: "
            f"{shown}{more}"
        )


def _day_names(days: np.ndarray) -> str:
    return ", ".join(f"{d} ({pd.Timestamp(d).strftime('%a')})" for d in days[:SHOWN])


def session_check(
    frame: pd.DataFrame, ticker: str, spec: str, origin: str, date_format: str
) -> tuple[str | None, str | None]:
    """``(error, warning)`` about ``frame``'s dates that are not sessions of calendar ``spec``."""
    if spec in (ALWAYS_OPEN, OBSERVED) or frame.empty:
        return None, None
    cal = trading_calendar(spec)
    days = frame["date"].to_numpy().astype("datetime64[D]")
    lo, hi = cal.bounds
    inside = days[(days >= lo) & (days <= hi)]
    bad = inside[~cal.is_session(inside)] if inside.size else inside
    if not bad.size:
        return None, None
    n = len(days)
    where = f"{len(bad)} of {n} dates in {origin}" if origin else f"{len(bad)} of {n} dates"
    more = ", ..." if len(bad) > SHOWN else ""
    listed = f"({_day_names(bad)}{more})"
    if len(bad) >= 2 and len(bad) >= MISREAD_SHARE * n:
        span = int((days.max() - days.min()).astype(int)) + 1
        if n >= 10 and span <= 1.1 * n:
            return (
                f"{ticker}: {where} are not sessions of the {spec} calendar {listed}: the file "
                f"has a bar on every calendar day, weekends included; if {ticker} trades every "
                f'day, set [data] calendars = {{{ticker} = "24/7"}}'
            ), None
        return (
            f"{ticker}: {where} are not sessions of the {spec} calendar {listed} with the "
            f"dates read as {describe(date_format)}: the dates look misread, so the file is "
            f"refused; `stackcast inspect {origin or 'FILE'}` shows how it is read, and "
            "--date-format (or [data] date_format) sets the format"
        ), None
    return None, (
        f"{ticker}: {where} are not sessions of the {spec} calendar {listed}; a run on that "
        f"calendar refuses them: remove them, or set [data] calendars for {ticker} to its "
        "exchange"
    )


def assess(table: PriceTable, cfg: DataConfig, calendar: str = DEFAULT_CALENDAR) -> Assessment:
    """Validate every ticker of ``table`` and check its dates against its calendar."""
    out = Assessment()
    reading = table.reading
    for ticker in table.tickers:
        got = table.rows(ticker)
        assert got is not None
        rows, not_numbers = got
        try:
            frame, warnings = validate_prices(
                rows, ticker, cfg, origin=reading.name, row_name=reading.row_name,
                date_format=reading.dates.format, not_numbers=not_numbers,
            )  # fmt: skip
        except DataError as exc:
            out.errors[ticker] = exc
            continue
        spec = cfg.calendars.get(ticker, calendar)
        error, warning = session_check(frame, ticker, spec, reading.name, reading.dates.format)
        if error:
            out.errors[ticker] = DataError(error)
            continue
        out.loaded[ticker] = Loaded(frame, (*warnings, *([warning] if warning else [])))
    return out


class _Memo:
    """The last few results, by key, shared by threads (a file read once per change).

    ``make`` runs under the lock: the ingest tasks of a file's tickers start together, and
    the first reads and checks the file while the others wait for its result.
    """

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self.items: OrderedDict[tuple, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple, make: Callable[[], Any]) -> Any:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
            value = make()
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
            return value


_TABLES = _Memo()
_CHECKED = _Memo()


def _stat(path: Path) -> tuple[str, int, int]:
    try:
        st = path.stat()
    except OSError as exc:
        raise DataError(f"{path.name}: cannot read prices: {exc.strerror or exc}") from None
    return str(path), st.st_mtime_ns, st.st_size


def price_table(path: Path, cfg: DataConfig | None = None) -> PriceTable:
    """``read_price_file`` with ``cfg``'s rules, reused while the file is unchanged."""
    rules = ReadRules.of(cfg or DataConfig())
    return _TABLES.get((*_stat(path), rules), lambda: read_price_file(path, rules))


def checked_file(
    path: Path, cfg: DataConfig | None = None, calendar: str = DEFAULT_CALENDAR
) -> tuple[PriceTable, Assessment]:
    """The file read and assessed, reused while it and the rules are unchanged."""
    cfg = cfg or DataConfig()
    table = price_table(path, cfg)
    key = (
        *_stat(path), ReadRules.of(cfg), cfg.max_jump, cfg.on_jump,
        tuple(sorted(cfg.calendars.items())), calendar,
    )  # fmt: skip
    return table, _CHECKED.get(key, lambda: assess(table, cfg, calendar))


def load_price_file(
    path: Path,
    cfg: DataConfig | None = None,
    calendar: str = DEFAULT_CALENDAR,
    tickers: Iterable[str] | None = None,
) -> dict[str, Loaded]:
    """Every ticker of a price file, validated; or the one error that refuses the whole file.

    The whole file is checked either way; ``tickers`` (default: all) picks the ones returned
    (copies, so the reused result stays as read), leaving out those the file does not hold.

    Raises:
        DataError: The file cannot be read, or any ticker in it fails (nothing is returned).
    """
    table, assessment = checked_file(path, cfg, calendar)
    error = assessment.verdict(table.reading.name)
    if error is not None:
        raise error
    loaded = assessment.loaded
    wanted = loaded if tickers is None else [t for t in tickers if t in loaded]
    return {t: Loaded(loaded[t].frame.copy(), loaded[t].warnings) for t in wanted}
