from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stackcast.features.config import FeatureConfig
from stackcast.features.panel import build_panel
from stackcast.features.scaling import FoldScaler
from stackcast.features.splits import validation_split, walk_forward

from tests.features.frames import random_frame


def _cal(n: int) -> np.ndarray:
    return np.datetime64("2020-01-01") + np.arange(n).astype("timedelta64[D]")


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(10, 400),
    folds=st.integers(1, 6),
    test_size=st.integers(1, 40),
    h=st.integers(1, 6),
    extra=st.integers(0, 5),
    mode=st.sampled_from(["expanding", "rolling"]),
    train_size=st.integers(1, 200),
    min_train=st.integers(1, 50),
)
def test_walk_forward_invariants(n, folds, test_size, h, extra, mode, train_size, min_train):
    cal = _cal(n)
    emb = h + extra
    kw = dict(folds=folds, test_size=test_size, embargo=emb, horizons=h, mode=mode)
    kw |= dict(train_size=train_size, min_train=min_train)
    fits = [
        b
        for b in range(folds)
        if (f := n - (b + 1) * test_size) >= 0
        and (f - emb - h - 1) - (0 if mode == "expanding" else max(0, f - emb - h - train_size)) + 1
        >= min_train
    ]
    if not fits:
        with pytest.raises(ValueError, match="too short"):
            walk_forward(cal, **kw)
        return
    splits = walk_forward(cal, **kw)
    assert [s.fold for s in splits] == list(range(len(splits)))
    assert 1 <= len(splits) <= folds
    assert splits[-1].test_end == cal[-1]
    for s in splits:
        (lo, last), (f, t_end) = s.train_index, s.test_index
        assert last == f - emb - h - 1  # the contract's formula
        assert s.n_train == last - lo + 1 >= min_train and s.n_test == test_size
        assert s.test_start == cal[f] and s.test_end == cal[t_end] and t_end - f + 1 == test_size
        assert s.fit_end == s.train_end and s.fit_start == s.train_start
        # No training origin's targets (H bars on) reach the cutoff = first test - embargo.
        assert s.cutoff == cal[f - emb] and s.train_targets_end == cal[last + h]
        assert s.train_targets_end < s.cutoff <= s.embargo_end < s.test_start
        if mode == "rolling":
            assert s.n_train <= train_size
        else:
            assert lo == 0
        audit = s.audit()
        assert audit["first_test_origin"] == str(cal[f]) and audit["embargo"] == emb
        assert audit["fold"] == s.fold + 1  # shown to users from 1
        assert audit["scaler_fit_end"] == audit["train_end"] < audit["embargo_start"]
        assert all(isinstance(v, (str, int)) for v in audit.values())
    for a, b in itertools.pairwise(splits):
        assert a.test_index[1] + 1 == b.test_index[0]  # contiguous, oldest first


def test_walk_forward_errors() -> None:
    cal = _cal(100)
    with pytest.raises(ValueError, match="embargo"):
        walk_forward(cal, folds=2, test_size=10, embargo=2, horizons=5)
    with pytest.raises(ValueError, match="train_size"):
        walk_forward(cal, folds=2, test_size=10, embargo=5, horizons=5, mode="rolling")
    with pytest.raises(ValueError, match="sorted"):
        walk_forward(cal[::-1], folds=2, test_size=10, embargo=5, horizons=5)
    with pytest.raises(ValueError, match="too short"):
        walk_forward(cal, folds=2, test_size=80, embargo=5, horizons=5, min_train=20)
    # Short history: fewer folds, not an error (train sizes 70, 50, 30; 10 < min_train).
    assert len(walk_forward(cal, folds=9, test_size=20, embargo=5, horizons=5, min_train=20)) == 3


def test_validation_split_gap() -> None:
    dates = np.repeat(_cal(50), 2)  # two tickers per date
    fit, val = validation_split(dates, 0.2, 5)
    assert val.sum() == 20 and fit.sum() == 2 * (50 - 10 - 5)
    assert dates[fit].max() + np.timedelta64(5, "D") < dates[val].min()
    assert not (fit & val).any()
    with pytest.raises(ValueError, match="too few"):
        validation_split(_cal(5), 0.5, 3)
    with pytest.raises(ValueError, match="fraction"):
        validation_split(_cal(5), 1.0, 0)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    calendar=st.sampled_from(["B", "D", "data"]),
    h=st.integers(1, 4),
    extra=st.integers(0, 3),
    mode=st.sampled_from(["expanding", "rolling"]),
)
def test_no_training_window_or_target_reaches_the_cutoff(seed, calendar, h, extra, mode):
    cfg = FeatureConfig(window=8, horizons=h, min_history=3, calendar=calendar)
    frames = {
        "AAA": random_frame(seed, 150, ticker="AAA", gap_rate=0.1),
        "BBB": random_frame(seed + 1, 100, ticker="BBB", start="2020-03-02", gap_rate=0.2),
    }
    p = build_panel(frames, cfg)
    splits = walk_forward(
        p.calendar(),
        folds=3,
        test_size=15,
        embargo=h + extra,
        horizons=h,
        mode=mode,
        train_size=40,
        min_train=10,
    )
    for s in splits:
        rows = s.rows(p)
        assert len(rows.train) and len(rows.test)
        # Inputs: the real rows of every training window are dated before the cutoff.
        begin = rows.train - p.lengths(rows.train) + 1
        assert (p.starts[rows.train] <= begin).all()
        assert (p.dates[rows.train] < s.cutoff).all()
        # Targets: the row H bars on (clipped to the block) is before the cutoff.
        assert (p.target_end[rows.train] < s.cutoff).all()
        end = np.minimum(rows.train + h, p.offsets[p.ticker_id[rows.train] + 1] - 1)
        assert (p.dates[end] < s.cutoff).all()
        assert np.isfinite(p.Y[rows.train]).all()
        # The scaler's fit rows too.
        assert (p.target_end[rows.fit_rows] < s.cutoff).all()
        assert (p.dates[rows.fit_rows] <= s.fit_end).all()
        FoldScaler.fit_panel(p, rows.fit_rows, cfg)
        # Test origins: inside the block, windows end exactly at the origin.
        t = rows.test
        assert ((p.dates[t] >= s.test_start) & (p.dates[t] <= s.test_end)).all()
        wb = p.batches(t, 64)
        x = wb.take(np.arange(len(t)))
        last_real = x[np.arange(len(t)), wb.lengths - 1]
        np.testing.assert_array_equal(last_real, p.X[t].astype(np.float32))
