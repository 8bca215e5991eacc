"""The fake Yahoo server: per-symbol behaviour queues, request routing and the HTTP handler."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from tests.fakeyahoo.behaviours import (
    Behaviour,
    FakeRequest,
    Reply,
    connection_reset,
    delayed,
    empty_history,
    ok,
    schema_changed,
    status,
    truncated,
)
from tests.fakeyahoo.chart import QUOTE_NOT_FOUND, _as_prices


@dataclass
class _Step:
    behaviour: Behaviour
    times: int | None
    history_only: bool


@dataclass
class FakeYahoo:
    """The fake server's state; see the package docstring. Use as a context manager."""

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
