"""What the fake answers: the requests it sees, how it replies, and the stock behaviours."""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any

import pandas as pd

from tests.fakeyahoo.chart import NOT_FOUND, _as_prices, chart_json

if TYPE_CHECKING:
    from tests.fakeyahoo.server import FakeYahoo


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
