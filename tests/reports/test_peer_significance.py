"""A peer's DM tests (against the random walk, one-sided; against the model, two-sided) reject
a true null at their level, and the peer comparisons appear in the metrics only with a peer."""

from __future__ import annotations

import numpy as np
import pandas as pd
from stackcast.reports.metrics import evaluate
from stackcast.reports.peers import peer_comparisons
from stackcast.reports.significance import pairwise_dm

from tests.reports.test_null_significance import HORIZONS, LEVEL, band, null_paths, panel_frame


def null_frame(c, cs, k: int, origins: int, dates) -> pd.DataFrame:
    """Repetition ``k``: the peer forecasts ``2 S``, the model and the random walk 0.

    The peer's expected squared error equals theirs, so every test is under its null.
    """
    return panel_frame(
        c, cs, k, origins, dates, forecast=("lightgbm",), zero=("y_pred", "random_walk")
    )


def test_peer_dm_tests_reject_a_true_null_at_their_level() -> None:
    reps, origins, tickers = 300, 100, 4
    rng = np.random.default_rng(20261208)
    c, cs = null_paths(rng, reps, origins + max(HORIZONS), tickers, 0.5)
    dates = pd.bdate_range("2021-01-04", periods=origins)
    raw_rw = {h: 0 for h in HORIZONS}
    raw_model = {h: 0 for h in HORIZONS}
    family_rw = family_model = 0
    for k in range(reps):
        df = null_frame(c, cs, k, origins, dates)
        vs_rw = pairwise_dm(df, "lightgbm", "random_walk", LEVEL)
        vs_model = pairwise_dm(df, "lightgbm", "y_pred", LEVEL, two_sided=True)
        for e in vs_rw:
            assert e["n"] == origins  # averaged per origin date
            raw_rw[e["horizon"]] += e["p_one_sided"] < LEVEL
        for e in vs_model:
            raw_model[e["horizon"]] += e["p_two_sided"] < LEVEL
        family_rw += any(e["better"] for e in vs_rw)
        family_model += any(e["better"] for e in vs_model)
    lo, hi = band(reps)
    for h in HORIZONS:
        assert lo <= raw_rw[h] / reps <= hi, (h, raw_rw[h] / reps)
        assert lo <= raw_model[h] / reps <= hi, (h, raw_model[h] / reps)
    assert family_rw / reps <= hi and family_model / reps <= hi  # Holm across horizons


def test_a_better_peer_is_named_and_the_metrics_carry_it_only_with_a_peer() -> None:
    rng = np.random.default_rng(1)
    origins = pd.bdate_range("2021-01-04", periods=200)
    signal = rng.normal(0, 0.01, 200)
    y = signal + rng.normal(0, 0.002, 200)
    df = pd.DataFrame(
        {"ticker": "AAA", "origin": origins, "horizon": 1, "y_true": y,
         "y_pred": rng.normal(0, 0.01, 200), "random_walk": 0.0, "lightgbm": signal,
         "target_date": origins, "fold": 1, "lo": np.nan, "hi": np.nan}
    )  # fmt: skip
    out = peer_comparisons(df, {"lightgbm": "lightgbm", "random_walk": "random_walk"}, LEVEL)
    peer = out["lightgbm"]
    assert peer["vs_random_walk"][0]["better"] == "lightgbm"
    assert peer["vs_model"][0]["better"] == "lightgbm"
    assert peer["sentences"][0].startswith("LightGBM beats a random walk at horizon 1")
    assert "more accurate than the model" in peer["sentences"][1]
    assert "one Holm family" in peer["note"]
    scale = pd.DataFrame({"ticker": ["AAA"], "horizon": [1], "scale": [0.01]})
    with_peer = df.copy()
    with_peer.attrs["baselines"] = ["random_walk", "lightgbm"]
    assert "lightgbm" in evaluate(with_peer, scale)["peers"]
    without = df.drop(columns="lightgbm")
    without.attrs["baselines"] = ["random_walk"]
    assert "peers" not in evaluate(without, scale)  # a default run's metrics are unchanged
