"""Peer: stackcast's demo backtest beside darts and a torch build of the same network.

Every side sees exactly the demo's layout: the bundled MSFT + GOOG sample cut at 2008-10-14,
``configs/demo.toml``'s walk-forward folds (the same ``Split`` objects), the same test origins
and horizons 1..H. The sides (``bench.peer_children``, ``bench.peer_torch``):

- ``stackcast`` (and ``stackcast_jax``, ``stackcast_jax_cached``): the demo backtest with
  every output it writes (MC-dropout intervals, the baselines, metrics, the HTML report);
- ``stackcast_darts_net`` (and ``_jax_cached``): the same, configured with darts' network
  (one unidirectional LSTM layer of darts' width, no dropout, the ``last`` head);
- ``darts``: a ``BlockRNNModel`` LSTM sized to stackcast's parameter count, fit fold by fold
  with the demo's epoch schedule (``epochs`` on fold 1, then ``warm_epochs`` per fold from
  the previous weights), point forecasts summed into h-session log returns;
- ``torch_same_network``: the demo's network in torch (fused ``nn.GRU``/``nn.LSTM``) on
  stackcast's own windows, same schedule, training and point forecasts.

Every span covers the same kind of work: from loaded data to the last forecast, model
construction included; imports (Keras and its backend, torch, darts) are outside every span and
printed separately (``*_import_s``), and so is the process set-up every stackcast entry point
does first (``use_runtime``: on JAX the compile cache and XLA's CPU options). Each run is a
fresh subprocess, the sides interleaved and rotated (2 shared cores: torch's and TensorFlow's
timings vary a lot with load); medians are reported with the MAE tables of every side over the
same (origin, horizon) pairs and the ratios ``stackcast_over_torch_same_network`` (per backend)
and ``stackcast_darts_network_over_darts``.

Needs the ``peer`` extra for darts and torch (``make bench-peer`` installs it); without them
only stackcast's sides run. Run alone: ``python -m bench.peer [--reps 3] [--no-save]``. Not
part of ``python -m bench``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.peer_children import (  # noqa: F401  (names the tests and callers use)
    END,
    TICKERS,
    child_darts,
    child_params,
    child_stackcast,
    child_torch_same_network,
    layout,
    lstm_hidden_for,
    mae_table,
    stackcast_param_count,
)

NAME = "peer"
RESULT_TAG = "PEER_RESULT "
_mae_table = mae_table  # earlier name

# kind -> (child, backend environment, uses the shared jax compile cache)
KINDS: dict[str, tuple[str, dict[str, str], bool]] = {
    "darts": ("darts", {}, False),
    "torch_same_network": ("torch", {}, False),
    "stackcast": ("stackcast", {}, False),
    "stackcast_darts_net": ("stackcast_darts_net", {}, False),
    "stackcast_jax": ("stackcast", {"KERAS_BACKEND": "jax"}, False),
    "stackcast_jax_cached": ("stackcast", {"KERAS_BACKEND": "jax"}, True),
    "stackcast_darts_net_jax_cached": ("stackcast_darts_net", {"KERAS_BACKEND": "jax"}, True),
}


def available_kinds(jax: bool = True) -> list[str]:
    """The sides this machine can run: darts and torch only where installed, jax likewise."""
    have = {m: importlib.util.find_spec(m) is not None for m in ("darts", "torch", "jax")}
    kinds = ["stackcast", "stackcast_darts_net"]
    if have["darts"] and have["torch"]:
        kinds.insert(0, "darts")
    if have["torch"]:
        kinds.insert(0, "torch_same_network")
    if jax and have["jax"]:
        kinds += ["stackcast_jax", "stackcast_jax_cached", "stackcast_darts_net_jax_cached"]
    return kinds


def _spawn(
    kind: str, seed: int, cache: Path | None = None, hidden: int | None = None
) -> dict[str, Any]:
    """Run one side in a fresh interpreter; ``cache``: the jax compile cache of cached kinds.

    ``kind`` may also be ``params`` (``child_params``); ``hidden``: darts' LSTM width.
    """
    from bench.common import REPO, child_env

    child, env, cached = KINDS.get(kind, (kind, {}, False))
    env = dict(env)
    if cached and cache is not None:
        env["JAX_COMPILATION_CACHE_DIR"] = str(cache)
        env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
    command = [sys.executable, "-m", "bench.peer", "--child", child, "--seed", str(seed)]
    if hidden is not None:
        command += ["--hidden", str(hidden)]
    t0 = time.perf_counter()
    proc = subprocess.run(
        command, cwd=REPO, env=child_env(env), capture_output=True, text=True, timeout=1800
    )
    lines = [x for x in proc.stdout.splitlines() if x.startswith(RESULT_TAG)]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{kind} child failed ({proc.returncode}): {proc.stderr[-3000:]}")
    out = json.loads(lines[-1][len(RESULT_TAG) :])
    out["process_s"] = time.perf_counter() - t0
    return out


def summarise(runs: dict[str, list[dict[str, Any]]], reps: int) -> dict[str, Any]:
    """One record from every side's runs: medians, import times, MAE tables and the ratios."""
    from bench.common import median, ratio

    med = {k: median([r["seconds"] for r in v]) for k, v in runs.items() if v}
    record: dict[str, Any] = {"measure": "demo_backtest", "reps": reps}
    for kind, values in runs.items():
        if not values:
            continue
        last = values[-1]
        record[f"{kind}_s"] = round(med[kind], 2)
        record[f"{kind}_runs_s"] = [round(r["seconds"], 2) for r in values]
        record[f"{kind}_import_s"] = round(median([r["import_s"] for r in values]), 2)
        record[f"{kind}_mae"] = last["mae"]
        for key in ("params", "backend", "hidden_dim", "torch", "torch_threads", "files"):
            if key in last:
                record[f"{kind}_{key}"] = last[key]
    torch_ref, darts = med.get("torch_same_network"), med.get("darts")
    if torch_ref:
        record["stackcast_over_torch_same_network"] = {
            label: ratio(med[kind], torch_ref)
            for label, kind in (
                ("tensorflow", "stackcast"),
                ("jax_cold", "stackcast_jax"),
                ("jax_cached", "stackcast_jax_cached"),
            )
            if kind in med
        }
    if darts:
        record["stackcast_darts_network_over_darts"] = {
            label: ratio(med[kind], darts)
            for label, kind in (
                ("tensorflow", "stackcast_darts_net"),
                ("jax_cached", "stackcast_darts_net_jax_cached"),
            )
            if kind in med
        }
        record["stackcast_over_darts"] = ratio(med["stackcast"], darts)
        pairs = {k: v[-1]["mae"]["mae_random_walk"] for k, v in runs.items() if v}
        record["same_origins_and_horizons"] = len({json.dumps(p) for p in pairs.values()}) == 1
    if "stackcast_jax" in med:
        record["stackcast_jax_over_tensorflow"] = ratio(med["stackcast_jax"], med["stackcast"])
    if "stackcast_jax_cached" in med:
        record["stackcast_jax_cached_over_tensorflow"] = ratio(
            med["stackcast_jax_cached"], med["stackcast"]
        )
    record["epochs"] = {"first_fold": 8, "later_folds": 3}
    return record


def run(
    rec: Any, quick: bool = False, *, reps: int | None = None, seed: int = 0, jax: bool = True
) -> None:
    """Interleave every available side ``reps`` times; emit one record with the medians."""
    from bench.common import configure_environment, interleaved

    configure_environment()
    reps = reps or (1 if quick else 3)
    kinds = available_kinds(jax)
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
    sizes = _spawn("params", seed)  # darts' width, so darts' processes never load Keras
    hidden = int(sizes["hidden_dim"])
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "xla"
        for kind in kinds:  # fill the cache once per network, untimed
            if KINDS[kind][2]:
                warm = _spawn(kind, seed, cache, hidden)
                print(f"# peer: {kind} cache filled in {warm['seconds']:.1f} s", file=sys.stderr)
        for _, kind in interleaved(kinds, reps):
            out = _spawn(kind, seed, cache, hidden)
            runs[kind].append(out)
            print(f"# peer: {kind} {out['seconds']:.1f} s", file=sys.stderr, flush=True)
    record = summarise(runs, reps)
    record["stackcast_params"] = sizes["stackcast_params"]
    record["darts_hidden_for_params"] = hidden
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
    parser.add_argument(
        "--child",
        choices=["params", "darts", "torch", "stackcast", "stackcast_darts_net"],
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--hidden", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        if args.child == "params":
            out = child_params()
        elif args.child == "darts":
            out = child_darts(args.seed, args.hidden)
        elif args.child == "torch":
            out = child_torch_same_network(args.seed)
        else:
            network = "darts" if args.child == "stackcast_darts_net" else "demo"
            out = child_stackcast(network, args.hidden)
        print(RESULT_TAG + json.dumps(out), flush=True)
        return [out]
    rec = Recorder(results=None if args.no_save else RESULTS, quick=args.quick)
    run(rec, quick=args.quick, reps=args.reps, seed=args.seed, jax=not args.no_jax)
    return rec.records


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main(sys.argv[1:])
