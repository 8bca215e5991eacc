"""Shared frame of the demo-variant benchmarks (``bench.covariates``, ``bench.forecasters``).

Each such benchmark runs the demo configuration on the bundled MSFT + GOOG sample cut at
2008-10-14 as a few named variants, every (variant, repetition) in a fresh subprocess,
interleaved and rotated; this module holds the parts they share: the demo's config and prices,
the interleaved child runs, and the command line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

END = "2008-10-14"


def demo_inputs(
    features: dict[str, Any] | None = None, backtest: dict[str, Any] | None = None
) -> tuple[Any, Any]:
    """The demo ``RunConfig`` with ``features`` / ``backtest`` overrides, and its sample prices."""
    import pandas as pd
    from stackcast.pipeline.config import RunConfig, builtin_config, load_config

    from bench.common import SAMPLE

    raw = load_config(builtin_config("demo")).model_dump(mode="json")
    raw["features"] |= features or {}
    raw["backtest"] |= backtest or {}
    prices = pd.concat([pd.read_csv(SAMPLE / f"{t}.csv") for t in ("MSFT", "GOOG")])
    prices = prices[prices["date"] <= END].reset_index(drop=True)
    return RunConfig.model_validate(raw), prices


def run_variants(
    module: str,
    variants: Sequence[str],
    describe: Callable[[dict[str, Any]], str],
    *,
    quick: bool,
    reps: int | None,
    folds: int | None,
) -> tuple[dict[str, list[dict[str, Any]]], int, int]:
    """Every variant ``reps`` times in fresh ``python -m module --child`` processes, interleaved.

    ``reps`` defaults to 3 (1 with ``quick``) and ``folds`` to 6 (2 with ``quick``). Prints one
    progress line per child on stderr (``describe`` of its output).

    Returns:
        ``(outputs per variant in repetition order, reps, folds)``.
    """
    from bench.common import child_env, configure_environment, interleaved, run_child

    configure_environment()
    reps = reps or (1 if quick else 3)
    folds = folds or (2 if quick else 6)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    for rep, name in interleaved(list(variants), reps):
        spec = {"variant": name, "folds": folds}
        out, wall = run_child(
            ["-m", module, "--child", json.dumps(spec)], env=child_env(), timeout=900
        )
        print(
            f"#   {name} rep {rep + 1}/{reps}: backtest {out['total_s']:.1f} s "
            f"(process {wall:.1f} s), {describe(out)}",
            file=sys.stderr,
        )
        runs[name].append(out)
    return runs, reps, folds


def variant_main(
    doc: str,
    child: Callable[[dict[str, Any]], dict[str, Any]],
    run: Callable[..., None],
    argv: list[str] | None = None,
) -> Any:
    """Command line of a variant benchmark: run it alone (or, with ``--child``, one backtest)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="2 folds, 1 repetition")
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--folds", type=int, default=None)
    parser.add_argument("--no-save", action="store_true", help="do not append to results.jsonl")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child))), flush=True)
        return None
    from bench.common import RESULTS, Recorder

    rec = Recorder(results=None if args.no_save else RESULTS, quick=args.quick)
    run(rec, quick=args.quick, reps=args.reps, folds=args.folds)
    return rec.records
