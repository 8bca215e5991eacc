"""Building an exchange calendar emits no pandas PerformanceWarning, even from threads.

exchange_calendars (and pandas' holiday rules under it) hide pandas' "Non-vectorized
DateOffset" PerformanceWarning inside ``warnings.catch_warnings``. That context is not
thread-safe: when two threads build at once, one thread leaving it restores the filters the
other one relies on, and the warning reaches the log (as it did in ``stackcast serve``'s flow
runs, whose per-ticker tasks run in threads). The tests take the library's own suppression
away, which is what such a race does, and check that nothing escapes.
"""

from __future__ import annotations

import contextlib
import threading
import types
import warnings

import pandas as pd
import pandas.tseries.holiday as pandas_holiday
import pytest
from exchange_calendars.pandas_extensions import holiday as xc_holiday
from stackcast.features import calendars

pytestmark = pytest.mark.filterwarnings(
    "ignore:Series.values returning an ndarray that drops timezone:DeprecationWarning"
)


@pytest.fixture
def lost_suppression(monkeypatch: pytest.MonkeyPatch) -> None:
    """The holiday modules' ``catch_warnings`` filters have no effect (a racing thread)."""
    racing = types.SimpleNamespace(
        catch_warnings=lambda *a, **k: contextlib.nullcontext(),
        simplefilter=lambda *a, **k: None,
        warn=warnings.warn,
    )
    monkeypatch.setattr(pandas_holiday, "warnings", racing)
    monkeypatch.setattr(xc_holiday, "warnings", racing)
    calendars._exchange_sessions.cache_clear()
    yield
    calendars._exchange_sessions.cache_clear()


def performance_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, pd.errors.PerformanceWarning)]


def test_the_race_would_emit_the_warning(lost_suppression: None) -> None:
    import exchange_calendars as xc

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        xc.get_calendar("XNYS", start="1990-01-01", end="1999-12-31")
    assert performance_warnings(caught), "the library no longer warns: drop the filter"


def test_sessions_build_emits_no_performance_warning(lost_suppression: None) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cal = calendars.trading_calendar("XNYS")
        days = cal.sessions("1990-01-01", "2029-12-31")
    assert len(days) > 9000
    assert performance_warnings(caught) == []


def test_parallel_builds_emit_no_performance_warning(lost_suppression: None) -> None:
    decades = [(1950 + 10 * i, 1959 + 10 * i) for i in range(8)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        threads = [
            threading.Thread(target=calendars._exchange_sessions, args=("XNYS", *d))
            for d in decades
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert performance_warnings(caught) == []
    assert calendars._exchange_sessions.cache_info().currsize == len(decades)


def test_other_performance_warnings_still_show() -> None:
    calendars._exchange_sessions.cache_clear()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        calendars.trading_calendar("XNYS").sessions("2000-01-01", "2000-01-31")
        pd.DatetimeIndex(["2000-01-03"]) + pd.offsets.CustomBusinessDay()  # the caller's own
    assert len(performance_warnings(caught)) == 1
