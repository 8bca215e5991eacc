"""The MASE scale of every ticker at once: the bits of ``nanmean`` ticker by ticker."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from stackcast.features.panel import ticker_groups
from stackcast.models.engine import group_abs_means, rw_scale


@pytest.mark.parametrize("horizons", [1, 2, 5])
@pytest.mark.parametrize("seed", range(4))
def test_scales_match_nanmean_ticker_by_ticker(horizons: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_t = int(rng.integers(1, 9))
    sizes = rng.integers(1, 300, n_t) if seed % 2 else np.full(n_t, 120)
    tid = np.repeat(np.arange(n_t), sizes)
    Y = rng.standard_t(3, (len(tid), horizons)) * rng.uniform(1e-3, 1.0)
    if seed >= 2:
        Y[rng.random(Y.shape) < 0.1] = np.nan
    panel = SimpleNamespace(
        ticker_id=tid, Y=Y, tickers=tuple(f"T{k}" for k in range(n_t)), horizons=horizons
    )
    rows = np.sort(rng.choice(len(tid), len(tid) // 2, replace=False))
    names, got = group_abs_means(panel, rows)
    want = [np.nanmean(np.abs(Y[r]), axis=0) for _, r in ticker_groups(panel, rows)]
    assert names == [panel.tickers[t] for t, _ in ticker_groups(panel, rows)]
    np.testing.assert_array_equal(got, np.array(want))
    frame = rw_scale(panel, rows)
    assert list(frame.columns) == ["ticker", "horizon", "scale"]
    np.testing.assert_array_equal(frame["scale"].to_numpy(), np.array(want).reshape(-1))
    assert rw_scale(panel, rows[:0]).empty
