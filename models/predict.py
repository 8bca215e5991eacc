"""Point forecasts and Monte Carlo dropout intervals.

Point forecasts run in passes of ``PREDICT_ROWS`` windows, the last one padded, so one compiled
predict step (per architecture, shared through a cached runner) serves every block: early
stopping, calibration, test and daily forecasts, with no retrace for a new block size.

With ``mc_samples > 0`` every input window is repeated ``mc_samples`` times inside one batch
and run through the model with dropout active (``training=True``), in a compiled predict
function; each copy draws its own dropout masks, so one pass yields all samples. The dropout
RNG state is set from ``seed`` before sampling and restored afterwards, so the same model,
inputs and seed give the same bands on CPU, and training's RNG stream is left untouched.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
from stackcast.models.initial_weights import clone_with_weights
from stackcast.models.monitor import to_numpy

_SEED_STATE = "seed_generator_state"
# Windows per deterministic forward pass: every pass has this shape (the last one padded).
PREDICT_ROWS = 256


class _AlwaysTraining(keras.Model):
    """Calls the wrapped model with ``training=True`` so ``predict`` samples dropout."""

    def __init__(self, base: keras.Model, **kwargs: Any):
        super().__init__(**kwargs)
        self.base = base

    def call(self, x: Any) -> Any:
        return self.base(x, training=True)


@dataclass
class _Runner:
    """A private copy of a model's architecture, its MC sampler, and a lock serialising use."""

    clone: keras.Model
    sampler: _AlwaysTraining
    lock: threading.Lock = field(default_factory=threading.Lock)
    # How far one deterministic pass advances each dropout seed state (measured once)
    seed_steps: list[np.ndarray] | None = None


# Runners by architecture (the model's config and weight shapes), least recently used first.
# Keras traces a predict graph per model object, about 0.3-1 s on CPU: a fresh graph for every
# call (a new sampler each time) or for every loaded copy of the same saved model (the daily
# run loads the champion once per ticker) dominated MC prediction. A runner's clone receives the
# caller's current weights before every prediction, so one traced graph serves every model of
# that architecture, and the caller's own model (weights, dropout RNG state) is never touched.
_RUNNERS: OrderedDict[str, _Runner] = OrderedDict()
_RUNNERS_LOCK = threading.Lock()
_MAX_RUNNERS = 4


# model -> (its weight count, its architecture key): the key is a JSON dump of the model's
# config, about 2 ms on CPU, asked for on every prediction (every epoch's early stopping).
_KEYS: weakref.WeakKeyDictionary[keras.Model, tuple[int, str | None]] = weakref.WeakKeyDictionary()


def _architecture_key(model: keras.Model) -> str | None:
    """A string equal for models of the same architecture; None when it cannot be told.

    Computed once per model object (again if its weights change in number, i.e. it was
    built since).
    """
    count = len(model.weights)
    kept = _KEYS.get(model)
    if kept is not None and kept[0] == count:
        return kept[1]
    key = _config_key(model)
    _KEYS[model] = (count, key)
    return key


def _config_key(model: keras.Model) -> str | None:
    """``_architecture_key`` computed: the model's type, backend, config and weight shapes."""
    try:
        config = model.get_config()
    except Exception:  # subclassed models need not implement get_config
        return None
    shapes = [(tuple(w.shape), str(w.dtype)) for w in model.weights]
    try:
        return json.dumps(
            [type(model).__name__, keras.backend.backend(), config, shapes],
            sort_keys=True,
            default=repr,
        )
    except (TypeError, ValueError):
        return None


def _runner(model: keras.Model) -> _Runner:
    """The cached runner for ``model``'s architecture (a clone of ``model`` on first use)."""
    key = _architecture_key(model)
    if key is None:  # no config: run the model itself (traced once per call)
        return _Runner(model, _AlwaysTraining(model, name="mc_dropout"))
    with _RUNNERS_LOCK:
        runner = _RUNNERS.get(key)
        if runner is None:
            clone = clone_with_weights(model)
            runner = _Runner(clone, _AlwaysTraining(clone, name="mc_dropout"))
            _RUNNERS[key] = runner
            while len(_RUNNERS) > _MAX_RUNNERS:
                _RUNNERS.popitem(last=False)
        _RUNNERS.move_to_end(key)
    return runner


def _batches(x_batches: Any) -> Iterable[np.ndarray]:
    """Yield float32 input batches from an array or a sequence of batches (``x`` or ``(x, y)``)."""
    if isinstance(x_batches, np.ndarray):
        yield x_batches.astype(np.float32, copy=False)
        return
    for i in range(len(x_batches)):
        item = x_batches[i]
        if isinstance(item, tuple | list):
            item = item[0]
        yield np.asarray(item, dtype=np.float32)


def point_outputs(model: keras.Model, x: np.ndarray, *, as_passes: int = 0) -> np.ndarray:
    """``model``'s deterministic outputs ``[N, H]`` through its architecture's shared runner.

    Args:
        model: The model.
        x: Windows ``[N, L, F]``.
        as_passes: Advance ``model``'s dropout seed states as that many forward passes of its
            own would (a recurrent cell draws its dropout mask, unused with dropout off, on
            every call): what Keras' test step does to them once per validation batch, so
            training after a validation through the shared runner draws the same masks.
    """
    runner = _runner(model)
    with runner.lock:
        _take_weights(runner, model)
        x = np.asarray(x, dtype=np.float32)
        if not as_passes or runner.clone is model or runner.seed_steps is not None:
            out = fixed_shape_outputs(runner.clone, x)
        else:  # the first validation through this runner: measure one pass's seed steps
            states = _seed_variables(runner.clone)
            before = [to_numpy(v) for v in states]
            out = fixed_shape_outputs(runner.clone, x)
            passes = -(-len(x) // PREDICT_ROWS)
            runner.seed_steps = [
                (to_numpy(v) - start) // passes for v, start in zip(states, before, strict=True)
            ]
        if as_passes and runner.clone is not model:
            assert runner.seed_steps is not None
            for mine, step in zip(_seed_variables(model), runner.seed_steps, strict=True):
                mine.assign(to_numpy(mine) + step * as_passes)
        return out


def prepare_predict(model: keras.Model, x: np.ndarray) -> None:
    """Trace the predict step of ``model``'s architecture on one pass of ``x`` (dropped).

    What the first deterministic prediction would do first. ``model`` itself is untouched:
    the pass runs on its runner's copy, whose dropout seed states are read only as steps per
    pass (``point_outputs``) or after being set (MC sampling).
    """
    runner = _runner(model)
    with runner.lock:
        if runner.clone.predict_function is None:  # Keras makes it on the first prediction
            fixed_shape_outputs(runner.clone, np.asarray(x[:PREDICT_ROWS], dtype=np.float32))


def predict_ready(model: keras.Model) -> bool:
    """Whether the predict step of ``model``'s architecture is traced (or cannot be shared)."""
    key = _architecture_key(model)
    if key is None:
        return True
    with _RUNNERS_LOCK:
        runner = _RUNNERS.get(key)
    return runner is not None and runner.clone.predict_function is not None


def _take_weights(runner: _Runner, model: keras.Model) -> None:
    """Give ``runner``'s clone ``model``'s current weights (nothing when it is ``model``).

    On TensorFlow variable to variable (each assign copies on the device): no NumPy copy of
    every weight on the way, about half the time of ``set_weights(get_weights())`` on CPU.
    Elsewhere through NumPy: a JAX assign would share the model's buffers, which its next
    train step donates (frees).
    """
    if runner.clone is model:
        return
    if keras.backend.backend() != "tensorflow":
        runner.clone.set_weights(model.get_weights())
        return
    for mine, theirs in zip(runner.clone.weights, model.weights, strict=True):
        mine.assign(theirs.value)


def fixed_shape_outputs(model: keras.Model, x: np.ndarray, rows: int = PREDICT_ROWS) -> np.ndarray:
    """The model's deterministic outputs ``[N, H]`` (its own dtype), ``rows`` windows per pass.

    Every pass has the same shape: the last chunk is padded with copies of its last window
    (never a fully masked one) and the padded outputs are dropped. So the compiled predict step
    is traced (or compiled) once per model and chunk size, whatever block is predicted, and
    on JAX the persistent compilation cache serves every fold and every later run. With
    dropout off a window's output does not depend on the other windows of its pass.
    """
    out = []
    for start in range(0, len(x), rows):
        chunk = x[start : start + rows]
        n = len(chunk)
        if n < rows:
            chunk = np.concatenate([chunk, np.repeat(chunk[-1:], rows - n, axis=0)], axis=0)
        # predict_on_batch: the compiled predict step without building a dataset, an epoch
        # iterator and callbacks for each call (about 0.1 s a call on CPU).
        out.append(np.asarray(model.predict_on_batch(chunk))[:n])
    return np.concatenate(out, axis=0)


def _seed_variables(model: keras.Model) -> list[Any]:
    return [v for v in model.non_trainable_variables if v.path.endswith(_SEED_STATE)]


def predict(
    model: keras.Model,
    x_batches: Any,
    mc_samples: int,
    interval: float,
    seed: int = 0,
    *,
    max_rows: int = 8192,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Predict every window; with MC dropout, also the central ``interval`` band.

    Args:
        model: A trained model (``[B, L, F] -> [B, H]``).
        x_batches: An array ``[N, L, F]`` or a sequence of batches (``x`` or ``(x, y)``),
            e.g. ``stackcast.features.windows.WindowBatches`` without shuffling.
        mc_samples: Dropout samples per window; 0 gives the deterministic prediction.
        interval: Central probability mass of the band, e.g. 0.8 -> 10th..90th percentile.
        seed: Seeds the dropout masks (same seed, same bands).
        max_rows: Rows (windows x samples) per forward pass (at most ``PREDICT_ROWS`` without
            sampling: every deterministic pass has that fixed shape).

    Returns:
        ``(mean, lo, hi)``, each float64 ``[N, H]``. Without sampling ``mean`` is the
        deterministic output and ``lo``/``hi`` are NaN; with sampling ``mean`` is the sample mean.
    """
    return predict_blocks(model, [x_batches], mc_samples, interval, seed, max_rows=max_rows)[0]


def predict_blocks(
    model: keras.Model,
    blocks: list[Any],
    mc_samples: int,
    interval: float,
    seed: int = 0,
    *,
    max_rows: int = 8192,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``predict`` for several blocks of windows in one call: ``(mean, lo, hi)`` per block.

    The model's weights go to its runner once. Without sampling every block's windows run
    in one sequence of fixed-shape passes (on CPU a window's output does not depend on the
    other windows of its pass, so each block gets what ``predict`` gives it alone; tested).
    With sampling each block's dropout RNG starts from ``seed``, as a ``predict`` call of its
    own would, so its band is the same too.
    """
    if mc_samples < 0:
        raise ValueError(f"mc_samples must be >= 0, got {mc_samples}")
    if not 0.0 < interval < 1.0:
        raise ValueError(f"interval must be in (0, 1), got {interval}")
    xs = [_windows(b) for b in blocks]
    if all(x is None for x in xs):
        return [_band(None, interval, model) for _ in xs]
    runner = _runner(model)
    with runner.lock:
        _take_weights(runner, model)
        if mc_samples == 0:
            present = [x for x in xs if x is not None]
            rows = min(max_rows, PREDICT_ROWS)
            outputs = fixed_shape_outputs(runner.clone, np.concatenate(present, axis=0), rows)
            sizes = [0 if x is None else len(x) for x in xs]
            out = []
            for end, size in zip(np.cumsum(sizes), sizes, strict=True):
                mean = outputs[end - size : end].astype(np.float64)
                nan = np.full_like(mean, np.nan)
                out.append((mean, nan, nan.copy()))
            return out
        samples = [
            None if x is None else _sample(runner, x, mc_samples, seed, max_rows) for x in xs
        ]
    return [_band(s, interval, model) for s in samples]


def _windows(x_batches: Any) -> np.ndarray | None:
    """A block's windows as one float32 array (``None`` when it has none)."""
    batches = [b for b in _batches(x_batches) if len(b)]
    return np.concatenate(batches, axis=0) if batches else None


def _band(
    samples: np.ndarray | None, interval: float, model: keras.Model
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(mean, lo, hi)`` of ``[N, S, H]`` dropout samples (empty for ``None``)."""
    if samples is None:
        empty = np.zeros((0, int(model.outputs[0].shape[-1])))
        return empty, empty.copy(), empty.copy()
    tail = (1.0 - interval) / 2.0
    mean = samples.mean(axis=1)
    lo = np.quantile(samples, tail, axis=1)
    hi = np.quantile(samples, 1.0 - tail, axis=1)
    return mean, lo, hi


def _sample(runner: _Runner, x: np.ndarray, mc_samples: int, seed: int, max_rows: int) -> Any:
    """``[N, S, H]`` dropout samples; the dropout RNG is seeded from ``seed``, then restored."""
    states = _seed_variables(runner.clone)
    saved = [to_numpy(v) for v in states]
    rng = np.random.default_rng(seed)
    for v in states:
        v.assign(np.array([rng.integers(1, 2**31 - 1), 0], dtype=saved[0].dtype))
    try:
        per_pass = max(1, max_rows // mc_samples)
        chunks = []
        for start in range(0, len(x), per_pass):
            xb = x[start : start + per_pass]
            tiled = np.repeat(xb, mc_samples, axis=0)  # window-major: w0 s0..sS, w1 ...
            # One batch: predict_on_batch runs the same compiled predict step as predict()
            # without building a dataset, an epoch iterator and callbacks for it.
            out = runner.sampler.predict_on_batch(tiled)
            chunks.append(np.asarray(out, dtype=np.float64).reshape(len(xb), mc_samples, -1))
        return np.concatenate(chunks, axis=0)
    finally:
        for v, value in zip(states, saved, strict=True):
            v.assign(value)
