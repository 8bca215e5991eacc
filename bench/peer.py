"""Peer: stackcast's demo backtest vs darts (``BlockRNNModel``, torch CPU) on the same folds.

Both sides see exactly the demo's layout: the bundled MSFT + GOOG sample cut at 2008-10-14,
``configs/demo.toml``'s walk-forward folds (the same ``Split`` objects), the same test origins
and horizons 1..H, and the same per-step inputs (log return, high-low range, volume z-score,
observed flag; standardised per ticker on each fold's training rows). darts forecasts the next
H one-step log returns from the last ``window`` steps (the return as its target series, the
other inputs as past covariates) and sums them into the h-session log return stackcast
forecasts. Its network is a ``BlockRNNModel`` LSTM sized to stackcast's parameter count, with
the same epoch schedule: ``epochs`` on fold 1, then ``warm_epochs`` more per fold, continuing
from the previous fold's weights (darts' ``fit(..., epochs=k)`` on a fitted model).

stackcast's time is the whole backtest with every output it writes (MC-dropout intervals,
the three baselines, metrics, the HTML report), as ``stackcast demo`` runs it; darts' time is
its fits and point forecasts. Imports and data loading are outside both spans. Each run is a
fresh subprocess, darts and stackcast interleaved and rotated (2 shared cores: torch's and
TensorFlow's timings vary a lot with load), and the medians are reported together with both
MAE tables per horizon over the same (origin, horizon) pairs, each with the random walk's MAE
(identical in both when the pairs are the same) and ``stackcast_over_darts`` (the goal is
<= 1.0).

Needs the ``peer`` extra (``make bench-peer`` installs it). Run alone:
``python -m bench.peer [--reps 3] [--no-save]``. Not part of ``python -m bench``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

NAME = "peer"
END = "2008-10-14"
TICKERS = ("MSFT", "GOOG")
RESULT_TAG = "PEER_RESULT "


# --------------------------------------------------------------------------- shared layout


def _layout() -> tuple[Any, Any, list[Any]]:
    """``(cfg, panel, splits)`` of the demo backtest, built the way ``stackcast demo`` does."""
    import datetime as dt

    from stackcast.features.panel import build_panel
    from stackcast.pipeline.config import builtin_config, load_config
    from stackcast.pipeline.data.sources import load_frames
    from stackcast.pipeline.workflows.backtest import make_splits

    cfg = load_config(builtin_config("demo"))
    frames = load_frames("sample", TICKERS, end=dt.date.fromisoformat(END), data_cfg=cfg.data)
    panel = build_panel(frames, cfg.features)
    return cfg, panel, make_splits(cfg, panel.calendar())


def _mae_table(y_true: Any, y_pred: Any, horizons: Any) -> dict[str, Any]:
    """Per-horizon MAE of ``y_pred`` and of the random walk (zero) over known targets."""
    import numpy as np

    known = np.isfinite(y_true)
    out: dict[str, Any] = {"horizon": [], "mae": [], "mae_random_walk": [], "n": []}
    for h in sorted(set(horizons.tolist())):
        m = known & (horizons == h)
        out["horizon"].append(int(h))
        out["mae"].append(float(np.mean(np.abs(y_pred[m] - y_true[m]))))
        out["mae_random_walk"].append(float(np.mean(np.abs(y_true[m]))))
        out["n"].append(int(m.sum()))
    out["mae_all"] = float(np.mean(np.abs(y_pred[known] - y_true[known])))
    out["mae_random_walk_all"] = float(np.mean(np.abs(y_true[known])))
    return out


def stackcast_param_count(cfg: Any, n_features: int) -> int:
    """Trainable parameters of the demo's stackcast network."""
    from stackcast.models.network import build_model

    model = build_model(cfg.model, n_features, cfg.features.window, cfg.features.horizons, seed=0)
    return int(sum(int(w.numpy().size) for w in model.trainable_weights))


def lstm_hidden_for(params: int, inputs: int, outputs: int) -> tuple[int, int]:
    """Hidden size of darts' 1-layer BlockRNN LSTM closest to ``params``; (size, count).

    darts maps the last hidden state through ``Linear(hidden, outputs)`` (``outputs`` = target
    components) and sizes the output chunk by reshaping, so the head is ``hidden + 1`` weights
    for one target; torch's LSTM has two bias vectors.
    """

    def count(h: int) -> int:
        return 4 * (h * inputs + h * h + 2 * h) + h * outputs + outputs

    best = min(range(1, 512), key=lambda h: abs(count(h) - params))
    return best, count(best)


# --------------------------------------------------------------------------- children


def _child_stackcast() -> dict[str, Any]:
    """The demo backtest with every output (report included), timed from loaded data."""
    import datetime as dt

    import numpy as np
    import pandas as pd
    from stackcast.pipeline.config import builtin_config, load_config
    from stackcast.pipeline.data.sources import load_frames
    from stackcast.pipeline.workflows.backtest import backtest

    cfg = load_config(builtin_config("demo"))
    frames = load_frames("sample", TICKERS, end=dt.date.fromisoformat(END), data_cfg=cfg.data)
    # Every column the sample has (OHLCV), so the panel holds the demo's four inputs.
    prices = pd.concat([f.assign(ticker=t) for t, f in frames.items()], ignore_index=True)
    with tempfile.TemporaryDirectory() as home:
        cfg = cfg.model_copy(update={"paths": cfg.paths.model_copy(update={"home": home})})
        t0 = time.perf_counter()
        result = backtest(cfg, prices)
        result.save(Path(home) / "run")
        seconds = time.perf_counter() - t0
        written = sorted(p.name for p in (Path(home) / "run").iterdir())
    f = result.forecasts
    table = _mae_table(
        f["y_true"].to_numpy(float), f["y_pred"].to_numpy(float), f["horizon"].to_numpy()
    )
    import keras

    return {
        "seconds": seconds,
        "backend": keras.backend.backend(),
        "files": written,
        "mae": table,
        "n_forecasts": len(f),
        "has_interval": bool(np.isfinite(f["lo"].to_numpy(float)).all()),
        "inputs": list(result.panel.feature_names),
        "params": stackcast_param_count(cfg, len(result.panel.feature_names)),
    }


def _darts_series(panel: Any, scaled: Any, block: int, lo: int, hi: int) -> tuple[Any, Any]:
    """Target (scaled log return) and past-covariate series of rows ``lo..hi`` of a block."""
    import pandas as pd
    from darts import TimeSeries

    start = int(panel.offsets[block])
    values = scaled[lo:hi].astype("float32")
    index = pd.RangeIndex(lo - start, hi - start)
    target = TimeSeries.from_times_and_values(index, values[:, :1])
    return target, TimeSeries.from_times_and_values(index, values[:, 1:])


def _child_darts(seed: int) -> dict[str, Any]:
    """darts ``BlockRNNModel`` fold by fold on the demo's folds; timed from loaded data."""
    import logging
    import warnings

    import numpy as np
    import torch
    from darts.models import BlockRNNModel
    from stackcast.models.engine import fold_rows

    warnings.filterwarnings("ignore")
    for name in ("darts", "pytorch_lightning", "lightning", "lightning.pytorch"):
        logging.getLogger(name).setLevel(logging.ERROR)
    cfg, panel, splits = _layout()
    fc, tc = cfg.features, cfg.train
    W, H = fc.window, fc.horizons
    names = list(panel.feature_names)
    ret = names.index("log_return")
    order = [ret] + [j for j in range(len(names)) if j != ret]
    target_params = stackcast_param_count(cfg, len(names))
    hidden, params = lstm_hidden_for(target_params, len(names), 1)
    torch.manual_seed(seed)
    model = BlockRNNModel(
        input_chunk_length=W,
        output_chunk_length=H,
        model="LSTM",
        hidden_dim=hidden,
        n_rnn_layers=1,
        dropout=0.0,
        batch_size=tc.batch_size,
        n_epochs=tc.epochs,
        optimizer_kwargs={"lr": tc.learning_rate},
        random_state=seed,
        pl_trainer_kwargs={
            "accelerator": "cpu",
            "enable_progress_bar": False,
            "enable_model_summary": False,
            "logger": False,
            "enable_checkpointing": False,
        },
    )
    y_true, y_pred, horizons = [], [], []
    fold_s: list[float] = []
    t0 = time.perf_counter()
    for k, split in enumerate(splits):
        f0 = time.perf_counter()
        rows = fold_rows(panel, split)
        # Per-ticker standardisation on the fold's training rows (stackcast's scaler range).
        scaled = np.zeros_like(panel.X, dtype=np.float64)
        ret_sd = np.ones(len(panel.tickers))
        series, covs = [], []
        for b in range(len(panel.tickers)):
            lo_b, hi_b = int(panel.offsets[b]), int(panel.offsets[b + 1])
            mine = rows.train[(rows.train >= lo_b) & (rows.train < hi_b)]
            if len(mine) == 0:
                continue
            fit_rows = np.arange(max(lo_b, int(mine.min()) - W + 1), int(mine.max()) + 1)
            mu = panel.X[fit_rows].mean(axis=0)
            sd = panel.X[fit_rows].std(axis=0)
            sd[sd == 0] = 1.0
            scaled[lo_b:hi_b] = (panel.X[lo_b:hi_b] - mu) / sd
            # The return is only divided by its sd, so H scaled steps sum back to a log return.
            scaled[lo_b:hi_b, ret] = panel.X[lo_b:hi_b, ret] / sd[ret]
            ret_sd[b] = sd[ret]
            # Training windows: inputs from W-1 rows before the first origin, targets up to
            # H rows after the last one (all before the fold's embargo ends).
            lo, hi = max(lo_b, int(mine.min()) - W + 1), min(hi_b, int(mine.max()) + H + 1)
            s, c = _darts_series(panel, scaled[:, order], b, lo, hi)
            series.append(s)
            covs.append(c)
        ordered = scaled[:, order]
        epochs = tc.epochs if k == 0 or not tc.warm_start else tc.warm_epochs
        model.fit(series, past_covariates=covs, epochs=epochs, verbose=False)
        test = rows.test
        inputs, in_covs = [], []
        for r in test:
            b = int(panel.ticker_id[r])
            lo_b = int(panel.offsets[b])
            lo = max(lo_b, int(r) - W + 1)
            s, c = _darts_series(panel, ordered, b, lo, int(r) + 1)
            inputs.append(s)
            in_covs.append(c)
        preds = model.predict(
            n=H, series=inputs, past_covariates=in_covs, verbose=False, show_warnings=False
        )
        for r, p in zip(test, preds, strict=True):
            steps = p.values().reshape(-1)[:H] * ret_sd[int(panel.ticker_id[r])]
            y_pred.append(np.cumsum(steps))
            y_true.append(panel.Y[int(r)])
            horizons.append(np.arange(1, H + 1))
        fold_s.append(time.perf_counter() - f0)
    seconds = time.perf_counter() - t0
    table = _mae_table(np.concatenate(y_true), np.concatenate(y_pred), np.concatenate(horizons))
    counted = int(sum(p.numel() for p in model.model.parameters() if p.requires_grad))
    return {
        "seconds": seconds,
        "fold_s": fold_s,
        "mae": table,
        "n_forecasts": int(sum(len(h) for h in horizons)),
        "hidden_dim": hidden,
        "params": counted,
        "params_formula": params,
        "stackcast_params": target_params,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }


# --------------------------------------------------------------------------- parent


def _spawn(kind: str, seed: int, cache: Path | None = None) -> dict[str, Any]:
    """Run one child in a fresh interpreter.

    ``kind``: ``darts``, ``stackcast``, ``stackcast_jax`` (a cold compile: each run's home is
    new) or ``stackcast_jax_cached`` (jax with the compile cache in ``cache``, shared by the
    runs of that kind, as a daily run of the same model finds it).
    """
    from bench.common import REPO, child_env

    child = "darts" if kind == "darts" else "stackcast"
    backend = {"KERAS_BACKEND": "jax"} if kind.startswith("stackcast_jax") else {}
    if kind == "stackcast_jax_cached" and cache is not None:
        backend["JAX_COMPILATION_CACHE_DIR"] = str(cache)
    command = [sys.executable, "-m", "bench.peer", "--child", child, "--seed", str(seed)]
    t0 = time.perf_counter()
    proc = subprocess.run(
        command,
        cwd=REPO,
        env=child_env(backend),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    lines = [x for x in proc.stdout.splitlines() if x.startswith(RESULT_TAG)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} child failed ({proc.returncode}): {proc.stderr[-3000:]}")
    out = json.loads(lines[-1][len(RESULT_TAG) :])
    out["process_s"] = time.perf_counter() - t0
    return out


def run(
    rec: Any, quick: bool = False, *, reps: int | None = None, seed: int = 0, jax: bool = True
) -> None:
    """Interleave darts and stackcast ``reps`` times each; emit one record with the medians.

    With ``jax`` (and jax installed) stackcast also runs on the JAX backend, in the same
    rotation, reported as ``stackcast_jax_*`` beside the default backend's figures.
    """
    import importlib.util

    from bench.common import configure_environment, interleaved, median, ratio

    configure_environment()
    reps = reps or (1 if quick else 3)
    kinds = ["darts", "stackcast"]
    if jax and importlib.util.find_spec("jax") is not None:
        kinds += ["stackcast_jax", "stackcast_jax_cached"]
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "xla"
        if "stackcast_jax_cached" in kinds:  # fill the cache once, untimed
            warm = _spawn("stackcast_jax_cached", seed, cache)
            print(f"# peer: jax cache filled in {warm['seconds']:.1f} s", file=sys.stderr)
        for _, kind in interleaved(kinds, reps):
            out = _spawn(kind, seed, cache)
            runs[kind].append(out)
            print(f"# peer: {kind} {out['seconds']:.1f} s", file=sys.stderr, flush=True)
    times = {k: [r["seconds"] for r in v] for k, v in runs.items()}
    med = {k: median(v) for k, v in times.items()}
    sc, dt = runs["stackcast"][-1], runs["darts"][-1]
    same_pairs = sc["mae"]["mae_random_walk"] == dt["mae"]["mae_random_walk"]
    record: dict[str, Any] = {
        "measure": "demo_backtest",
        "reps": reps,
        "stackcast_s": round(med["stackcast"], 2),
        "darts_s": round(med["darts"], 2),
        "stackcast_over_darts": ratio(med["stackcast"], med["darts"]),
        "stackcast_runs_s": [round(t, 2) for t in times["stackcast"]],
        "darts_runs_s": [round(t, 2) for t in times["darts"]],
        "stackcast_backend": sc["backend"],
        "stackcast_inputs": sc["inputs"],
        "stackcast_params": sc["params"],
        "darts_params": dt["params"],
        "darts_hidden_dim": dt["hidden_dim"],
        "darts_torch": dt["torch"],
        "darts_torch_threads": dt["torch_threads"],
        "stackcast_outputs": sc["files"],
        "stackcast_mae": sc["mae"],
        "darts_mae": dt["mae"],
        "same_origins_and_horizons": same_pairs and sc["n_forecasts"] == dt["n_forecasts"],
        "epochs": {"first_fold": 8, "later_folds": 3},
    }
    if "stackcast_jax" in runs:
        sj = runs["stackcast_jax"][-1]
        record |= {
            "stackcast_jax_s": round(med["stackcast_jax"], 2),
            "stackcast_jax_over_darts": ratio(med["stackcast_jax"], med["darts"]),
            "stackcast_jax_over_tensorflow": ratio(med["stackcast_jax"], med["stackcast"]),
            "stackcast_jax_runs_s": [round(t, 2) for t in times["stackcast_jax"]],
            "stackcast_jax_backend": sj["backend"],
            "stackcast_jax_mae": sj["mae"],
            "stackcast_jax_cached_s": round(med["stackcast_jax_cached"], 2),
            "stackcast_jax_cached_over_darts": ratio(med["stackcast_jax_cached"], med["darts"]),
            "stackcast_jax_cached_over_tensorflow": ratio(
                med["stackcast_jax_cached"], med["stackcast"]
            ),
            "stackcast_jax_cached_runs_s": [round(t, 2) for t in times["stackcast_jax_cached"]],
            "jax_cached_same_forecasts": runs["stackcast_jax_cached"][-1]["mae"] == sj["mae"],
        }
    rec.emit(NAME, record)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Command line: run the peer comparison."""
    from bench.common import RESULTS, Recorder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=None, help="runs of each (median)")
    parser.add_argument("--quick", action="store_true", help="one run of each")
    parser.add_argument("--seed", type=int, default=0, help="darts/torch seed")
    parser.add_argument("--no-jax", action="store_true", help="skip stackcast on the JAX backend")
    parser.add_argument("--no-save", action="store_true", help="do not append to results.jsonl")
    parser.add_argument("--child", choices=["darts", "stackcast"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        out = _child_darts(args.seed) if args.child == "darts" else _child_stackcast()
        print(RESULT_TAG + json.dumps(out), flush=True)
        return [out]
    rec = Recorder(results=None if args.no_save else RESULTS, quick=args.quick)
    run(rec, quick=args.quick, reps=args.reps, seed=args.seed, jax=not args.no_jax)
    return rec.records


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main(sys.argv[1:])
