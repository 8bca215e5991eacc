"""Covariates and extra inputs: what each costs against the default demo backtest.

The demo configuration (``configs/demo.toml``) on the bundled MSFT + GOOG sample cut at
2008-10-14, run through ``stackcast.backtest(config, prices)`` (no store), as variants:

* ``default``: the demo as shipped (its four own inputs);
* ``cov_GOOG`` / ``cov_MSFT``: one covariate (4 more columns: log return, range, volume
  z-score, observed) joined to both tickers' windows;
* ``cov_both``: both covariates;
* ``indicators``: every calendar and technical input (9 more columns), no covariate.

Each (variant, repetition) runs in a fresh Python subprocess, interleaved and rotated; timed
are the whole backtest (panel, training, baselines, forecasts, metrics; not imports or reading
the CSVs) and the feature panel alone once warm (median of 5 builds). Reported per variant:
medians, the input count, the model's MAE over all test origins and horizons, and the ratios
against ``default`` measured in the same run.

Run alone: ``python -m bench.covariates [--quick] [--reps 3] [--folds 6]``.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from bench.variants import demo_inputs, run_variants, variant_main

NAME = "covariates"
INDICATORS = ["day_of_week", "month", "volatility", "momentum", "rsi", "ma_distance"]
BASE_INPUTS = ["log_return", "range", "volume_z", "observed"]
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "cov_GOOG": {"covariates": ["GOOG"]},
    "cov_MSFT": {"covariates": ["MSFT"]},
    "cov_both": {"covariates": ["MSFT", "GOOG"]},
    "indicators": {"inputs": BASE_INPUTS + INDICATORS},
}


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    """One variant's backtest on the demo sample: timings, inputs and the model's MAE."""
    import numpy as np
    from stackcast.features.panel import build_panel
    from stackcast.pipeline.workflows.backtest import backtest

    cfg, prices = demo_inputs(VARIANTS[spec["variant"]], {"folds": spec["folds"]})
    frames = {t: g for t, g in prices.groupby("ticker")}
    panel = build_panel(frames, cfg.features)  # warm: first-call imports and caches
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        build_panel(frames, cfg.features)
        times.append(time.perf_counter() - t0)
    panel_s = float(np.median(times))
    t0 = time.perf_counter()
    result = backtest(cfg, prices)
    total_s = time.perf_counter() - t0
    pred = result.run.predictions
    known = pred["y_true"].notna()
    err = (pred.loc[known, "y_pred"] - pred.loc[known, "y_true"]).abs()
    return {
        "panel_s": panel_s,
        "total_s": total_s,
        "inputs": len(panel.feature_names),
        "mae": float(np.mean(err)),
    }


def run(
    rec: Any, quick: bool = False, *, reps: int | None = None, folds: int | None = None
) -> None:
    """Run the variants in subprocesses; emit one record per variant and one of ratios."""
    from bench.common import clean, median
    from bench.common import ratio as _ratio

    runs, reps, folds = run_variants(
        "bench.covariates",
        list(VARIANTS),
        lambda out: f"{out['inputs']} inputs, MAE {out['mae']:.6f}",
        quick=quick,
        reps=reps,
        folds=folds,
    )
    summary = {
        n: {
            "total_s_median": median(r["total_s"] for r in rs),
            "panel_s_median": median(r["panel_s"] for r in rs),
            "inputs": rs[0]["inputs"],
            "mae": rs[0]["mae"],
        }
        for n, rs in runs.items()
    }
    for n, s in summary.items():
        rec.emit(NAME, clean({"variant": n, "folds": folds, "reps": reps, **s}, 6))
    base = summary["default"]
    rec.emit(
        NAME,
        {
            "comparison": "each variant over default (same run)",
            "folds": folds,
            "reps": reps,
            "backtest_time_ratio": {
                n: _ratio(s["total_s_median"], base["total_s_median"]) for n, s in summary.items()
            },
            "panel_time_ratio": {
                n: _ratio(s["panel_s_median"], base["panel_s_median"]) for n, s in summary.items()
            },
            "mae_ratio": {n: _ratio(s["mae"], base["mae"], 4) for n, s in summary.items()},
        },
    )


def main(argv: list[str] | None = None) -> Any:
    """Command line: run this benchmark alone (or, with ``--child``, one backtest)."""
    return variant_main(__doc__, _child, run, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
