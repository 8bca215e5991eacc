"""Where prices come from: Yahoo Finance, the bundled sample, or a user's CSV/Parquet file.

``load_source`` returns, per ticker, either a validated price frame (``Loaded``) or the
``DataError`` that explains why there is none; one bad ticker never hides the others.

File format (``--source prices.csv``): long format with columns ``date, ticker, close`` and
optionally ``open, high, low, volume`` (any case; ``symbol`` is accepted for ``ticker``). A
file without a ticker column holds one series named after the file's stem (``SPY.csv`` ->
``SPY``). Problems are reported with the file's line numbers (CSV) or row numbers (Parquet).
How a file is read (separator, decimal mark, date format...) is ``pricefile``'s; a file is
validated as a whole and refused as a whole (``filecheck``), so a bad row in one ticker keeps
every ticker of the file out of the store.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from stackcast.features.calendars import DEFAULT_CALENDAR
from stackcast.pipeline.config import CONFIG_DIR, DataConfig, check_ticker
from stackcast.pipeline.data.filecheck import load_price_file, price_table
from stackcast.pipeline.data.problems import Loaded
from stackcast.pipeline.data.validate import validate_prices
from stackcast.pipeline.errors import ConfigError, DataError, SourceError

SAMPLE_DIR = CONFIG_DIR.parent / "data" / "sample"
FILE_SUFFIXES = (".csv", ".parquet", ".pq")


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


def _available(tickers: list[str]) -> str:
    shown = ", ".join(tickers[:20])
    return shown + (f", ... ({len(tickers)} in all)" if len(tickers) > 20 else "") or "none"


def sample_tickers() -> list[str]:
    """Tickers of the bundled sample (``data/sample/<TICKER>.csv``)."""
    return sorted(p.stem.upper() for p in SAMPLE_DIR.glob("*.csv"))


def source_tickers(source: str | Path, data_cfg: DataConfig | None = None) -> list[str]:
    """Tickers a sample/file source holds (raises ``ConfigError`` for ``yahoo``).

    Raises:
        DataError: The file cannot be read with ``data_cfg``'s rules (date format...).
    """
    src = parse_source(source)
    if src.kind == "sample":
        return sample_tickers()
    if src.kind == "file":
        assert src.path is not None
        return price_table(src.path, data_cfg).tickers
    raise ConfigError("the yahoo source cannot list its tickers: give --tickers")


def in_range(frame: pd.DataFrame, start: _dt.date | None, end: _dt.date | None) -> pd.DataFrame:
    """The bars of ``frame`` dated in ``[start, end]`` (either open), a new frame."""
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
    return clipped(ticker, Loaded(frame, tuple(warnings)), start, end, origin)


def clipped(
    ticker: str, loaded: Loaded, start: _dt.date | None, end: _dt.date | None, origin: str
) -> Loaded | DataError:
    """``loaded`` cut to ``[start, end]``, or the error saying nothing is left."""
    frame = in_range(loaded.frame, start, end)
    if frame.empty:
        return _fail(
            ticker, f"no prices between {start or 'the start'} and {end or 'the end'} in {origin}"
        )
    return Loaded(frame, loaded.warnings)


def _load_files(
    tickers: list[str],
    start: _dt.date | None,
    end: _dt.date | None,
    cfg: DataConfig,
    src: Source,
    calendar: str,
) -> dict[str, Loaded | DataError]:
    out: dict[str, Loaded | DataError] = {}
    if src.kind == "sample":
        available = sample_tickers()
        sample_cfg = cfg.model_copy(update={"date_format": None, "sep": None, "decimal": None})
        for t in tickers:
            if t not in available:
                out[t] = _fail(t, f"not in the bundled sample (available: {_available(available)})")
                continue
            try:  # the bundled files are ISO and comma-separated, whatever [data] says
                got = load_price_file(SAMPLE_DIR / f"{t}.csv", sample_cfg, calendar)
            except DataError as exc:
                out[t] = exc
                continue
            if t not in got:
                out[t] = _fail(t, f"sample file {t}.csv holds no {t} rows")
                continue
            out[t] = clipped(t, got[t], start, end, f"sample {t}.csv")
        return out
    assert src.path is not None
    # the whole file passes, or nothing does; only the tickers asked for are copied out
    loaded = load_price_file(src.path, cfg, calendar, tickers)
    for t in tickers:
        if t not in loaded:
            held = price_table(src.path, cfg).tickers  # every one of them passed: all loaded
            out[t] = _fail(t, f"not in {src.path.name} (available: {_available(held)})")
        else:
            out[t] = clipped(t, loaded[t], start, end, src.path.name)
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
    calendar: str = DEFAULT_CALENDAR,
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
        calendar: Files only: the calendar a ticker's dates are checked against unless
            ``data_cfg.calendars`` names its own (``[features] calendar``).

    Returns:
        ``{ticker: Loaded | DataError}`` in the order given: a validated price frame with its
        warnings, or the error (``SourceError`` for fetch problems, ``PriceValidationError``
        for bad rows) naming the ticker.

    Raises:
        ConfigError: Bad source, bad ticker symbol, or ``start`` after ``end``.
        DataError: The source file cannot be read, or any ticker in it fails validation (a
            file is accepted whole or not at all).
    """
    cfg = data_cfg or DataConfig()
    src = parse_source(source)
    names = list(dict.fromkeys(check_ticker(t) for t in tickers))
    if start is not None and end is not None and start > end:
        raise ConfigError(f"start {start} is after end {end}")
    if src.kind != "yahoo":
        return _load_files(names, start, end, cfg, src, calendar)

    from stackcast.pipeline.data import yahoo

    extra = {} if sleep is None else {"sleep": sleep}
    raw = yahoo.fetch_yahoo(names, start, end, cfg, session=session, **extra)
    out: dict[str, Loaded | DataError] = {}
    for t, got in raw.items():
        out[t] = (
            got
            if isinstance(got, DataError)
            else validated_frame(t, got, start, end, cfg, "Yahoo", "bar")
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
    calendar: str = DEFAULT_CALENDAR,
) -> dict[str, pd.DataFrame]:
    """Like ``load_source`` but all-or-nothing: the frames, or the first ticker's error raised."""
    out: dict[str, pd.DataFrame] = {}
    got_all = load_source(source, tickers, start, end, data_cfg, session=session, calendar=calendar)
    for t, got in got_all.items():
        if isinstance(got, DataError):
            raise got
        out[t] = got.frame
    return out
