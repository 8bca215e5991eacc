"""A local fake of Yahoo Finance for offline tests of the real yfinance code path.

``FakeYahoo`` is an ``http.server`` on 127.0.0.1 (free port, own thread) that answers what
yfinance 1.7 asks for daily prices: ``/v8/finance/chart/{symbol}`` in Yahoo's chart JSON shape
(``chart.result[0].meta``, ``timestamp``, ``indicators.quote[0].{open,high,low,close,volume}``,
``indicators.adjclose[0].adjclose``), ``/v1/test/getcrumb``, ``/`` (fc.yahoo.com's cookie
page), ``/consent`` and, for unknown symbols, Yahoo's 404 answers (chart and quoteSummary).

``FakeYahooSession`` is a ``pipeline.data.yahoo.YahooSession`` (so a curl_cffi session) that
rewrites every ``*.yahoo.com`` URL to the fake. Pass it as ``session=`` to yfinance or to
``stackcast.pipeline.data.sources.load_source``.

Per-symbol behaviours, queued with ``times`` (None = for ever); each chart request for the
symbol consumes one use of the head of its queue, and an empty queue means "ok":

    fake.add("MSFT", frame)                     # serve these prices
    fake.fail("MSFT", 429, times=2, retry_after=1)
    fake.fail("MSFT", 500)  /  fake.fail("MSFT", 404)
    fake.truncate("MSFT"), fake.delay("MSFT", 2.0), fake.schema_change("MSFT"),
    fake.empty("MSFT"), fake.reset("MSFT")
    fake.script("MSFT", my_behaviour, times=1)  # any ``Behaviour``: add your own
    fake.script_path("/v1/test/getcrumb", status(429), times=None)  # other endpoints

A ``Behaviour`` is a callable ``(request, reply) -> None`` that answers through ``reply``
(``reply.json``, ``reply.send``, ``reply.reset``...). By default behaviours apply to every chart
request of the symbol, including yfinance's time-zone probe (``range=1d``); give
``history_only=True`` to hit only the price request (the one with ``period1``).

Fixtures: ``fake_yahoo`` (a running server, fresh yfinance caches), ``yahoo_session`` (a
``FakeYahooSession`` aimed at it) and ``yf_reset`` (just the cache reset). Import them into a test
module (``from tests.fakeyahoo import fake_yahoo, yahoo_session  # noqa: F401``) or list the
module in ``pytest_plugins``.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from stackcast.pipeline.data.yahoo import YahooSession

EXCHANGE_TZ = "America/New_York"
NOT_FOUND = {
    "chart": {
        "result": None,
        "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
    }
}
QUOTE_NOT_FOUND = {
    "quoteSummary": {
        "result": None,
        "error": {"code": "Not Found", "description": "Quote not found for symbol"},
    }
}
VALID_RANGES = ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"]


# --------------------------------------------------------------------------- requests/replies


@dataclass(frozen=True)
class FakeRequest:
    """One request the fake received."""

    method: str
    host: str
    path: str
    query: dict[str, str]
    symbol: str | None = None

    @property
    def is_chart(self) -> bool:
        """A ``/v8/finance/chart/{symbol}`` request."""
        return self.path.startswith("/v8/finance/chart/")

    @property
    def is_history(self) -> bool:
        """The price request (with a date range), not yfinance's ``range=1d`` tz probe."""
        return self.is_chart and "period1" in self.query


class Reply:
    """How a behaviour answers: wraps the handler and the server's stop event."""

    def __init__(self, handler: BaseHTTPRequestHandler, stopping: threading.Event) -> None:
        self._handler = handler
        self._stopping = stopping

    def send(
        self,
        status: int,
        body: bytes | str = b"",
        *,
        content_type: str = "application/json;charset=utf-8",
        headers: dict[str, str] | None = None,
        content_length: int | None = None,
    ) -> None:
        """Send a complete response (``content_length`` may lie, to fake short reads)."""
        data = body.encode() if isinstance(body, str) else body
        h = self._handler
        try:
            h.send_response(status)
            h.send_header("Content-Type", content_type)
            h.send_header(
                "Content-Length", str(len(data) if content_length is None else content_length)
            )
            for key, value in (headers or {}).items():
                h.send_header(key, value)
            h.end_headers()
            h.wfile.write(data)
            h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def json(self, obj: Any, status: int = 200, **kwargs: Any) -> None:
        """Send ``obj`` as JSON."""
        self.send(status, json.dumps(obj, separators=(",", ":")), **kwargs)

    def wait(self, seconds: float) -> bool:
        """Sleep (returns early, True, if the server is stopping)."""
        return self._stopping.wait(seconds)

    def reset(self) -> None:
        """Abort the connection with a TCP reset and no response."""
        sock = self._handler.connection
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        except OSError:
            pass
        self._handler.close_connection = True


Behaviour = Callable[[FakeRequest, Reply], None]


# --------------------------------------------------------------------------- chart JSON


def _as_prices(frame: pd.DataFrame) -> pd.DataFrame:
    """Accept a price frame (``date`` column or DatetimeIndex, any-case OHLCV columns)."""
    df = frame.copy()
    df.columns = [str(c).lower().replace(" ", "") for c in df.columns]
    if "date" in df.columns:
        df = df.set_index("date")
    df.index = pd.DatetimeIndex(pd.to_datetime(df.index)).tz_localize(None).normalize()
    df = df.sort_index()
    if "close" not in df.columns:
        raise ValueError("fake prices need a close column")
    for col in ("open", "high", "low"):
        if col not in df.columns:
            df[col] = df["close"]
    if "volume" not in df.columns:
        df["volume"] = 0
    if "adjclose" not in df.columns:
        df["adjclose"] = df["close"]
    return df[["open", "high", "low", "close", "volume", "adjclose"]]


def _timestamps(index: pd.DatetimeIndex) -> list[int]:
    """Yahoo stamps daily bars at the session open (09:30 New York) in epoch seconds."""
    local = (index + pd.Timedelta(hours=9, minutes=30)).tz_localize(ZoneInfo(EXCHANGE_TZ))
    return [int(t.timestamp()) for t in local]


def _nullable(values: pd.Series) -> list[Any]:
    return [None if pd.isna(v) else float(v) for v in values]


def chart_json(symbol: str, prices: pd.DataFrame, query: dict[str, str]) -> dict[str, Any]:
    """Yahoo's chart answer for ``symbol`` restricted to the query's range."""
    stamps = _timestamps(prices.index)
    rows = prices.assign(_ts=stamps)
    if "period1" in query or "period2" in query:
        p1 = int(query.get("period1", 0))
        p2 = int(query.get("period2", 2**40))
        rows = rows[(rows["_ts"] >= p1) & (rows["_ts"] < p2)]
    elif query.get("range") == "1d":
        rows = rows.iloc[-1:]
    first = stamps[0] if stamps else 0
    last = stamps[-1] if stamps else 0
    meta = {
        "currency": "USD",
        "symbol": symbol,
        "exchangeName": "NMS",
        "fullExchangeName": "NasdaqGS",
        "instrumentType": "EQUITY",
        "firstTradeDate": first,
        "regularMarketTime": last,
        "hasPrePostMarketData": True,
        "gmtoffset": -18000,
        "timezone": "EST",
        "exchangeTimezoneName": EXCHANGE_TZ,
        "regularMarketPrice": float(prices["close"].iloc[-1]) if len(prices) else None,
        "chartPreviousClose": float(prices["close"].iloc[0]) if len(prices) else None,
        "priceHint": 2,
        "currentTradingPeriod": {
            k: {"timezone": "EST", "start": last, "end": last + 23400, "gmtoffset": -18000}
            for k in ("pre", "regular", "post")
        },
        "dataGranularity": "1d",
        "range": query.get("range", ""),
        "validRanges": VALID_RANGES,
    }
    result: dict[str, Any] = {"meta": meta}
    if len(rows):
        result["timestamp"] = [int(t) for t in rows["_ts"]]
        result["indicators"] = {
            "quote": [
                {
                    "open": _nullable(rows["open"]),
                    "high": _nullable(rows["high"]),
                    "low": _nullable(rows["low"]),
                    "close": _nullable(rows["close"]),
                    "volume": [None if pd.isna(v) else int(v) for v in rows["volume"]],
                }
            ],
            "adjclose": [{"adjclose": _nullable(rows["adjclose"])}],
        }
    else:
        result["indicators"] = {"quote": [{}], "adjclose": [{}]}
    return {"chart": {"result": [result], "error": None}}


# --------------------------------------------------------------------------- behaviours


def ok(fake: FakeYahoo) -> Behaviour:
    """Serve the symbol's registered prices (Yahoo's 404 if none are registered)."""

    def behave(req: FakeRequest, reply: Reply) -> None:
        prices = fake.prices.get(req.symbol or "")
        if prices is None:
            reply.json(NOT_FOUND, status=404)
        else:
            reply.json(chart_json(req.symbol or "", prices, req.query))

    return behave


def status(code: int, retry_after: str | int | None = None) -> Behaviour:
    """Answer with HTTP ``code`` (Yahoo-like bodies for 404/429/5xx), optional Retry-After."""

    def behave(req: FakeRequest, reply: Reply) -> None:
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        if code == 404:
            reply.json(NOT_FOUND, status=404, headers=headers)
        elif code == 429:
            reply.send(429, "Too Many Requests\r\n", content_type="text/plain", headers=headers)
        else:
            body = f"<html><body><h1>{code} Server Error</h1></body></html>"
            reply.send(code, body, content_type="text/html", headers=headers)

    return behave


def truncated(fake: FakeYahoo, keep: float = 0.5) -> Behaviour:
    """A well-formed HTTP 200 whose JSON body is cut after ``keep`` of its length."""

    def behave(req: FakeRequest, reply: Reply) -> None:
        prices = fake.prices.get(req.symbol or "")
        body = json.dumps(
            chart_json(req.symbol or "", prices, req.query) if prices is not None else NOT_FOUND
        )
        reply.send(200, body[: max(1, int(len(body) * keep))])

    return behave


def delayed(fake: FakeYahoo, seconds: float) -> Behaviour:
    """Wait ``seconds`` (the client should time out first), then answer normally."""
    then = ok(fake)

    def behave(req: FakeRequest, reply: Reply) -> None:
        if not reply.wait(seconds):
            then(req, reply)

    return behave


def schema_changed(fake: FakeYahoo) -> Behaviour:
    """HTTP 200 with valid JSON in a shape yfinance does not know."""

    def behave(req: FakeRequest, reply: Reply) -> None:
        reply.json(
            {
                "chart": {"results": [{"metadata": {"symbol": req.symbol}, "bars": []}]},
                "error": None,
            }
        )

    return behave


def empty_history(fake: FakeYahoo) -> Behaviour:
    """A known symbol with no bars in the requested range (meta only, empty indicators)."""

    def behave(req: FakeRequest, reply: Reply) -> None:
        prices = fake.prices.get(req.symbol or "")
        base = (
            prices.iloc[:0]
            if prices is not None
            else _as_prices(pd.DataFrame({"close": []}, index=pd.DatetimeIndex([])))
        )
        reply.json(chart_json(req.symbol or "", base, req.query))

    return behave


def connection_reset() -> Behaviour:
    """Drop the connection with a TCP reset before answering."""

    def behave(req: FakeRequest, reply: Reply) -> None:
        reply.reset()

    return behave


@dataclass
class _Step:
    behaviour: Behaviour
    times: int | None
    history_only: bool


@dataclass
class FakeYahoo:
    """The fake server's state; see the module docstring. Use as a context manager."""

    crumb: str = "fake-crumb"
    prices: dict[str, pd.DataFrame] = field(default_factory=dict)
    requests: list[FakeRequest] = field(default_factory=list)
    _steps: dict[str, deque[_Step]] = field(default_factory=dict)
    _path_steps: dict[str, deque[_Step]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # ---- configuration
    def add(self, symbol: str, frame: pd.DataFrame) -> FakeYahoo:
        """Serve ``frame`` (date + close, optional open/high/low/volume/adjclose) for ``symbol``."""
        self.prices[symbol.upper()] = _as_prices(frame)
        return self

    def script(
        self,
        symbol: str,
        behaviour: Behaviour,
        times: int | None = 1,
        *,
        history_only: bool = False,
    ) -> FakeYahoo:
        """Queue ``behaviour`` for the next ``times`` chart requests of ``symbol`` (None: ever)."""
        with self._lock:
            self._steps.setdefault(symbol.upper(), deque()).append(
                _Step(behaviour, times, history_only)
            )
        return self

    def script_path(self, prefix: str, behaviour: Behaviour, times: int | None = 1) -> FakeYahoo:
        """Queue ``behaviour`` for the next ``times`` non-chart requests whose path starts with
        ``prefix`` (``/v1/test/getcrumb``, ``/``...), e.g. ``status(429)`` on the crumb."""
        with self._lock:
            self._path_steps.setdefault(prefix, deque()).append(_Step(behaviour, times, False))
        return self

    def fail(
        self,
        symbol: str,
        code: int,
        times: int | None = None,
        *,
        retry_after: str | int | None = None,
        history_only: bool = False,
    ) -> FakeYahoo:
        """Answer HTTP ``code`` ``times`` times (None: always)."""
        return self.script(symbol, status(code, retry_after), times, history_only=history_only)

    def truncate(
        self, symbol: str, times: int | None = None, *, history_only: bool = False
    ) -> FakeYahoo:
        """Cut the JSON body in half ``times`` times."""
        return self.script(symbol, truncated(self), times, history_only=history_only)

    def delay(
        self, symbol: str, seconds: float, times: int | None = None, *, history_only: bool = True
    ) -> FakeYahoo:
        """Answer only after ``seconds`` (price requests only, unless ``history_only=False``)."""
        return self.script(symbol, delayed(self, seconds), times, history_only=history_only)

    def schema_change(
        self, symbol: str, times: int | None = None, *, history_only: bool = False
    ) -> FakeYahoo:
        """Answer valid JSON of an unknown shape."""
        return self.script(symbol, schema_changed(self), times, history_only=history_only)

    def empty(
        self, symbol: str, times: int | None = None, *, history_only: bool = False
    ) -> FakeYahoo:
        """Answer a known symbol with no bars."""
        return self.script(symbol, empty_history(self), times, history_only=history_only)

    def reset(
        self, symbol: str, times: int | None = None, *, history_only: bool = False
    ) -> FakeYahoo:
        """Reset the TCP connection without answering."""
        return self.script(symbol, connection_reset(), times, history_only=history_only)

    def clear(self, symbol: str | None = None) -> None:
        """Forget queued behaviours (of one symbol, or all)."""
        with self._lock:
            if symbol is None:
                self._steps.clear()
                self._path_steps.clear()
            else:
                self._steps.pop(symbol.upper(), None)

    # ---- inspection
    def chart_requests(
        self, symbol: str | None = None, *, history_only: bool = False
    ) -> list[FakeRequest]:
        """Chart requests received (for ``symbol``; only price requests if ``history_only``)."""
        with self._lock:
            reqs = list(self.requests)
        return [
            r
            for r in reqs
            if r.is_chart
            and (symbol is None or r.symbol == symbol.upper())
            and (r.is_history or not history_only)
        ]

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # ---- serving
    def _scripted(self, req: FakeRequest) -> Behaviour | None:
        """Consume one use of the queued behaviour that applies to ``req``, if any."""
        with self._lock:
            if req.is_chart:
                queue = self._steps.get(req.symbol or "")
            else:
                queue = next(
                    (q for prefix, q in self._path_steps.items() if req.path.startswith(prefix)),
                    None,
                )
            if not queue:
                return None
            step = queue[0]
            if step.history_only and not req.is_history:
                return None
            if step.times is not None:
                step.times -= 1
                if step.times <= 0:
                    queue.popleft()
            return step.behaviour

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        """Route one request."""
        parts = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        path = parts.path or "/"
        symbol = None
        for prefix in ("/v8/finance/chart/", "/v10/finance/quoteSummary/"):
            if path.startswith(prefix):
                symbol = path[len(prefix) :].upper()
        req = FakeRequest(
            handler.command, handler.headers.get("X-Fake-Host", ""), path, query, symbol
        )
        with self._lock:
            self.requests.append(req)
        reply = Reply(handler, self._stopping)
        scripted = self._scripted(req)
        if scripted is not None:
            scripted(req, reply)
        elif req.is_chart:
            ok(self)(req, reply)
        elif path == "/v1/test/getcrumb":
            reply.send(200, self.crumb, content_type="text/plain;charset=utf-8")
        elif path.startswith("/v10/finance/quoteSummary/") or path.startswith("/v7/finance/quote"):
            reply.json(QUOTE_NOT_FOUND, status=404)
        elif (
            path in ("/", "/consent")
            or path.startswith("/v2/collectConsent")
            or path.startswith("/copyConsent")
        ):
            reply.send(200, "<html><body>ok</body></html>", content_type="text/html")
        else:
            reply.send(404, "<html><body>not found</body></html>", content_type="text/html")

    def start(self) -> FakeYahoo:
        """Start serving on a free port of 127.0.0.1 in a daemon thread."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms Nagle/delayed-ACK stalls per response

            def do_GET(self) -> None:
                fake.handle(self)

            def do_POST(self) -> None:
                fake.handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-yahoo",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (pending delays return at once)."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeYahoo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- client side


class FakeYahooSession(YahooSession):
    """A curl_cffi session sending every ``*.yahoo.com`` request to ``base_url`` instead."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method: Any, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if host == "yahoo.com" or host.endswith(".yahoo.com"):
            base = urlsplit(self.base_url)
            url = urlunsplit((base.scheme, base.netloc, parts.path or "/", parts.query, ""))
            headers = dict(kwargs.pop("headers", None) or {})
            headers["X-Fake-Host"] = host
            kwargs["headers"] = headers
        return super().request(method, url, *args, **kwargs)


def reset_yfinance_state(cache_dir: Path | None = None) -> None:
    """Forget everything yfinance keeps between calls in this process.

    The sqlite tz/cookie/ISIN caches (moved to ``cache_dir`` when given), the ``YfData``
    singleton (and with it the session, cookie and crumb), its ``lru_cache`` of responses, the
    tz-from-info fallback counter, ``download()``'s shared dicts, and stackcast's default session.
    """
    import stackcast.pipeline.data.yahoo as pyahoo
    import yfinance.base as yf_base
    import yfinance.cache as yf_cache
    import yfinance.shared as yf_shared
    from yfinance.data import SingletonMeta, YfData

    for manager in (yf_cache._TzDBManager, yf_cache._CookieDBManager, yf_cache._ISINDBManager):
        manager.close_db()
        manager._db = None
        if cache_dir is not None:
            manager._cache_dir = str(cache_dir)
    yf_cache._TzCacheManager._tz_cache = None
    yf_cache._CookieCacheManager._Cookie_cache = None
    yf_cache._ISINCacheManager._isin_cache = None
    with SingletonMeta._lock:
        SingletonMeta._instances.pop(YfData, None)
    YfData.cache_get.cache_clear()
    yf_base._tz_info_fetch_ctr = 0
    for shared in (yf_shared._DFS, yf_shared._ERRORS, yf_shared._TRACEBACKS, yf_shared._ISINS):
        shared.clear()
    pyahoo._default_session = None
    pyahoo._forget_last_response()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def yf_reset(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Fresh yfinance state with its caches in a temp dir; restored afterwards."""
    import yfinance as yf
    import yfinance.cache as yf_cache

    cache_dir = tmp_path_factory.mktemp("yfcache")
    before = yf_cache._TzDBManager.get_location()
    hide = yf.config.debug.hide_exceptions
    reset_yfinance_state(cache_dir)
    try:
        yield cache_dir
    finally:
        reset_yfinance_state(Path(before))
        yf.config.debug.hide_exceptions = hide


@pytest.fixture
def fake_yahoo(yf_reset: Path) -> Iterator[FakeYahoo]:
    """A running ``FakeYahoo`` with fresh yfinance state."""
    with FakeYahoo() as fake:
        yield fake


@pytest.fixture
def yahoo_session(fake_yahoo: FakeYahoo) -> Iterator[FakeYahooSession]:
    """A curl_cffi session that talks to ``fake_yahoo`` instead of Yahoo."""
    session = FakeYahooSession(fake_yahoo.url)
    try:
        yield session
    finally:
        session.close()
