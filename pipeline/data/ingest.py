"""Ingest: fetch, validate and store prices for many tickers, one failure at a time.

``ingest`` never lets one ticker's failure stop the others, and a failed ticker's stored file
stays exactly as it was (updates are atomic and happen only after validation).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from stackcast.pipeline.config import RunConfig, check_ticker
from stackcast.pipeline.data.sources import (
    Loaded,
    Source,
    load_source,
    parse_source,
    source_tickers,
)
from stackcast.pipeline.data.store import PriceStore
from stackcast.pipeline.errors import ConfigError, DataError, UserError


@dataclass(frozen=True)
class IngestResult:
    """One ticker's outcome.

    Attributes:
        ticker: The ticker.
        status: ``ok`` or ``error``.
        rows_added: Bars new to the store (0 when up to date or failed).
        first: First stored date after the run (the old one on failure; None if none).
        last: Last stored date after the run.
        rows: Bars stored after the run.
        action: ``created``, ``appended``, ``unchanged``, ``replaced`` or ``failed``.
        message: A short human note, the error message on failure.
        warnings: Validation and store warnings.
        error: The exception behind a failure (not part of equality or repr).
    """

    ticker: str
    status: Literal["ok", "error"]
    rows_added: int = 0
    first: _dt.date | None = None
    last: _dt.date | None = None
    rows: int = 0
    action: str = "failed"
    message: str = ""
    warnings: tuple[str, ...] = ()
    error: BaseException | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        """Whether the ticker was ingested."""
        return self.status == "ok"

    @property
    def user_error(self) -> bool:
        """Whether the failure is bad input or data (a ``UserError``), not a bug or I/O fault.

        A source that stayed unreachable (``SourceUnavailable``) is not the user's fault.
        """
        return isinstance(self.error, UserError) and getattr(self.error, "exit_code", 2) == 2


def _as_date(value: _dt.date | str | None, what: str) -> _dt.date | None:
    if value is None or isinstance(value, _dt.date):
        return value.date() if isinstance(value, _dt.datetime) else value
    try:
        return _dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ConfigError(f"{what}: invalid date {value!r}; use YYYY-MM-DD") from None


def resolve_tickers(
    cfg: RunConfig, tickers: Iterable[str] | str | None, src: Source, *, own_source: bool = True
) -> list[str]:
    """The tickers to ingest.

    The given ones; else, for a sample/file source, every ticker it holds unless the config
    names tickers for this very source (``own_source``); else the config's tickers and
    covariates (``[features] covariates``).
    """
    if isinstance(tickers, str):
        tickers = [t for t in tickers.split(",") if t.strip()]
    if tickers is not None:
        names = list(dict.fromkeys(check_ticker(t) for t in tickers))
        if not names:
            raise ConfigError("no tickers given")
        return names
    if src.listable and not (own_source and "tickers" in cfg.data.model_fields_set):
        names = source_tickers(str(src), cfg.data)
        if not names:
            raise DataError(f"{src} holds no price rows: there is no ticker to ingest")
        return names
    return list(dict.fromkeys([*cfg.data.tickers, *cfg.features.covariates]))


def _same_source(src: Source, configured: str) -> bool:
    try:
        return parse_source(configured) == src
    except ConfigError:
        return False


def _failed(store: PriceStore, ticker: str, exc: BaseException) -> IngestResult:
    message = str(exc) if isinstance(exc, UserError) else f"unexpected {type(exc).__name__}: {exc}"
    message = message.removeprefix(f"{ticker}: ")
    first = last = None
    rows = 0
    try:
        if store.exists(ticker):
            kept = store.read(ticker)
            first, last, rows = kept["date"].iloc[0].date(), kept["date"].iloc[-1].date(), len(kept)
    except Exception:  # reporting only: a broken file is already the error
        pass
    return IngestResult(ticker, "error", 0, first, last, rows, "failed", message, error=exc)


def ingest(
    cfg: RunConfig,
    tickers: Sequence[str] | str | None = None,
    source: str | None = None,
    start: _dt.date | str | None = None,
    end: _dt.date | str | None = None,
    session: Any = None,
    *,
    store: PriceStore | None = None,
    progress: Callable[[IngestResult], None] | None = None,
) -> list[IngestResult]:
    """Fetch, validate and store prices; one result per ticker, in order.

    Args:
        cfg: The run configuration (``[data]`` gives the defaults and the rules).
        tickers: Tickers (a list or ``"A,B"``); default: the config's, or every ticker of a
            sample/file source unless the config names tickers for that source.
        source: ``yahoo``, ``sample`` or a file path; default ``cfg.data.source``.
        start: First date (``YYYY-MM-DD`` or a date); default ``cfg.data.start`` when the
            source is the config's own, else the source's first bar.
        end: Last date; default ``cfg.data.end`` likewise (None: latest).
        session: Yahoo only: a curl_cffi session (tests aim one at a fake server).
        store: The price store (default: ``PriceStore(cfg.home())``).
        progress: Called with each result as soon as it is known.

    Raises:
        ConfigError: Bad source, ticker or date (before anything is fetched).
        DataError: A source file that cannot be read, or in which any ticker fails validation
            (nothing of it is stored).
    """
    data = cfg.data
    src = parse_source(source if source is not None else data.source)
    # The config's date window belongs to the config's source: `--source sample` with the
    # Yahoo default config ingests the whole sample, not its 2010 onwards.
    own = source is None or _same_source(src, data.source)
    first_date = _as_date(start, "--start") if start is not None else (data.start if own else None)
    last_date = _as_date(end, "--end") if end is not None else (data.end if own else None)
    if first_date and last_date and first_date > last_date:
        raise ConfigError(f"start {first_date} is after end {last_date}")
    names = resolve_tickers(cfg, tickers, src, own_source=own)
    if src.kind == "file":  # a file passes whole before any of its tickers is stored
        load_source(str(src), [], data_cfg=data, calendar=cfg.features.calendar)
    store = store or PriceStore(cfg.home())

    results: list[IngestResult] = []
    for ticker in names:

        def fetch(since: _dt.date | None, ticker: str = ticker) -> Loaded:
            got = load_source(
                str(src), [ticker], since or first_date, last_date, data, session=session,
                calendar=cfg.features.calendar,
            )  # fmt: skip
            loaded = got[ticker]
            if isinstance(loaded, DataError):
                raise loaded
            return loaded

        try:
            out = store.update(
                ticker,
                fetch,
                overlap=data.overlap,
                start=first_date,
                source=str(src),
                end=last_date,
            )
            result = IngestResult(
                ticker,
                "ok",
                rows_added=out.rows_added,
                first=out.first,
                last=out.last,
                rows=out.rows,
                action=out.action,
                message=out.message,
                warnings=out.warnings,
            )
        except Exception as exc:  # one ticker's failure (even a bug) must not stop the others
            result = _failed(store, ticker, exc)
        results.append(result)
        if progress is not None:
            progress(result)
    return results
