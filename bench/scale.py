"""Scale: a backtest of 10, 100 and 400 synthetic tickers, and where its time and memory go.

Each size runs in a fresh Python subprocess (so its peak RSS is its own): a seeded synthetic
universe of ``N`` tickers x 10 years of daily OHLCV on XNYS sessions (geometric random walks
with per-ticker volatility and drift; a few tickers carry awkward names such as ``BRK.B``,
``^GSPC`` and ``EURUSD=X``), then the Python API's process set-up (``use_runtime``) and its
workflow with the prices given (``pipeline.workflows.backtest.backtest``: validation, panel,
walk-forward engine, metrics) and ``BacktestResult.save`` into a temporary directory (report,
per-ticker pages, publishing), with a tiny model (one GRU of 16 units, window 20, 4 epochs
then 2 warm, 20 MC-dropout samples) and 2 rolling folds of 500 training and 63 test origins.

Measured per size (one JSON line each): wall time of the workflow (``backtest`` + ``save``;
imports and data generation excluded, reported apart), the time inside training (the model's
``fit`` + ``predict`` calls, timed by wrapping them), the baselines' fit + predict (NumPy
baselines run beside the model's fit, so their time overlaps training's and ``engine_other_s``
can be negative), the share outside training (the wall time less training: work run beside
training is not outside it, and what it costs shows as slower training and a longer wall time,
which a side-by-side run against the previous tree checks), the phases (price validation,
panel, engine, metrics, report rendering, publishing less the rendering it runs), peak RSS of
the child (``ru_maxrss``), the size of ``report.html`` and of the whole run directory. Then one
summary line checks the goals: outside-training share <= 10% at 100 tickers; peak RSS at 400 <=
1.5x the 100-ticker figure; ``report.html`` <= 3 MB at 100 and 400 tickers (a goal whose sizes
were not run is ``null``).

Run alone: ``python -m bench.scale [--sizes 10,100] [--profile 100]``; in ``python -m bench``
it runs 10, 100, 400 (``--quick``: 10, 100).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

NAME = "scale"
SIZES = (10, 100, 400)
QUICK_SIZES = (10, 100)
YEARS = 10
SESSIONS = 252 * YEARS
START = "2014-01-02"
SEED = 20261201
ODD_NAMES = ("BRK.B", "^GSPC", "EURUSD=X")
GOAL_SHARE = 0.10
GOAL_RSS_RATIO = 1.5
GOAL_REPORT_MB = 3.0

CONFIG: dict[str, Any] = {
    "name": "scale",
    "features": {"window": 20, "horizons": 5},
    "model": {
        "layers": [{"cell": "gru", "units": 16, "bidirectional": False}],
        "dropout": 0.1,
        "between_dropout": 0.0,
    },
    "train": {"epochs": 4, "warm_epochs": 2, "batch_size": 256, "mc_samples": 20},
    "backtest": {"folds": 2, "test_size": 63, "train_size": 500, "mode": "rolling"},
    "report": {"title": "stackcast scale bench"},
}


def ticker_names(n: int) -> list[str]:
    """``n`` ticker names: a few awkward ones (file-name sanitising), then ``T0000``..."""
    odd = list(ODD_NAMES) if n >= 10 else []
    return odd + [f"T{k:04d}" for k in range(n - len(odd))]


def synthetic_prices(n: int, seed: int = SEED) -> Any:
    """A long ``date, ticker, open, high, low, close, volume`` frame of ``n`` tickers."""
    import numpy as np
    import pandas as pd
    from stackcast.features.calendars import trading_calendar

    cal = trading_calendar("XNYS")
    days = cal.next_sessions(np.datetime64(START, "D") - np.timedelta64(1, "D"), SESSIONS)
    dates = pd.DatetimeIndex(days.astype("datetime64[ns]"))
    rng = np.random.default_rng(seed)
    parts = []
    for ticker in ticker_names(n):
        vol = rng.uniform(0.008, 0.03)
        drift = rng.normal(0.0002, 0.0003)
        r = drift + vol * rng.standard_t(5, SESSIONS) / np.sqrt(5 / 3)
        close = 50.0 * np.exp(np.cumsum(r))
        opened = close * np.exp(rng.normal(0, vol / 3, SESSIONS))
        spread = np.abs(rng.normal(0, vol, SESSIONS))
        high = np.maximum(close, opened) * np.exp(spread / 2)
        low = np.minimum(close, opened) * np.exp(-spread / 2)
        volume = np.round(rng.lognormal(13, 0.4, SESSIONS))
        parts.append(
            pd.DataFrame(
                {"date": dates, "ticker": ticker, "open": opened, "high": high, "low": low,
                 "close": close, "volume": volume}
            )
        )  # fmt: skip
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- child process


def _clock(fn: Any, into: list[float]) -> Any:
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - t0)

    return wrapped


def _child(n: int, out: Path) -> dict[str, Any]:
    """One size: generate, backtest, save; return the measurements."""
    from bench.common import configure_environment

    t_start = time.perf_counter()
    configure_environment()
    import stackcast.pipeline.workflows.backtest as bt
    from stackcast.pipeline.config import RunConfig
    from stackcast.pipeline.environment import use_runtime
    from stackcast.pipeline.results import runs

    cfg = RunConfig.model_validate(CONFIG)
    use_runtime(cfg)  # the process set-up of the API and the CLI (backend, allocator)
    import keras  # noqa: F401  (imported before the clock starts, as any run pays it first)

    t_imports = time.perf_counter() - t_start
    t0 = time.perf_counter()
    prices = synthetic_prices(n)
    t_data = time.perf_counter() - t0

    phases: dict[str, list[float]] = {
        k: [] for k in ("prices", "panel", "engine", "metrics", "render", "publish")
    }
    model_s: list[float] = []
    baselines_s: list[float] = []
    forecasters = bt.forecasters

    def timed_forecasters(cfg: Any) -> tuple[Any, list[Any]]:
        model, baselines = forecasters(cfg)
        model.fit, model.predict = _clock(model.fit, model_s), _clock(model.predict, model_s)
        for b in baselines:
            b.fit, b.predict = _clock(b.fit, baselines_s), _clock(b.predict, baselines_s)
        return model, baselines

    bt.forecasters = timed_forecasters
    bt.obtain_prices = _clock(bt.obtain_prices, phases["prices"])
    bt.build = _clock(bt.build, phases["panel"])
    bt.run_engine = _clock(bt.run_engine, phases["engine"])
    bt.score = _clock(bt.score, phases["metrics"])
    bt.BacktestResult.render = _clock(bt.BacktestResult.render, phases["render"])
    bt.publish_run = _clock(runs.publish_run, phases["publish"])

    t0 = time.perf_counter()
    result = bt.backtest(cfg, prices)
    run_dir = result.save(out / "run")
    wall = time.perf_counter() - t0
    training = sum(model_s)
    # The pages render inside publishing (the data files are written meanwhile): publishing's
    # own time is what is left of it.
    phases["publish"] = [sum(phases["publish"]) - sum(phases["render"])]
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    report = run_dir / "report.html"
    ticker_pages = list((run_dir / "tickers").glob("*.html"))
    return {
        "tickers": n,
        "sessions_per_ticker": SESSIONS,
        "price_rows": len(prices),
        "wall_s": wall,
        "training_s": training,
        "baselines_s": sum(baselines_s),
        "outside_training_s": wall - training,
        "outside_training_share": (wall - training) / wall,
        "phases_s": {k: sum(v) for k, v in phases.items()},
        "engine_other_s": sum(phases["engine"]) - training - sum(baselines_s),
        "imports_s": t_imports,
        "data_generation_s": t_data,
        "process_s": time.perf_counter() - t_start,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "report_html_mb": report.stat().st_size / 2**20,
        "report_images": report.read_text(encoding="utf-8").count("data:image/"),
        "ticker_pages": len(ticker_pages),
        "run_dir_mb": sum(p.stat().st_size for p in files) / 2**20,
        "run_files": len(files),
        "forecast_rows": len(result.forecasts),
    }


# --------------------------------------------------------------------------- parent


def goals(records: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The goals, checked on what was measured (``None`` where a needed size did not run)."""
    share = records.get(100, {}).get("outside_training_share")
    rss100 = records.get(100, {}).get("peak_rss_mb")
    rss400 = records.get(400, {}).get("peak_rss_mb")
    rss_ratio = rss400 / rss100 if rss100 and rss400 else None
    reports = {n: records[n]["report_html_mb"] for n in (100, 400) if n in records}
    return {
        "outside_share_at_100": share,
        "outside_share_ok": None if share is None else share <= GOAL_SHARE,
        "rss_400_over_100": rss_ratio,
        "rss_ok": None if rss_ratio is None else rss_ratio <= GOAL_RSS_RATIO,
        "report_mb": {str(n): mb for n, mb in reports.items()},
        "report_ok": None if not reports else all(mb <= GOAL_REPORT_MB for mb in reports.values()),
        "goals": {
            "outside_share_at_100_max": GOAL_SHARE,
            "rss_400_over_100_max": GOAL_RSS_RATIO,
            "report_mb_max": GOAL_REPORT_MB,
        },
    }


def run(
    rec: Any, quick: bool = False, *, sizes: tuple[int, ...] | None = None, timeout: float = 1500
) -> None:
    """Measure every size in its own subprocess; emit one record per size and a summary."""
    from bench.common import clean, run_child

    sizes = sizes or (QUICK_SIZES if quick else SIZES)
    records: dict[int, dict[str, Any]] = {}
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="stackcast-scale-") as tmp:
            from bench.common import child_env

            env = child_env({"STACKCAST_HOME": str(Path(tmp) / "home")})
            got, seconds = run_child(
                ["-m", "bench.scale", "--child", str(n), "--out", tmp], env=env, timeout=timeout
            )
        print(f"#   {n} tickers: {got['wall_s']:.1f} s ({seconds:.1f} s process)", file=sys.stderr)
        records[n] = got
        rec.emit(NAME, clean({"measure": "scale_run", **got}, 3))
    rec.emit(NAME, clean({"measure": "scale_goals", "sizes": list(sizes), **goals(records)}, 3))


def main(argv: list[str] | None = None) -> Any:
    """Command line: run this benchmark alone (``--child`` is internal)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default=None, help="comma-separated ticker counts")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-save", action="store_true", help="do not append to results.jsonl")
    parser.add_argument(
        "--profile", type=int, default=None, help="cProfile one size; print the top functions"
    )
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(_child(args.child, args.out)), flush=True)
        return None
    if args.profile is not None:
        return _profile(args.profile)
    from bench.common import RESULTS, Recorder, configure_environment

    configure_environment()
    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else None
    rec = Recorder(results=None if args.no_save else RESULTS, quick=args.quick)
    run(rec, quick=args.quick, sizes=sizes)
    return rec.records


def _profile(n: int) -> None:
    """Run one size under cProfile in this process and print the top cumulative entries."""
    import cProfile
    import pstats

    with tempfile.TemporaryDirectory(prefix="stackcast-scale-") as tmp:
        prof = cProfile.Profile()
        prof.enable()
        got = _child(n, Path(tmp))
        prof.disable()
    print(json.dumps({k: v for k, v in got.items() if k != "phases_s"}), file=sys.stderr)
    print(json.dumps(got["phases_s"]), file=sys.stderr)
    stats = pstats.Stats(prof, stream=sys.stderr)
    stats.sort_stats("cumulative").print_stats(60)
    stats.sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main(sys.argv[1:])
