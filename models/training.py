"""Fit a stackcast model: seeds, precision, optimizer with gradient monitoring, callbacks.

``train`` compiles the model (``MonitoredAdam``: Adam + per-layer gradient norms), fits it on
batch streams (``stackcast.features.windows.WindowBatches`` or ``(x, y)`` arrays) with early stopping,
learning-rate reduction and a NaN guard, and returns a JSON-able ``TrainResult``.
"""

from __future__ import annotations

import logging
import math
import random
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
from stackcast.models.config import TrainConfig
from stackcast.models.cudnn import CudnnCheck, cudnn_warnings, model_cudnn_eligibility
from stackcast.models.losses import masked_loss
from stackcast.models.monitor import ALL, GradientNormCallback, MonitoredAdam, to_numpy

logger = logging.getLogger(__name__)

LogHook = Callable[[str], None]


class TrainingError(RuntimeError):
    """Training failed in a way the user can act on (diverged, NaN loss, no data)."""

    def __init__(self, message: str, *, epoch: int | None = None, batch: int | None = None):
        super().__init__(message)
        self.epoch = epoch
        self.batch = batch


@dataclass
class TrainResult:
    """What ``train`` did.

    Attributes:
        history: Per-epoch lists: ``loss``, ``val_loss`` (with validation data), ``lr`` (the
            rate used during the epoch), ``seconds``, and ``grad_norm/<layer>/mean`` and
            ``grad_norm/<layer>/max`` for each layer with weights plus ``all`` (global norm).
        warnings: Human-readable warnings (cuDNN off, exploding/vanishing gradients, ...).
        epochs_run: Epochs actually run.
        best_epoch: 1-based epoch whose weights the model holds (early stopping restores it).
        best_value: The monitored value at ``best_epoch``.
        monitor: ``"val_loss"`` or ``"loss"`` (no validation data).
        stopped_early: Whether early stopping ended training before ``epochs``.
        seconds: Wall time of ``fit``.
        dtype_policy: ``"float32"`` or ``"mixed_float16"`` (the model's policy).
        cudnn: ``CudnnCheck.to_json()`` per layer and direction.
    """

    history: dict[str, list[float]]
    warnings: list[str]
    epochs_run: int
    best_epoch: int
    best_value: float | None
    monitor: str
    stopped_early: bool
    seconds: float
    dtype_policy: str
    cudnn: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A strict-JSON dict (NaN/inf become ``None``)."""
        return {
            "history": {k: [_finite_or_none(v) for v in vs] for k, vs in self.history.items()},
            "warnings": list(self.warnings),
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "best_value": _finite_or_none(self.best_value),
            "monitor": self.monitor,
            "stopped_early": self.stopped_early,
            "seconds": round(self.seconds, 3),
            "dtype_policy": self.dtype_policy,
            "cudnn": list(self.cudnn),
        }

    def summary(self) -> dict[str, Any]:
        """A short JSON-able summary for ``meta.json``: epochs, best epoch, final losses."""
        out: dict[str, Any] = {
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "monitor": self.monitor,
            "best_value": _finite_or_none(self.best_value),
            "stopped_early": self.stopped_early,
            "seconds": round(self.seconds, 3),
            "dtype_policy": self.dtype_policy,
            "warnings": list(self.warnings),
        }
        for key in ("loss", "val_loss", "lr"):
            if self.history.get(key):
                out[f"final_{key}"] = _finite_or_none(self.history[key][-1])
        return out


def _finite_or_none(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# --------------------------------------------------------------------------- environment


# Whether this process has seeded the TensorFlow (and torch) global RNG yet; see seed_everything.
_BACKEND_SEEDED = False


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed Python, NumPy and the backend; with ``deterministic``, make TF ops deterministic.

    Keras has no backend-agnostic switch for op determinism; on TensorFlow this calls
    ``tf.config.experimental.enable_op_determinism()`` (the only TensorFlow touch in
    ``models``). It is process-wide and TensorFlow has no public way back; while it is on,
    Keras also turns XLA (``jit_compile``) off. JAX on CPU is deterministic already.

    The first call in a process does everything ``keras.utils.set_random_seed`` does. Later
    calls reseed Python, NumPy, Keras' global seed generator (and torch) but leave
    TensorFlow's global seed as the first call set it: ``tf.random.set_seed`` clears
    TensorFlow's kernel caches, so every traced train/test/predict function is re-instantiated
    on its next call (2-3 s per warm-started backtest fold on 2 CPU cores), while Keras 3
    draws all its randomness (initializers, dropout, ``keras.random``) from its own stateless
    seed generators and never reads TensorFlow's global seed. Results are identical either way
    (checked bit for bit on a 6-fold backtest).
    """
    global _BACKEND_SEEDED
    seed = int(seed)
    if not (_BACKEND_SEEDED and _reseed_without_tensorflow(seed)):
        keras.utils.set_random_seed(seed)
        _BACKEND_SEEDED = True
    if deterministic and keras.backend.backend() == "tensorflow":
        # The one TensorFlow touch in models/: TF-only switch, guarded by the backend check.
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def _reseed_without_tensorflow(seed: int) -> bool:
    """``keras.utils.set_random_seed`` minus ``tf.random.set_seed``; False if Keras moved."""
    try:  # Keras' own global-seed bookkeeping (what set_random_seed does), not public API
        from keras.src.backend.common import global_state
        from keras.src.random import seed_generator
        from keras.src.utils import rng_utils

        global_state.set_global_attribute(rng_utils.GLOBAL_RANDOM_SEED, seed)
        global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    except (ImportError, AttributeError):
        return False
    random.seed(seed)
    np.random.seed(seed)
    if keras.backend.backend() == "torch":
        import torch

        torch.manual_seed(seed)
    return True


def gpu_available() -> bool:
    """Whether the Keras backend sees a GPU (False on any error)."""
    try:
        return bool(keras.distribution.list_devices("gpu"))
    except Exception:  # backend without GPU support raises (JAX: RuntimeError)
        return False


def resolve_dtype_policy(mixed_precision: TrainConfig | str) -> str:
    """``"mixed_float16"`` for ``"on"``, or ``"auto"`` with a visible GPU; else ``"float32"``.

    Pass the result to ``build_model(..., dtype_policy=...)``: precision is fixed when the
    layers are created.
    """
    mode = getattr(mixed_precision, "mixed_precision", mixed_precision)
    if mode not in ("auto", "on", "off"):
        raise ValueError(f"mixed_precision must be 'auto', 'on' or 'off', got {mode!r}")
    if mode == "on" or (mode == "auto" and gpu_available()):
        return "mixed_float16"
    return "float32"


def model_dtype_policy(model: keras.Model) -> str:
    """``"mixed_float16"`` if any layer computes in float16 that way, else ``"float32"``."""
    for layer in model.layers:
        name = getattr(getattr(layer, "dtype_policy", None), "name", "float32")
        if name == "mixed_float16":
            return name
    return "float32"


def _mask_value(model: keras.Model) -> float | None:
    for layer in model.layers:
        if isinstance(layer, keras.layers.Masking):
            return float(layer.mask_value)
    return None


def detect_padding(x: np.ndarray, mask_value: float) -> tuple[str, int]:
    """How a batch ``[B, L, F]`` is padded and how many windows are fully masked.

    Returns:
        (``"right"`` when every window's valid steps form a prefix, ``"none"`` when nothing is
        masked, else ``"left"``; the number of fully masked windows).
    """
    valid = np.any(np.asarray(x) != mask_value, axis=-1)
    empty = int(np.sum(~valid.any(axis=1)))
    if valid.all():
        return "none", empty
    prefix = np.all(valid[:, :-1] >= valid[:, 1:])
    return ("right" if prefix else "left"), empty


# --------------------------------------------------------------------------- data


class ArrayBatches:
    """``(x, y)`` arrays as a batch sequence, reshuffled each epoch from a seeded generator."""

    def __init__(
        self, x: np.ndarray, y: np.ndarray, batch_size: int, shuffle: bool = False, seed: int = 0
    ):
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} samples but y has {len(y)}")
        self.x, self.y = x, y
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self._order = self._rng.permutation(len(x)) if shuffle else np.arange(len(x))

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= i < len(self):
            raise IndexError(i)
        rows = slice(i * self.batch_size, (i + 1) * self.batch_size)
        idx = self._order[rows] if self.shuffle else rows
        return self.x[idx], self.y[idx]

    def on_epoch_end(self) -> None:
        """Draw a new order when shuffling."""
        if self.shuffle:
            self._order = self._rng.permutation(len(self.x))


class BatchAdapter(keras.utils.PyDataset):
    """Wrap a ``__len__``/``__getitem__`` batch source as a Keras ``PyDataset``.

    Batches are cast to float32 and checked for NaN/inf (remembered per epoch and position, so a
    divergence can be blamed on the data); ``on_epoch_end`` is forwarded to the source
    (``WindowBatches`` reshuffles its rows there). With ``shuffle`` the batch order is also
    permuted each epoch (``start_epoch``) from a seeded generator; Keras' own batch shuffling is
    not used, so batch numbers in messages are positions in the epoch.
    """

    def __init__(self, source: Any, shuffle: bool = False, seed: int = 0):
        super().__init__()
        self.source = source
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(len(source))
        self._epoch = -1
        self.nonfinite: set[tuple[int, int]] = set()

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        item = self.source[int(self._order[i])]
        if not isinstance(item, tuple | list) or len(item) < 2:
            raise TypeError("training/validation batches must be (x, y) pairs")
        x = np.asarray(item[0], dtype=np.float32)
        y = np.asarray(item[1], dtype=np.float32)
        # NaN targets are unknown horizons (masked in the loss); inf is a data error.
        if not (np.isfinite(x).all() and not np.isinf(y).any()):
            self.nonfinite.add((self._epoch, int(i)))
        return x, y

    def start_epoch(self, epoch: int) -> None:
        """Called by ``train``'s callback before each epoch: draw the batch order."""
        self._epoch = epoch
        if self.shuffle:
            self._order = self._rng.permutation(len(self.source))

    def on_epoch_end(self) -> None:
        """Forward to the source's ``on_epoch_end`` when it has one (reshuffles windows)."""
        hook = getattr(self.source, "on_epoch_end", None)
        if callable(hook):
            hook()


def _as_batches(data: Any, batch_size: int, shuffle: bool, seed: int) -> Any:
    if data is None:
        return None
    if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], np.ndarray):
        x, y = data
        return ArrayBatches(np.asarray(x), np.asarray(y), batch_size, shuffle=shuffle, seed=seed)
    if hasattr(data, "__len__") and hasattr(data, "__getitem__"):
        return data
    raise TypeError("data must be an (x, y) tuple of arrays or a sequence of (x, y) batches")


def _check_pair(item: Any, what: str) -> np.ndarray:
    """The ``x`` of a batch after checking the batch is an ``(x, y)`` pair of matching length."""
    if not isinstance(item, tuple | list) or len(item) != 2:
        raise TypeError(
            f"{what} batches must be (x, y) pairs (WindowBatches needs targets=...), "
            f"got {type(item).__name__}"
        )
    x, y = np.asarray(item[0]), np.asarray(item[1])
    if x.ndim != 3 or y.ndim != 2 or len(x) != len(y):
        raise TypeError(
            f"{what} batches must be x [B, L, F] and y [B, H]; got {x.shape} and {y.shape}"
        )
    return x


# --------------------------------------------------------------------------- callbacks


class _NanGuard(keras.callbacks.Callback):
    """Stop at the first non-finite training loss (or validation loss); remember where.

    Also starts each epoch of the training adapter (Keras does not call
    ``PyDataset.on_epoch_begin`` on every backend).
    """

    # Batch callbacks may run on Keras' callback threads (no per-step host sync); they can
    # finish out of order, so keep the earliest batch under a lock.
    async_safe = True

    def __init__(self, adapter: BatchAdapter) -> None:
        super().__init__()
        self.adapter = adapter
        self.epoch = 0
        self.hit: tuple[str, int, int, float] | None = None
        self._lock = threading.Lock()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch = epoch
        self.adapter.start_epoch(epoch)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        with self._lock:
            hit = ("loss", self.epoch, int(batch), float(loss))
            if self.hit is None or hit[1:3] < self.hit[1:3]:
                self.hit = hit
        self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        val = (logs or {}).get("val_loss")
        if self.hit is None and val is not None and not math.isfinite(float(val)):
            self.hit = ("val_loss", epoch, -1, float(val))
            self.model.stop_training = True


class _EpochRecorder(keras.callbacks.Callback):
    """Write loss/val_loss/lr/seconds into the history and emit one progress line per epoch."""

    def __init__(
        self,
        history: dict[str, list[float]],
        epochs: int,
        hook: LogHook | None,
        grads: GradientNormCallback | None,
    ):
        super().__init__()
        self.history = history
        self.epochs = epochs
        self.hook = hook
        self.grads = grads
        self._lr = math.nan
        self._t0 = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._t0 = time.perf_counter()
        self._lr = float(to_numpy(self.model.optimizer.learning_rate))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        seconds = time.perf_counter() - self._t0
        for key in ("loss", "val_loss"):
            if key in logs:
                self.history.setdefault(key, []).append(float(logs[key]))
        self.history.setdefault("lr", []).append(self._lr)
        self.history.setdefault("seconds", []).append(round(seconds, 4))
        parts = [f"epoch {epoch + 1}/{self.epochs}"]
        for key in ("loss", "val_loss"):
            if key in logs:
                parts.append(f"{key} {float(logs[key]):.5g}")
        parts.append(f"lr {self._lr:.3g}")
        if self.grads is not None and ALL in self.grads.last:
            stats = self.grads.last[ALL]
            parts.append(f"grad norm {stats['mean']:.3g} (max {stats['max']:.3g})")
        parts.append(f"{seconds:.1f}s")
        line = ", ".join(parts)
        logger.info(line)
        if self.hook is not None:
            self.hook(line)


# --------------------------------------------------------------------------- train


def _optimizer(config: TrainConfig, model: keras.Model, monitor: bool, mixed: bool) -> Any:
    kwargs: dict[str, Any] = {"learning_rate": config.learning_rate}
    if config.clipnorm is not None:
        kwargs["clipnorm"] = config.clipnorm
    if monitor:
        opt: Any = MonitoredAdam(**kwargs)
        opt.watch(model)
    else:
        opt = keras.optimizers.Adam(**kwargs)
    if mixed:
        opt = keras.optimizers.LossScaleOptimizer(opt)
    return opt


@dataclass
class _CompiledSetup:
    """What ``train`` compiled into a model: the setup's key, its optimizer, its fresh state."""

    key: tuple[Any, ...]
    optimizer: Any
    fresh: list[np.ndarray]


# model -> the setup ``train`` last compiled into it. Weak keys: an entry dies with its model.
# Values hold the optimizer (its slots reference the model's variables, not the model).
_COMPILED: weakref.WeakKeyDictionary[keras.Model, _CompiledSetup] = weakref.WeakKeyDictionary()


def _compile_key(
    config: TrainConfig, monitor_gradients: bool, mixed: bool, jit_compile: Any, run_eagerly: bool
) -> tuple[Any, ...]:
    """Everything that is baked into the compiled train step (not the learning rate)."""
    return (config.loss, config.clipnorm, bool(monitor_gradients), mixed, jit_compile, run_eagerly)


def _compile_or_reuse(
    model: keras.Model,
    config: TrainConfig,
    *,
    monitor_gradients: bool,
    mixed: bool,
    jit_compile: Any,
    run_eagerly: bool,
) -> bool:
    """Compile ``model``, or reuse the compilation of a previous ``train`` with the same setup.

    Compiling discards Keras' traced train/test/predict functions, so every ``compile`` costs a
    full graph retrace (seconds on CPU; a warm-started backtest fold trains for less than
    that). When ``train`` compiled this very model before with the same loss, clipping,
    monitoring, precision and jit settings, and nobody recompiled it since, the compiled
    functions are kept and the optimizer is put back into the state of a freshly built one
    (step 0, zero moments, zero gradient-norm accumulators, loss scale at its start value) with
    the learning rate of ``config``: the fit then computes exactly what it would after a fresh
    ``compile``, without the retrace.

    Returns:
        Whether the previous compilation was reused.
    """
    key = _compile_key(config, monitor_gradients, mixed, jit_compile, run_eagerly)
    setup = _COMPILED.get(model)
    if (
        setup is not None
        and setup.key == key
        and getattr(model, "compiled", False)
        and model.optimizer is setup.optimizer
    ):
        for variable, value in zip(setup.optimizer.variables, setup.fresh, strict=True):
            variable.assign(value)
        setup.optimizer.learning_rate = config.learning_rate
        model.stop_training = False
        return True
    optimizer = _optimizer(config, model, monitor_gradients, mixed)
    model.compile(
        optimizer=optimizer,
        loss=masked_loss(config.loss),
        jit_compile=jit_compile,
        run_eagerly=run_eagerly,
    )
    # Build the optimizer now (fit would build it on its first step, with the same variables)
    # and remember its untouched state, which the next reuse restores.
    model.optimizer.build(model.trainable_variables)
    fresh = [to_numpy(v).copy() for v in model.optimizer.variables]
    _COMPILED[model] = _CompiledSetup(key, model.optimizer, fresh)
    return False


def _divergence_message(guard: _NanGuard, adapter: BatchAdapter, clipnorm: float | None) -> str:
    assert guard.hit is not None
    kind, epoch, batch, value = guard.hit
    what = "NaN" if math.isnan(value) else "inf"
    if kind == "val_loss":
        return (
            f"validation loss became {what} at epoch {epoch + 1} while the training loss was "
            "finite; check the validation inputs/targets for NaN/inf"
        )
    advice = "lower learning_rate" + (" or enable clipnorm" if clipnorm is None else "")
    message = (
        f"training diverged: loss became {what} at epoch {epoch + 1}, batch {batch + 1}; {advice}"
    )
    if (epoch, batch) in adapter.nonfinite:
        message = (
            f"training diverged: loss became {what} at epoch {epoch + 1}, batch {batch + 1}, "
            "and that batch's inputs or targets contain NaN/inf; check the data"
        )
    elif adapter.nonfinite:
        message += (
            f" (note: {len(adapter.nonfinite)} training batch(es) contained NaN/inf inputs or "
            "targets; check the data)"
        )
    return message


def train(
    model: keras.Model,
    train_data: Any,
    val_data: Any,
    config: TrainConfig | dict[str, Any],
    *,
    log: LogHook | None = None,
    verbose: int | None = None,
    jit_compile: bool | str = "auto",
    monitor_gradients: bool = True,
    run_eagerly: bool = False,
) -> TrainResult:
    """Compile and fit ``model``; return its history, warnings and early-stopping outcome.

    Args:
        model: A model from ``build_model`` (its dtype policy decides the precision).
        train_data: ``(x, y)`` numpy arrays (shuffled each epoch, seeded) or a sequence with
            ``__len__``/``__getitem__`` returning ``(x, y)`` batches and optionally
            ``on_epoch_end`` (e.g. ``stackcast.features.windows.WindowBatches``).
        val_data: Same forms, split off by time by the caller; ``None``: no validation, and
            early stopping / LR reduction watch the training loss.
        config: Training settings.
        log: Called with one progress line per epoch.
        verbose: Keras verbosity; ``None``: progress bar on a TTY, silent otherwise.
        jit_compile: Passed to ``compile`` (``"auto"``: Keras decides; off on TF CPU and with
            TF op determinism).
        monitor_gradients: Record per-layer gradient norms (``MonitoredAdam``).
        run_eagerly: Debugging: run the train step eagerly (slow for real data, but skips
            graph tracing, which dominates tiny fits such as unit tests).

    Returns:
        ``TrainResult``; the model holds the best epoch's weights.

    Raises:
        TrainingError: the loss became NaN/inf (message says where and what to change), or
            there are no training batches.
    """
    if not isinstance(config, TrainConfig):
        config = TrainConfig.model_validate(config)
    seed_everything(config.seed, config.deterministic)
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 0
    warnings: list[str] = []

    train_seq = _as_batches(train_data, config.batch_size, shuffle=True, seed=config.seed)
    val_seq = _as_batches(val_data, config.batch_size, shuffle=False, seed=config.seed)
    if train_seq is None or len(train_seq) == 0:
        raise TrainingError("no training batches: the training period holds no usable windows")
    if val_seq is not None and len(val_seq) == 0:
        warnings.append("validation data is empty: early stopping watches the training loss")
        val_seq = None
    first = _check_pair(train_seq[0], "train_data")
    if val_seq is not None:
        _check_pair(val_seq[0], "val_data")

    # Precision: fixed by the layers' dtype policy at build time.
    policy = model_dtype_policy(model)
    wanted = resolve_dtype_policy(config.mixed_precision)
    if wanted != policy:
        warnings.append(
            f"mixed_precision={config.mixed_precision!r} asks for {wanted} but the model was "
            f"built with {policy}; training in {policy} (build it with "
            "build_model(..., dtype_policy=resolve_dtype_policy(train_config)))"
        )

    # cuDNN: padding is read off the first training batch.
    padding = "right"
    mask_value = _mask_value(model)
    if mask_value is not None:
        padding, empty = detect_padding(first, mask_value)
        if empty:
            warnings.append(
                f"{empty} fully masked window(s) in the first training batch: they carry no "
                "information and break TensorFlow's cuDNN path on GPU"
            )
    checks: list[CudnnCheck] = model_cudnn_eligibility(model, padding=padding)
    warnings.extend(cudnn_warnings(checks))
    for message in warnings:
        logger.warning(message)

    monitor = "val_loss" if val_seq is not None else "loss"
    _compile_or_reuse(
        model,
        config,
        monitor_gradients=monitor_gradients,
        mixed=policy == "mixed_float16",
        jit_compile=False if run_eagerly else jit_compile,
        run_eagerly=run_eagerly,
    )

    history: dict[str, list[float]] = {}
    train_adapter = BatchAdapter(train_seq, shuffle=True, seed=config.seed)
    guard = _NanGuard(train_adapter)
    grads = (
        GradientNormCallback(history, warnings, config.vanish_threshold, config.explode_threshold)
        if monitor_gradients
        else None
    )
    stopper = keras.callbacks.EarlyStopping(
        monitor=monitor, patience=config.patience, restore_best_weights=True
    )
    callbacks: list[keras.callbacks.Callback] = [guard]
    if grads is not None:
        callbacks.append(grads)
    callbacks += [
        _EpochRecorder(history, config.epochs, log, grads),
        stopper,
        keras.callbacks.ReduceLROnPlateau(
            monitor=monitor,
            factor=0.5,
            patience=config.reduce_lr_patience,
            min_lr=config.learning_rate * 1e-3,
        ),
    ]
    t0 = time.perf_counter()
    model.fit(
        train_adapter,
        validation_data=BatchAdapter(val_seq) if val_seq is not None else None,
        epochs=config.epochs,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=False,  # BatchAdapter shuffles the batch order itself (seeded)
    )
    seconds = time.perf_counter() - t0
    if guard.hit is not None:
        hit = guard.hit
        raise TrainingError(
            _divergence_message(guard, train_adapter, config.clipnorm),
            epoch=hit[1] + 1,
            batch=hit[2] + 1 if hit[2] >= 0 else None,
        )

    epochs_run = len(history.get("loss", []))
    best_epoch = int(getattr(stopper, "best_epoch", epochs_run - 1)) + 1
    values = history.get(monitor, [])
    best_value = values[best_epoch - 1] if 0 < best_epoch <= len(values) else None
    return TrainResult(
        history=history,
        warnings=warnings,
        epochs_run=epochs_run,
        best_epoch=best_epoch,
        best_value=best_value,
        monitor=monitor,
        stopped_early=epochs_run < config.epochs,
        seconds=seconds,
        dtype_policy=policy,
        cudnn=[c.to_json() for c in checks],
    )
