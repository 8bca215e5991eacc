"""Prices for a run: one ticker's ingest step, stored frames cut at a date, a caller's frame.

A workflow ingests ticker by ticker (``ingest_ticker``, a step that may retry), then reads
what is stored (``stored_frames``), so a ticker whose ingest failed but which is already
stored is still used, with a warning. A price frame passed in through the Python API goes
through the same validation as a file (``frames_from_table``) and touches no store.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from typing import Any

import pandas as pd
from stackcast.pipeline.config import RunConfig, check_ticker
from stackcast.pipeline.data.ingest import ingest
from stackcast.pipeline.data.sources import clipped, in_range, validated_frame
from stackcast.pipeline.data.store import PriceStore
from stackcast.pipeline.data.problems import Loaded
from stackcast.pipeline.data.validate import clean_rows
from stackcast.pipeline.errors import DataError


def ingest_ticker(cfg: RunConfig, ticker: str) -> dict[str, Any]:
    """Fetch, validate and store one ticker's new bars; raise its error on failure.

    Returns:
        A JSON-able summary: ``ticker, status, action, rows_added, rows, first, last,
        message, warnings``.
    """
    (result,) = ingest(cfg, tickers=[ticker])
    if not result.ok:
        if isinstance(result.error, Exception):
            raise result.error
        raise DataError(f"{ticker}: {result.message}")
    return {
        "ticker": ticker,
        "status": "ok",
        "action": result.action,
        "rows_added": result.rows_added,
        "rows": result.rows,
        "first": str(result.first) if result.first else None,
        "last": str(result.last) if result.last else None,
        "message": result.message,
        "warnings": list(result.warnings),
    }


def _range_words(start: _dt.date | None, end: _dt.date | None) -> str:
    """``from A to B``, ``on or after A`` or ``on or before B`` (empty: no range)."""
    if start and end:
        return f"from {start} to {end}"
    return f"on or after {start}" if start else (f"on or before {end}" if end else "")


def stored_frame(cfg: RunConfig, ticker: str, as_of: _dt.date | None = None) -> pd.DataFrame:
    """One ticker's stored prices from ``[data] start``, cut at ``as_of`` (else ``[data] end``).

    Raises:
        DataError: Nothing stored for ``ticker``, or nothing in that range.
    """
    start, end = cfg.data.start, as_of or cfg.data.end
    frame = in_range(PriceStore(cfg.home()).read(ticker), start, end)
    if not len(frame):
        raise DataError(f"{ticker}: no stored prices {_range_words(start, end)}")
    return frame


def stored_frames(
    cfg: RunConfig, as_of: _dt.date | None = None
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Every configured ticker's (and covariate's) stored prices in the configured range.

    The range runs from ``[data] start`` to ``as_of`` (else ``[data] end``): bars stored
    outside it (an older file, a wider ingest) are never used.

    Returns:
        ``(frames by ticker, warnings)``: a ticker with nothing stored, or nothing stored in
        the range, is left out with a warning (a covariate without prices is left out
        silently: building the panel names it).

    Raises:
        DataError: No ticker has any stored prices in the range.
    """
    store = PriceStore(cfg.home())
    frames: dict[str, pd.DataFrame] = {}
    warnings: list[str] = []
    start, end = cfg.data.start, as_of or cfg.data.end
    words = _range_words(start, end)
    outside: list[str] = []
    for ticker in cfg.data.tickers:
        if not store.exists(ticker):
            warnings.append(f"{ticker}: no stored prices; left out")
            continue
        stored = store.read(ticker)  # a damaged file is an error, never skipped
        frame = in_range(stored, start, end)
        if len(frame):
            frames[ticker] = frame
        elif len(stored):
            span = f"{stored['date'].iloc[0]:%Y-%m-%d}..{stored['date'].iloc[-1]:%Y-%m-%d}"
            outside.append(f"{ticker} {span}")
            warnings.append(f"{ticker}: no stored prices {words} (stored {span}); left out")
    if not frames and outside:
        advice = "choose a day in that range" if as_of else "ingest it or change [data] start/end"
        raise DataError(
            f"no prices of {', '.join(cfg.data.tickers)} {words} (stored: {', '.join(outside)}): "
            + advice
        )
    if not frames:
        raise DataError(
            "no prices for any of "
            + ", ".join(cfg.data.tickers)
            + (f" {words}" if words else "")
            + "; run `stackcast ingest` first"
        )
    for c in cfg.features.covariates:
        if c not in cfg.data.tickers and store.exists(c):
            frame = in_range(store.read(c), start, end)
            if len(frame):
                frames[c] = frame
    return frames, warnings


def frames_from_table(cfg: RunConfig, prices: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Validate a caller's long price frame (``date, ticker, close``, optional OHLV).

    Every ticker goes through the same checks as a price file and is clipped to
    ``[data] start/end``.

    Raises:
        DataError: A missing column, a row without a ticker or any invalid row (the first
            one found).
    """
    if not isinstance(prices, pd.DataFrame):
        raise DataError(f"prices must be a pandas DataFrame, got {type(prices).__name__}")
    table = prices.rename(columns=str.lower)
    missing = [c for c in ("date", "ticker", "close") if c not in table.columns]
    if missing:
        raise DataError(f"prices: missing column(s) {', '.join(missing)}")
    table = table.reset_index(drop=True)
    table.index = table.index + 1  # row numbers as a user counts them
    # Tickers are spelled as in a price file: stripped and upper-cased before grouping, so
    # "msft" and "MSFT" are one ticker (their dates must not repeat), never two that
    # overwrite each other; a row without a ticker is refused, not dropped.
    codes, spellings = pd.factorize(table["ticker"])  # each spelling once (a missing one: -1)
    spelled = pd.Series(spellings, dtype=object).astype("string").str.strip().str.upper()
    names = pd.Series(pd.array([*spelled, pd.NA], dtype="string").take(codes), table.index)
    empty = names.isna() | (names == "")
    if empty.any():
        raise DataError(f"prices: row {table.index[empty.to_numpy()][0]} has no ticker")
    table["ticker"] = names
    frames: dict[str, pd.DataFrame] = {}
    for ticker, got in _validated(cfg, table):
        if isinstance(got, DataError):
            raise got
        frames[ticker] = got.frame
    if not frames:
        raise DataError("prices: the frame has no rows")
    return frames


def _validated(cfg: RunConfig, table: pd.DataFrame) -> Iterator[tuple[str, Loaded | DataError]]:
    """``(ticker, validated_frame(...))`` per ticker of ``table``, in ticker order.

    ``table``'s tickers are present and spelled as ``frames_from_table`` leaves them. A table
    of dates and clean numeric rows is checked in one pass over every ticker (``clean_rows``):
    the same frames and warnings, without a pass per ticker. Anything else (a problem
    anywhere, dates as text) goes ticker by ticker, as a file does.
    """
    start, end = cfg.data.start, cfg.data.end
    codes, names = pd.factorize(table["ticker"], sort=True)
    rows = table.index.to_numpy()
    clean = clean_rows(table, table["date"], rows, codes, len(names), cfg.data)
    if clean is None:
        for raw_ticker, raw in table.groupby("ticker", sort=True):
            ticker = check_ticker(str(raw_ticker))
            yield ticker, validated_frame(ticker, raw, start, end, cfg.data, "prices")
        return
    tickers = [check_ticker(str(t)) for t in names]
    whole = clean.frame(tickers)
    for g, ticker in enumerate(tickers):
        a, b = clean.span(g, start, end)  # clipped to the range
        frame = whole.iloc[a:b]
        frame.index = pd.RangeIndex(b - a)
        loaded = Loaded(frame, tuple(clean.warnings(g, ticker, "row")))
        yield ticker, loaded if len(frame) else clipped(ticker, loaded, start, end, "prices")

