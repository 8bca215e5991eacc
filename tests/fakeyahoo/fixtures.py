"""The fake's pytest fixtures: ``yf_reset``, ``fake_yahoo`` and ``yahoo_session``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakeyahoo.server import FakeYahoo
from tests.fakeyahoo.session import FakeYahooSession, reset_yfinance_state


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
