"""Daily prices from Yahoo Finance through yfinance, one ticker at a time, with retries.

yfinance 1.7 facts this module is built on (read from its source):

- ``Ticker.history`` fetches ``/v8/finance/chart/<symbol>`` twice per fresh ticker: once with
  ``range=1d`` for the exchange time zone (fixed 10 s timeout), once for the bars.
- With ``yf.config.debug.hide_exceptions = False`` (set here) it raises instead of logging and
  returning an empty frame, so every failure can be told apart; ``YFRateLimitError`` (HTTP 429)
  is raised either way. ``download()`` never raises, hence per-ticker ``history``.
- It does not check HTTP status codes of chart responses. ``YahooSession`` records the status
  (and ``Retry-After``) of the last Yahoo response per thread so a 500 is retried and a 404 is
  reported as an unknown ticker.
- It caches responses of past date ranges in an ``lru_cache`` (errors included), so the cache
  is cleared before each retry and each fetch.
- ``YfData`` is a process-wide singleton holding one session; passing ``session=`` replaces it.
"""

from __future__ import annotations

import datetime as _dt
import email.utils
import logging
import math
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd
from curl_cffi import requests as curl_requests
from stackcast.pipeline.config import DataConfig
from stackcast.pipeline.errors import SourceError, SourceUnavailable

MAX_DELAY = 60.0  # seconds: cap on one backoff sleep, Retry-After included
_last = threading.local()
_default_session: curl_requests.Session | None = None
_default_lock = threading.Lock()
_YAHOO_API = "/finance/"  # chart, quote and quoteSummary URLs
_muted = False

logging.getLogger("yfinance").addHandler(logging.NullHandler())


class YahooSession(curl_requests.Session):
    """A curl_cffi session that remembers the last Yahoo API response of each thread.

    yfinance accepts it like any curl_cffi session; ``last_response()`` then tells the HTTP
    status and ``Retry-After`` behind an exception that yfinance raised without them.
    """

    def request(self, method: Any, url: str, *args: Any, **kwargs: Any) -> Any:  # noqa: D102
        response = super().request(method, url, *args, **kwargs)
        if _YAHOO_API in url:
            _last.status = response.status_code
            if response.status_code == 429:
                _last.retry_after = _parse_retry_after(response.headers.get("Retry-After"))
        return response


def last_response() -> tuple[int | None, float | None]:
    """``(status, retry_after_seconds)`` of this thread's last Yahoo API response."""
    return getattr(_last, "status", None), getattr(_last, "retry_after", None)


def _forget_last_response() -> None:
    _last.status = None
    _last.retry_after = None


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=_dt.UTC)
        seconds = (when - _dt.datetime.now(_dt.UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def default_session() -> YahooSession:
    """The process-wide session used when the caller passes none (browser impersonation)."""
    global _default_session
    with _default_lock:
        if _default_session is None:
            _default_session = YahooSession(impersonate="chrome")
        return _default_session  # type: ignore[return-value]


def backoff_delay(attempt: int, backoff: float, retry_after: float | None = None) -> float:
    """Seconds to wait before retry ``attempt`` (1-based): ``backoff * 2**(attempt-1)``.

    A server's ``Retry-After`` lengthens the wait; either way it is capped at ``MAX_DELAY``.
    """
    delay = backoff * 2 ** (attempt - 1)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return min(delay, MAX_DELAY)


def _classify(exc: BaseException, timeout: float) -> tuple[bool, str]:
    """``(retryable, message)`` for an exception raised by ``Ticker.history``."""
    from yfinance.exceptions import (
        YFDataException,
        YFPricesMissingError,
        YFRateLimitError,
        YFTzMissingError,
    )

    status, _ = last_response()
    if isinstance(exc, curl_requests.exceptions.HTTPError) and exc.response is not None:
        status = getattr(exc.response, "status_code", status)
    if isinstance(exc, YFRateLimitError) or status == 429:
        return True, "rate limited by Yahoo (HTTP 429)"
    if isinstance(exc, curl_requests.exceptions.Timeout | TimeoutError):
        return True, f"no answer from Yahoo within {timeout:g}s (timeout)"
    network = (curl_requests.exceptions.HTTPError, curl_requests.exceptions.InvalidJSONError)
    if isinstance(exc, curl_requests.exceptions.RequestException) and not isinstance(exc, network):
        return True, f"network error talking to Yahoo: {_first_line(exc)}"
    if status is not None and status >= 500:
        return True, f"Yahoo server error (HTTP {status})"
    if status == 404 or isinstance(exc, YFTzMissingError):
        return False, "unknown ticker: Yahoo has no such symbol (or it is delisted)"
    if status is not None and status >= 400:
        return False, f"Yahoo refused the request (HTTP {status})"
    if isinstance(exc, YFPricesMissingError):
        reason = exc.yahoo_reason or "no price data in the requested range"
        return False, f"Yahoo returned no prices: {reason}"
    if isinstance(exc, ValueError):  # JSON decoding, truncated bodies included
        return True, "unreadable answer from Yahoo (truncated or not JSON)"
    if isinstance(exc, YFDataException) and "DOWN" in str(exc):
        return True, "Yahoo Finance is down"
    if isinstance(exc, KeyError | IndexError | TypeError | AttributeError):
        return False, (
            f"unexpected answer format from Yahoo ({type(exc).__name__}: {exc}); "
            "yfinance may need an update"
        )
    if isinstance(exc, OSError):
        return True, f"network error talking to Yahoo: {_first_line(exc)}"
    return False, f"yfinance failed: {type(exc).__name__}: {_first_line(exc)}"


def _first_line(exc: BaseException) -> str:
    """The gist of an error message (curl's "See https://curl.se/..." boilerplate dropped)."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text.split(" See https://curl.se")[0].removeprefix("Failed to perform, ")


def _describe_range(start: _dt.date | None, end: _dt.date | None) -> str:
    return f"{start or 'first'} .. {end or 'latest'}"


def _to_frame(
    hist: pd.DataFrame, ticker: str, start: _dt.date | None, end: _dt.date | None
) -> pd.DataFrame:
    """Yfinance's frame -> raw rows for validation (lower-case columns, bar numbers as index)."""
    if hist is None or hist.empty:
        raise SourceError(ticker, f"Yahoo returned no prices for {_describe_range(start, end)}")
    cols = {str(c).lower(): c for c in hist.columns}
    if "close" not in cols:
        raise SourceError(ticker, "Yahoo's answer has no Close column")
    index = pd.DatetimeIndex(hist.index)
    if index.tz is not None:
        index = index.tz_localize(None)  # keep the exchange's local date
    out = pd.DataFrame({"date": index.normalize().astype("datetime64[ns]")})
    for name in ("open", "high", "low", "close", "volume"):
        if name in cols:
            out[name] = (
                pd.to_numeric(hist[cols[name]], errors="coerce").astype("float64").to_numpy()
            )
    out.index = pd.RangeIndex(1, len(out) + 1)
    return out


def _yfinance() -> tuple[Any, Any]:
    """Import yfinance, make it raise instead of log, and mute its pandas deprecation noise."""
    import yfinance as yf
    from yfinance.data import YfData

    global _muted
    yf.config.debug.hide_exceptions = False
    if not _muted:
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"yfinance(\.|$)")
        _muted = True
    return yf, YfData


def fetch_ticker(
    ticker: str,
    start: _dt.date | None,
    end: _dt.date | None,
    cfg: DataConfig,
    *,
    session: curl_requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> pd.DataFrame:
    """Fetch one ticker's daily bars (adjusted) from Yahoo, retrying transient failures.

    Retries (up to ``cfg.retries``, waiting ``backoff_delay``) follow rate limits (429),
    timeouts (``cfg.timeout`` per request), network errors, 5xx and unreadable answers;
    unknown tickers, empty histories and changed answer formats fail at once.

    Args:
        ticker: A checked ticker symbol.
        start: First date (inclusive), or None for all history.
        end: Last date (inclusive), or None for the latest bar.
        cfg: Retries, backoff and timeout.
        session: A curl_cffi session (tests pass one aimed at a fake server); default:
            ``default_session()``.
        sleep: The backoff sleep (tests pass a recorder).

    Returns:
        Raw rows (``date`` tz-naive midnight; ``open, high, low, close, volume`` float64)
        numbered from 1, ready for ``validate_prices``.

    Raises:
        SourceError: Naming the ticker and what went wrong, after the last attempt.
    """
    yf, YfData = _yfinance()
    session = session or default_session()
    kwargs: dict[str, Any] = {"interval": "1d", "auto_adjust": True, "actions": False}
    kwargs["timeout"] = cfg.timeout
    if start is None:
        kwargs["period"] = "max"
    else:
        kwargs["start"] = start
    if end is not None:
        kwargs["end"] = end + _dt.timedelta(days=1)  # yfinance's end is exclusive

    attempts = cfg.retries + 1
    for attempt in range(1, attempts + 1):
        _forget_last_response()
        YfData.cache_get.cache_clear()  # yfinance caches past-range answers, failures too
        try:
            hist = yf.Ticker(ticker, session=session).history(**kwargs)
        except Exception as exc:
            retryable, message = _classify(exc, cfg.timeout)
            if not retryable:
                raise SourceError(ticker, message) from exc
            if attempt == attempts:
                tries = f" (after {attempt} attempts)" if attempt > 1 else ""
                raise SourceUnavailable(ticker, message + tries) from exc
            sleep(backoff_delay(attempt, cfg.backoff, last_response()[1]))
            continue
        return _to_frame(hist, ticker, start, end)
    raise AssertionError("unreachable")  # pragma: no cover


def fetch_yahoo(
    tickers: Iterable[str],
    start: _dt.date | None,
    end: _dt.date | None,
    cfg: DataConfig,
    *,
    session: curl_requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, pd.DataFrame | SourceError]:
    """``fetch_ticker`` for each ticker; a failure is returned in place of its frame."""
    out: dict[str, pd.DataFrame | SourceError] = {}
    for ticker in tickers:
        try:
            out[ticker] = fetch_ticker(ticker, start, end, cfg, session=session, sleep=sleep)
        except SourceError as exc:
            out[ticker] = exc
    return out
