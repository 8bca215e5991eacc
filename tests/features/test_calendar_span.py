"""One wide exchange build answers like the per-decade builds it replaces."""

from __future__ import annotations

import numpy as np
import pytest
from stackcast.features import calendars
from stackcast.features.calendars import _build_years, _exchange_bounds, trading_calendar


def test_build_years_cover_the_request_and_the_span() -> None:
    assert _build_years(1986, 2017) == (1960, 2049)
    assert _build_years(1923, 2008) == (1920, 2049)
    assert _build_years(2001, 2071) == (1960, 2079)


@pytest.mark.parametrize("name", ["XNYS", "XTKS", "XLON", "XBOM"])  # XTKS starts, XBOM ends
def test_sessions_match_a_build_of_each_decade(name: str) -> None:
    import exchange_calendars as xc

    lo, hi = _exchange_bounds(name)
    calendars._exchange_sessions.cache_clear()
    cal = trading_calendar(name)
    for decade in (1990, 2010, 2020):
        start = max(lo, np.datetime64(f"{decade}-01-01"))
        end = min(hi, np.datetime64(f"{decade + 9}-12-31"))
        alone = xc.get_calendar(name, start=str(start), end=str(end)).sessions
        assert np.array_equal(cal.sessions(start, end), alone.to_numpy().astype("datetime64[D]"))
    assert calendars._exchange_sessions.cache_info().misses == 1  # one build served them all
