"""``python -m bench``: run the benchmarks, print JSON lines, append them to results.jsonl.

Usage::

    python -m bench                      # everything (under 10 minutes on 2 CPU cores)
    python -m bench --quick              # fewer repetitions / folds / samples
    python -m bench --only windowing,daily
    python -m bench backtest             # names may also be given as arguments
    python -m bench --list

A benchmark that fails prints a ``"status": "error"`` record and the others still run; the
exit status is 1 if any failed. The GPU benchmark reports ``"status": "skipped"`` where there
is no CUDA device or no torch/jax, which is not a failure.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
import traceback
from pathlib import Path

from bench import BENCHMARKS
from bench.common import RESULTS, Recorder, configure_environment


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The runner's options."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--only", default="", help="comma-separated benchmark names")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, smaller runs")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--results", type=Path, default=RESULTS, help="JSON-lines file appended to")
    parser.add_argument("--no-save", action="store_true", help="print only, append nothing")
    return parser.parse_args(argv)


def selected(args: argparse.Namespace) -> list[str]:
    """The benchmark names to run, in the canonical order; unknown names exit with status 2."""
    wanted = [n for n in args.names] + [n for n in args.only.split(",") if n.strip()]
    wanted = [n.strip() for n in wanted]
    unknown = [n for n in wanted if n not in BENCHMARKS]
    if unknown:
        sys.exit(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    return [n for n in BENCHMARKS if not wanted or n in wanted]


def main(argv: list[str] | None = None) -> int:
    """Run the selected benchmarks; 0 if none failed."""
    args = parse_args(argv)
    if args.list:
        for name, (_, about) in BENCHMARKS.items():
            print(f"{name:12s} {about}")
        return 0
    names = selected(args)
    configure_environment()
    rec = Recorder(results=None if args.no_save else args.results, quick=args.quick)
    failed = []
    t_all = time.perf_counter()
    for name in names:
        module_name = BENCHMARKS[name][0]
        t0 = time.perf_counter()
        print(f"# {name}: {BENCHMARKS[name][1]}", file=sys.stderr, flush=True)
        try:
            importlib.import_module(module_name).run(rec, quick=args.quick)
        except Exception as exc:  # one benchmark's failure must not hide the others
            failed.append(name)
            traceback.print_exc()
            rec.emit(name, {"status": "error", "error": f"{type(exc).__name__}: {exc}"[:2000]})
        print(f"# {name}: {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    print(
        f"# {len(names)} benchmark(s) in {time.perf_counter() - t_all:.1f} s"
        + (f"; failed: {', '.join(failed)}" if failed else ""),
        file=sys.stderr,
        flush=True,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
