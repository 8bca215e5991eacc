from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stackcast.features.windows import WindowBatches, materialize, sliding_windows, window_lengths

MASK = -10.0


def naive_windows(X, origins, starts, window, mask):
    """Reference: a per-sample Python loop, right-padded."""
    out = np.full((len(origins), window, X.shape[1]), mask, dtype=np.float32)
    lengths = []
    for i, (o, s) in enumerate(zip(origins, starts, strict=True)):
        begin = max(s, o - window + 1)
        rows = X[begin : o + 1]
        out[i, : len(rows)] = rows
        lengths.append(len(rows))
    return out, np.array(lengths)


def random_blocks(rng, n_blocks, max_len):
    sizes = rng.integers(1, max_len, n_blocks)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    starts = np.repeat(offsets[:-1], sizes)
    return offsets, starts


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 100_000),
    window=st.integers(1, 12),
    n_blocks=st.integers(1, 4),
    batch=st.integers(1, 9),
    shuffle=st.booleans(),
)
def test_batches_equal_naive_loop(seed, window, n_blocks, batch, shuffle) -> None:
    rng = np.random.default_rng(seed)
    offsets, row_start = random_blocks(rng, n_blocks, 30)
    N, F, H = int(offsets[-1]), int(rng.integers(1, 5)), 3
    X = rng.normal(size=(N, F))
    origins = rng.choice(N, size=int(rng.integers(1, N + 1)), replace=False)
    starts = row_start[origins]
    Y = rng.normal(size=(len(origins), H))
    wb = WindowBatches(X, origins, starts, window, batch, MASK, targets=Y, shuffle=shuffle, seed=1)
    want, lengths = naive_windows(X, origins, starts, window, MASK)
    np.testing.assert_array_equal(wb.lengths, lengths)
    assert len(wb) == -(-len(origins) // batch)
    seen = []
    for i in range(len(wb)):
        x, y = wb[i]
        pos = wb.batch_positions(i)
        assert x.dtype == np.float32 and y.dtype == np.float32
        assert x.shape == (len(pos), window, F)
        np.testing.assert_array_equal(x, want[pos])
        np.testing.assert_array_equal(y, Y[pos].astype(np.float32))
        seen.extend(pos.tolist())
    assert sorted(seen) == list(range(len(origins)))
    # Right-padded, never all-masked: step 0 is real, masked steps are exactly the tail.
    x_all = materialize(X, origins, starts, window, MASK)
    real = ~(x_all == np.float32(MASK)).all(axis=2)
    assert real[:, 0].all()
    np.testing.assert_array_equal(real.sum(axis=1), lengths)
    np.testing.assert_array_equal(real, np.arange(window)[None, :] < lengths[:, None])


def test_sliding_windows_is_a_view_equal_to_slices() -> None:
    X = np.arange(30.0).reshape(10, 3)
    v = sliding_windows(X, 4)
    assert v.shape == (7, 4, 3) and np.shares_memory(v, X)
    for i in range(7):
        np.testing.assert_array_equal(v[i], X[i : i + 4])
    with pytest.raises(ValueError):
        sliding_windows(X[0], 2)


def test_short_history_padding_and_no_future_rows() -> None:
    # One block of 10 rows; row values mark their index. Future rows carry a sentinel.
    X = np.tile(np.arange(10.0)[:, None], (1, 2))
    wb = WindowBatches(X, np.array([0, 2, 9]), 0, 5, 8, MASK)
    x = wb[0]
    np.testing.assert_array_equal(wb.lengths, [1, 3, 5])
    np.testing.assert_array_equal(x[0, :, 0], [0, MASK, MASK, MASK, MASK])
    np.testing.assert_array_equal(x[1, :, 0], [0, 1, 2, MASK, MASK])
    np.testing.assert_array_equal(x[2, :, 0], [5, 6, 7, 8, 9])
    # Inputs end at the origin: nothing after it is in the window.
    for o, row in zip([0, 2, 9], x, strict=True):
        real = row[row[:, 0] != MASK, 0]
        assert real.max() == o


def test_window_lengths() -> None:
    np.testing.assert_array_equal(window_lengths([5, 5, 20], [0, 5, 0], 10), [6, 1, 10])


def test_shuffle_is_seeded_and_reshuffles() -> None:
    X = np.random.default_rng(0).normal(size=(100, 2))
    a = WindowBatches(X, np.arange(100), 0, 5, 10, MASK, shuffle=True, seed=7)
    b = WindowBatches(X, np.arange(100), 0, 5, 10, MASK, shuffle=True, seed=7)
    np.testing.assert_array_equal(a[0], b[0])
    first = a.batch_positions(0).copy()
    a.on_epoch_end()
    b.on_epoch_end()
    assert not np.array_equal(first, a.batch_positions(0))
    np.testing.assert_array_equal(a.batch_positions(0), b.batch_positions(0))
    plain = WindowBatches(X, np.arange(100), 0, 5, 10, MASK)
    plain.on_epoch_end()
    np.testing.assert_array_equal(plain.batch_positions(0), np.arange(10))


def test_rejects_non_finite_and_bad_indices() -> None:
    X = np.ones((10, 2))
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        WindowBatches(X, [5], 0, 3, 2, MASK)
    X[3, 1] = 1e300  # overflows float32
    with pytest.raises(ValueError, match="non-finite"):
        WindowBatches(X, [5], 0, 3, 2, MASK)
    ok = np.ones((10, 2))
    with pytest.raises(ValueError, match="start"):
        WindowBatches(ok, [2], [3], 3, 2, MASK)
    with pytest.raises(IndexError):
        WindowBatches(ok, [10], 0, 3, 2, MASK)
    with pytest.raises(ValueError, match="per origin"):
        WindowBatches(ok, [4, 5], 0, 3, 2, MASK, targets=np.ones((10, 2)))
    wb = WindowBatches(ok, [4, 5], 0, 3, 2, MASK)
    with pytest.raises(IndexError):
        wb[1]
    assert len(WindowBatches(ok, [], 0, 3, 2, MASK)) == 0


def test_windows_of_sparse_origins_in_several_blocks() -> None:
    """Origins here and there over several ticker blocks: each window its own rows, padded."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 3))
    starts_of = np.repeat([0, 100, 250, 260], [100, 150, 10, 140])
    origins = np.sort(rng.choice(400, 60, replace=False))
    starts = starts_of[origins]
    wb = WindowBatches(X, origins, starts, 7, 16, MASK)
    got = np.concatenate([wb[i] for i in range(len(wb))])
    for x, o, s in zip(got, origins, starts, strict=True):
        n = min(7, o - s + 1)
        np.testing.assert_array_equal(x[:n], X[o - n + 1 : o + 1].astype(np.float32))
        assert (x[n:] == MASK).all()
