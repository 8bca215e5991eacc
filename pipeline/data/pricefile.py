"""Read a price file (CSV or Parquet) the one way every command, the config and the API read it.

The file is read as a whole: one encoding, separator, decimal mark and date format for all of
it (see ``textfile``, ``numbers``, ``dates``), each detected or given (``ReadRules``: the
``--sep``/``--decimal``/``--date-format`` options and their ``[data]`` keys). Headers match
whatever their case and spacing: ``Date``, `` CLOSE ``, ``Adj Close``, Stooq's ``<CLOSE>``,
Nasdaq's ``Close/Last``. A Yahoo Finance export's ``Adj Close`` is the close, as the Yahoo
source stores it (prices adjusted for splits and dividends, yfinance's default); its open,
high and low are scaled by ``Adj Close / Close`` alike. Other columns are ignored. A file
without a ticker column holds one series named after its stem (``SPY.csv``).

``read_price_file`` returns a ``PriceTable`` (canonical columns, numbers parsed, dates still as
written) and a ``Reading`` saying how it was read; problems that concern the whole file raise
``PriceFileError``, which carries what was learnt before it (for ``stackcast inspect``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from stackcast.pipeline.config import DataConfig, check_ticker
from stackcast.pipeline.data.dates import DateFormat, DateFormatError, detect_date_format
from stackcast.pipeline.data.numbers import (
    NumberFormat,
    NumberFormatError,
    detect_number_format,
    parse_numbers,
)
from stackcast.pipeline.data.textfile import SEP_NAMES, read_text_table
from stackcast.pipeline.errors import ConfigError, DataError

CANONICAL = ("date", "ticker", "open", "high", "low", "close", "volume")
NUMERIC = ("open", "high", "low", "close", "adj close", "volume")
_ALIASES = {
    "date": "date",
    "datetime": "date",
    "timestamp": "date",
    "trade date": "date",
    "ticker": "ticker",
    "symbol": "ticker",
    "open": "open",
    "high": "high",
    "low": "low",
    "close": "close",
    "close/last": "close",
    "adj close": "adj close",
    "adjusted close": "adj close",
    "adjclose": "adj close",
    "volume": "volume",
    "vol": "volume",
    "per": "per",
}
ADJUSTED = (
    "'{adj}' (adjusted for splits and dividends, like the Yahoo source); open, high and low "
    "scaled by {adj} / {raw}"
)


class PriceFileError(DataError):
    """A problem with a whole price file; ``facts`` holds how it was read up to there."""

    def __init__(self, message: str, facts: Mapping[str, str]) -> None:
        super().__init__(message)
        self.facts = dict(facts)


@dataclass(frozen=True)
class ReadRules:
    """How to read a file where detection should not decide (None: detect)."""

    date_format: str | None = None
    sep: str | None = None
    decimal: str | None = None

    @classmethod
    def of(cls, cfg: DataConfig) -> ReadRules:
        """The rules of a ``[data]`` section (``date_format``, ``sep``, ``decimal``)."""
        return cls(cfg.date_format, cfg.sep, cfg.decimal)


@dataclass(frozen=True)
class Reading:
    """How a file was read: ``facts`` (label -> description, for people) and what code needs."""

    name: str
    row_name: str
    dates: DateFormat
    numbers: NumberFormat
    facts: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PriceTable:
    """A price file's rows, one frame for all its tickers.

    ``frame`` has ``date`` (as written), ``ticker``, and float ``open, high, low, close,
    volume`` where the file has them; its index numbers the rows as the user counts them
    (lines of a CSV, rows of a Parquet file). ``not_numbers`` holds, per column, the text of
    the cells that are not numbers.
    """

    reading: Reading
    frame: pd.DataFrame
    not_numbers: dict[str, pd.Series]
    tickers: list[str]

    def rows(self, ticker: str) -> tuple[pd.DataFrame, dict[str, pd.Series]] | None:
        """One ticker's rows and their non-number cells (None: the file has none)."""
        part = self.frame[self.frame["ticker"] == ticker]
        if part.empty:
            return None
        bad = {c: s[s.index.isin(part.index)] for c, s in self.not_numbers.items()}
        return part.drop(columns="ticker"), {c: s for c, s in bad.items() if len(s)}


def _key(name: str) -> str:
    """A header as matched: lower case, no ``<>``, runs of spaces/underscores/dots as one."""
    text = name.strip().strip("<>").strip().lower()
    return re.sub(r"[\s_.]+", " ", text).strip()


def _read_parquet(path: Path) -> tuple[list[str], pd.DataFrame]:
    try:
        df = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path.name}: cannot read prices: {first}") from None
    except Exception as exc:  # pyarrow raises its own types for corrupt files
        if type(exc).__module__.startswith("pyarrow"):
            raise DataError(f"{path.name}: cannot read prices: {exc}") from None
        raise
    keys = {_ALIASES.get(_key(str(c))) for c in df.columns}
    index_is_date = isinstance(df.index, pd.DatetimeIndex) or (
        _ALIASES.get(_key(str(df.index.name or ""))) == "date"
    )
    if "date" not in keys and index_is_date:
        df = df.reset_index(names=str(df.index.name or "date"))
    if df.empty:
        raise DataError(f"{path.name}: no price rows (the file has no rows)")
    header = [str(c).strip() for c in df.columns]
    df.columns = range(len(header))
    df.index = pd.RangeIndex(1, len(df) + 1)
    return header, df


def _columns(
    header: list[str], name: str, facts: dict[str, str]
) -> tuple[dict[str, int], list[str]]:
    """Canonical name -> position, and the ignored headers."""
    found: dict[str, list[int]] = {}
    for i, h in enumerate(header):
        canon = _ALIASES.get(_key(h))
        if canon is None and i == 0 and _key(h) in ("", "unnamed: 0", "index"):
            canon = "date"  # an index written without a name: pandas' to_csv
        if canon is not None:
            found.setdefault(canon, []).append(i)
    dupes = sorted(c for c, at in found.items() if len(at) > 1)
    if dupes:
        raise PriceFileError(
            f"{name}: duplicate column(s) {', '.join(dupes)} (names ignore case and spaces)", facts
        )
    where = {c: at[0] for c, at in found.items()}
    ignored = [h for i, h in enumerate(header) if i not in where.values() and h]
    missing = [
        c
        for c in ("date", "close")
        if c not in where and not (c == "close" and "adj close" in where)
    ]
    if missing:
        have = ", ".join(h for h in header if h) or "none"
        raise PriceFileError(
            f"{name}: missing column(s) {', '.join(missing)} (columns: {have})", facts
        )
    return where, ignored


def _tickers(
    raw: pd.DataFrame, where: dict[str, int], path: Path, facts: dict[str, str]
) -> pd.Series:
    name = path.name
    if "ticker" not in where:
        try:
            ticker = check_ticker(path.stem)
        except ConfigError:
            raise PriceFileError(
                f"{name}: no 'ticker' column, and the file name {path.stem!r} is not a valid "
                "ticker; add a ticker column or rename the file (e.g. SPY.csv)",
                facts,
            ) from None
        facts["ticker"] = f"{ticker} (from the file name: no ticker column)"
        return pd.Series(ticker, index=raw.index, dtype="string")
    col = raw[where["ticker"]].astype("string").str.strip().str.upper()
    empty = col.isna() | (col == "")
    if empty.any():
        line = col.index[empty.to_numpy()][0]
        raise PriceFileError(f"{name}: {_row(path)} {line} has no ticker", facts)
    for value in col.drop_duplicates():
        try:
            check_ticker(value)
        except ConfigError as exc:
            line = col.index[(col == value).to_numpy()][0]
            raise PriceFileError(f"{name}: {_row(path)} {line}: {exc}", facts) from None
    return col


def _row(path: Path) -> str:
    return "line" if path.suffix.lower() == ".csv" else "row"


def _numbers(
    raw: pd.DataFrame, where: dict[str, int], sep: str | None, rules: ReadRules, name: str,
    facts: dict[str, str],
) -> tuple[dict[str, pd.Series], dict[str, pd.Series], NumberFormat]:  # fmt: skip
    cols = [c for c in NUMERIC if c in where]
    texts = [raw[where[c]] for c in cols if not pd.api.types.is_numeric_dtype(raw[where[c]])]
    try:
        fmt = detect_number_format(
            pd.concat(texts) if texts else pd.Series([], dtype="string"), sep, rules.decimal
        )
    except NumberFormatError as exc:
        raise PriceFileError(f"{name}: {exc}", facts) from None
    if texts:
        facts["numbers"] = (
            f"decimal mark {fmt.decimal!r}, thousands separator {fmt.thousands!r} ({fmt.how})"
        )
    values: dict[str, pd.Series] = {}
    bad: dict[str, pd.Series] = {}
    for c in cols:
        values[c], bad[c] = parse_numbers(raw[where[c]], fmt)
    return values, bad, fmt


def _adjust(values: dict[str, pd.Series], bad: dict[str, pd.Series], header: list[str],
            where: dict[str, int]) -> str:  # fmt: skip
    """Use the adjusted close as the close (scaling open/high/low); say which close is used."""
    if "adj close" not in values:
        return f"{header[where['close']]!r}"
    adj = values.pop("adj close")
    adj_bad = bad.pop("adj close")
    if "close" not in values:
        values["close"], bad["close"] = adj, adj_bad
        return f"{header[where['adj close']]!r} (the only close column)"
    ratio = adj / values["close"]
    for c in ("open", "high", "low"):
        if c in values:
            values[c] = values[c] * ratio
    values["close"] = adj
    bad["close"] = pd.concat([adj_bad, bad["close"][~bad["close"].index.isin(adj_bad.index)]])
    return ADJUSTED.format(adj=header[where["adj close"]], raw=header[where["close"]])


def read_price_file(path: Path, rules: ReadRules = ReadRules()) -> PriceTable:
    """Read a whole ``.csv``/``.parquet`` price file; see the module docstring.

    Raises:
        PriceFileError: A problem with the whole file (encoding, separator, columns, tickers,
            decimal mark or date format), naming the file.
        DataError: The file cannot be read at all.
    """
    name = path.name
    facts: dict[str, str] = {}
    try:
        data = path.read_bytes() if path.suffix.lower() == ".csv" else b""
    except OSError as exc:
        raise DataError(f"{name}: cannot read prices: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".csv":
        text = read_text_table(data, name, rules.sep)
        header, raw, sep = text.header, text.cells, text.sep
        facts["format"] = f"CSV, {text.encoding}"
        facts["separator"] = f"{SEP_NAMES.get(sep, repr(sep))} ({text.sep_how})"
    else:
        header, raw = _read_parquet(path)
        sep = None
        facts["format"] = "Parquet"
    where, ignored = _columns(header, name, facts)
    per = where.get("per")
    if per is not None and (raw[per].astype("string").str.strip().str.upper() != "D").any():
        odd = raw[per][raw[per].astype("string").str.strip().str.upper() != "D"].iloc[0]
        raise PriceFileError(
            f"{name}: bars of period {odd!r} (column {header[per]!r}); stackcast reads daily "
            "bars (period D)", facts,
        )  # fmt: skip
    tickers = _tickers(raw, where, path, facts)
    values, bad, numbers = _numbers(raw, where, sep, rules, name, facts)
    close = _adjust(values, bad, header, where)
    try:
        dates = detect_date_format(raw[where["date"]], rules.date_format)
    except DateFormatError as exc:
        raise PriceFileError(f"{name}: {exc}", facts) from None
    facts["dates"] = f"{dates} ({dates.how})"
    source = {**where, "close": where.get("adj close", where.get("close"))}
    mapped = [f"{c} <- {header[source[c]]!r}" for c in CANONICAL if c in source]
    facts["columns"] = ", ".join(mapped) + (
        f"; ignored: {', '.join(map(repr, ignored))}" if ignored else ""
    )
    facts["close"] = close
    frame = pd.DataFrame({"date": raw[where["date"]], "ticker": tickers, **values})
    order = [c for c in CANONICAL if c in frame]
    reading = Reading(name, _row(path), dates, numbers, facts)
    return PriceTable(
        reading, frame[order], {c: s for c, s in bad.items() if len(s)},
        sorted(tickers.drop_duplicates()),
    )  # fmt: skip
