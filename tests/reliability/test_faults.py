"""Fault injection at the data source: the local fake Yahoo answers 404, 429 (with and without
Retry-After), 500, resets, times out, truncates or changes its JSON, or has no bars, for one
ticker in a batch of ten.

Every case runs the real ``stackcast ingest`` (in-process, its Yahoo session aimed at the
fake) on a store that already holds a good state, and checks: one clear ``error:`` line and
the documented exit code; the failed ticker's Parquet file byte-identical (sha256); the other
nine updated; the retries bounded (requests counted at the fake server).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import stackcast.pipeline.data.yahoo
from stackcast.pipeline.config import DataConfig
from stackcast.pipeline.data.sources import load_source
from stackcast.pipeline.data.store import PriceStore
from stackcast.pipeline.errors import SourceError

from tests import fakeyahoo
from tests.conftest import sessions
from tests.fakeyahoo import FakeYahoo, FakeYahooSession
from tests.reliability.helpers import assert_clean_error, cli, digest, snapshot

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:yfinance")

yf_reset = fakeyahoo.yf_reset
fake_yahoo = fakeyahoo.fake_yahoo
yahoo_session = fakeyahoo.yahoo_session

TICKERS = tuple(f"T{k}" for k in range(10))
BAD = "T3"
RETRIES = 2
ATTEMPTS = RETRIES + 1


def bars(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    return pd.DataFrame(
        {
            "date": sessions("2024-01-02", periods=n),
            "open": close,
            "high": close * 1.01,
            "low": close * 0.99,
            "close": close,
            "volume": 1000.0 + seed,
        }
    )


def write_config(tmp_path: Path, timeout: float = 2.0, tickers: tuple[str, ...] = TICKERS) -> Path:
    listed = ", ".join(f'"{t}"' for t in tickers)
    path = tmp_path / "yahoo.toml"
    path.write_text(
        f"""
[data]
source = "yahoo"
tickers = [{listed}]
start = 2024-01-01
retries = {RETRIES}
backoff = 0.01
timeout = {timeout}
overlap = 3
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def stocked(
    home: Path,
    tmp_path: Path,
    fake_yahoo: FakeYahoo,
    yahoo_session: FakeYahooSession,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Path, dict[str, str]]:
    """Ten tickers stored with 60 bars (the last good state); the fake now has 65."""
    monkeypatch.setattr(stackcast.pipeline.data.yahoo, "default_session", lambda: yahoo_session)
    config = write_config(tmp_path)
    for k, t in enumerate(TICKERS):
        fake_yahoo.add(t, bars(60, k))
    result = cli("ingest", "-c", config)
    assert result.exit_code == 0, result.stderr
    before = {t: digest(home / "prices" / f"{t}.parquet") for t in TICKERS}
    for k, t in enumerate(TICKERS):
        fake_yahoo.add(t, bars(65, k))  # five new bars each
    fake_yahoo.requests.clear()
    return config, before


Inject = Callable[[FakeYahoo], None]

# name -> (inject the fault on BAD, exit code, words of the error, attempts stackcast makes).
# yfinance itself asks twice per attempt when an answer fails (it retries with its other
# cookie strategy), so the price requests for BAD are bounded by 2 * attempts.
FAULTS: dict[str, tuple[Inject, int, tuple[str, ...], int]] = {
    "404": (lambda f: f.fail(BAD, 404), 2, ("unknown ticker",), 1),
    "429": (lambda f: f.fail(BAD, 429), 1, ("rate limited", "HTTP 429"), ATTEMPTS),
    "429+retry-after": (
        lambda f: f.fail(BAD, 429, retry_after=1),
        1,
        ("rate limited", f"after {ATTEMPTS} attempts"),
        ATTEMPTS,
    ),
    "500": (lambda f: f.fail(BAD, 500), 1, ("server error", "HTTP 500"), ATTEMPTS),
    "503 html": (lambda f: f.fail(BAD, 503, history_only=True), 1, ("HTTP 503",), ATTEMPTS),
    "connection reset": (lambda f: f.reset(BAD), 1, ("network error",), ATTEMPTS),
    "timeout": (lambda f: f.delay(BAD, 10.0), 1, ("timeout",), ATTEMPTS),
    "truncated json": (
        lambda f: f.truncate(BAD),
        1,
        ("unreadable answer", "truncated"),
        ATTEMPTS,
    ),
    "schema change": (
        lambda f: f.schema_change(BAD),
        2,
        ("unexpected answer format",),
        1,
    ),
    "empty history": (lambda f: f.empty(BAD, history_only=True), 2, ("no prices",), 1),
    "invalid bars": (
        lambda f: f.add(BAD, bars(65, 3).assign(close=lambda d: -d["close"])),
        2,
        ("not a positive finite price",),
        1,
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_one_failing_ticker_in_ten(
    fault: str,
    home: Path,
    tmp_path: Path,
    stocked: tuple[Path, dict[str, str]],
    fake_yahoo: FakeYahoo,
) -> None:
    inject, code, words, attempts = FAULTS[fault]
    config, before = stocked
    if fault == "timeout":
        config = write_config(tmp_path, timeout=0.3)
    inject(fake_yahoo)

    t0 = time.monotonic()
    result = cli("ingest", "-c", config)
    elapsed = time.monotonic() - t0

    assert result.exit_code == code, (result.stdout, result.stderr)
    line = assert_clean_error(result.stdout, result.stderr, f"error: {BAD}: ", *words)
    assert "\n" not in line
    # the store keeps the failed ticker's last good state, byte for byte
    assert digest(home / "prices" / f"{BAD}.parquet") == before[BAD]
    rows = {r.split()[0]: r.split() for r in result.stdout.splitlines()[1:]}
    assert rows[BAD][1] == "error"
    store = PriceStore(home)
    for t in TICKERS:
        if t == BAD:
            assert len(store.read(t)) == 60
            continue
        assert rows[t][1:3] == ["ok", "5"], rows[t]
        assert digest(home / "prices" / f"{t}.parquet") != before[t]
        assert len(store.read(t)) == 65
    # retries are bounded: count the price requests (and all chart requests) at the fake
    history = fake_yahoo.chart_requests(BAD, history_only=True)
    assert attempts <= len(history) <= 2 * attempts, len(history)
    assert len(fake_yahoo.chart_requests(BAD)) <= 4 * attempts + 1  # with time-zone probes
    for t in TICKERS:
        if t != BAD:
            assert len(fake_yahoo.chart_requests(t, history_only=True)) == 1
    if fault == "429+retry-after":
        assert elapsed >= RETRIES * 1.0  # Retry-After: 1 was honoured before each retry
    assert elapsed < 15


def test_transient_faults_are_retried_then_succeed(
    home: Path, stocked: tuple[Path, dict[str, str]], fake_yahoo: FakeYahoo
) -> None:
    config, _ = stocked
    fake_yahoo.fail("T1", 500, times=RETRIES, history_only=True)  # the last attempt works
    fake_yahoo.reset("T2", times=1, history_only=True)
    fake_yahoo.truncate("T4", times=1, history_only=True)
    fake_yahoo.delay("T5", 10.0, times=1)
    result = cli("ingest", "-c", write_config(config.parent, timeout=0.5))
    assert result.exit_code == 0, result.stderr
    assert "error" not in result.stderr
    assert len(fake_yahoo.chart_requests("T1", history_only=True)) == ATTEMPTS
    for t in ("T2", "T4", "T5"):
        assert len(fake_yahoo.chart_requests(t, history_only=True)) == 2
    store = PriceStore(home)
    assert all(len(store.read(t)) == 65 for t in TICKERS)


def test_every_ticker_failing_leaves_the_whole_store_untouched(
    home: Path, stocked: tuple[Path, dict[str, str]], fake_yahoo: FakeYahoo
) -> None:
    config, _ = stocked
    state = snapshot(home / "prices")
    for t in TICKERS:
        fake_yahoo.fail(t, 500)
    result = cli("ingest", "-c", config)
    assert result.exit_code == 1
    assert_clean_error(result.stdout, result.stderr, "10 of 10 tickers failed", "HTTP 500")
    assert snapshot(home / "prices") == state
    for t in TICKERS:
        assert len(fake_yahoo.chart_requests(t, history_only=True)) <= 2 * ATTEMPTS


def test_restatement_whose_full_refetch_fails_keeps_the_old_file(
    home: Path, stocked: tuple[Path, dict[str, str]], fake_yahoo: FakeYahoo
) -> None:
    """A re-adjusted history triggers a full refetch; if that fails, nothing is replaced."""
    config, before = stocked
    fake_yahoo.add(BAD, bars(65, 3).assign(close=lambda d: d["close"] * 0.97))
    fake_yahoo.script(BAD, fakeyahoo.ok(fake_yahoo), times=1, history_only=True)
    fake_yahoo.fail(BAD, 500, history_only=True)
    result = cli("ingest", "-c", config)
    assert result.exit_code == 1
    assert_clean_error(result.stdout, result.stderr, f"{BAD}: ", "HTTP 500")
    assert digest(home / "prices" / f"{BAD}.parquet") == before[BAD]
    assert (
        1 + ATTEMPTS <= len(fake_yahoo.chart_requests(BAD, history_only=True)) <= 1 + 2 * ATTEMPTS
    )


def test_huge_retry_after_is_capped(fake_yahoo: FakeYahoo, yahoo_session: FakeYahooSession) -> None:
    fake_yahoo.add("ABC", bars(30, 0)).fail("ABC", 429, retry_after=86_400)
    sleeps: list[float] = []
    cfg = DataConfig(retries=3, backoff=0.01, timeout=2.0)
    got = load_source("yahoo", ["ABC"], None, None, cfg, session=yahoo_session, sleep=sleeps.append)
    assert isinstance(got["ABC"], SourceError)
    assert (
        sleeps == [stackcast.pipeline.data.yahoo.MAX_DELAY] * 3
    )  # a day's Retry-After waits 60 s, 3 times
    assert len(fake_yahoo.chart_requests("ABC", history_only=True)) <= 2 * 4
