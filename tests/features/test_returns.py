from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stackcast.features.returns import (
    _window_moments,
    _window_moments_nan,
    align_calendar,
    aligned_bars,
    available_inputs,
    input_matrix,
    log_returns,
    prices_from_returns,
    target_matrix,
    volume_zscore,
)

from tests.features.frames import random_frame

INPUTS = ("log_return", "range", "volume_z", "observed")


def _frame(dates: list[str], close: list[float], **extra: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"date": pd.to_datetime(dates), "ticker": "X", "close": close, **extra})


def test_missing_business_day_is_unobserved_and_calendar_not_shifted() -> None:
    # Wednesday 2024-01-03 is missing.
    df = _frame(
        ["2024-01-01", "2024-01-02", "2024-01-04", "2024-01-05", "2024-01-08"],
        [10.0, 11.0, 12.0, 13.0, 14.0],
    )
    a = align_calendar(df, "B")
    assert list(a["date"].dt.strftime("%Y-%m-%d")) == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
        "2024-01-05",
        "2024-01-08",
    ]
    assert a["observed"].tolist() == [True, True, False, True, True, True]
    assert a["close"].tolist() == [10.0, 11.0, 11.0, 12.0, 13.0, 14.0]
    X = input_matrix(a, ("log_return", "observed"), 5)
    assert np.isnan(X[0, 0])
    assert X[2, 0] == 0.0 and X[2, 1] == 0.0
    # The bar after the gap spans it: log(12 / 11).
    assert X[3, 0] == pytest.approx(np.log(12 / 11))
    # Sums of returns are preserved across the gap.
    assert X[1:, 0].sum() == pytest.approx(np.log(14 / 10))
    Y = target_matrix(a["close"].to_numpy(), a["observed"].to_numpy(), 2)
    # Origin 2024-01-02 (row 1): h=1 lands on the missing Wednesday -> NaN; h=2 is Thursday.
    assert np.isnan(Y[1, 0])
    assert Y[1, 1] == pytest.approx(np.log(12 / 11))
    # An unobserved origin has no targets.
    assert np.isnan(Y[2]).all()
    # Target dates are the calendar dates h bars ahead: row 3 (Thu) h=2 -> Mon 2024-01-08.
    assert Y[3, 1] == pytest.approx(np.log(14 / 12))
    assert np.isnan(Y[-1]).all() and np.isnan(Y[-2, 1])


def test_calendars_24_7_observed_and_bars_on_non_sessions() -> None:
    df = _frame(["2024-01-05", "2024-01-06", "2024-01-08"], [10.0, 10.5, 11.0])  # Fri, Sat, Mon
    with pytest.raises(ValueError, match="bar dated 2024-01-06 is not a session of the XNYS"):
        align_calendar(df, "XNYS")
    d = align_calendar(df, "24/7")
    assert len(d) == 4 and d["observed"].tolist() == [True, True, False, True]
    own = align_calendar(df, "observed")
    assert len(own) == 3 and own["observed"].all()
    lr = input_matrix(own, ("log_return",), 5)[:, 0]
    assert lr[2] == pytest.approx(np.log(11 / 10.5))


def test_holidays_are_not_rows_and_halts_are_unobserved() -> None:
    """XNYS: 2008-07-04 is no row; a session without a bar (a halt) is an unobserved row."""
    df = _frame(["2008-07-02", "2008-07-03", "2008-07-08"], [10.0, 11.0, 12.0])
    a = align_calendar(df, "XNYS")
    dates = [str(d.date()) for d in a["date"]]
    assert dates == ["2008-07-02", "2008-07-03", "2008-07-07", "2008-07-08"]
    assert a["observed"].tolist() == [True, True, False, True]


def test_align_rejects_bad_frames() -> None:
    with pytest.raises(ValueError, match="calendar"):
        align_calendar(_frame(["2024-01-01"], [1.0]), "W")
    with pytest.raises(ValueError, match="duplicate"):
        align_calendar(_frame(["2024-01-01", "2024-01-01"], [1.0, 2.0]), "B")
    with pytest.raises(ValueError, match="positive"):
        align_calendar(_frame(["2024-01-01", "2024-01-02"], [1.0, 0.0]), "B")
    with pytest.raises(ValueError, match="close"):
        align_calendar(pd.DataFrame({"date": pd.to_datetime(["2024-01-01"])}), "B")


def test_available_inputs() -> None:
    assert available_inputs(["date", "close"], INPUTS) == (
        ("log_return", "observed"),
        ("range", "volume_z"),
    )
    assert available_inputs(["close", "high", "low", "volume"], INPUTS) == (INPUTS, ())
    assert available_inputs(["close", "high"], ("range",)) == ((), ("range",))
    with pytest.raises(ValueError, match="unknown input"):
        available_inputs(["close"], ("macd",))
    with pytest.raises(ValueError, match="lacks"):
        input_matrix(align_calendar(_frame(["2024-01-01"], [1.0]), "B"), ("range",), 5)


def test_range_and_volume_z_values() -> None:
    df = random_frame(3, 60)
    a = align_calendar(df, "B")
    X = input_matrix(a, INPUTS, 10)
    obs = a["observed"].to_numpy()
    rng_col = np.log(a["high"] / a["low"]).to_numpy()
    np.testing.assert_allclose(X[obs, 1], rng_col[obs])
    assert (X[~obs, 1:3] == 0).all() and (X[:, 3] == obs).all()
    # Naive trailing z-score over the last 10 observed bars (current included).
    v = np.log1p(a["volume"].to_numpy()[obs])
    z = np.zeros(len(v))
    for i in range(1, len(v)):
        w = v[max(0, i - 9) : i + 1]
        z[i] = (v[i] - w.mean()) / w.std()
    np.testing.assert_allclose(X[obs, 2], z, atol=1e-9)


def test_volume_z_flat_and_missing() -> None:
    obs = np.ones(6, dtype=bool)
    assert (volume_zscore(np.full(6, 500.0), obs, 3) == 0).all()
    z = volume_zscore(np.array([1.0, 2.0, np.nan, 4.0, 5.0, 6.0]), obs, 3)
    assert np.isfinite(z).all() and z[2] == 0.0


@pytest.mark.parametrize("window", [2, 3, 7, 8, 9, 20, 21, 60, 130])
@pytest.mark.parametrize("n", [1, 2, 5, 19, 20, 21, 100, 700])
def test_volume_z_finite_path_is_the_nan_path_to_the_bit(window: int, n: int) -> None:
    """Finite values take a path without NaN masks: the same mean, std and count, bit for bit."""
    vals = np.log1p(np.round(np.random.default_rng(n * 1000 + window).lognormal(13, 0.4, n)))
    fast, slow = _window_moments(vals, window), _window_moments_nan(vals, window)
    for a, b in zip(fast, slow, strict=True):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()


def test_aligned_bars_are_the_aligned_frame_columns() -> None:
    for seed, cols in ((4, ("open", "high", "low", "close", "volume")), (5, ("close",))):
        df = random_frame(seed, 70, gap_rate=0.2, columns=cols)
        frame, arrays = align_calendar(df, "B"), aligned_bars(df, "B")
        assert list(arrays) == list(frame.columns)
        for c, values in arrays.items():
            assert values.dtype == frame[c].dtype
            np.testing.assert_array_equal(values, frame[c].to_numpy())
        used, _ = available_inputs(cols, INPUTS)
        both = [input_matrix(a, used, 5) for a in (frame, arrays)]
        assert both[0].tobytes() == both[1].tobytes()
    empty = aligned_bars(_frame([], []), "B")
    assert list(empty) == ["date", "observed", "close"] and len(empty["date"]) == 0


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), cut=st.integers(5, 70))
def test_inputs_are_causal(seed: int, cut: int) -> None:
    """Changing every bar from row ``cut`` on leaves input rows before ``cut`` unchanged."""
    a = align_calendar(random_frame(seed, 80), "B")
    b = a.copy()
    rng = np.random.default_rng(seed + 1)
    for col in ("close", "high", "low", "volume"):
        b.loc[cut:, col] = b.loc[cut:, col] * np.exp(rng.normal(0, 0.3, len(b) - cut))
    xa, xb = input_matrix(a, INPUTS, 7), input_matrix(b, INPUTS, 7)
    np.testing.assert_array_equal(xa[:cut], xb[:cut])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), h=st.integers(1, 8))
def test_targets_and_prices_round_trip(seed: int, h: int) -> None:
    a = align_calendar(random_frame(seed, 60, gap_rate=0.15), "B")
    close, obs = a["close"].to_numpy(), a["observed"].to_numpy()
    Y = target_matrix(close, obs, h)
    n = len(close)
    for t in range(n):
        for k in range(1, h + 1):
            known = t + k < n and obs[t] and obs[t + k]
            assert np.isfinite(Y[t, k - 1]) == known
            if known:
                assert Y[t, k - 1] == pytest.approx(np.log(close[t + k] / close[t]), abs=1e-12)
    # Returns -> prices reproduces the target closes.
    P = prices_from_returns(close, Y)
    for k in range(1, h + 1):
        ok = np.isfinite(Y[:, k - 1])
        np.testing.assert_allclose(P[ok, k - 1], close[k:][ok[: n - k]], rtol=1e-12)
    # One-bar returns compound to the price path.
    lr = log_returns(close)
    np.testing.assert_allclose(close[0] * np.exp(np.cumsum(lr[1:])), close[1:], rtol=1e-10)


def test_bars_in_any_row_order_align_the_same() -> None:
    """A frame in date order is read as it is; any other order is sorted first: the same bars."""
    from stackcast.features.calendars import trading_calendar

    sessions = trading_calendar("XNYS").sessions("2024-01-02", "2024-03-01")
    dates = pd.DatetimeIndex(sessions[:40].astype("datetime64[ns]")).delete([5, 6, 17])
    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {"date": dates, "open": rng.uniform(9, 11, len(dates)), "close": rng.uniform(9, 11, 37),
         "volume": rng.integers(1, 9, len(dates))}
    )  # fmt: skip
    want = aligned_bars(df, "XNYS")
    got = aligned_bars(df.sample(frac=1.0, random_state=1), "XNYS")
    assert list(got) == list(want) == ["date", "observed", "open", "close", "volume"]
    for k in want:
        np.testing.assert_array_equal(got[k], want[k])
    weekend = pd.concat([df, pd.DataFrame({"date": [pd.Timestamp("2024-01-13")], "close": [10.0]})])
    with pytest.raises(ValueError, match="bar dated 2024-01-13 is not a session of the XNYS"):
        aligned_bars(weekend, "XNYS")
    lone = pd.DataFrame({"date": [pd.Timestamp("2024-01-13")], "close": [10.0]})  # no session
    with pytest.raises(ValueError, match="bar dated 2024-01-13 is not a session of the XNYS"):
        aligned_bars(lone, "XNYS")
