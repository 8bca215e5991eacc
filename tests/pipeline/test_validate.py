from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from stackcast.pipeline.config import DataConfig
from stackcast.pipeline.data.sources import Loaded, load_source
from stackcast.pipeline.data.validate import PriceValidationError, validate_prices
from stackcast.pipeline.errors import DataError

HEADER = "date,ticker,open,high,low,close,volume"
GOOD_ROWS = [
    "2024-01-02,ABC,10,11,9,10.5,1000",
    "2024-01-03,ABC,10.5,11,10,10.8,1200",
    "2024-01-04,ABC,10.8,11.2,10.1,11.0,900",
]


def write_csv(
    tmp_path: Path, rows: list[str], name: str = "prices.csv", header: str = HEADER
) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def load_error(
    path: Path, ticker: str = "ABC", cfg: DataConfig | None = None
) -> PriceValidationError:
    """A file with a bad row is refused as a whole: the error is raised, not returned."""
    with pytest.raises(PriceValidationError) as info:
        load_source(path, [ticker], data_cfg=cfg)
    return info.value


def load_ok(path: Path, ticker: str = "ABC", cfg: DataConfig | None = None) -> Loaded:
    got = load_source(path, [ticker], data_cfg=cfg)[ticker]
    assert isinstance(got, Loaded), got
    return got


def test_good_file_gives_canonical_price_frame(tmp_path: Path) -> None:
    # unsorted on purpose: sorting is silent
    rows = [GOOD_ROWS[2], GOOD_ROWS[0], GOOD_ROWS[1]]
    got = load_ok(write_csv(tmp_path, rows))
    df = got.frame
    assert list(df.columns) == ["date", "ticker", "open", "high", "low", "close", "volume"]
    assert df["date"].dtype == "datetime64[ns]"
    assert df["date"].is_monotonic_increasing
    assert list(df["date"].dt.strftime("%Y-%m-%d")) == ["2024-01-02", "2024-01-03", "2024-01-04"]
    assert (df["date"] == df["date"].dt.normalize()).all()
    assert df["date"].dt.tz is None
    for col in ("open", "high", "low", "close", "volume"):
        assert df[col].dtype == np.float64
    assert (df["ticker"] == "ABC").all()
    assert list(df.index) == [0, 1, 2]
    assert got.warnings == ()


def test_close_only_file_has_no_optional_columns(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path, ["2024-01-02,1.5", "2024-01-03,1.6"], name="XYZ.csv", header="Date,Close"
    )
    df = load_ok(path, "XYZ").frame
    assert list(df.columns) == ["date", "ticker", "close"]


def test_unparseable_date_names_line_and_value(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [GOOD_ROWS[0], "not-a-date,ABC,10,11,9,10.5,1000", GOOD_ROWS[2]])
    err = load_error(path)
    assert str(err) == "ABC: 1 problem in prices.csv: line 3: unparseable date 'not-a-date'"
    assert err.problems[0].row == 3


def test_duplicate_dates_are_an_error_naming_both_lines(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [GOOD_ROWS[0], GOOD_ROWS[1], "2024-01-02,ABC,10,11,9,10.6,1000"])
    err = load_error(path)
    assert "line 4 2024-01-02: duplicate date (also line 2)" in str(err)


@pytest.mark.parametrize(
    ("close", "expected"),
    [
        ("0", "close is not a positive finite price (0)"),
        ("-3.5", "close is not a positive finite price (-3.5)"),
        ("", "close is not a positive finite price (nan)"),
        ("inf", "close is not a positive finite price (inf)"),
        ("abc", "close is not a number ('abc')"),
    ],
)
def test_bad_close_values(tmp_path: Path, close: str, expected: str) -> None:
    path = write_csv(tmp_path, [GOOD_ROWS[0], f"2024-01-03,ABC,10.5,11,10,{close},1200"])
    err = load_error(path)
    assert f"line 3 2024-01-03: {expected}" in str(err)


def test_bad_open_and_negative_volume(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [GOOD_ROWS[0], "2024-01-03,ABC,-1,11,10,10.8,-5"])
    err = load_error(path)
    messages = [p.message for p in err.problems]
    assert "open is not a positive finite price (-1)" in messages
    assert "volume is not a finite non-negative number (-5)" in messages
    assert all(p.row == 3 and p.date == "2024-01-03" for p in err.problems)


def test_high_below_low(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [GOOD_ROWS[0], "2024-01-03,ABC,10.5,9,10,10.8,1200"])
    err = load_error(path)
    assert "line 3 2024-01-03: high 9 < low 10" in str(err)


def test_absurd_jump_warns_by_default(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [GOOD_ROWS[0], "2024-01-03,ABC,30,31,29,30,1200"])
    got = load_ok(path)
    assert len(got.frame) == 2
    assert len(got.warnings) == 1
    assert got.warnings[0].startswith("ABC line 3 2024-01-03: one-day move of +186%")
    assert "max_jump 0.75" in got.warnings[0]


def test_absurd_jump_is_an_error_when_configured(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [GOOD_ROWS[0], "2024-01-03,ABC,3,3,3,3,1200"])
    err = load_error(path, cfg=DataConfig(on_jump="error", max_jump=0.5))
    assert "line 3 2024-01-03: one-day move of -71%" in str(err)


def test_missing_required_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ["2024-01-02,ABC,10"], header="date,ticker,open")
    with pytest.raises(DataError) as info:
        load_source(path, ["ABC"])
    assert str(info.value) == "prices.csv: missing column(s) close (columns: date, ticker, open)"
    with pytest.raises(PriceValidationError, match="ABC: missing column"):
        validate_prices(pd.DataFrame({"date": ["2024-01-02"]}), "ABC")


def test_summary_lists_first_three_and_counts_the_rest(tmp_path: Path) -> None:
    rows = [f"2024-02-{d:02d},ABC,1,1,1,-1,1" for d in range(1, 8)]
    err = load_error(write_csv(tmp_path, rows))
    text = str(err)
    assert text.startswith("ABC: 7 problems in prices.csv: line 2 2024-02-01:")
    assert "line 4 2024-02-03" in text and "line 5" not in text
    assert text.endswith("; and 4 more")
    assert "\n" not in text
    assert len(err.problems) == 7


def test_line_numbers_survive_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "prices.csv"
    path.write_text(f"{HEADER}\n{GOOD_ROWS[0]}\n\n{GOOD_ROWS[1]}\n2024-01-05,ABC,1,1,1,0,1\n")
    err = load_error(path)
    assert err.problems[0].row == 5


def test_empty_optional_column_is_dropped_with_a_warning(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path, ["2024-01-02,ABC,,10", "2024-01-03,ABC,,11"], header="date,ticker,volume,close"
    )
    got = load_ok(path)
    assert "volume" not in got.frame.columns
    assert got.warnings == ("ABC: column 'volume' has no values; ignored",)


def test_dates_with_times_and_offsets_keep_the_local_day(tmp_path: Path) -> None:
    rows = [
        "2024-03-08 00:00:00-05:00,ABC,1",
        "2024-03-11 00:00:00-04:00,ABC,1.1",  # after the DST change: mixed offsets
        "2024-03-12T09:30:00+09:00,ABC,1.2",
    ]
    df = load_ok(write_csv(tmp_path, rows, header="date,ticker,close")).frame
    assert list(df["date"].dt.strftime("%Y-%m-%d")) == ["2024-03-08", "2024-03-11", "2024-03-12"]
    assert (df["date"].dt.hour == 0).all()


def test_ambiguous_day_month_dates_are_refused_until_a_format_is_given(tmp_path: Path) -> None:
    rows = ["01/02/2024,ABC,1", "01/03/2024,ABC,1.1"]
    path = write_csv(tmp_path, rows, header="date,ticker,close")
    with pytest.raises(DataError) as info:
        load_source(path, ["ABC"])
    text = str(info.value)
    assert text.startswith("prices.csv: the dates fit 2 formats (%d/%m/%Y, %m/%d/%Y)")
    assert "--date-format" in text and "[data] date_format" in text
    df = load_ok(path, cfg=DataConfig(date_format="%m/%d/%Y")).frame
    assert list(df["date"].dt.strftime("%Y-%m-%d")) == ["2024-01-02", "2024-01-03"]


def test_one_format_reads_the_whole_column(tmp_path: Path) -> None:
    # 01.09.2004 is 1 September because 19.08.2004 is day-first: never guessed per row
    rows = ["19.08.2004,ABC,100.34", "20.08.2004,ABC,108.31", "01.09.2004,ABC,100.25"]
    df = load_ok(write_csv(tmp_path, rows, header="date,ticker,close")).frame
    assert list(df["date"].dt.strftime("%Y-%m-%d")) == ["2004-08-19", "2004-08-20", "2004-09-01"]
    assert list(df["close"]) == [100.34, 108.31, 100.25]


def test_mixed_date_formats_are_refused(tmp_path: Path) -> None:
    rows = ["2004-08-19,ABC,100.34", "20.08.2004,ABC,108.31", "23.08.2004,ABC,109.4"]
    with pytest.raises(DataError, match=r"prices\.csv: the dates mix formats"):
        load_source(write_csv(tmp_path, rows, header="date,ticker,close"), ["ABC"])


def test_frames_get_one_format_per_column_too() -> None:
    raw = pd.DataFrame({"date": ["03/04/2024", "04/04/2024"], "close": [1.0, 1.1]}, index=[1, 2])
    with pytest.raises(PriceValidationError, match="the dates fit 2 formats"):
        validate_prices(raw, "ABC")
    df, _ = validate_prices(raw, "ABC", date_format="%d/%m/%Y")
    assert list(df["date"].dt.strftime("%Y-%m-%d")) == ["2024-04-03", "2024-04-04"]


def test_same_day_twice_with_different_times_is_intraday(tmp_path: Path) -> None:
    rows = ["2024-01-02 10:00,ABC,1", "2024-01-02 16:00,ABC,1.1"]
    err = load_error(write_csv(tmp_path, rows, header="date,ticker,close"))
    assert "line 3 2024-01-02: second bar on the same day (also line 2): intraday" in str(err)


def test_validate_prices_directly_with_datetimes_and_tz() -> None:
    idx = pd.date_range("2024-01-01", periods=3, freq="D", tz="America/New_York")
    raw = pd.DataFrame({"date": idx, "close": [1.0, 1.1, 1.2]}, index=[1, 2, 3])
    df, warnings = validate_prices(raw, "ABC")
    assert df["date"].dt.tz is None
    assert str(df["date"].iloc[0].date()) == "2024-01-01"
    assert warnings == []


def test_empty_frame_is_an_error() -> None:
    with pytest.raises(DataError, match="ABC: no price rows"):
        validate_prices(pd.DataFrame({"date": [], "close": []}), "ABC")


def test_out_of_range_date() -> None:
    raw = pd.DataFrame({"date": ["1700-01-01", "2024-01-02"], "close": [1.0, 1.0]}, index=[7, 8])
    with pytest.raises(
        PriceValidationError, match=r"ABC: 1 problem: row 7: date 1700-01-01 out of range"
    ):
        validate_prices(raw, "ABC")
