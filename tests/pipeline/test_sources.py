from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from stackcast.pipeline.data.sources import (
    SAMPLE_DIR,
    Loaded,
    Source,
    load_frames,
    load_source,
    parse_source,
    sample_tickers,
    source_tickers,
)
from stackcast.pipeline.errors import ConfigError, DataError, SourceError

REPO = Path(__file__).resolve().parents[2]


def test_sample_dir_is_the_repos() -> None:
    assert SAMPLE_DIR == REPO / "data" / "sample"
    assert sample_tickers() == ["GOOG", "MSFT"]


def test_sample_msft_loads_all_rows() -> None:
    got = load_source("sample", ["msft"])
    assert list(got) == ["MSFT"]
    loaded = got["MSFT"]
    assert isinstance(loaded, Loaded)
    df = loaded.frame
    assert len(df) == 7983
    assert df["date"].iloc[0] == pd.Timestamp("1986-03-13")
    assert df["date"].is_unique and df["date"].is_monotonic_increasing
    raw = pd.read_csv(SAMPLE_DIR / "MSFT.csv")
    assert df["close"].to_numpy() == pytest.approx(raw["close"].to_numpy(), rel=0, abs=0)


def test_unknown_sample_ticker_names_what_is_available() -> None:
    got = load_source("sample", ["MSFT", "NOPE"])
    assert isinstance(got["MSFT"], Loaded)
    err = got["NOPE"]
    assert isinstance(err, SourceError)
    assert err.ticker == "NOPE"
    assert str(err) == "NOPE: not in the bundled sample (available: GOOG, MSFT)"


def test_start_end_clip_inclusive() -> None:
    df = load_source("sample", ["GOOG"], dt.date(2005, 1, 3), dt.date(2005, 1, 7))["GOOG"].frame
    assert list(df["date"].dt.strftime("%Y-%m-%d")) == [
        "2005-01-03",
        "2005-01-04",
        "2005-01-05",
        "2005-01-06",
        "2005-01-07",
    ]


def test_range_without_rows_is_a_source_error() -> None:
    err = load_source("sample", ["GOOG"], dt.date(2010, 1, 1))["GOOG"]
    assert isinstance(err, SourceError)
    assert "no prices between 2010-01-01 and the end" in str(err)


def test_start_after_end_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="after end"):
        load_source("sample", ["GOOG"], dt.date(2010, 1, 2), dt.date(2010, 1, 1))


def test_bad_ticker_symbol_is_refused() -> None:
    with pytest.raises(ConfigError, match="invalid ticker"):
        load_source("sample", ["../x"])


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("nasdaq", "unknown source 'nasdaq'"),
        ("prices.xlsx", "unknown source 'prices.xlsx'"),
        ("missing.csv", "source file not found"),
    ],
)
def test_parse_source_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prices.xlsx").write_text("x")
    with pytest.raises(ConfigError, match=message):
        parse_source(source)


def test_parse_source_kinds(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("date,close\n")
    assert parse_source("Yahoo") == Source("yahoo")
    assert parse_source("sample") == Source("sample")
    assert parse_source(str(f)) == Source("file", f.resolve())
    assert not Source("yahoo").listable and Source("sample").listable


def test_long_csv_with_several_tickers_and_any_case_columns(tmp_path: Path) -> None:
    path = tmp_path / "many.csv"
    path.write_text(
        "DATE,Symbol,Close,Volume\n"
        "2024-01-02,aaa,1.0,10\n2024-01-02,BBB,2.0,20\n2024-01-03,aaa,1.1,11\n2024-01-03,BBB,2.1,21\n"
    )
    assert source_tickers(path) == ["AAA", "BBB"]
    frames = load_frames(path, ["AAA", "BBB"])
    assert list(frames["AAA"]["close"]) == [1.0, 1.1]
    assert list(frames["BBB"].columns) == ["date", "ticker", "close", "volume"]
    err = load_source(path, ["CCC"])["CCC"]
    assert isinstance(err, SourceError)
    assert str(err) == "CCC: not in many.csv (available: AAA, BBB)"


def test_file_without_ticker_column_is_named_after_its_stem(tmp_path: Path) -> None:
    path = tmp_path / "spy.csv"
    path.write_text("date,close\n2024-01-02,470.0\n2024-01-03,468.0\n")
    assert source_tickers(path) == ["SPY"]
    assert list(load_frames(path, ["SPY"])["SPY"]["ticker"]) == ["SPY", "SPY"]
    assert isinstance(load_source(path, ["QQQ"])["QQQ"], SourceError)


def test_file_stem_must_be_a_valid_ticker(tmp_path: Path) -> None:
    path = tmp_path / "my prices.csv"
    path.write_text("date,close\n2024-01-02,470.0\n")
    with pytest.raises(DataError, match="no 'ticker' column, and the file name 'my prices'"):
        load_source(path, ["SPY"])


def test_parquet_source_with_date_index(tmp_path: Path) -> None:
    path = tmp_path / "QQQ.parquet"
    idx = pd.DatetimeIndex(["2024-01-02", "2024-01-03"], name="Date")
    pd.DataFrame(
        {"Close": [400.0, 401.0], "High": [402.0, 403.0], "Low": [399.0, 398.0]}, index=idx
    ).to_parquet(path)
    df = load_frames(path, ["QQQ"])["QQQ"]
    assert list(df.columns) == ["date", "ticker", "high", "low", "close"]
    assert df["date"].dtype == "datetime64[ns]"


def test_parquet_problems_are_reported_by_row(tmp_path: Path) -> None:
    path = tmp_path / "QQQ.parquet"
    pd.DataFrame({"date": ["2024-01-02", "2024-01-03"], "close": [400.0, -1.0]}).to_parquet(path)
    with pytest.raises(
        DataError, match=r"row 2 2024-01-03: close is not a positive finite price \(-1\)"
    ):
        load_source(path, ["QQQ"])


def test_unreadable_files_are_data_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"this is not parquet")
    with pytest.raises(DataError, match=r"bad\.parquet: cannot read prices"):
        load_source(bad, ["BAD"])
    dup = tmp_path / "dup.csv"
    dup.write_text("date,Close,close\n2024-01-02,1,1\n")
    with pytest.raises(DataError, match="duplicate column"):
        load_source(dup, ["DUP"])


def test_yahoo_cannot_list_tickers() -> None:
    with pytest.raises(ConfigError, match="give --tickers"):
        source_tickers("yahoo")


def test_load_frames_raises_the_first_error() -> None:
    with pytest.raises(SourceError, match="NOPE"):
        load_frames("sample", ["GOOG", "NOPE"])
