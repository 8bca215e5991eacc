"""Fold-parallel backtest: the folds one after another vs on 2 local Dask worker processes.

The demo layout (``configs/demo.toml``: MSFT + GOOG sample to 2008-10-14, its model, window
and fold sizes) with ``[train] warm_start = false``, so the folds are independent. Both
variants run ``stackcast.pipeline.workflows.backtest.backtest`` on the stored sample in this
process: ``sequential`` with plain ``Steps``, ``dask2`` with ``DaskSteps`` on a local cluster of
2 single-threaded worker processes (started before the clock; the workers' first TensorFlow
import is inside the timed span, as in a fresh ``stackcast backtest`` on Dask). One JSON line:
both wall times, their ratio, and whether the forecasts are bit-identical.

Run alone: ``python -m bench.fold_parallel [--quick] [--folds N] [--epochs N]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from typing import Any

NAME = "fold_parallel"


def run(
    rec: Any, quick: bool = False, *, folds: int | None = None, epochs: int | None = None
) -> None:
    """Time both variants once each and emit one record."""
    import os

    from bench.common import configure_environment, ratio

    configure_environment()
    from stackcast.pipeline.environment import quiet_tensorflow

    quiet_tensorflow()  # oneDNN off here as in the workers: the same arithmetic on both sides
    from stackcast.pipeline.config import RuntimeConfig, builtin_config, load_config
    from stackcast.pipeline.data.ingest import ingest
    from stackcast.pipeline.orchestration.pool import dask_steps
    from stackcast.pipeline.workflows.backtest import backtest
    from stackcast.pipeline.workflows.steps import Steps

    folds = folds or (2 if quick else 4)
    cfg = load_config(builtin_config("demo"))
    train = {
        "warm_start": False,
        **({"epochs": epochs} if epochs else {"epochs": 2} if quick else {}),
    }
    with tempfile.TemporaryDirectory(prefix="stackcast-bench-") as home:
        os.environ["STACKCAST_HOME"] = home
        cfg = cfg.model_copy(
            update={
                "train": cfg.train.model_copy(update=train),
                "backtest": cfg.backtest.model_copy(update={"folds": folds}),
                "paths": cfg.paths.model_copy(update={"home": home}),
            }
        )
        ingest(cfg)  # the bundled sample into the store, before either clock
        t0 = time.perf_counter()
        seq = backtest(cfg, steps=Steps(), refresh=False)
        sequential_s = time.perf_counter() - t0
        runtime = RuntimeConfig(task_runner="dask", max_workers=2)
        t0 = time.perf_counter()
        with dask_steps(runtime) as steps:
            start_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            par = backtest(cfg, steps=steps, refresh=False)
            dask_s = time.perf_counter() - t0
    identical = bool(seq.forecasts.equals(par.forecasts))
    rec.emit(
        NAME,
        {
            "measure": "sequential_vs_dask2",
            "config_name": "demo",
            "warm_start": False,
            "folds": folds,
            "epochs": cfg.train.epochs,
            "workers": 2,
            "sequential_s": round(sequential_s, 2),
            "dask2_s": round(dask_s, 2),
            "cluster_start_s": round(start_s, 2),
            "speedup": ratio(sequential_s, dask_s, 2),
            "identical_forecasts": identical,
        },
    )


def main(argv: list[str] | None = None) -> Any:
    """Command line: run this benchmark alone."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 folds, 2 epochs")
    parser.add_argument("--folds", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--no-save", action="store_true", help="do not append to results.jsonl")
    args = parser.parse_args(argv)
    from bench.common import RESULTS, Recorder

    rec = Recorder(results=None if args.no_save else RESULTS, quick=args.quick)
    run(rec, quick=args.quick, folds=args.folds, epochs=args.epochs)
    return rec.records


if __name__ == "__main__":
    main(sys.argv[1:])
