"""Backtest: walk-forward folds warm-started from the previous fold vs retrained from scratch.

The demo configuration (``configs/demo.toml``: GRU 32 / LSTM 16 + GRU backward, attention
head, window 40, 8 epochs, batch 128, 20 MC-dropout samples, 6 rolling folds of 42 test days)
on the bundled MSFT + GOOG sample cut at 2008-10-14, as ``stackcast demo`` runs it, with:

* ``scratch``: ``warm_start = false``: every fold builds a new model and trains ``epochs``;
* ``warmK``: ``warm_start = true, warm_epochs = K``: fold 1 as above, every later fold
  continues from the previous fold's model for at most ``K`` epochs.

Each (variant, repetition) runs in a fresh Python subprocess (no compiled-graph or cache carries
over between variants), interleaved and rotated; the timed span is ``backtest_panel`` (model,
scalers, baselines, MC-dropout forecasts; not imports or data loading). Reported per variant:
medians of the total wall time, per-fold time and its training part; the model's MAE over all
test origins and horizons (known targets), which is identical across repetitions (seeded, CPU
deterministic: checked by a digest of the predictions). Then, per warm variant, the ratios
against ``scratch``: total, per later fold (folds 2..N, where warm start applies), training
only, and the MAE change in percent ("equal error" = within +-2 %).

``--baseline-repo DIR`` (e.g. a ``git worktree`` of an older commit) also runs each variant
with that tree's ``features``/``models``/``pipeline`` and reports before/after ratios and
whether the predictions are bit-identical.

Run alone: ``python -m bench.backtest_warm [--quick] [--warm-epochs 3,1] [--reps 3]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

NAME = "backtest"
END = "2008-10-14"
TICKERS = ("MSFT", "GOOG")


# --------------------------------------------------------------------------- child process


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one backtest with ``spec``'s tree and variant; return its timings and errors.

    Imports only from ``spec["repo"]`` (put first on ``sys.path``), so an older checkout can be
    measured with this same script.
    """
    repo = str(Path(spec["repo"]).resolve())
    sys.path.insert(0, repo)
    import datetime as dt

    import numpy as np
    import stackcast.models as models
    import stackcast.models.rnn as rnn
    from stackcast.features.panel import build_panel
    from stackcast.pipeline.config import builtin_config, load_config
    from stackcast.pipeline.data.sources import load_frames
    from stackcast.pipeline.workflows.backtest import make_splits, run_engine
    from stackcast.pipeline.workflows.steps import Steps

    assert Path(models.__file__).resolve().is_relative_to(repo), models.__file__
    cfg = load_config(builtin_config("demo"))
    train = cfg.train.model_copy(
        update={"warm_start": spec["warm_epochs"] > 0, "warm_epochs": max(spec["warm_epochs"], 1)}
    )
    backtest = cfg.backtest.model_copy(update={"folds": spec["folds"]})
    cfg = cfg.model_copy(update={"train": train, "backtest": backtest})
    frames = load_frames("sample", TICKERS, end=dt.date.fromisoformat(END), data_cfg=cfg.data)
    panel = build_panel(frames, cfg.features)

    train_s: list[float] = []
    predict_s: list[float] = []  # per fold: its predict calls (test block, validation block)

    def clock(fn: Any, into: list[float], new_fold: bool) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if new_fold:  # train() opens a fold; later predict() calls belong to it
                predict_s.append(0.0)
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                if new_fold:
                    into.append(time.perf_counter() - t0)
                else:
                    into[-1] += time.perf_counter() - t0

        return wrapped

    # The RNN forecaster calls these module-level names, so the timed wrappers are what it calls.
    rnn.train = clock(rnn.train, train_s, True)
    rnn.predict = clock(rnn.predict, predict_s, False)

    t0 = time.perf_counter()
    out = run_engine(cfg, panel, make_splits(cfg, panel.calendar()), Steps())
    total = time.perf_counter() - t0

    pred = out.predictions
    known = pred.dropna(subset=["y_true"])
    y_pred = np.ascontiguousarray(pred["y_pred"].to_numpy(dtype=np.float64))
    return {
        "total_s": total,
        "fold_s": [f.seconds for f in out.folds],
        "train_s": train_s,
        "predict_s": predict_s,
        "epochs": [int(f.history["epochs_run"]) for f in out.folds],
        "warm": [bool(f.history["warm_start"]) for f in out.folds],
        "test_origins": int(len(pred) // cfg.features.horizons),
        "mae": float(np.mean(np.abs(known["y_pred"] - known["y_true"]))),
        "mae_random_walk": float(np.mean(np.abs(known["y_true"]))),
        "mae_ridge": float(np.mean(np.abs(known["ridge"] - known["y_true"]))),
        "digest": hashlib.sha256(y_pred.tobytes()).hexdigest()[:16],
        "config": {
            "epochs": cfg.train.epochs,
            "batch_size": cfg.train.batch_size,
            "mc_samples": cfg.train.mc_samples,
            "window": cfg.features.window,
            "folds": cfg.backtest.folds,
            "test_size": cfg.backtest.test_size,
            "train_size": cfg.backtest.train_size,
        },
    }


# --------------------------------------------------------------------------- parent


def _demo_warm_epochs() -> int:
    from bench.common import REPO

    with (REPO / "configs" / "demo.toml").open("rb") as fh:
        return int(tomllib.load(fh)["train"]["warm_epochs"])


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over repetitions of one variant."""
    from bench.common import median

    n = len(runs[0]["fold_s"])
    later = range(1, n)
    return {
        "total_s_median": median(r["total_s"] for r in runs),
        "total_s": [r["total_s"] for r in runs],
        "fold_s_median": [median(r["fold_s"][k] for r in runs) for k in range(n)],
        "train_s_median": [median(r["train_s"][k] for r in runs) for k in range(n)],
        "predict_s_median": [median(r["predict_s"][k] for r in runs) for k in range(n)],
        # Folds 2..N: where a warm start applies (fold 1 always trains from scratch).
        "later_fold_s_median": median(median(r["fold_s"][k] for k in later) for r in runs),
        "later_train_s_median": median(median(r["train_s"][k] for k in later) for r in runs),
        "later_predict_s_median": median(median(r["predict_s"][k] for k in later) for r in runs),
        "epochs": runs[0]["epochs"],
        "test_origins": runs[0]["test_origins"],
        "mae": runs[0]["mae"],
        "mae_random_walk": runs[0]["mae_random_walk"],
        "mae_ridge": runs[0]["mae_ridge"],
        "deterministic": len({(r["digest"], r["mae"]) for r in runs}) == 1,
        "digest": runs[0]["digest"],
        "config": runs[0]["config"],
    }


def run(
    rec: Any,
    quick: bool = False,
    *,
    warm_epochs: list[int] | None = None,
    reps: int | None = None,
    folds: int | None = None,
    baseline_repo: Path | None = None,
) -> None:
    """Run the variants in subprocesses and emit one record per variant and per comparison."""
    from bench.common import REPO, child_env, clean, configure_environment, interleaved, run_child
    from bench.common import ratio as _ratio

    configure_environment()
    demo_warm = _demo_warm_epochs()
    warm_epochs = warm_epochs or ([demo_warm] if quick else sorted({demo_warm, 1}, reverse=True))
    reps = reps or (1 if quick else 3)
    folds = folds or (3 if quick else 6)
    trees = {"current": REPO}
    if baseline_repo is not None:
        trees["baseline"] = Path(baseline_repo).resolve()
    variants = {"scratch": 0, **{f"warm{k}": k for k in warm_epochs}}
    names = [f"{v}@{t}" for t in trees for v in variants]
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for rep, name in interleaved(names, reps):
        variant, tree = name.split("@")
        spec = {"repo": str(trees[tree]), "warm_epochs": variants[variant], "folds": folds}
        out, wall = run_child(
            ["-m", "bench.backtest_warm", "--child", json.dumps(spec)],
            env=child_env(),
            timeout=900,
        )
        print(
            f"#   {name} rep {rep + 1}/{reps}: backtest {out['total_s']:.1f} s "
            f"(process {wall:.1f} s), MAE {out['mae']:.6f}",
            file=sys.stderr,
            flush=True,
        )
        runs[name].append(out)

    common = {"data": f"{'+'.join(TICKERS)} sample to {END}", "config_name": "demo", "reps": reps}
    summaries = {name: _summary(r) for name, r in runs.items()}
    for name, s in summaries.items():
        variant, tree = name.split("@")
        rec.emit(
            NAME,
            clean(
                {
                    "measure": "variant",
                    "variant": variant,
                    "tree": tree,
                    "repo": str(trees[tree]),
                    "warm_start": variants[variant] > 0,
                    "warm_epochs": variants[variant] or None,
                    **common,
                    **s,
                },
                6,
            ),
        )
    for tree in trees:
        scratch = summaries[f"scratch@{tree}"]
        for variant, k in variants.items():
            if not k:
                continue
            warm = summaries[f"{variant}@{tree}"]
            change = 100.0 * (warm["mae"] / scratch["mae"] - 1.0)
            speedup_total = _ratio(scratch["total_s_median"], warm["total_s_median"], 2)
            speedup_fold = _ratio(scratch["later_fold_s_median"], warm["later_fold_s_median"], 2)
            rec.emit(
                NAME,
                clean(
                    {
                        "measure": "warm_vs_scratch",
                        "tree": tree,
                        "warm_epochs": k,
                        "scratch_epochs": scratch["config"]["epochs"],
                        "folds": folds,
                        **common,
                        "scratch_total_s": scratch["total_s_median"],
                        "warm_total_s": warm["total_s_median"],
                        "speedup_total": speedup_total,
                        "scratch_later_fold_s": scratch["later_fold_s_median"],
                        "warm_later_fold_s": warm["later_fold_s_median"],
                        "speedup_per_later_fold": speedup_fold,
                        "speedup_training_per_later_fold": _ratio(
                            scratch["later_train_s_median"], warm["later_train_s_median"], 2
                        ),
                        "mae_scratch": round(scratch["mae"], 7),
                        "mae_warm": round(warm["mae"], 7),
                        "mae_change_pct": round(change, 2),
                        "equal_error": abs(change) <= 2.0,
                        "goal_5x_total_met": bool(speedup_total and speedup_total >= 5.0),
                        "goal_5x_per_fold_met": bool(speedup_fold and speedup_fold >= 5.0),
                    },
                    6,
                ),
            )
    if "baseline" in trees:
        for variant in variants:
            before, after = summaries[f"{variant}@baseline"], summaries[f"{variant}@current"]
            rec.emit(
                NAME,
                clean(
                    {
                        "measure": "before_after",
                        "variant": variant,
                        "baseline_repo": str(trees["baseline"]),
                        **common,
                        "before_total_s": before["total_s_median"],
                        "after_total_s": after["total_s_median"],
                        "speedup_total": _ratio(before["total_s_median"], after["total_s_median"]),
                        "before_later_fold_s": before["later_fold_s_median"],
                        "after_later_fold_s": after["later_fold_s_median"],
                        "speedup_per_later_fold": _ratio(
                            before["later_fold_s_median"], after["later_fold_s_median"]
                        ),
                        "identical_predictions": before["digest"] == after["digest"],
                        "mae_before": round(before["mae"], 7),
                        "mae_after": round(after["mae"], 7),
                    },
                    6,
                ),
            )


def main(argv: list[str] | None = None) -> Any:
    """Command line: run this benchmark alone (or, with ``--child``, one backtest)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="3 folds, 1 repetition")
    parser.add_argument("--warm-epochs", default="", help="comma-separated, e.g. 3,1")
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--folds", type=int, default=None)
    parser.add_argument("--baseline-repo", type=Path, default=None)
    parser.add_argument("--no-save", action="store_true", help="do not append to results.jsonl")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(json.loads(args.child))), flush=True)
        return None
    from bench.common import RESULTS, Recorder

    rec = Recorder(results=None if args.no_save else RESULTS, quick=args.quick)
    run(
        rec,
        quick=args.quick,
        warm_epochs=[int(k) for k in args.warm_epochs.split(",") if k.strip()] or None,
        reps=args.reps,
        folds=args.folds,
        baseline_repo=args.baseline_repo,
    )
    return rec.records


if __name__ == "__main__":
    main(sys.argv[1:])
