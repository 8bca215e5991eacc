"""Training throughput: stackcast's default model vs the blog-style Sequential BiLSTM.

Measured side by side in one process on synthetic data (window 60, 8 features, batch 256):

- ``seed_sequential``: ``Sequential([Bidirectional(LSTM(64, return_sequences=True)),
  Bidirectional(LSTM(32)), Dense(H)])``, ``compile("adam", "mse")``, plain ``model.fit`` on a
  full NumPy array, the way the articles write it (no masking, no dropout, no callbacks).
- ``stackcast``: ``build_model(ModelConfig())`` (same sizes plus Masking and dropout) trained by
  ``models.train`` (PyDataset adapter, callbacks, gradient monitoring on).
- ``stackcast_no_monitor``: the same with gradient monitoring off, to price the monitor.
- ``stackcast_model_plain_fit``: the stackcast model fit like the blog model (arrays, Adam,
  mse, no callbacks): separates the model's cost (masking, dropout) from the training stack's.

Each implementation runs ``1 + reps`` epochs per round; the first (graph tracing) is dropped.
Rounds alternate the implementations. samples/s comes from the median epoch and, less sensitive
to other load on a shared machine, from the fastest epoch. One JSON line per implementation,
then two lines of ratios (median-based and best-based).

Run: ``python -m bench.train_throughput [--n 8192 --reps 2 --rounds 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

WINDOW = 60
FEATURES = 8
HORIZONS = 5
BATCH = 256


def _data(n: int, seed: int = 0) -> tuple[Any, Any]:
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, WINDOW, FEATURES)).astype(np.float32)
    y = (0.1 * x[:, -HORIZONS:, 0] + 0.01 * rng.normal(size=(n, HORIZONS))).astype(np.float32)
    return x, y


def _device() -> str:
    from models.training import gpu_available

    return "gpu" if gpu_available() else f"cpu x{os.cpu_count()}"


def seed_sequential(x: Any, y: Any, epochs: int) -> list[float]:
    """The blog-style model, fit on arrays; per-epoch seconds."""
    import keras
    from keras import layers

    model = keras.Sequential(
        [
            keras.Input((WINDOW, FEATURES)),
            layers.Bidirectional(layers.LSTM(64, return_sequences=True)),
            layers.Bidirectional(layers.LSTM(32)),
            layers.Dense(HORIZONS),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    timer = _epoch_timer()
    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=[timer])
    return timer.seconds


def stackcast_plain_fit(x: Any, y: Any, epochs: int) -> list[float]:
    """The default stackcast model, but fit like the blog model (arrays, Adam, mse)."""
    from models.config import ModelConfig
    from models.network import build_model

    model = build_model(ModelConfig(), FEATURES, WINDOW, HORIZONS, seed=0)
    model.compile(optimizer="adam", loss="mse")
    timer = _epoch_timer()
    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=[timer])
    return timer.seconds


def stackcast(x: Any, y: Any, epochs: int, monitor: bool) -> list[float]:
    """The default stackcast model trained by ``models.train``; per-epoch seconds."""
    from models.config import ModelConfig, TrainConfig
    from models.network import build_model
    from models.training import resolve_dtype_policy, train

    config = TrainConfig(epochs=epochs, batch_size=BATCH, patience=epochs + 1)
    model = build_model(
        ModelConfig(),
        FEATURES,
        WINDOW,
        HORIZONS,
        seed=config.seed,
        dtype_policy=resolve_dtype_policy(config),
    )
    result = train(model, (x, y), None, config, verbose=0, monitor_gradients=monitor)
    return list(result.history["seconds"])


def _epoch_timer() -> Any:
    """A Keras callback recording wall seconds per epoch (in ``.seconds``)."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []
            self._t0 = 0.0

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._t0 = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.seconds.append(time.perf_counter() - self._t0)

    return EpochTimer()


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Run the measurements, print one JSON line each, and return them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8192, help="synthetic windows")
    parser.add_argument("--reps", type=int, default=2, help="timed epochs per implementation")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    args = parser.parse_args(argv)

    import keras

    x, y = _data(args.n)
    impls = {
        "seed_sequential": lambda e: seed_sequential(x, y, e),
        "stackcast": lambda e: stackcast(x, y, e, monitor=True),
        "stackcast_no_monitor": lambda e: stackcast(x, y, e, monitor=False),
        "stackcast_model_plain_fit": lambda e: stackcast_plain_fit(x, y, e),
    }
    runs: dict[str, list[float]] = {name: [] for name in impls}
    for _ in range(args.rounds):
        for name, fn in impls.items():
            seconds = fn(1 + args.reps)
            runs[name] += seconds[1:]  # drop the tracing epoch
    common = {
        "bench": "train_throughput",
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "device": _device(),
        "python": platform.python_version(),
        "n": args.n,
        "batch": BATCH,
        "window": WINDOW,
        "features": FEATURES,
        "horizons": HORIZONS,
    }
    records: list[dict[str, Any]] = []
    rate: dict[str, float] = {}
    best: dict[str, float] = {}
    for name, seconds in runs.items():
        median = statistics.median(seconds)
        rate[name] = args.n / median
        best[name] = args.n / min(seconds)
        records.append(
            {
                **common,
                "impl": name,
                "samples_per_s": round(rate[name], 1),
                "best_samples_per_s": round(best[name], 1),
                "epoch_seconds": [round(s, 3) for s in seconds],
                "median_epoch_s": round(median, 3),
            }
        )

    def ratios(r: dict[str, float]) -> dict[str, float]:
        return {
            "stackcast_over_seed": round(r["stackcast"] / r["seed_sequential"], 3),
            "stackcast_model_over_seed": round(
                r["stackcast_model_plain_fit"] / r["seed_sequential"], 3
            ),
            "train_stack_over_plain_fit": round(r["stackcast"] / r["stackcast_model_plain_fit"], 3),
            "monitor_overhead_pct": round(
                100.0 * (r["stackcast_no_monitor"] / r["stackcast"] - 1.0), 2
            ),
        }

    records.append({**common, "impl": "ratios_median", **ratios(rate)})
    records.append({**common, "impl": "ratios_best", **ratios(best)})
    for record in records:
        print(json.dumps(record), flush=True)
    return records


if __name__ == "__main__":
    main(sys.argv[1:])
