"""Daily run: ``stackcast run`` for 10 tickers with a saved champion vs ``import tensorflow``.

Setup (not timed): a temporary ``STACKCAST_HOME``; a CSV of 10 tickers ``T00..T09``, each a
different 1,500-bar slice of the bundled MSFT history put on the same (latest) dates; a config
with a tiny model (one LSTM of 8 units, window 60, 30 MC-dropout samples) whose champion is
trained once with ``stackcast.pipeline.workflows.training.retrain``.

Timed, as subprocesses, interleaved over several repetitions (median): ``python -m pipeline run
--config ...`` (exactly ``stackcast run``: ingest from the CSV, forecast every ticker, ledger,
scoreboard, report) and ``python -c "import tensorflow"`` (the floor any TensorFlow command
pays), wall time and CPU time (the children's user + system seconds: on a busy shared
machine the CPU ratio is the steadier one). Then one more run under ``cProfile`` splits the
daily run's time into imports, model loading, prediction and the rest.

``--baseline-repo DIR`` also times the daily run with another checkout's code (same home,
same champion) for a before/after ratio.

Run alone: ``python -m bench.daily_run [--quick] [--reps 3] [--no-profile]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

NAME = "daily"
TICKERS = tuple(f"T{k:02d}" for k in range(10))
BARS = 1500

CONFIG = """\
name = "bench"
[data]
source = "{csv}"
tickers = [{tickers}]
[features]
window = 60
horizons = 5
[model]
layers = [{{ cell = "lstm", units = 8, bidirectional = false }}]
dropout = 0.1
between_dropout = 0.0
[train]
epochs = 1
batch_size = 256
mc_samples = 30
[backtest]
folds = 1
test_size = 63
train_size = 500
"""


def write_inputs(directory: Path) -> Path:
    """Write the 10-ticker CSV and the config into ``directory``; return the config path."""
    import pandas as pd

    from bench.common import SAMPLE

    msft = pd.read_csv(SAMPLE / "MSFT.csv", parse_dates=["date"])
    dates = msft["date"].iloc[-BARS:].to_numpy()
    parts = []
    for k, ticker in enumerate(TICKERS):
        end = len(msft) - 300 * k
        part = msft.iloc[end - BARS : end][["open", "high", "low", "close", "volume"]]
        part = part.reset_index(drop=True)
        part.insert(0, "ticker", ticker)
        part.insert(0, "date", dates)
        parts.append(part)
    csv = directory / "prices.csv"
    pd.concat(parts, ignore_index=True).to_csv(csv, index=False)
    config = directory / "bench.toml"
    config.write_text(
        CONFIG.format(csv=csv.as_posix(), tickers=", ".join(f'"{t}"' for t in TICKERS)),
        encoding="utf-8",
    )
    return config


def _child_train(config: str) -> dict[str, Any]:
    """Train and promote the champion (``retrain``); runs in a subprocess."""
    from bench.common import configure_environment

    configure_environment()
    from stackcast.pipeline.config import load_config
    from stackcast.pipeline.workflows.training import retrain

    result = retrain(load_config(config))
    return {
        "version": result.challenger.version,
        "promoted": result.promoted,
        "validation_mae": result.challenger.model.validation,
    }


def checkout_path(repo: Path, into: Path) -> Path:
    """A ``PYTHONPATH`` entry importing ``stackcast`` from another checkout ``repo``.

    A checkout's ``stackcast/`` folder holds only the package root: the installed (editable)
    package maps ``stackcast.pipeline`` and the others to this checkout's folders, so the
    entry is a ``stackcast`` folder linking the root's files and the four sub-packages of
    ``repo``.
    """
    package = into / "stackcast"
    package.mkdir(parents=True)
    subs = ("features", "models", "pipeline", "reports")
    for item in (repo / "stackcast").iterdir():
        if item.name not in subs:
            (package / item.name).symlink_to(item)
    for sub in subs:
        (package / sub).symlink_to(repo / sub, target_is_directory=True)
    return into


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children; NaN where unknown."""
    try:
        import resource
    except ImportError:  # Windows
        return float("nan")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed_process(
    args: list[str], env: dict[str, str], cwd: Path, cpu: list[float] | None = None
) -> tuple[float, str]:
    """Run ``args``; ``(wall seconds, stdout)``, its CPU seconds appended to ``cpu``."""
    c0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    seconds = time.perf_counter() - t0
    if cpu is not None:
        cpu.append(_children_cpu() - c0)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout)[-1500:]
        raise RuntimeError(f"{' '.join(args[1:4])} exited {proc.returncode}: {tail}")
    return seconds, proc.stdout


# Functions whose cumulative time the profile reports, by (file suffix, function name).
PROFILED = {
    "daily_forecast": ("pipeline/workflows/daily.py", "daily_forecast"),
    "ingest_ticker (all tickers)": ("pipeline/data/prices.py", "ingest_ticker"),
    "forecast_inputs (all tickers)": ("pipeline/workflows/forecast.py", "forecast_inputs"),
    "forecast_all (one prediction)": ("pipeline/workflows/forecast.py", "forecast_all"),
    "stackcast.models.persistence.load_model": ("models/persistence.py", "load_model"),
    "stackcast.models.predict.predict": ("models/predict.py", "predict"),
    "publish + scoreboard + write_daily": (
        "pipeline/workflows/daily.py",
        ("publish", "scoreboard", "write_daily"),
    ),
    "import tensorflow": ("tensorflow/__init__.py", "<module>"),
    "import keras": ("keras/__init__.py", "<module>"),
}


def _profile_breakdown(path: Path) -> dict[str, Any]:
    """Cumulative seconds and calls of the ``PROFILED`` functions in a cProfile dump.

    Imports show up as several nested ``<module>`` entries (``keras/__init__.py`` exists at
    several package levels): for those the outermost (largest) one is reported.
    """
    import pstats

    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    total = max(ct for (_, _, _, ct, _) in stats.values())
    out: dict[str, Any] = {"profiled_total_s": round(total, 3)}
    for label, (suffix, funcs) in PROFILED.items():
        names = (funcs,) if isinstance(funcs, str) else funcs
        hits = [
            (ct, ncalls)
            for (filename, _, func), (_, ncalls, _, ct, _) in stats.items()
            if filename.replace("\\", "/").endswith(suffix) and func in names
        ]
        if names == ("<module>",):
            seconds, calls = max(hits, default=(0.0, 0))
        else:
            seconds, calls = sum(h[0] for h in hits), sum(h[1] for h in hits)
        out[label] = {"s": round(seconds, 3), "calls": calls}
    return out


def run(
    rec: Any,
    quick: bool = False,
    *,
    reps: int | None = None,
    profile: bool | None = None,
    baseline_repo: Path | None = None,
) -> None:
    """Set up, train the champion, time the daily run against the import; emit the records."""
    from bench.common import REPO, child_env, clean, interleaved, median, ratio, run_child

    reps = reps or (2 if quick else 3)
    profile = (not quick) if profile is None else profile
    with tempfile.TemporaryDirectory(prefix="stackcast-bench-") as tmp:
        tmpdir = Path(tmp)
        config = write_inputs(tmpdir)
        env = child_env({"STACKCAST_HOME": str(tmpdir / "home")})
        champion, train_s = run_child(
            ["-m", "bench.daily_run", "--child-train", str(config)], env=env, timeout=600
        )
        print(f"#   champion {champion['version']} trained in {train_s:.1f} s", file=sys.stderr)
        if not champion["promoted"]:
            raise RuntimeError(f"the bench champion was not promoted: {champion}")
        commands: dict[str, tuple[list[str], Path, dict[str, str]]] = {
            "daily_run": (
                [sys.executable, "-m", "stackcast", "run", "--config", str(config)],
                REPO,
                env,
            ),
            "import_tensorflow": ([sys.executable, "-c", "import tensorflow"], REPO, env),
        }
        if baseline_repo is not None:
            shim = checkout_path(Path(baseline_repo).resolve(), tmpdir / "baseline")
            commands["daily_run@baseline"] = (
                commands["daily_run"][0],
                shim,  # the working directory comes first on the path of ``python -m``
                {**env, "PYTHONPATH": str(shim)},
            )
        seconds: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        forecasts = 0
        for rep, name in interleaved(list(commands), reps):
            args, cwd, cenv = commands[name]
            s, stdout = _timed_process(args, cenv, cwd, cpu[name])
            seconds[name].append(s)
            if name == "daily_run":
                forecasts = sum(1 for line in stdout.splitlines() if line.startswith("T"))
            print(f"#   {name} rep {rep + 1}/{reps}: {s:.2f} s", file=sys.stderr, flush=True)
        breakdown = None
        if profile:
            out = tmpdir / "daily.prof"
            args = [
                sys.executable,
                "-m",
                "cProfile",
                "-o",
                str(out),
                "-m",
                "stackcast",
                "run",
                "--config",
                str(config),
            ]
            _timed_process(args, env, REPO)
            breakdown = _profile_breakdown(out)

    daily, floor = median(seconds["daily_run"]), median(seconds["import_tensorflow"])
    record = {
        "measure": "daily_vs_import",
        "tickers": len(TICKERS),
        "forecast_lines": forecasts,
        "bars_per_ticker": BARS,
        "model": "lstm 8 units, window 60, mc_samples 30",
        "reps": reps,
        "daily_run_s_median": daily,
        "import_tensorflow_s_median": floor,
        "daily_over_import": ratio(daily, floor, 2),
        "daily_minus_import_s": daily - floor,
        "daily_run_s": seconds["daily_run"],
        "import_tensorflow_s": seconds["import_tensorflow"],
        # CPU time tells the same story as wall time on an idle machine and stays readable
        # on a busy shared one, where waiting for a core inflates wall times unevenly
        "daily_over_import_cpu": ratio(
            median(cpu["daily_run"]), median(cpu["import_tensorflow"]), 2
        ),
        "daily_run_cpu_s": cpu["daily_run"],
        "import_tensorflow_cpu_s": cpu["import_tensorflow"],
        "champion_train_process_s": train_s,
    }
    if baseline_repo is not None:
        before = median(seconds["daily_run@baseline"])
        record |= {
            "baseline_repo": str(Path(baseline_repo).resolve()),
            "baseline_daily_run_s_median": before,
            "baseline_daily_run_s": seconds["daily_run@baseline"],
            "speedup_vs_baseline": ratio(before, daily, 2),
            "baseline_daily_run_cpu_s": cpu["daily_run@baseline"],
            "baseline_over_import_cpu": ratio(
                median(cpu["daily_run@baseline"]), median(cpu["import_tensorflow"]), 2
            ),
            "baseline_over_import": ratio(before, floor, 2),
        }
    rec.emit(NAME, clean(record, 3))
    if breakdown is not None:
        rec.emit(NAME, {"measure": "daily_profile", "tickers": len(TICKERS), **breakdown})


def main(argv: list[str] | None = None) -> Any:
    """Command line: run this benchmark alone (``--child-train`` is internal)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child-train", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--baseline-repo", type=Path, default=None)
    parser.add_argument("--no-save", action="store_true", help="do not append to results.jsonl")
    args = parser.parse_args(argv)
    if args.child_train:
        print(json.dumps(_child_train(args.child_train)), flush=True)
        return None
    from bench.common import RESULTS, Recorder

    rec = Recorder(results=None if args.no_save else RESULTS, quick=args.quick)
    run(
        rec,
        quick=args.quick,
        reps=args.reps,
        profile=False if args.no_profile else None,
        baseline_repo=args.baseline_repo,
    )
    return rec.records


if __name__ == "__main__":
    main(sys.argv[1:])
