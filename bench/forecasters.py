"""LightGBM's cost: the demo backtest with LightGBM scored beside the RNN against the default.

The demo configuration (``configs/demo.toml``) on the bundled MSFT + GOOG sample cut at
2008-10-14, run through ``stackcast.backtest(config, prices)`` (no store), as variants:

* ``default``: the demo as shipped (``[backtest] forecasters`` = rnn, random walk, drift,
  ridge);
* ``lightgbm``: the same plus ``"lightgbm"`` (one booster per horizon on the same windows).

Each (variant, repetition) runs in a fresh Python subprocess, interleaved and rotated; timed is
the whole backtest (panel, training, baselines, forecasts, metrics; not imports or reading the
CSVs). Reported per variant: the median time, the RNN's and (where run) LightGBM's MAE over all
test origins and horizons, and the ratios against ``default`` measured in the same run.

Run alone: ``python -m bench.forecasters [--quick] [--reps 3] [--folds 6]``.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from bench.variants import demo_inputs, run_variants, variant_main

NAME = "forecasters"
DEFAULT = ["rnn", "random_walk", "drift", "ridge"]
VARIANTS: dict[str, list[str]] = {"default": DEFAULT, "lightgbm": [*DEFAULT, "lightgbm"]}


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    """One variant's backtest on the demo sample: its time and each predictor's MAE."""
    import numpy as np
    from stackcast.pipeline.workflows.backtest import backtest

    cfg, prices = demo_inputs(
        backtest={"forecasters": VARIANTS[spec["variant"]], "folds": spec["folds"]}
    )
    t0 = time.perf_counter()
    result = backtest(cfg, prices)
    total_s = time.perf_counter() - t0
    pred = result.run.predictions
    known = pred[pred["y_true"].notna()]
    maes = {
        col: float(np.mean(np.abs(known[col] - known["y_true"])))
        for col in ("y_pred", "lightgbm")
        if col in known
    }
    return {"total_s": total_s, "mae_rnn": maes["y_pred"], "mae_lightgbm": maes.get("lightgbm")}


def run(
    rec: Any, quick: bool = False, *, reps: int | None = None, folds: int | None = None
) -> None:
    """Run the variants in subprocesses; emit one record per variant and one of ratios."""
    from bench.common import clean, median
    from bench.common import ratio as _ratio

    runs, reps, folds = run_variants(
        "bench.forecasters",
        list(VARIANTS),
        lambda o: f"RNN MAE {o['mae_rnn']:.6f}",
        quick=quick,
        reps=reps,
        folds=folds,
    )
    summary = {
        n: {
            "total_s_median": median(r["total_s"] for r in rs),
            "mae_rnn": rs[0]["mae_rnn"],
            "mae_lightgbm": rs[0]["mae_lightgbm"],
        }
        for n, rs in runs.items()
    }
    for n, s in summary.items():
        rec.emit(NAME, clean({"variant": n, "folds": folds, "reps": reps, **s}, 6))
    base, lgb = summary["default"], summary["lightgbm"]
    rec.emit(
        NAME,
        {
            "comparison": "lightgbm over default (same run)",
            "folds": folds,
            "reps": reps,
            "backtest_time_ratio": _ratio(lgb["total_s_median"], base["total_s_median"]),
            "lightgbm_seconds": round(lgb["total_s_median"] - base["total_s_median"], 2),
            "lightgbm_mae_over_rnn_mae": _ratio(lgb["mae_lightgbm"], lgb["mae_rnn"], 4),
            "rnn_mae_unchanged": lgb["mae_rnn"] == base["mae_rnn"],
        },
    )


def main(argv: list[str] | None = None) -> Any:
    """Command line: run this benchmark alone (or, with ``--child``, one backtest)."""
    return variant_main(__doc__, _child, run, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
