"""Windowing: stackcast's lazy windows vs a seed-style Python loop building the same array.

MSFT 1986-2017 (``data/sample/MSFT.csv``), window 60, the default 4 inputs. Measured in one
process:

* peak traced memory (``tracemalloc``) of building ``WindowBatches`` over every origin, of
  building it and materialising all its batches one at a time (what training does), and of the
  seed-style loop filling the full ``[origins, 60, F]`` float64 array;
* wall time of "all windows once" for both, interleaved over several repetitions (median);
* that both give the same windows (the loop's array, cast to float32, equals the batches).

Run alone: ``python -m bench.memory_windows [--quick] [--no-save]``.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from typing import Any

from bench.common import (
    RESULTS,
    SAMPLE,
    Recorder,
    configure_environment,
    interleaved,
    median,
    ratio,
)

NAME = "windowing"


def _peak(fn: Any) -> tuple[Any, int]:
    """Run ``fn`` under tracemalloc; return its result and the peak traced bytes."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, peak


def run(rec: Recorder, quick: bool = False, window: int = 60, batch_size: int = 256) -> None:
    """Measure and emit the windowing records."""
    configure_environment()
    import numpy as np
    import pandas as pd
    from stackcast.features.config import FeatureConfig
    from stackcast.features.panel import build_panel
    from stackcast.features.windows import WindowBatches

    df = pd.read_csv(SAMPLE / "MSFT.csv", parse_dates=["date"])
    cfg = FeatureConfig(window=window)
    panel = build_panel({"MSFT": df}, cfg)
    X = panel.X
    origins = panel.origins()
    starts = panel.starts[origins]
    N, F = X.shape
    raw = N * F * 8
    common = {
        "ticker": "MSFT",
        "first": str(panel.dates[0]),
        "last": str(panel.dates[-1]),
        "rows": N,
        "features": F,
        "feature_names": list(panel.feature_names),
        "window": window,
        "origins": len(origins),
        "batch_size": batch_size,
    }

    def lazy_build() -> Any:
        return WindowBatches(X, origins, starts, window, batch_size, cfg.mask_value)

    def lazy() -> float:
        wb = lazy_build()
        total = 0.0
        for i in range(len(wb)):
            total += float(wb[i][:, -1, 0].sum())  # consume each batch, keep none
        return total

    def naive() -> Any:
        # The seed-style loop: one Python iteration per origin into a full float64 array.
        out = np.full((len(origins), window, F), cfg.mask_value)
        for i, (o, s) in enumerate(zip(origins, starts, strict=True)):
            b = max(s, o - window + 1)
            out[i, : o - b + 1] = X[b : o + 1]
        return out

    # Same windows: the loop's array equals the lazy batches (float32, right-padded).
    full = naive()
    wb = lazy_build()
    batches = np.concatenate([wb[i] for i in range(len(wb))])
    same = bool(np.array_equal(full.astype(np.float32), batches))
    full_bytes = full.nbytes
    del full, wb, batches

    wb, build_peak = _peak(lazy_build)
    del wb
    _, lazy_peak = _peak(lazy)
    _, naive_peak = _peak(naive)
    rec.emit(
        NAME,
        {
            "measure": "peak_memory",
            **common,
            "raw_x_bytes": raw,
            "lazy_build_peak_bytes": build_peak,
            "lazy_all_batches_peak_bytes": lazy_peak,
            "naive_full_array_peak_bytes": naive_peak,
            "naive_full_array_bytes": full_bytes,
            "lazy_over_raw": ratio(lazy_peak, raw),
            "naive_over_raw": ratio(naive_peak, raw),
            "naive_over_lazy": ratio(naive_peak, lazy_peak, 2),
            "same_windows": same,
        },
    )

    reps = 5 if quick else 15
    seconds: dict[str, list[float]] = {"lazy": [], "naive": []}
    fns = {"lazy": lazy, "naive": naive}
    for _, name in interleaved(list(fns), reps):
        t0 = time.perf_counter()
        fns[name]()
        seconds[name].append(time.perf_counter() - t0)
    lazy_s, naive_s = median(seconds["lazy"]), median(seconds["naive"])
    rec.emit(
        NAME,
        {
            "measure": "time_all_windows",
            **common,
            "reps": reps,
            "lazy_s_median": round(lazy_s, 5),
            "naive_s_median": round(naive_s, 5),
            "lazy_s": [round(s, 5) for s in seconds["lazy"]],
            "naive_s": [round(s, 5) for s in seconds["naive"]],
            "naive_over_lazy": ratio(naive_s, lazy_s, 2),
        },
    )


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Command line: run this benchmark alone."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--no-save", action="store_true", help="do not append to results.jsonl")
    args = parser.parse_args(argv)
    rec = Recorder(results=None if args.no_save else RESULTS, quick=args.quick)
    run(rec, quick=args.quick)
    return rec.records


if __name__ == "__main__":
    main(sys.argv[1:])
