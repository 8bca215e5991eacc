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
module (``from tests.fakeyahoo import fake_yahoo, yahoo_session  # noqa: F401``) or list
``tests.fakeyahoo.fixtures`` in ``pytest_plugins``.

The package holds the chart JSON builders (``chart``), the requests, replies and stock behaviours
(``behaviours``), the server (``server``), the client session and yfinance reset (``session``)
and the fixtures (``fixtures``); everything is importable from ``tests.fakeyahoo``.
"""

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
from tests.fakeyahoo.chart import EXCHANGE_TZ, NOT_FOUND, QUOTE_NOT_FOUND, VALID_RANGES, chart_json
from tests.fakeyahoo.fixtures import fake_yahoo, yahoo_session, yf_reset
from tests.fakeyahoo.server import FakeYahoo
from tests.fakeyahoo.session import FakeYahooSession, reset_yfinance_state

__all__ = [
    "EXCHANGE_TZ",
    "NOT_FOUND",
    "QUOTE_NOT_FOUND",
    "VALID_RANGES",
    "Behaviour",
    "FakeRequest",
    "FakeYahoo",
    "FakeYahooSession",
    "Reply",
    "chart_json",
    "connection_reset",
    "delayed",
    "empty_history",
    "fake_yahoo",
    "ok",
    "reset_yfinance_state",
    "schema_changed",
    "status",
    "truncated",
    "yahoo_session",
    "yf_reset",
]
