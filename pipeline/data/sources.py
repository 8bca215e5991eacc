"""Where prices come from: Yahoo Finance, the bundled sample, or a user's CSV/Parquet file.

``load_source`` returns, per ticker, either a validated price frame (``Loaded``) or the
``DataError`` that explains why there is none; one bad ticker never hides the others.

File format (``--source prices.csv``): long format with columns ``date, ticker, close`` and
optionally ``open, high, low, volume`` (any case; ``symbol`` is accepted for ``ticker``). A
file without a ticker column holds one series named after the file's stem (``SPY.csv`` ->
``SPY``). Problems are reported with the file's line numbers (CSV) or row numbers (Parquet).
"""

from __future__ import annotations

import datetime as _dt
import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from stackcast.pipeline.config import CONFIG_DIR, DataConfig, check_ticker
from stackcast.pipeline.data.validate import validate_prices
from stackcast.pipeline.errors import ConfigError, DataError, SourceError

SAMPLE_DIR = CONFIG_DIR.parent / "data" / "sample"
FILE_SUFFIXES = (".csv", ".parquet", ".pq")
_SYNONYMS = {"symbol": "ticker"}


@dataclass(frozen=True)
class Loaded:
    """One ticker's validated prices (a price frame) and the warnings validation raised."""

    frame: pd.DataFrame
    warnings: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Source:
    """A parsed ``--source`` value: ``kind`` is ``yahoo``, ``sample`` or ``file``."""

    kind: str
    path: Path | None = None

    def __str__(self) -> str:
        return str(self.path) if self.path is not None else self.kind

    @property
    def listable(self) -> bool:
        """Whether the source knows its tickers (sample and files do, Yahoo does not)."""
        return self.kind != "yahoo"


def parse_source(source: str | Path) -> Source:
    """Interpret ``yahoo``, ``sample`` or a path to a ``.csv``/``.parquet`` file.

    Raises:
        ConfigError: Unknown source name, unsupported file type, or missing file.
    """
    text = str(source).strip()
    if text.lower() in ("yahoo", "sample"):
        return Source(text.lower())
    path = Path(text).expanduser()
    if path.suffix.lower() not in FILE_SUFFIXES:
        raise ConfigError(
            f"unknown source {text!r}: use 'yahoo', 'sample' or a path to a .csv or .parquet file"
        )
    if path.is_dir():
        raise ConfigError(f"source {path} is a directory, not a .csv or .parquet file")
    if not path.is_file():
        raise ConfigError(f"source file not found: {path}")
    return Source("file", path.resolve())


def _fail(ticker: str, message: str) -> SourceError:
    return SourceError(ticker, message)


def _read_table(path: Path) -> tuple[pd.DataFrame, str]:
    """Read a CSV/Parquet file: lower-case columns, index = line (CSV) or row (Parquet) number."""
    try:
        if path.suffix.lower() == ".csv":
            df = pd.read_csv(path, dtype=str, skip_blank_lines=False, encoding="utf-8-sig")
            df = df.dropna(how="all")
            df.index = df.index + 2  # line 1 is the header
            row_name = "line"
        else:
            df = pd.read_parquet(path)
            if (
                "date" not in {str(c).strip().lower() for c in df.columns}
                and str(df.index.name or "").strip().lower() == "date"
            ):
                df = df.reset_index()
            df.index = pd.RangeIndex(1, len(df) + 1)
            row_name = "row"
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path.name}: cannot read prices: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} "
            f"at offset {exc.start}); save the file as UTF-8"
        ) from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path.name}: cannot read prices: {first}") from None
    except Exception as exc:  # pyarrow raises its own types for corrupt files
        if type(exc).__module__.startswith("pyarrow"):
            raise DataError(f"{path.name}: cannot read prices: {exc}") from None
        raise
    names = [str(c).strip().lower() for c in df.columns]
    names = [_SYNONYMS.get(n, n) for n in names]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DataError(f"{path.name}: duplicate column(s) {', '.join(dupes)} (names ignore case)")
    df.columns = names
    return df, row_name


class _Table:
    """A price file split by ticker."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.df, self.row_name = _read_table(path)
        if "ticker" in self.df.columns:
            col = self.df["ticker"].astype("string").str.strip().str.upper()
            self.df = self.df.assign(ticker=col)
            self.tickers = sorted(t for t in col.dropna().unique() if t)
        else:
            try:
                name = check_ticker(path.stem)
            except ConfigError:
                raise DataError(
                    f"{path.name}: no 'ticker' column, and the file name {path.stem!r} is not a "
                    "valid ticker; add a ticker column or rename the file (e.g. SPY.csv)"
                ) from None
            self.tickers = [name]

    def rows(self, ticker: str) -> pd.DataFrame | None:
        if "ticker" not in self.df.columns:
            return self.df if ticker == self.tickers[0] else None
        part = self.df[self.df["ticker"] == ticker]
        return part if len(part) else None


@functools.lru_cache(maxsize=4)
def _cached_table(path: Path, mtime_ns: int, size: int) -> _Table:
    return _Table(path)


def _table(path: Path) -> _Table:
    """The parsed file, reused while its size and modification time are unchanged."""
    st = path.stat()
    return _cached_table(path, st.st_mtime_ns, st.st_size)


def _available(tickers: list[str]) -> str:
    shown = ", ".join(tickers[:20])
    return shown + (f", ... ({len(tickers)} in all)" if len(tickers) > 20 else "") or "none"


def sample_tickers() -> list[str]:
    """Tickers of the bundled sample (``data/sample/<TICKER>.csv``)."""
    return sorted(p.stem.upper() for p in SAMPLE_DIR.glob("*.csv"))


def source_tickers(source: str | Path) -> list[str]:
    """Tickers a sample/file source holds (raises ``ConfigError`` for ``yahoo``)."""
    src = parse_source(source)
    if src.kind == "sample":
        return sample_tickers()
    if src.kind == "file":
        assert src.path is not None
        return _table(src.path).tickers
    raise ConfigError("the yahoo source cannot list its tickers: give --tickers")


def _clip(frame: pd.DataFrame, start: _dt.date | None, end: _dt.date | None) -> pd.DataFrame:
    keep = pd.Series(True, index=frame.index)
    if start is not None:
        keep &= frame["date"] >= pd.Timestamp(start)
    if end is not None:
        keep &= frame["date"] <= pd.Timestamp(end)
    return frame[keep].reset_index(drop=True)


def validated_frame(
    ticker: str,
    raw: pd.DataFrame,
    start: _dt.date | None,
    end: _dt.date | None,
    cfg: DataConfig,
    origin: str,
    row_name: str = "row",
) -> Loaded | DataError:
    """Validate one ticker's raw rows and clip them to ``[start, end]``; the error, not raised."""
    try:
        frame, warnings = validate_prices(raw, ticker, cfg, origin=origin, row_name=row_name)
    except DataError as exc:
        return exc
    frame = _clip(frame, start, end)
    if frame.empty:
        return _fail(
            ticker, f"no prices between {start or 'the start'} and {end or 'the end'} in {origin}"
        )
    return Loaded(frame, tuple(warnings))


def _load_files(
    tickers: list[str],
    start: _dt.date | None,
    end: _dt.date | None,
    cfg: DataConfig,
    src: Source,
) -> dict[str, Loaded | DataError]:
    out: dict[str, Loaded | DataError] = {}
    if src.kind == "sample":
        available = sample_tickers()
        for t in tickers:
            if t not in available:
                out[t] = _fail(t, f"not in the bundled sample (available: {_available(available)})")
                continue
            try:
                table = _table(SAMPLE_DIR / f"{t}.csv")
            except DataError as exc:
                out[t] = exc
                continue
            raw = table.rows(t)
            if raw is None:
                out[t] = _fail(t, f"sample file {t}.csv holds no {t} rows")
                continue
            out[t] = validated_frame(t, raw, start, end, cfg, f"sample {t}.csv", table.row_name)
        return out
    assert src.path is not None
    table = _table(src.path)  # a file that cannot be read fails every ticker: raise
    for t in tickers:
        raw = table.rows(t)
        if raw is None:
            out[t] = _fail(t, f"not in {src.path.name} (available: {_available(table.tickers)})")
        else:
            out[t] = validated_frame(t, raw, start, end, cfg, src.path.name, table.row_name)
    return out


def load_source(
    source: str | Path,
    tickers: Iterable[str],
    start: _dt.date | None = None,
    end: _dt.date | None = None,
    data_cfg: DataConfig | None = None,
    *,
    session: Any = None,
    sleep: Any = None,
) -> dict[str, Loaded | DataError]:
    """Load and validate daily prices for ``tickers`` from one source.

    Args:
        source: ``"yahoo"``, ``"sample"`` or a path to a ``.csv``/``.parquet`` file.
        tickers: Ticker symbols (checked with ``check_ticker``; duplicates dropped).
        start: First date to keep (inclusive), or None for all history.
        end: Last date to keep (inclusive), or None for the latest.
        data_cfg: Validation and Yahoo settings (retries, backoff, timeout, max_jump...).
        session: Yahoo only: a curl_cffi session (tests aim one at a fake server).
        sleep: Yahoo only: the backoff sleep function (default ``time.sleep``).

    Returns:
        ``{ticker: Loaded | DataError}`` in the order given: a validated price frame with its
        warnings, or the error (``SourceError`` for fetch problems, ``PriceValidationError``
        for bad rows) naming the ticker.

    Raises:
        ConfigError: Bad source, bad ticker symbol, or ``start`` after ``end``.
        DataError: The source file cannot be read at all.
    """
    cfg = data_cfg or DataConfig()
    src = parse_source(source)
    names = list(dict.fromkeys(check_ticker(t) for t in tickers))
    if start is not None and end is not None and start > end:
        raise ConfigError(f"start {start} is after end {end}")
    if src.kind != "yahoo":
        return _load_files(names, start, end, cfg, src)

    from stackcast.pipeline.data import yahoo

    extra = {} if sleep is None else {"sleep": sleep}
    raw = yahoo.fetch_yahoo(names, start, end, cfg, session=session, **extra)
    out: dict[str, Loaded | DataError] = {}
    for t, got in raw.items():
        out[t] = (
            got if isinstance(got, DataError) else validated_frame(t, got, start, end, cfg, "Yahoo", "bar")
        )
    return out


def load_frames(
    source: str | Path,
    tickers: Iterable[str],
    start: _dt.date | None = None,
    end: _dt.date | None = None,
    data_cfg: DataConfig | None = None,
    *,
    session: Any = None,
) -> dict[str, pd.DataFrame]:
    """Like ``load_source`` but all-or-nothing: the frames, or the first ticker's error raised."""
    out: dict[str, pd.DataFrame] = {}
    for t, got in load_source(source, tickers, start, end, data_cfg, session=session).items():
        if isinstance(got, DataError):
            raise got
        out[t] = got.frame
    return out
