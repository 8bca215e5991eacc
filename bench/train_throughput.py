"""Training throughput: stackcast's default model vs the seed-style Sequential BiLSTM.

Measured side by side in one process on synthetic data (window 60, 8 features, 5 horizons,
batch 256), TensorFlow backend:

- ``seed_sequential``: ``Sequential([Bidirectional(LSTM(64, return_sequences=True)),
  Bidirectional(LSTM(32)), Dense(H)])``, ``compile("adam", "mse")``, plain ``model.fit`` on
  NumPy arrays, the way the articles write it (no masking, no dropout, no callbacks).
- ``stackcast``: ``build_model(ModelConfig())`` (same sizes plus Masking and dropout) trained
  by ``models.train`` (PyDataset adapter, callbacks, gradient monitoring on).
- ``stackcast_no_monitor``: the same with gradient monitoring off: prices the monitor.
- ``stackcast_model_plain_fit``: the stackcast model fit like the seed model (arrays, Adam,
  mse, no callbacks): separates the model's cost (masking, dropout) from the training stack's.

Each implementation's model is built and traced once (a one-epoch warm-up, not timed); then
``rounds`` rounds each train every implementation for ``reps`` epochs, in rotated order
(``models.train`` reuses its compiled step across calls, Keras ``fit`` does too). samples/s
comes from the median epoch (wall clock), from the fastest epoch, and from the process CPU time
of each training call (all threads; less sensitive to other processes sharing the cores, but it
includes the per-call set-up). One JSON record per implementation, then the ratios on each of
the three bases. ``monitor_overhead_pct`` > 0 means gradient monitoring slows training.

Run alone: ``python -m bench.train_throughput [--quick] [--n 2048 --reps 1 --rounds 6]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

NAME = "throughput"
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


Trainer = Callable[[int], list[float]]  # epochs -> per-epoch wall seconds


def seed_sequential(x: Any, y: Any) -> Trainer:
    """The seed-style model, fit on arrays; returns ``epochs -> per-epoch seconds``."""
    import keras
    from keras import layers
    from stackcast.models.seeding import seed_everything

    seed_everything(0)
    model = keras.Sequential(
        [
            keras.Input((WINDOW, FEATURES)),
            layers.Bidirectional(layers.LSTM(64, return_sequences=True)),
            layers.Bidirectional(layers.LSTM(32)),
            layers.Dense(HORIZONS),
        ]
    )
    model.compile(optimizer="adam", loss="mse")

    def fit(epochs: int) -> list[float]:
        timer = _epoch_timer()
        model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=[timer])
        return timer.seconds

    return fit


def stackcast_plain_fit(x: Any, y: Any) -> Trainer:
    """The default stackcast model, fit like the seed model (arrays, Adam, mse)."""
    from stackcast.models.config import ModelConfig
    from stackcast.models.network import build_model

    model = build_model(ModelConfig(), FEATURES, WINDOW, HORIZONS, seed=0)
    model.compile(optimizer="adam", loss="mse")

    def fit(epochs: int) -> list[float]:
        timer = _epoch_timer()
        model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=[timer])
        return timer.seconds

    return fit


def stackcast(x: Any, y: Any, monitor: bool) -> Trainer:
    """The default stackcast model trained by ``models.train``."""
    from stackcast.models.config import ModelConfig, TrainConfig
    from stackcast.models.network import build_model
    from stackcast.models.precision import resolve_dtype_policy
    from stackcast.models.training import train

    base = TrainConfig(batch_size=BATCH)
    model = build_model(
        ModelConfig(),
        FEATURES,
        WINDOW,
        HORIZONS,
        seed=base.seed,
        dtype_policy=resolve_dtype_policy(base),
    )

    def fit(epochs: int) -> list[float]:
        config = base.model_copy(update={"epochs": epochs, "patience": epochs + 1})
        result = train(model, (x, y), None, config, verbose=0, monitor_gradients=monitor)
        return list(result.history["seconds"])

    return fit


def run(
    rec: Any,
    quick: bool = False,
    *,
    n: int | None = None,
    reps: int | None = None,
    rounds: int | None = None,
) -> None:
    """Build, warm up, then time every implementation in rotated rounds; emit the records."""
    from bench.common import clean, configure_environment, interleaved, median, ratio

    configure_environment()
    import keras
    from stackcast.models.precision import gpu_available
    from stackcast.models.seeding import seed_everything

    # The first seed_everything of a process also seeds TensorFlow, which clears its kernel
    # caches (every traced function is re-instantiated): do it before anything is traced.
    seed_everything(0)
    n = n or (1024 if quick else 2048)
    reps = reps or 1
    rounds = rounds or (3 if quick else 6)
    x, y = _data(n)
    builders: dict[str, Callable[[], Trainer]] = {
        "seed_sequential": lambda: seed_sequential(x, y),
        "stackcast": lambda: stackcast(x, y, monitor=True),
        "stackcast_no_monitor": lambda: stackcast(x, y, monitor=False),
        "stackcast_model_plain_fit": lambda: stackcast_plain_fit(x, y),
    }
    trainers: dict[str, Trainer] = {}
    warmup: dict[str, float] = {}
    for name, build in builders.items():
        t0 = time.perf_counter()
        trainers[name] = build()
        trainers[name](1)  # trace (and first epoch), not timed as throughput
        warmup[name] = time.perf_counter() - t0
    runs: dict[str, list[float]] = {name: [] for name in trainers}
    cpu: dict[str, list[float]] = {name: [] for name in trainers}
    for _, name in interleaved(list(trainers), rounds):
        c0 = time.process_time()
        runs[name] += trainers[name](reps)
        cpu[name].append((time.process_time() - c0) / reps)

    common = {
        "backend": keras.backend.backend(),
        "train_device": "gpu" if gpu_available() else "cpu",
        "n": n,
        "batch": BATCH,
        "window": WINDOW,
        "features": FEATURES,
        "horizons": HORIZONS,
        "rounds": rounds,
        "epochs_per_round": reps,
    }
    rate: dict[str, float] = {}
    best: dict[str, float] = {}
    cpu_rate: dict[str, float] = {}
    for name, seconds in runs.items():
        rate[name] = n / median(seconds)
        best[name] = n / min(seconds)
        cpu_rate[name] = n / median(cpu[name])
        rec.emit(
            NAME,
            clean(
                {
                    "measure": "impl",
                    "impl": name,
                    **common,
                    "samples_per_s": round(rate[name], 1),
                    "best_samples_per_s": round(best[name], 1),
                    "cpu_samples_per_s": round(cpu_rate[name], 1),
                    "median_epoch_s": median(seconds),
                    "epoch_s": seconds,
                    "cpu_s_per_epoch": cpu[name],
                    "build_and_warmup_s": warmup[name],
                },
                3,
            ),
        )

    def ratios(r: dict[str, float]) -> dict[str, Any]:
        return {
            "stackcast_over_seed": ratio(r["stackcast"], r["seed_sequential"]),
            "stackcast_model_over_seed": ratio(
                r["stackcast_model_plain_fit"], r["seed_sequential"]
            ),
            "train_stack_over_plain_fit": ratio(r["stackcast"], r["stackcast_model_plain_fit"]),
            "monitor_overhead_pct": round(
                100.0 * (r["stackcast_no_monitor"] / r["stackcast"] - 1.0), 2
            ),
        }

    for basis, rates in (("median_epoch", rate), ("best_epoch", best), ("cpu_time", cpu_rate)):
        rec.emit(NAME, {"measure": "ratios", "basis": basis, **common, **ratios(rates)})


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Command line: run this benchmark alone."""
    from bench.common import RESULTS, Recorder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--n", type=int, default=None, help="synthetic windows")
    parser.add_argument("--reps", type=int, default=None, help="timed epochs per round")
    parser.add_argument("--rounds", type=int, default=None, help="rotated rounds")
    parser.add_argument("--no-save", action="store_true", help="do not append to results.jsonl")
    args = parser.parse_args(argv)
    rec = Recorder(results=None if args.no_save else RESULTS, quick=args.quick)
    run(rec, quick=args.quick, n=args.n, reps=args.reps, rounds=args.rounds)
    return rec.records


if __name__ == "__main__":
    main(sys.argv[1:])
