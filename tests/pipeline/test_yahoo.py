"""The real yfinance code path against the local fake Yahoo (offline)."""

from __future__ import annotations

import datetime as dt
import email.utils
import time

import numpy as np
import pandas as pd
import pytest
from stackcast.pipeline.config import DataConfig
from stackcast.pipeline.data import yahoo
from stackcast.pipeline.data.sources import Loaded, load_source
from stackcast.pipeline.errors import SourceError

from tests import fakeyahoo
from tests.conftest import sessions
from tests.fakeyahoo import FakeYahoo, FakeYahooSession

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:yfinance")

# the fake's fixtures (see tests/fakeyahoo/)
yf_reset = fakeyahoo.yf_reset
fake_yahoo = fakeyahoo.fake_yahoo
yahoo_session = fakeyahoo.yahoo_session

CFG = DataConfig(retries=2, backoff=0.0, timeout=2.0)
START, END = dt.date(2024, 1, 1), dt.date(2024, 3, 29)


def prices(n: int = 60, start: str = "2024-01-02", seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    dates = sessions(start, periods=n)
    return pd.DataFrame(
        {
            "date": dates,
            "open": close * 0.999,
            "high": close * 1.01,
            "low": close * 0.99,
            "close": close,
            "volume": rng.integers(1_000, 10_000, n),
        }
    )


def fetch(
    session: FakeYahooSession,
    ticker: str = "ABC",
    cfg: DataConfig = CFG,
    sleeps: list | None = None,
):
    sleeps = [] if sleeps is None else sleeps
    return load_source("yahoo", [ticker], START, END, cfg, session=session, sleep=sleeps.append)[
        ticker
    ]


def test_success_returns_the_served_prices(
    fake_yahoo: FakeYahoo, yahoo_session: FakeYahooSession
) -> None:
    served = prices()
    fake_yahoo.add("ABC", served)
    got = fetch(yahoo_session)
    assert isinstance(got, Loaded), got
    df = got.frame
    assert list(df.columns) == ["date", "ticker", "open", "high", "low", "close", "volume"]
    assert df["date"].dtype == "datetime64[ns]"
    assert (df["date"] == df["date"].dt.normalize()).all()
    assert list(df["date"]) == list(served["date"])
    np.testing.assert_allclose(df["close"], served["close"], rtol=1e-12)
    np.testing.assert_allclose(df["volume"], served["volume"])
    # the tz probe and one price request, with the requested range (end inclusive)
    hist = fake_yahoo.chart_requests("ABC", history_only=True)
    assert len(hist) == 1
    p1, p2 = int(hist[0].query["period1"]), int(hist[0].query["period2"])
    assert pd.Timestamp(p1, unit="s", tz="UTC").tz_convert("America/New_York").date() == START
    assert pd.Timestamp(p2, unit="s", tz="UTC").tz_convert(
        "America/New_York"
    ).date() == END + dt.timedelta(1)


def test_all_history_and_adjusted_close(
    fake_yahoo: FakeYahoo, yahoo_session: FakeYahooSession
) -> None:
    served = prices(10).assign(adjclose=lambda d: d["close"] / 2)  # auto_adjust uses adjclose
    fake_yahoo.add("ABC", served)
    got = load_source("yahoo", ["ABC"], None, None, CFG, session=yahoo_session)["ABC"]
    assert isinstance(got, Loaded), got
    np.testing.assert_allclose(got.frame["close"], served["close"] / 2)
    np.testing.assert_allclose(got.frame["high"], served["high"] / 2)


def test_unknown_ticker_fails_at_once(
    fake_yahoo: FakeYahoo, yahoo_session: FakeYahooSession
) -> None:
    sleeps: list[float] = []
    got = fetch(yahoo_session, "NOPE", sleeps=sleeps)
    assert isinstance(got, SourceError)
    assert got.ticker == "NOPE"
    assert str(got) == "NOPE: unknown ticker: Yahoo has no such symbol (or it is delisted)"
    assert sleeps == []


def test_404_for_a_known_symbol(fake_yahoo: FakeYahoo, yahoo_session: FakeYahooSession) -> None:
    fake_yahoo.add("ABC", prices()).fail("ABC", 404)
    got = fetch(yahoo_session)
    assert isinstance(got, SourceError) and "unknown ticker" in str(got)


def test_429_then_success(fake_yahoo: FakeYahoo, yahoo_session: FakeYahooSession) -> None:
    # yfinance retries a 4xx once itself (other cookie strategy): 2 x 429 = one failed attempt
    fake_yahoo.add("ABC", prices()).fail("ABC", 429, times=2)
    sleeps: list[float] = []
    cfg = DataConfig(retries=3, backoff=0.25, timeout=2.0)
    got = fetch(yahoo_session, cfg=cfg, sleeps=sleeps)
    assert isinstance(got, Loaded), got
    assert sleeps == [0.25]


def test_429_backoff_doubles_and_gives_up(
    fake_yahoo: FakeYahoo, yahoo_session: FakeYahooSession
) -> None:
    fake_yahoo.add("ABC", prices()).fail("ABC", 429)
    sleeps: list[float] = []
    cfg = DataConfig(retries=3, backoff=0.5, timeout=2.0)
    got = fetch(yahoo_session, cfg=cfg, sleeps=sleeps)
    assert isinstance(got, SourceError)
    assert str(got) == "ABC: rate limited by Yahoo (HTTP 429) (after 4 attempts)"
    assert sleeps == [0.5, 1.0, 2.0]


def test_429_retry_after_is_honoured_within_bounds(
    fake_yahoo: FakeYahoo, yahoo_session: FakeYahooSession
) -> None:
    fake_yahoo.add("ABC", prices()).fail("ABC", 429, times=2, retry_after=7)
    fake_yahoo.fail("ABC", 429, times=2, retry_after=3600)
    sleeps: list[float] = []
    got = fetch(yahoo_session, cfg=DataConfig(retries=2, backoff=0.1), sleeps=sleeps)
    assert isinstance(got, Loaded), got
    assert sleeps == [7.0, yahoo.MAX_DELAY]


def test_500_is_retried_then_reported(
    fake_yahoo: FakeYahoo, yahoo_session: FakeYahooSession
) -> None:
    fake_yahoo.add("ABC", prices()).fail("ABC", 500)
    sleeps: list[float] = []
    got = fetch(yahoo_session, sleeps=sleeps)
    assert isinstance(got, SourceError)
    assert str(got) == "ABC: Yahoo server error (HTTP 500) (after 3 attempts)"
    assert len(sleeps) == 2


def test_500_once_then_success(fake_yahoo: FakeYahoo, yahoo_session: FakeYahooSession) -> None:
    fake_yahoo.add("ABC", prices()).fail("ABC", 503, times=1, history_only=True)
    got = fetch(yahoo_session)
    assert isinstance(got, Loaded), got
    assert len(fake_yahoo.chart_requests("ABC", history_only=True)) == 2


def test_truncated_json(fake_yahoo: FakeYahoo, yahoo_session: FakeYahooSession) -> None:
    fake_yahoo.add("ABC", prices()).truncate("ABC")
    got = fetch(yahoo_session)
    assert isinstance(got, SourceError)
    assert (
        str(got) == "ABC: unreadable answer from Yahoo (truncated or not JSON) (after 3 attempts)"
    )


def test_truncated_once_then_success(
    fake_yahoo: FakeYahoo, yahoo_session: FakeYahooSession
) -> None:
    fake_yahoo.add("ABC", prices()).truncate("ABC", times=1, history_only=True)
    assert isinstance(fetch(yahoo_session), Loaded)


def test_timeout(fake_yahoo: FakeYahoo, yahoo_session: FakeYahooSession) -> None:
    fake_yahoo.add("ABC", prices()).delay("ABC", 5.0)
    cfg = DataConfig(retries=1, backoff=0.0, timeout=0.2)
    t0 = time.monotonic()
    got = fetch(yahoo_session, cfg=cfg)
    assert time.monotonic() - t0 < 3.0
    assert isinstance(got, SourceError)
    assert str(got) == "ABC: no answer from Yahoo within 0.2s (timeout) (after 2 attempts)"


def test_connection_reset_is_retried(
    fake_yahoo: FakeYahoo, yahoo_session: FakeYahooSession
) -> None:
    fake_yahoo.add("ABC", prices()).reset("ABC", times=1, history_only=True)
    assert isinstance(fetch(yahoo_session), Loaded)
    fake_yahoo.reset("ABC")
    got = fetch(yahoo_session)
    assert isinstance(got, SourceError) and "network error talking to Yahoo" in str(got)


def test_schema_change_fails_without_retry(
    fake_yahoo: FakeYahoo, yahoo_session: FakeYahooSession
) -> None:
    fake_yahoo.add("ABC", prices()).schema_change("ABC")
    sleeps: list[float] = []
    got = fetch(yahoo_session, sleeps=sleeps)
    assert isinstance(got, SourceError)
    assert "unexpected answer format from Yahoo" in str(got)
    assert sleeps == []


def test_empty_history_is_an_error_not_a_gap(
    fake_yahoo: FakeYahoo, yahoo_session: FakeYahooSession
) -> None:
    fake_yahoo.add("ABC", prices()).empty("ABC", history_only=True)
    got = fetch(yahoo_session)
    assert isinstance(got, SourceError)
    assert str(got).startswith("ABC: Yahoo returned no prices")


def test_rate_limited_crumb_is_not_fatal(
    fake_yahoo: FakeYahoo, yahoo_session: FakeYahooSession
) -> None:
    fake_yahoo.add("ABC", prices()).script_path("/v1/test/getcrumb", fakeyahoo.status(429), None)
    assert isinstance(fetch(yahoo_session), Loaded)
    assert any(r.path == "/v1/test/getcrumb" for r in fake_yahoo.requests)


def test_one_bad_ticker_does_not_hide_the_others(
    fake_yahoo: FakeYahoo, yahoo_session: FakeYahooSession
) -> None:
    fake_yahoo.add("ABC", prices()).add("DEF", prices(seed=1)).fail("DEF", 500)
    got = load_source(
        "yahoo", ["ABC", "DEF", "GHI"], START, END, CFG, session=yahoo_session, sleep=lambda s: None
    )
    assert isinstance(got["ABC"], Loaded)
    assert isinstance(got["DEF"], SourceError) and "HTTP 500" in str(got["DEF"])
    assert isinstance(got["GHI"], SourceError) and "unknown ticker" in str(got["GHI"])


def test_bad_bars_from_yahoo_fail_validation(
    fake_yahoo: FakeYahoo, yahoo_session: FakeYahooSession
) -> None:
    bad = prices(10)
    bad.loc[4, "high"] = bad.loc[4, "low"] / 2
    fake_yahoo.add("ABC", bad)
    got = fetch(yahoo_session)
    assert isinstance(got, SourceError.__mro__[1])  # DataError
    assert "ABC: 1 problem in Yahoo: bar 5 2024-01-08: high" in str(got)


def test_missing_close_column_is_a_source_error() -> None:
    hist = pd.DataFrame({"Open": [1.0]}, index=pd.DatetimeIndex(["2024-01-02"]))
    with pytest.raises(SourceError, match="ABC: Yahoo's answer has no Close column"):
        yahoo._to_frame(hist, "ABC", None, None)
    with pytest.raises(SourceError, match="ABC: Yahoo returned no prices"):
        yahoo._to_frame(pd.DataFrame(), "ABC", None, None)


def test_backoff_delay_bounds() -> None:
    assert [yahoo.backoff_delay(a, 1.0) for a in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert yahoo.backoff_delay(10, 1.0) == yahoo.MAX_DELAY
    assert yahoo.backoff_delay(1, 0.0, retry_after=5) == 5
    assert yahoo.backoff_delay(1, 0.0, retry_after=1e9) == yahoo.MAX_DELAY


def test_retry_after_header_forms() -> None:
    assert yahoo._parse_retry_after("12") == 12.0
    assert yahoo._parse_retry_after("-3") == 0.0
    assert yahoo._parse_retry_after("soon") is None
    assert yahoo._parse_retry_after(None) is None
    when = email.utils.format_datetime(
        dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30), usegmt=True
    )
    assert 25 <= yahoo._parse_retry_after(when) <= 31


def test_exhausted_retries_are_unavailable_not_bad_input():
    from stackcast.pipeline.cli.app import exit_code_for
    from stackcast.pipeline.errors import SourceUnavailable

    err = SourceUnavailable("SPY", "HTTP 500 (after 4 attempts)")
    assert isinstance(err, SourceError)
    assert exit_code_for(err) == 1
    assert exit_code_for(SourceError("SPY", "unknown ticker")) == 2
