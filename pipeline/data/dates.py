"""The dates of a price file: one format for the whole column, never guessed row by row.

ISO 8601 (``2024-01-02``, with or without a time of day and an offset) is the default. A
column that is not ISO is read with another format only when exactly one of ``FORMATS``
reads every value (``19.08.2004`` fits ``%d.%m.%Y`` alone); a column that two formats read
differently (``01/02/2024``: every day <= 12) or that mixes formats is refused, naming the
candidates and how to choose one (``--date-format`` / ``[data] date_format``).

A time of day is kept (so two bars on one day can be told apart from a repeated row) and an
offset is dropped: ``2024-03-08 00:00:00-05:00`` is the exchange's own date, 2024-03-08,
not the UTC instant, which would move Asian sessions a day back.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from stackcast.pipeline.errors import DataError

ISO = "%Y-%m-%d"
#: The formats a non-ISO date column may be in, tried as a whole (ISO 8601 first).
FORMATS = (
    ISO,
    "%Y%m%d",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%d.%m.%Y",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%d.%m.%y",
    "%d/%m/%y",
    "%m/%d/%y",
    "%d-%b-%Y",
    "%d-%b-%y",
    "%d %b %Y",
    "%b %d, %Y",
    "%b %d %Y",
    "%d %B %Y",
    "%B %d, %Y",
)
_ISO_NAMES = {"iso", "iso8601", "iso 8601", "iso-8601"}
_CLOCK_DIRECTIVES = ("%H", "%I", "%M", "%S", "%z", "%p")
# A trailing time of day (and AM/PM) and offset, split off before the day is read.
_TIME_RE = re.compile(
    r"^(?P<day>.*?)(?:[ T]+(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:[.,]\d+)?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?\s*(?P<tz>Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?)?$"
)
MISSING = frozenset({"", "null", "nan", "nat", "na", "n/a", "#n/a", "none", "nil", "-", "--"})


class DateFormatError(DataError):
    """The date column fits no format, several formats, or a mix of them."""


def describe(fmt: str) -> str:
    """A date format as the user reads it: ``ISO 8601 (%Y-%m-%d)`` or the format itself."""
    return f"ISO 8601 ({ISO})" if fmt == ISO else fmt


def check_date_format(value: str) -> str:
    """A ``--date-format`` / ``[data] date_format`` value, checked: strftime directives.

    ``ISO8601`` (any case) means ISO 8601. A format must name a year, a month and a day and
    read back the dates it writes.

    Raises:
        ValueError: On a format that cannot read a date.
    """
    text = value.strip()
    if text.lower() in _ISO_NAMES:
        return ISO
    has = {d: d in text for d in ("%Y", "%y", "%m", "%b", "%B", "%d")}
    if not ((has["%Y"] or has["%y"]) and (has["%m"] or has["%b"] or has["%B"]) and has["%d"]):
        raise ValueError(
            f"date format {value!r} must name a year (%Y), a month (%m or %b) and a day (%d), "
            "e.g. '%d.%m.%Y', or be ISO8601"
        )
    probe = _dt.datetime(2004, 8, 19, 16, 30)
    try:
        back = _dt.datetime.strptime(probe.strftime(text), text)
    except ValueError:
        back = None
    if back is None or back.date() != probe.date():
        raise ValueError(f"date format {value!r} does not read back the dates it writes")
    return text


@dataclass(frozen=True)
class DateFormat:
    """How a date column is read: ``format`` (strftime) and how it was chosen (``how``)."""

    format: str
    how: str

    def __str__(self) -> str:
        return describe(self.format)


def _texts(raw: pd.Series) -> pd.Series:
    """Stripped text, with placeholders (``null``, ``-``, empty...) as missing."""
    text = raw.astype("string").str.strip()
    return text.mask(text.str.lower().isin(MISSING))


def _split(text: pd.Series) -> pd.DataFrame:
    """``day`` text and ``seconds`` into the day (NaN: no time) of each value."""
    parts = text.str.extract(_TIME_RE)
    day = parts["day"].str.strip()
    hour = pd.to_numeric(parts["h"], errors="coerce")
    pm = parts["ampm"].str.lower().str.startswith("p")
    am = parts["ampm"].notna() & ~pm.fillna(False)
    hour = hour.where(~(pm.fillna(False) & (hour < 12)), hour + 12)
    hour = hour.where(~(am & (hour == 12)), 0)
    minute = pd.to_numeric(parts["m"], errors="coerce")
    second = pd.to_numeric(parts["s"], errors="coerce").fillna(0)
    bad = (hour > 23) | (minute > 59) | (second > 60)
    seconds = (hour * 3600 + minute * 60 + second).where(~bad)
    day = day.where(~bad.fillna(False))
    return pd.DataFrame({"day": day, "seconds": seconds})


def _read_days(days: pd.Series, fmt: str) -> pd.Series:
    return pd.to_datetime(days, format=fmt, errors="coerce")


def parse_dates(raw: pd.Series, fmt: str) -> pd.Series:
    """Read a date column with one format; values it cannot read become NaT.

    Datetime columns pass through (a time zone dropped, keeping the local wall time). A
    format without time directives reads the day and adds a trailing time of day; one with
    them (``%d.%m.%Y %H:%M``) reads the whole value.
    """
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        return raw.dt.tz_localize(None)
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        return raw
    text = _texts(raw)
    if any(d in fmt for d in _CLOCK_DIRECTIVES):
        parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=False)
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            parsed = parsed.dt.tz_localize(None)
        return parsed
    out = _read_days(text, fmt)  # plain dates first; then those with a time of day
    rest = text.notna().to_numpy(dtype=bool) & out.isna().to_numpy()
    if rest.any():
        parts = _split(text[rest])
        clock = pd.to_timedelta(parts["seconds"].fillna(0), unit="s")
        out[rest] = _read_days(parts["day"], fmt) + clock
    return out


def _example(values: pd.Series, ok: np.ndarray) -> str:
    return str(values[ok].iloc[0])


def detect_date_format(raw: pd.Series, given: str | None = None) -> DateFormat:
    """The one format of a date column (``given`` if set, else detected).

    Detection reads every distinct value with each of ``FORMATS``. ISO 8601 wins when it reads
    them all; otherwise the one format that reads them all. Values no format reads are left to
    validation (an unparseable date on its line); the format that reads the most is used, if
    no other format reads the rest.

    Raises:
        DateFormatError: No format reads any value, two formats read the column differently
            (say which and how to choose), or the values mix formats.
    """
    if given:
        return DateFormat(check_date_format(given), "given")
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        return DateFormat(ISO, "stored as dates")
    days = _split(_texts(raw).dropna().drop_duplicates())["day"].dropna().drop_duplicates()
    days = days.reset_index(drop=True)
    if days.empty:
        return DateFormat(ISO, "no dates to read")
    if _read_days(days, ISO).notna().all():  # ISO reads every value: it wins, nothing mixes
        return DateFormat(ISO, "ISO 8601, the default")
    fits = {f: _read_days(days, f) for f in FORMATS}
    counts = {f: int(v.notna().sum()) for f, v in fits.items()}
    best = max(counts.values())
    if best == 0:
        raise DateFormatError(
            f"cannot read the dates: {days.iloc[0]!r} fits none of the common formats; "
            "give the format with --date-format (e.g. '%d.%m.%Y') or [data] date_format"
        )
    if counts[ISO] == best:
        chosen = ISO
    else:
        top = [f for f in FORMATS if counts[f] == best]
        distinct: dict[str, pd.Series] = {}
        for f in top:
            if not any(fits[f].equals(v) for v in distinct.values()):
                distinct[f] = fits[f]
        if len(distinct) > 1:
            _ambiguous(days, list(distinct), fits)
        chosen = top[0]
    left = fits[chosen].isna().to_numpy()
    if left.any():
        for f in FORMATS:
            other = (fits[f].notna().to_numpy()) & left
            if f != chosen and other.any():
                raise DateFormatError(
                    f"the dates mix formats: {_example(days, ~left)!r} reads as "
                    f"{describe(chosen)}, {_example(days, other)!r} as {describe(f)}; a file "
                    "holds one date format: write every date the same way"
                )
    if chosen == ISO:
        return DateFormat(ISO, "ISO 8601, the default")
    return DateFormat(chosen, "the only common format that reads every date")


def _ambiguous(days: pd.Series, formats: list[str], fits: dict[str, pd.Series]) -> None:
    a, b = formats[0], formats[1]
    differ = (fits[a] != fits[b]).to_numpy()
    value = days[differ].iloc[0] if differ.any() else days.iloc[0]
    i = int(np.flatnonzero(differ)[0]) if differ.any() else 0
    readings = " or ".join(f"{fits[f].iloc[i].date()} ({f})" for f in (a, b))
    names = ", ".join(formats)
    raise DateFormatError(
        f"the dates fit {len(formats)} formats ({names}): {value!r} is {readings}, and no "
        f"date tells them apart; choose one with --date-format '{a}' or [data] date_format "
        f"= '{a}'"
    )
