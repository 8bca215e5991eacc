from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from stackcast.pipeline.config import RunConfig, load_config, parse_config
from stackcast.pipeline.data.ingest import IngestResult, ingest
from stackcast.pipeline.data.store import PriceStore
from stackcast.pipeline.errors import ConfigError, DataError, SourceError

from tests import fakeyahoo
from tests.conftest import sessions
from tests.fakeyahoo import FakeYahoo, FakeYahooSession

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:yfinance")

yf_reset = fakeyahoo.yf_reset
fake_yahoo = fakeyahoo.fake_yahoo
yahoo_session = fakeyahoo.yahoo_session

YAHOO = parse_config(
    """
    [data]
    source = "yahoo"
    tickers = ["ABC"]
    start = 2024-01-01
    end = 2024-06-28
    retries = 1
    backoff = 0.0
    timeout = 2.0
    overlap = 5
    """
)


def prices(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    return pd.DataFrame(
        {
            "date": sessions("2024-01-02", periods=n),
            "open": close,
            "high": close * 1.01,
            "low": close * 0.99,
            "close": close,
            "volume": 1000.0,
        }
    )


def test_sample_ingest_then_nothing_new(home: Path) -> None:
    cfg = load_config()
    first = ingest(cfg, tickers="MSFT", source="sample")
    assert [(r.ticker, r.status, r.rows_added, r.action) for r in first] == [
        ("MSFT", "ok", 7983, "created")
    ]
    assert first[0].first == dt.date(1986, 3, 13)
    assert first[0].rows == 7983
    assert len(pd.read_parquet(home / "prices" / "MSFT.parquet")) == 7983
    again = ingest(cfg, tickers=["MSFT"], source="sample")
    assert (again[0].rows_added, again[0].action, again[0].rows) == (0, "unchanged", 7983)


def test_sample_source_without_tickers_takes_all_of_them() -> None:
    results = ingest(load_config(), source="sample")  # default config names Yahoo tickers
    assert [r.ticker for r in results] == ["GOOG", "MSFT"]
    assert all(r.ok for r in results)


def test_config_dates_apply_only_to_the_configs_own_source() -> None:
    cfg = parse_config('[data]\nsource = "sample"\ntickers = ["GOOG"]\nstart = 2006-01-01\n')
    (r,) = ingest(cfg)
    assert r.first == dt.date(2006, 1, 3)
    (r,) = ingest(cfg, start="2004-01-01", end="2004-12-31")
    assert (r.first, r.last, r.action) == (dt.date(2004, 8, 19), dt.date(2004, 12, 31), "replaced")


def test_one_bad_ticker_does_not_stop_the_others() -> None:
    results = ingest(load_config(), tickers="NOPE,GOOG", source="sample")
    bad, good = results
    assert (bad.ticker, bad.status, bad.action) == ("NOPE", "error", "failed")
    assert bad.message == "not in the bundled sample (available: GOOG, MSFT)"
    assert isinstance(bad.error, SourceError) and bad.user_error
    assert good.ok and good.rows_added == 1047


def test_a_bad_row_keeps_the_whole_file_out_of_the_store(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text("date,ticker,close\n2024-01-02,AAA,1\n2024-01-03,AAA,-1\n2024-01-02,BBB,2\n")
    for tickers in (None, "BBB"):  # even when only the good ticker is asked for
        with pytest.raises(DataError) as info:
            ingest(RunConfig(), tickers=tickers, source=str(path))
        assert str(info.value) == (
            "AAA: 1 problem in prices.csv: line 3 2024-01-03: close is not a positive finite "
            "price (-1) (1 other ticker(s) in prices.csv not stored either: a file is stored "
            "whole or not at all)"
        )
    assert not (home / "prices").exists()


def test_validation_warnings_reach_the_result(tmp_path: Path) -> None:
    path = tmp_path / "JMP.csv"
    path.write_text("date,close\n2024-01-02,1\n2024-01-03,5\n")
    (r,) = ingest(RunConfig(), source=str(path))
    assert r.ok and len(r.warnings) == 1 and "one-day move of +400%" in r.warnings[0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": "2024-13-01"}, "--start: invalid date '2024-13-01'"),
        ({"end": "tomorrow"}, "--end: invalid date 'tomorrow'"),
        ({"start": "2024-02-01", "end": "2024-01-01"}, "start 2024-02-01 is after end 2024-01-01"),
        ({"tickers": "../x"}, "invalid ticker '../x'"),
        ({"tickers": " , "}, "no tickers given"),
        ({"source": "ftp"}, "unknown source 'ftp'"),
    ],
)
def test_bad_arguments_fail_before_anything_runs(home: Path, kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ingest(load_config(), **({"source": "sample"} | kwargs))
    assert not (home / "prices").exists()


def test_unexpected_errors_are_results_too(monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(self, ticker, frame, *, meta=None):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(PriceStore, "write", disk_full)
    (r,) = ingest(load_config(), tickers="GOOG", source="sample")
    assert r.status == "error" and not r.user_error
    assert r.message.startswith("unexpected OSError")


def test_progress_callback_sees_each_result() -> None:
    seen: list[IngestResult] = []
    ingest(load_config(), tickers="GOOG,MSFT", source="sample", progress=seen.append)
    assert [r.ticker for r in seen] == ["GOOG", "MSFT"]


# ---------------------------------------------------------------- Yahoo, through the fake


def test_yahoo_incremental_update_appends_only_new_rows(
    home: Path, fake_yahoo: FakeYahoo, yahoo_session: FakeYahooSession
) -> None:
    full = prices(80)
    fake_yahoo.add("ABC", full.iloc[:60])
    (r,) = ingest(YAHOO, session=yahoo_session)
    assert (r.status, r.action, r.rows_added, r.rows) == ("ok", "created", 60, 60), r.message

    fake_yahoo.add("ABC", full)  # 20 new bars
    fake_yahoo.requests.clear()
    (r,) = ingest(YAHOO, session=yahoo_session)
    assert (r.action, r.rows_added, r.rows) == ("appended", 20, 80)
    (req,) = fake_yahoo.chart_requests("ABC", history_only=True)
    asked_from = pd.Timestamp(int(req.query["period1"]), unit="s", tz="UTC").tz_convert(
        "America/New_York"
    )
    assert asked_from.date() == full["date"].iloc[55].date()  # last stored bar - 5 bars

    (r,) = ingest(YAHOO, session=yahoo_session)
    assert (r.action, r.rows_added, r.rows) == ("unchanged", 0, 80)
    stored = PriceStore(home).read("ABC")
    np.testing.assert_allclose(stored["close"], full["close"])


def test_yahoo_restatement_refetches_the_whole_ticker(
    home: Path, fake_yahoo: FakeYahoo, yahoo_session: FakeYahooSession
) -> None:
    full = prices(70)
    fake_yahoo.add("ABC", full.iloc[:65])
    ingest(YAHOO, session=yahoo_session)
    adjusted = full.assign(close=full["close"] * 0.98)  # a dividend re-adjusts all closes
    fake_yahoo.add("ABC", adjusted)
    fake_yahoo.requests.clear()
    (r,) = ingest(YAHOO, session=yahoo_session)
    assert (r.action, r.rows_added, r.rows) == ("replaced", 5, 70)
    assert "restatement" in r.message
    hist = fake_yahoo.chart_requests("ABC", history_only=True)
    assert len(hist) == 2  # the overlap, then everything from the configured start
    first = pd.Timestamp(int(hist[1].query["period1"]), unit="s", tz="UTC").tz_convert(
        "America/New_York"
    )
    assert first.date() == dt.date(2024, 1, 1)
    np.testing.assert_allclose(PriceStore(home).read("ABC")["close"], adjusted["close"])


def test_yahoo_failure_keeps_the_last_good_state(
    home: Path, fake_yahoo: FakeYahoo, yahoo_session: FakeYahooSession
) -> None:
    fake_yahoo.add("ABC", prices(40))
    ingest(YAHOO, session=yahoo_session)
    before = (home / "prices" / "ABC.parquet").read_bytes()
    fake_yahoo.add("ABC", prices(45)).fail("ABC", 500)
    (r,) = ingest(YAHOO, session=yahoo_session)
    assert r.status == "error" and not r.user_error  # unreachable after retries: exit 1
    assert r.message == "Yahoo server error (HTTP 500) (after 2 attempts)"
    assert (r.rows, r.last) == (40, prices(40)["date"].iloc[-1].date())  # what the store still has
    assert (home / "prices" / "ABC.parquet").read_bytes() == before
