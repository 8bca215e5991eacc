"""The sweep's verdict holds its level when the candidates have no skill at all.

Each candidate ``k`` forecasts ``2 S_k`` where the daily return is ``sum_j (s_j + u_j)``: its
expected squared error equals the random walk's, so every candidate is exactly as accurate as
the random walk. The winner is picked on the test data itself (lowest test MSE, the worst
case); the sweep's verdict for it (``selection_verdicts``, Holm over every candidate at every
horizon) should say "beats" in at most ``LEVEL`` of the repetitions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from stackcast.reports.significance import pairwise_dm
from stackcast.reports.sweep import adjust_candidates, selection_verdicts

from tests.reports.test_null_significance import HORIZONS, LEVEL, band, null_paths

CANDIDATES = 5


def test_the_chosen_candidates_verdict_holds_the_family_wise_rate() -> None:
    reps, origins, tickers = 300, 100, 4
    rng = np.random.default_rng(20261207)
    days = origins + max(HORIZONS)
    parts = [null_paths(rng, reps, days, tickers, 0.5) for _ in range(CANDIDATES)]
    c = sum(p[0] for p in parts)  # cumulative sum of every candidate's s + u
    names = [f"T{i}" for i in range(tickers)]
    dates = pd.bdate_range("2021-01-04", periods=origins)
    t = np.arange(origins)
    adjusted = unadjusted = 0
    for k in range(reps):
        frames = []
        for h in HORIZONS:
            cols = {
                f"c{j}": (2.0 * (p[1][k, t + h] - p[1][k, t])).ravel() for j, p in enumerate(parts)
            }
            frames.append(
                pd.DataFrame(
                    {
                        "ticker": np.tile(names, origins),
                        "origin": np.repeat(dates, tickers),
                        "horizon": h,
                        "y_true": (c[k, t + h] - c[k, t]).ravel(),
                        "random_walk": 0.0,
                        **cols,
                    }
                )
            )
        df = pd.concat(frames, ignore_index=True)
        rows = []
        for j in range(CANDIDATES):
            dm = pairwise_dm(df, f"c{j}", "random_walk", LEVEL)
            rows.append(
                {
                    "candidate": j,
                    "status": "ok",
                    "mse": float(((df["y_true"] - df[f"c{j}"]) ** 2).mean()),
                    "dm": [
                        {
                            "horizon": e["horizon"],
                            "p": e["p_one_sided"],
                            "mean_diff": e["mean_diff"],
                        }
                        for e in dm
                    ],
                }
            )
        winner = min(rows, key=lambda r: r["mse"])
        unadjusted += any(
            d["p"] is not None and d["p"] < LEVEL and d["mean_diff"] < 0 for d in winner["dm"]
        )
        adjust_candidates(rows, LEVEL)
        verdicts = selection_verdicts(rows, winner["candidate"], LEVEL)
        assert len(verdicts["verdicts"]) == len(HORIZONS)
        adjusted += any(v["beats_random_walk"] for v in verdicts["verdicts"])
    hi = band(reps)[1]
    assert adjusted / reps <= hi, adjusted / reps
    # Without the family, picking the best of several no-skill candidates and testing it
    # alone says "beats" far more often than the level: the adjustment is what holds it.
    assert unadjusted / reps > hi, unadjusted / reps
