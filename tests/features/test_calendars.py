from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.calendars import (
    ALWAYS_OPEN,
    DEFAULT_CALENDAR,
    OBSERVED,
    TradingCalendar,
    as_days,
    canonical_spec,
    trading_calendar,
)
from tests.conftest import SAMPLE

# exchange_calendars 4.13 calls Series.values on tz-aware columns when it builds a calendar;
# pandas 3.1 deprecates that (a DeprecationWarning, silent outside tests).
_PANDAS_DEPRECATION = "Series.values returning an ndarray that drops timezone"
pytestmark = pytest.mark.filterwarnings(f"ignore:{_PANDAS_DEPRECATION}:DeprecationWarning")

XNYS = trading_calendar("XNYS")
# All XNYS sessions of the MSFT sample's span and the forecast horizon past today.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", _PANDAS_DEPRECATION, DeprecationWarning)
    XNYS_ALL = XNYS.sessions("1986-01-01", "2027-12-31")


def days(*dates: str) -> np.ndarray:
    return np.array(dates, dtype="datetime64[D]")


def _sample_dates(ticker: str) -> np.ndarray:
    df = pd.read_csv(SAMPLE / f"{ticker}.csv", usecols=["date"])
    return as_days(df["date"])


# --- XNYS: real holidays and closures ----------------------------------------------------------


@pytest.mark.parametrize(
    ("holiday", "before", "after"),
    [
        ("2008-07-04", "2008-07-03", "2008-07-07"),  # Independence Day (Friday)
        ("2008-11-27", "2008-11-26", "2008-11-28"),  # Thanksgiving; the Friday is a half day
        ("2008-12-25", "2008-12-24", "2008-12-26"),  # Christmas
        ("2017-01-02", "2016-12-30", "2017-01-03"),  # New Year's Day (Sunday) observed Monday
    ],
)
def test_xnys_holidays_are_not_sessions(holiday: str, before: str, after: str) -> None:
    assert XNYS.is_session(days(holiday, before, after)).tolist() == [False, True, True]
    assert XNYS.add_sessions(before, 1) == np.datetime64(after)
    assert XNYS.next_sessions(before, 1).tolist() == days(after).tolist()


def test_add_sessions_across_new_year() -> None:
    assert XNYS.add_sessions("2016-12-29", 3) == np.datetime64("2017-01-04")
    assert XNYS.add_sessions("2017-01-04", -3) == np.datetime64("2016-12-29")
    assert XNYS.add_sessions("2019-12-31", 1) == np.datetime64("2020-01-02")  # decade edge


def test_september_11_and_hurricane_sandy_closures() -> None:
    assert (
        XNYS.sessions("2001-09-07", "2001-09-18").tolist()
        == days("2001-09-07", "2001-09-10", "2001-09-17", "2001-09-18").tolist()
    )
    assert not XNYS.is_session(days("2001-09-11", "2001-09-12", "2001-09-13", "2001-09-14")).any()
    assert XNYS.add_sessions("2001-09-10", 1) == np.datetime64("2001-09-17")
    assert (
        XNYS.non_sessions(pd.date_range("2012-10-26", "2012-10-31")).tolist()
        == days("2012-10-27", "2012-10-28", "2012-10-29", "2012-10-30").tolist()
    )
    assert XNYS.add_sessions("2012-10-26", 1) == np.datetime64("2012-10-31")


def test_xnys_session_counts_and_shape_of_the_grid() -> None:
    assert len(XNYS.sessions("2016-01-01", "2016-12-31")) == 252
    assert len(XNYS.sessions("2008-01-01", "2008-12-31")) == 253
    assert XNYS_ALL[0] == np.datetime64("1986-01-02")
    assert XNYS_ALL[-1] == np.datetime64("2027-12-31")
    assert (np.diff(XNYS_ALL) > np.timedelta64(0, "D")).all()
    assert np.is_busday(XNYS_ALL).all()
    # A narrower window (built separately) gives the same sessions.
    part = XNYS.sessions("2012-01-01", "2013-12-31")
    lo, hi = np.searchsorted(XNYS_ALL, [part[0], part[-1]])
    assert np.array_equal(part, XNYS_ALL[lo : hi + 1])
    # About nine weekday holidays a year, so far fewer sessions than business days.
    assert 8 * 42 < len(pd.bdate_range("1986-01-01", "2027-12-31")) - len(XNYS_ALL) < 11 * 42


def test_other_exchanges() -> None:
    xlon = trading_calendar("XLON")
    # 2020: the May bank holiday moved to Friday 8 May (VE day); Boxing Day substitute 28 Dec.
    # 2022: Platinum Jubilee 2-3 June and the Queen's funeral 19 September.
    assert xlon.is_session(
        days("2020-05-08", "2020-05-04", "2020-12-28", "2022-06-02", "2022-06-03", "2022-09-19")
    ).tolist() == [False, True, False, False, False, False]
    xtks = trading_calendar("XTKS")  # Tokyo closes 31 Dec .. 3 Jan
    assert xtks.next_sessions("2019-12-30", 1).tolist() == days("2020-01-06").tolist()


# --- the sample data -------------------------------------------------------------------------


@pytest.mark.parametrize("ticker", ["MSFT", "GOOG"])
def test_every_sample_bar_is_an_xnys_session(ticker: str) -> None:
    dates = _sample_dates(ticker)
    assert XNYS.non_sessions(dates).size == 0
    assert XNYS.is_session(dates).all()


def test_sample_gaps_on_xnys() -> None:
    # Sessions in each sample's span that have no bar: MSFT lacks two ordinary trading days.
    msft, goog = _sample_dates("MSFT"), _sample_dates("GOOG")
    grid = XNYS.sessions(msft[0], msft[-1])
    assert np.setdiff1d(grid, msft).tolist() == days("1998-10-29", "1999-11-16").tolist()
    assert np.array_equal(XNYS.sessions(goog[0], goog[-1]), goog)


# --- next_sessions ---------------------------------------------------------------------------


def test_next_sessions_across_year_ends_and_past_today() -> None:
    assert (
        XNYS.next_sessions("2017-12-28", 4).tolist()
        == days("2017-12-29", "2018-01-02", "2018-01-03", "2018-01-04").tolist()
    )
    # From a non-session (Saturday) and into the future: Christmas and New Year 2027 (Friday).
    assert (
        XNYS.next_sessions("2026-12-19", 9).tolist()
        == days(
            "2026-12-21",
            "2026-12-22",
            "2026-12-23",
            "2026-12-24",
            "2026-12-28",
            "2026-12-29",
            "2026-12-30",
            "2026-12-31",
            "2027-01-04",
        ).tolist()
    )
    assert XNYS.next_sessions("2017-11-10", 0).size == 0


@settings(max_examples=40, deadline=None)
@given(day=st.integers(0, len(XNYS_ALL) - 400), n=st.integers(1, 300))
def test_next_sessions_equals_the_grid(day: int, n: int) -> None:
    after = XNYS_ALL[day] + np.timedelta64(day % 3, "D")  # sessions and non-sessions
    i = np.searchsorted(XNYS_ALL, after, side="right")
    assert np.array_equal(XNYS.next_sessions(after, n), XNYS_ALL[i : i + n])


def test_next_sessions_rejects_negative_n_and_past_the_bounds() -> None:
    with pytest.raises(ValueError, match="n must be >= 0"):
        XNYS.next_sessions("2020-01-01", -1)
    cal = trading_calendar("XSHG")
    end = cal.bounds[1]
    with pytest.raises(ValueError, match=f"XSHG ends {end}"):
        cal.next_sessions(end - np.timedelta64(5, "D"), 10)


# --- add_sessions ----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    idx=st.lists(st.integers(40, len(XNYS_ALL) - 41), min_size=1, max_size=30),
    h=st.integers(-40, 40),
)
def test_add_sessions_vectorised_equals_loop(idx: list[int], h: int) -> None:
    dates = XNYS_ALL[idx]
    got = XNYS.add_sessions(dates, h)
    assert got.tolist() == [XNYS.add_sessions(d, h)[()] for d in dates]
    assert np.array_equal(got, XNYS_ALL[np.array(idx) + h])
    if h > 0:
        assert got.tolist() == [XNYS.next_sessions(d, h)[-1] for d in dates]
    assert np.array_equal(XNYS.add_sessions(got, -h), dates)


def test_add_sessions_broadcasts_h_and_keeps_shape() -> None:
    dates = XNYS.sessions("2016-12-27", "2016-12-30").reshape(2, 2)
    out = XNYS.add_sessions(dates[:, :1], np.arange(1, 4))
    assert out.shape == (2, 3)
    assert out[0].tolist() == days("2016-12-28", "2016-12-29", "2016-12-30").tolist()
    assert out[1].tolist() == days("2016-12-30", "2017-01-03", "2017-01-04").tolist()
    assert XNYS.add_sessions(days(), 5).shape == (0,)


def test_add_sessions_rejects_non_sessions_and_bad_h() -> None:
    with pytest.raises(ValueError, match=r"1 date\(s\) are not sessions of XNYS, e.g. 2008-07-04"):
        XNYS.add_sessions(days("2008-07-03", "2008-07-04"), 1)
    with pytest.raises(ValueError, match="integer"):
        XNYS.add_sessions("2008-07-03", 1.5)  # type: ignore[arg-type]


def test_bounds_of_a_bounded_exchange() -> None:
    xtks = trading_calendar("XTKS")
    assert xtks.bounds[0] == np.datetime64("1997-01-01")
    with pytest.raises(ValueError, match=r"XTKS covers 1997-01-01 \.\. .* asked for 1986-03-13"):
        xtks.sessions("1986-03-13", "2000-01-01")
    first = xtks.sessions("1997-01-01", "1997-01-31")[0]
    with pytest.raises(ValueError, match="outside"):
        xtks.add_sessions(first, -1)


# --- 24/7, 24/5 and observed -------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(start=st.integers(-20000, 20000), days=st.integers(0, 800), h=st.integers(-500, 500))
def test_always_open_counts_every_day(start: int, days: int, h: int) -> None:
    cal = trading_calendar(ALWAYS_OPEN)
    lo = np.datetime64("1970-01-01") + np.timedelta64(start, "D")
    hi = lo + np.timedelta64(days, "D")
    got = cal.sessions(lo, hi)
    assert len(got) == days + 1 and got[0] == lo and got[-1] == hi
    assert cal.is_session(got).all()
    assert cal.add_sessions(lo, h) == lo + np.timedelta64(h, "D")
    assert np.array_equal(cal.next_sessions(lo, 3), lo + np.arange(1, 4).astype("m8[D]"))


def test_always_open_leap_day() -> None:
    cal = trading_calendar("24/7")
    assert len(cal.sessions("2020-02-01", "2020-02-29")) == 29
    assert cal.add_sessions("2020-02-27", 3) == np.datetime64("2020-03-01")


def test_24_5_is_the_old_business_day_calendar() -> None:
    cal = trading_calendar("24/5")
    want = pd.bdate_range("1986-03-13", "2017-11-10").to_numpy().astype("datetime64[D]")
    assert np.array_equal(cal.sessions("1986-03-13", "2017-11-10"), want)


def test_observed_uses_exactly_the_given_dates() -> None:
    given_dates = ["2020-01-08", "2020-01-02", "2020-01-04", "2020-01-02"]  # a Saturday, a dup
    cal = trading_calendar(OBSERVED, observed_dates=given_dates)
    assert cal.observed is not None
    assert cal.observed.tolist() == days("2020-01-02", "2020-01-04", "2020-01-08").tolist()
    assert cal.sessions("2020-01-02", "2020-01-08").tolist() == cal.observed.tolist()
    assert cal.is_session(days("2020-01-03", "2020-01-04", "2020-01-06")).tolist() == [
        False,
        True,
        False,
    ]
    assert cal.add_sessions("2020-01-02", 2) == np.datetime64("2020-01-08")
    assert cal.add_sessions("2020-01-08", -1) == np.datetime64("2020-01-04")
    # Past the last delivered date it goes on with weekdays.
    assert (
        cal.next_sessions("2020-01-04", 3).tolist()
        == days("2020-01-08", "2020-01-09", "2020-01-10").tolist()
    )
    assert cal.add_sessions("2020-01-08", 3) == np.datetime64("2020-01-13")
    with pytest.raises(ValueError, match="covers 2020-01-02"):
        cal.is_session("2020-01-01")
    with pytest.raises(ValueError, match="outside"):
        cal.add_sessions("2020-01-02", -1)


def test_observed_sample_union_matches_xnys_within_the_span() -> None:
    both = np.union1d(_sample_dates("MSFT"), _sample_dates("GOOG"))
    cal = trading_calendar("observed", both)
    assert np.array_equal(cal.sessions("1986-03-13", "2017-11-10"), both)
    assert np.setdiff1d(XNYS.sessions(both[0], both[-1]), both).size == 2


def test_observed_needs_dates_and_others_ignore_them() -> None:
    with pytest.raises(ValueError, match="needs observed_dates"):
        trading_calendar("observed")
    with pytest.raises(ValueError, match="at least one"):
        trading_calendar("observed", days())
    assert trading_calendar("XNYS", observed_dates=days("2020-01-04")) == XNYS


# --- specs, errors and value semantics ---------------------------------------------------------


@pytest.mark.parametrize("spec", ["XNYZ", "nyse-ish", "", "B"])
def test_unknown_spec_error_message(spec: str) -> None:
    with pytest.raises(ValueError) as info:
        trading_calendar(spec)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"unknown calendar {spec!r}")
    for hint in ("XNYS", "XLON", "get_calendar_names()", "'24/7'", "'observed'"):
        assert hint in msg


def test_aliases_resolve_and_value_semantics() -> None:
    assert DEFAULT_CALENDAR == "XNYS"
    assert canonical_spec("NYSE") == canonical_spec("XNAS") == "XNYS"
    assert trading_calendar() == trading_calendar("NYSE") == XNYS
    assert hash(trading_calendar()) == hash(XNYS)
    assert str(XNYS) == "XNYS" and isinstance(XNYS, TradingCalendar)
    assert trading_calendar("observed", days("2020-01-02")) != trading_calendar("24/7")
    with pytest.raises(AttributeError):
        XNYS.spec = "XLON"  # type: ignore[misc]


def test_results_are_fresh_writable_arrays() -> None:
    a = XNYS.sessions("2020-01-01", "2020-01-31")
    a[:] = np.datetime64("1999-01-01")
    assert XNYS.sessions("2020-01-01", "2020-01-31")[0] == np.datetime64("2020-01-02")
    assert XNYS.next_sessions("2020-01-01", 2).flags.writeable


def test_date_inputs() -> None:
    stamps = pd.Series(pd.to_datetime(["2008-07-03 15:30", "2008-07-04 09:00"]))
    assert XNYS.is_session(stamps).tolist() == [True, False]
    aware = pd.DatetimeIndex(["2008-07-04 23:30"], tz="America/New_York")  # 07-05 in UTC
    assert as_days(aware).tolist() == days("2008-07-04").tolist()
    assert XNYS.is_session(pd.Timestamp("2008-07-07")).shape == ()
    assert bool(XNYS.is_session("2008-07-07"))
    assert XNYS.is_session(days("2008-07-03", "2008-07-04").reshape(2, 1)).shape == (2, 1)
    assert XNYS.is_session([]).shape == (0,)
    with pytest.raises(ValueError, match="NaT"):
        XNYS.is_session([pd.NaT])
