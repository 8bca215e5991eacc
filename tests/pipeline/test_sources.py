from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from stackcast.pipeline.config import DataConfig, parse_config
from stackcast.pipeline.data.dates import parse_dates
from stackcast.pipeline.data.pricefile import PriceFileError, PriceTable, ReadRules, read_price_file
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
from stackcast.pipeline.data.textfile import _sniff, _split_fast, _split_slow, decode
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
    from stackcast.pipeline.data.filecheck import load_price_file

    assert list(load_price_file(path, tickers=["BBB", "CCC"])) == ["BBB"]  # only those asked
    assert list(load_price_file(path)) == ["AAA", "BBB"]


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


# ---------------------------------------------------------------- how a file is read


def _read(tmp_path: Path, text: str | bytes, name: str = "p.csv", **rules: str) -> PriceTable:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return read_price_file(path, ReadRules(**rules))


def test_both_splitters_read_every_corpus_file_alike() -> None:
    for path in sorted((REPO / "tests" / "data" / "formats").glob("*.csv")):
        text, _ = decode(path.read_bytes(), path.name)
        text = text.replace("\r\n", "\n")
        sep = _sniff(text, path.name)
        fast = _split_fast(text, sep)
        assert fast is not None, path.name
        header, rows = _split_slow(text, sep, path.name)
        assert fast[0] == header, path.name
        assert fast[1].astype(str).equals(rows.astype(str)), path.name


def test_line_numbers_count_blank_lines_and_quoted_line_breaks(tmp_path: Path) -> None:
    path = tmp_path / "ABC.csv"
    path.write_text('\ndate,note,close\n2024-01-02,"two\nlines",1\n\n2024-01-03,x,-2\n')
    with pytest.raises(DataError, match=r"line 6 2024-01-03: close is not a positive"):
        load_source(path, ["ABC"])


def test_a_row_wider_than_the_header_is_refused_not_cut(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"p\.csv: line 3 has 3 fields, the header 2"):
        _read(tmp_path, "date,close\n2024-01-02,1\n2024-01-03,2,7\n")


def test_utf16_without_a_byte_order_mark(tmp_path: Path) -> None:
    table = _read(tmp_path, "date,close\n2024-01-02,1.5\n".encode("utf-16-le"), "ABC.csv")
    assert list(table.frame["close"]) == [1.5]
    assert table.reading.facts["format"].startswith("CSV, UTF-16")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("date;close\n2024-01-02;100,5\n2024-01-03;100.5\n", "mix decimal marks"),
        ("date;close\n2024-01-02;20,402\n", "--decimal"),
        ("<TICKER>,<PER>,<DATE>,<CLOSE>\nX,5,20240102,1\n", "period '5'"),
        ("date,ticker,close\n2024-01-02,,1\n", "line 2 has no ticker"),
        ("date,ticker,close\n2024-01-02,A/B,1\n", "line 2: invalid ticker"),
        ("day,close\n2024-01-02,1\n", "missing column(s) date"),
        ("date,close\nnot a date,1\n", "fits none of the common formats"),
    ],
)
def test_whole_file_problems_name_the_file(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(PriceFileError) as info:
        _read(tmp_path, text)
    assert str(info.value).startswith("p.csv: ") and words in str(info.value)


def test_a_number_with_the_wrong_mark_is_not_a_number(tmp_path: Path) -> None:
    path = tmp_path / "ABC.csv"
    path.write_text("date;close;volume\n02.01.2024;100,5;1.200\n03.01.2024;10.5;900\n")
    with pytest.raises(DataError, match=r"line 3 2024-01-03: close is not a number \('10\.5'\)"):
        load_source(path, ["ABC"], data_cfg=DataConfig(decimal=","))


def test_times_of_day_and_am_pm_keep_the_day(tmp_path: Path) -> None:
    text = "date,close\n01/02/2024 4:00 PM,1\n01/03/2024 4:00 PM,1.1\n01/16/2024 12:00 AM,1.2\n"
    table = _read(tmp_path, text)
    assert table.reading.dates.format == "%m/%d/%Y"
    days = parse_dates(table.frame["date"], "%m/%d/%Y")
    assert [str(d) for d in days] == [
        "2024-01-02 16:00:00",
        "2024-01-03 16:00:00",
        "2024-01-16 00:00:00",
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [("%Y", "must name a year"), ("%d/%m", "must name a year"), ("%d.%m.%Y %Q", "read back")],
)
def test_a_date_format_must_read_a_whole_date(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(f'[data]\ndate_format = "{value}"\n')
    assert DataConfig(date_format="iso8601").date_format == "%Y-%m-%d"
    assert DataConfig(sep="tab").sep == "\t"


def test_the_bundled_sample_ignores_the_reading_options() -> None:
    cfg = DataConfig(date_format="%d.%m.%Y", sep=";", decimal=",")
    assert len(load_frames("sample", ["GOOG"], data_cfg=cfg)["GOOG"]) == 1047


def test_threads_reading_one_file_together_read_it_once(tmp_path: Path, monkeypatch) -> None:
    """Ingest tasks of a file's tickers start together: one reads the file, the rest reuse it."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from stackcast.pipeline.data import filecheck

    path = tmp_path / "together.csv"
    path.write_text("date,ticker,close\n2024-01-02,AAA,1.0\n2024-01-03,AAA,1.1\n")
    reads = []
    start = threading.Barrier(4)

    def counted(*args, **kwargs):
        reads.append(1)
        return read_price_file(*args, **kwargs)

    monkeypatch.setattr(filecheck, "read_price_file", counted)

    def load(_: int) -> list[str]:
        start.wait()
        return list(filecheck.load_price_file(path))

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(load, range(4))) == [["AAA"]] * 4
    assert len(reads) == 1
