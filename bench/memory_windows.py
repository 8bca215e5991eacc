"""Peak memory and speed of lazy windowing vs materialising every window with a Python loop.

Loads data/sample/MSFT.csv, builds the panel (window 60), then measures with ``tracemalloc``:

* ``lazy_build``: constructing ``WindowBatches`` over every origin (float32 copy of ``X``, the
  strided view, per-origin index arrays), peak vs the raw ``N x F x 8`` bytes of ``X``;
* ``lazy``: the same plus materialising all its batches one at a time (what training does);
* ``naive``: a per-origin Python loop filling the full ``[n_origins, 60, F]`` float64 array.

Prints one JSON line per measurement; ``main()`` returns them as dicts.
"""

from __future__ import annotations

import json
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample" / "MSFT.csv"


def _peak(fn: Any) -> tuple[Any, int, float]:
    """Run ``fn`` under tracemalloc; return its result, peak traced bytes and seconds."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    t0 = time.perf_counter()
    out = fn()
    secs = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, peak, secs


def _timed(fn: Any, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(window: int = 60, batch_size: int = 256) -> list[dict[str, Any]]:
    """Run the measurements, print one JSON line each, and return them."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import pandas as pd

    from features.config import FeatureConfig
    from features.panel import build_panel
    from features.windows import WindowBatches

    df = pd.read_csv(SAMPLE)
    cfg = FeatureConfig(window=window)
    panel = build_panel({"MSFT": df}, cfg)
    X = panel.X
    origins = panel.origins()
    starts = panel.starts[origins]
    N, F = X.shape
    raw = N * F * 8
    common = {"bench": "memory_windows", "rows": N, "features": F, "window": window}
    results: list[dict[str, Any]] = []

    def emit(rec: dict[str, Any]) -> None:
        rec = {**common, **rec}
        results.append(rec)
        print(json.dumps(rec), flush=True)

    def lazy() -> float:
        wb = WindowBatches(X, origins, starts, window, batch_size, cfg.mask_value)
        total = 0.0
        for i in range(len(wb)):
            total += float(wb[i][:, -1, 0].sum())  # consume each batch, keep none
        return total

    wb, build_peak, _ = _peak(
        lambda: WindowBatches(X, origins, starts, window, batch_size, cfg.mask_value)
    )
    emit(
        {
            "measure": "lazy_build_peak_memory",
            "origins": len(origins),
            "raw_bytes": raw,
            "peak_bytes": build_peak,
            "ratio_to_raw": round(build_peak / raw, 3),
        }
    )
    del wb
    _, lazy_peak, _ = _peak(lazy)
    lazy_secs = _timed(lazy)
    emit(
        {
            "measure": "lazy_peak_memory",
            "batch_size": batch_size,
            "origins": len(origins),
            "raw_bytes": raw,
            "peak_bytes": lazy_peak,
            "ratio_to_raw": round(lazy_peak / raw, 3),
        }
    )

    def naive() -> np.ndarray:
        out = np.full((len(origins), window, F), cfg.mask_value)
        for i, (o, s) in enumerate(zip(origins, starts, strict=True)):
            b = max(s, o - window + 1)
            out[i, : o - b + 1] = X[b : o + 1]
        return out

    full, naive_peak, _ = _peak(naive)
    naive_secs = _timed(naive)
    emit(
        {
            "measure": "naive_full_peak_memory",
            "raw_bytes": raw,
            "peak_bytes": naive_peak,
            "full_array_bytes": full.nbytes,
            "ratio_to_raw": round(naive_peak / raw, 3),
            "lazy_vs_naive_memory": round(lazy_peak / naive_peak, 4),
        }
    )
    emit(
        {
            "measure": "time_all_windows",
            "batch_size": batch_size,
            "lazy_seconds": round(lazy_secs, 5),
            "naive_loop_seconds": round(naive_secs, 5),
            "speedup": round(naive_secs / lazy_secs, 2),
        }
    )
    return results


if __name__ == "__main__":
    main()
