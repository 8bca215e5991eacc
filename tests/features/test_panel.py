from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stackcast.features.config import FeatureConfig
from stackcast.features.panel import build_panel
from stackcast.features.returns import align_calendar
from stackcast.features.scaling import FoldScaler
from stackcast.features.windows import materialize

from tests.features.frames import random_frame

CFG = FeatureConfig(window=10, horizons=3, min_history=4, volume_window=5)


def test_panel_layout_first_row_dropped_and_origins() -> None:
    frames = {"BBB": random_frame(1, 50, ticker="BBB"), "AAA": random_frame(2, 30, ticker="AAA")}
    p = build_panel(frames, CFG)
    assert p.tickers == ("AAA", "BBB")  # sorted
    assert p.feature_names == ("log_return", "range", "volume_z", "observed")
    assert p.dropped_features == () and p.skipped == {}
    for k, t in enumerate(p.tickers):
        a = align_calendar(frames[t], p.sessions[t])
        lo, hi = p.offsets[k], p.offsets[k + 1]
        assert hi - lo == len(a) - 1  # first aligned bar (no return) is dropped
        assert p.dates[lo] == np.datetime64(a["date"].iloc[1], "D")
        assert (p.ticker_id[lo:hi] == k).all() and (p.starts[lo:hi] == lo).all()
        np.testing.assert_array_equal(p.observed[lo:hi], a["observed"].to_numpy()[1:])
        np.testing.assert_array_equal(p.close[lo:hi], a["close"].to_numpy()[1:])
        hist = np.arange(1, hi - lo + 1)
        np.testing.assert_array_equal(
            p.origin_ok[lo:hi], p.observed[lo:hi] & (hist >= CFG.min_history)
        )
        assert p.dropped_origins[t] == int((p.observed[lo:hi] & (hist < 4)).sum())
    assert np.isfinite(p.X).all() and p.X.dtype == np.float64
    assert p.Y.shape == (p.n_rows, 3) and p.dates.dtype == np.dtype("datetime64[D]")
    assert (np.diff(p.offsets) > 0).all()
    # target_end is the date H rows later, clipped to the block end.
    r = int(p.offsets[1]) - 1
    assert p.target_end[r] == p.dates[r] and p.target_end[0] == p.dates[3]
    cal = p.calendar()
    assert (np.diff(cal) > np.timedelta64(0, "D")).all()
    assert set(cal) == set(p.dates[p.origin_ok])
    assert p.summary()["AAA"]["rows"] == int(p.offsets[1])
    # Lengths: short histories are right-padded down to min_history.
    o = p.origins()
    assert (p.lengths(o) >= CFG.min_history).all() and (p.lengths(o) <= CFG.window).all()


def test_close_only_source_drops_features() -> None:
    frames = {
        "AAA": random_frame(1, 40, ticker="AAA"),
        "CCC": random_frame(2, 40, ticker="CCC", columns=("close",)),
    }
    p = build_panel(frames, CFG)
    assert p.feature_names == ("log_return", "observed")
    assert p.dropped_features == ("range", "volume_z")
    assert p.X.shape[1] == 2


def test_short_ticker_is_skipped_not_crashed_on() -> None:
    frames = {
        "AAA": random_frame(1, 40, ticker="AAA"),
        "TINY": random_frame(2, 3, ticker="TINY", gap_rate=0.0),
        "NONE": random_frame(3, 2, ticker="NONE").iloc[:0],
    }
    p = build_panel(frames, CFG)
    assert p.tickers == ("AAA",)
    assert set(p.skipped) == {"TINY", "NONE"}
    assert "min_history" in p.skipped["TINY"]
    only_short = build_panel({"TINY": frames["TINY"]}, CFG)
    assert only_short.n_rows == 0 and only_short.calendar().size == 0
    assert only_short.X.shape == (0, 4) and "TINY" in only_short.skipped


def test_long_frame_and_batches() -> None:
    long = pd.concat([random_frame(1, 40, ticker="AAA"), random_frame(2, 30, ticker="BBB")])
    p = build_panel(long, CFG)
    assert p.tickers == ("AAA", "BBB")
    o = p.origins(require_targets=True)
    assert np.isfinite(p.Y[o]).all()
    wb = p.batches(o, 16, targets=p.Y[o])
    x, y = wb[0]
    assert x.shape == (16, 10, 4) and y.shape == (16, 3)


def test_calendar_d_has_weekend_rows() -> None:
    p = build_panel(
        {"AAA": random_frame(1, 30, gap_rate=0.0)}, CFG.model_copy(update={"calendar": "D"})
    )
    weekday = (p.dates.astype("datetime64[D]").view("int64") - 4) % 7  # 0 = Monday
    assert (~p.observed[weekday >= 5]).all()


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    cut=st.integers(15, 70),
    calendar=st.sampled_from(["B", "D", "data"]),
    scope=st.sampled_from(["per_ticker", "pooled"]),
)
def test_perturbing_the_future_changes_nothing_before(seed, cut, calendar, scope) -> None:
    """Perturb every bar after date D: windows, targets and scalers of origins before D - H
    (and scalers fit on rows whose targets end before D) are bit-for-bit unchanged."""
    cfg = CFG.model_copy(update={"calendar": calendar, "scaler_scope": scope})
    frames = {t: random_frame(seed + i, 80, ticker=t) for i, t in enumerate(("AAA", "BBB"))}
    D = frames["AAA"]["date"].iloc[cut]
    rng = np.random.default_rng(seed)
    moved = {}
    for t, f in frames.items():
        g = f.copy()
        after = g["date"] > D
        for col in ("open", "close", "volume"):
            g.loc[after, col] *= np.exp(rng.normal(0, 0.2, after.sum()))
        g.loc[after, "high"] = g.loc[after, ["open", "close"]].max(axis=1) * 1.01
        g.loc[after, "low"] = g.loc[after, ["open", "close"]].min(axis=1) * 0.99
        moved[t] = g
    a, b = build_panel(frames, cfg), build_panel(moved, cfg)
    np.testing.assert_array_equal(a.dates, b.dates)
    d = np.datetime64(D, "D")
    # Origins whose targets end on or before D (i.e. before D - H bars, or shorter blocks).
    o = a.origins(before=d + 1)
    assert len(o) and np.array_equal(o, b.origins(before=d + 1))
    np.testing.assert_array_equal(
        materialize(a.X, o, a.starts[o], 10, -10.0), materialize(b.X, o, b.starts[o], 10, -10.0)
    )
    np.testing.assert_array_equal(a.Y[o], b.Y[o])
    fit = a.target_end <= d
    sa = FoldScaler.fit_panel(a, fit, cfg).to_json()
    sb = FoldScaler.fit_panel(b, fit, cfg).to_json()
    assert sa == sb
    # And the perturbation did reach later rows (the test is not vacuous).
    assert not np.array_equal(a.X, b.X)


def test_non_finite_close_raises_clearly() -> None:
    f = random_frame(1, 30)
    f.loc[5, "close"] = np.nan
    with pytest.raises(ValueError, match="finite"):
        build_panel({"AAA": f}, CFG)


def test_a_recent_tail_gives_the_latest_window_exactly() -> None:
    """The daily forecast builds its panel from the last window + volume_window + 2 bars."""
    frame = random_frame(5, 400)
    full = build_panel({"AAA": frame}, CFG)
    tail = frame.tail(CFG.window + CFG.volume_window + 2).reset_index(drop=True)
    cut = build_panel({"AAA": tail}, CFG)
    np.testing.assert_array_equal(full.X[-CFG.window :], cut.X[-CFG.window :])
    np.testing.assert_array_equal(full.dates[-CFG.window :], cut.dates[-CFG.window :])
    assert full.origin_ok[-1] and cut.origin_ok[-1]


@pytest.mark.parametrize("calendars", [None, {"BBB": "24/7"}])
def test_target_dates_inside_history_and_past_the_last_bar(calendars) -> None:
    from stackcast.features.panel import target_dates

    frames = {
        "AAA": random_frame(3, 40, ticker="AAA"),
        "BBB": random_frame(4, 25, ticker="BBB"),
        "CCC": random_frame(5, 30, ticker="CCC"),  # AAA's calendar (equal, not the same object)
    }
    p = build_panel(frames, CFG, calendars=calendars)
    rows = np.arange(p.n_rows)
    got = target_dates(p, rows)
    assert got.shape == (p.n_rows, CFG.horizons)
    for r in rows:  # the per-row definition: own rows inside, calendar sessions after
        k = int(p.ticker_id[r])
        end = int(p.offsets[k + 1])
        calendar = p.sessions[p.tickers[k]]
        for h in range(1, CFG.horizons + 1):
            if r + h < end:
                want = p.dates[r + h]
            else:
                want = calendar.next_sessions(p.dates[end - 1], r + h - end + 1)[-1]
            assert got[r, h - 1] == want
    last = int(p.offsets[1]) - 1  # AAA's last bar: its targets are the next sessions
    assert list(got[last]) == list(p.sessions["AAA"].next_sessions(p.dates[last], 3))


def test_ticker_groups_match_a_mask_per_ticker() -> None:
    from stackcast.features.panel import ticker_groups

    frames = {t: random_frame(k, 30 + 5 * k, ticker=t) for k, t in enumerate("CAB")}
    p = build_panel(frames, CFG)
    rows = np.random.default_rng(0).permutation(p.n_rows)[: p.n_rows // 2]
    got = ticker_groups(p, rows)
    want = [(int(t), rows[p.ticker_id[rows] == t]) for t in np.unique(p.ticker_id[rows])]
    assert [t for t, _ in got] == [t for t, _ in want]
    for (_, a), (_, b) in zip(got, want, strict=True):
        np.testing.assert_array_equal(a, b)  # same rows, in their given order
    assert ticker_groups(p, rows[:0]) == []


def test_stacked_panels_equal_one_panel_of_their_tickers() -> None:
    from stackcast.features.panel import stack_panels

    frames = {t: random_frame(k, 30 + 7 * k, ticker=t) for k, t in enumerate(["AAA", "BBB", "CCC"])}
    whole = build_panel(frames, CFG)
    stacked = stack_panels([build_panel({t: f}, CFG) for t, f in frames.items()])
    assert stacked.tickers == whole.tickers and stacked.sessions == whole.sessions
    for key in ("X", "Y", "close", "dates", "ticker_id", "observed", "offsets", "origin_ok"):
        assert np.array_equal(getattr(stacked, key), getattr(whole, key), equal_nan=True), key
    assert np.array_equal(stacked.target_end, whole.target_end)
    assert stacked.dropped_origins == whole.dropped_origins
    # a block of several tickers keeps each ticker's own offset
    mixed = stack_panels([build_panel({"AAA": frames["AAA"]}, CFG),
                          build_panel({t: frames[t] for t in ("BBB", "CCC")}, CFG)])  # fmt: skip
    assert np.array_equal(mixed.offsets, whole.offsets) and mixed.tickers == whole.tickers
