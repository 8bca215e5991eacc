"""Prices for a run: bring the store up to date from the source, then read it back."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

import pandas as pd

from stackcast.pipeline.config import RunConfig
from stackcast.pipeline.errors import DataError
from stackcast.pipeline.data.ingest import IngestResult, ingest
from stackcast.pipeline.data.store import PriceStore


def load_prices(
    cfg: RunConfig,
    *,
    refresh: bool = True,
    as_of: _dt.date | None = None,
    progress: Callable[[str], None] | None = None,
    session: Any = None,
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Ingest ``cfg.data.tickers`` from ``cfg.data.source`` and read them from the store.

    A ticker that fails to ingest but is already stored is used as stored (with a warning); one
    that is neither is left out with a warning. ``as_of`` (else ``[data] end``) cuts every series
    at that date, so a replayed day sees exactly the bars it would have seen.

    Returns:
        ``(frames by ticker, warnings)``.

    Raises:
        DataError: No ticker has any stored prices.
    """
    store = PriceStore(cfg.home())
    warnings: list[str] = []
    if refresh:

        def said(result: IngestResult) -> None:
            if progress is not None:
                note = f"+{result.rows_added} rows" if result.ok else result.message
                progress(f"ingest {result.ticker}: {note}")

        for result in ingest(cfg, store=store, progress=said):
            warnings.extend(f"{result.ticker}: {w}" for w in result.warnings)
            if not result.ok:
                warnings.append(f"{result.ticker}: ingest failed: {result.message}")
    cut = as_of or cfg.data.end
    frames: dict[str, pd.DataFrame] = {}
    for ticker in cfg.data.tickers:
        if not store.exists(ticker):
            warnings.append(f"{ticker}: no stored prices; left out")
            continue
        frame = store.read(ticker)
        if cut is not None:
            frame = frame[frame["date"] <= pd.Timestamp(cut)]
        if len(frame):
            frames[ticker] = frame.reset_index(drop=True)
    if not frames:
        raise DataError(
            "no prices for any of "
            + ", ".join(cfg.data.tickers)
            + (f" up to {as_of}" if as_of else "")
            + "; run `stackcast ingest` first"
        )
    return frames, warnings
