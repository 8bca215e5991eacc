"""Fit a stackcast model: ``train``, its epoch recorder and its compile-once optimizer setup.

``train`` seeds (``stackcast.models.seeding``), checks the precision
(``stackcast.models.precision``) and the inputs (``stackcast.models.batches``), compiles the
model (``MonitoredAdam``: Adam + per-layer gradient norms; a repeat ``train`` on the same model
and setup reuses the compilation), fits it on batch streams
(``stackcast.features.windows.WindowBatches`` or ``(x, y)`` arrays) with early stopping,
learning-rate reduction and a NaN guard (``stackcast.models.divergence``), and returns a
JSON-able ``TrainResult``. On TensorFlow and JAX the early-stopping loss comes from the shared
fixed-shape predict step (``stackcast.models.validation``): no separate test step is traced,
and on TensorFlow that step is traced while the first train step is set up
(``stackcast.models.predict_ahead``).
On TensorFlow and JAX every training batch has the batch size's shape (a short batch is padded
with rows of sample weight 0, ``stackcast.models.batches.pad_batch``): JAX compiles the train
step once, TensorFlow traces it for a static batch dimension.
"""

from __future__ import annotations

import logging
import math
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
from stackcast.models.base import EpochLine
from stackcast.models.batches import (
    WEIGHTED_REDUCTION,
    BatchAdapter,
    as_batches,
    check_pair,
    count_weighted_rows,
    detect_padding,
    fixed_batch_rows,
    keras_input,
    model_mask_value,
)
from stackcast.models.config import TrainConfig
from stackcast.models.cudnn import CudnnCheck, cudnn_warnings, model_cudnn_eligibility
from stackcast.models.divergence import NanGuard, data_batch_of_hit, divergence_message
from stackcast.models.grappler import lighten_train_function
from stackcast.models.initial_weights import built_together
from stackcast.models.losses import MaskedLoss, masked_loss
from stackcast.models.monitor import ALL, GradientNormCallback, MonitoredAdam, to_numpy
from stackcast.models.precision import model_dtype_policy, resolve_dtype_policy
from stackcast.models.predict_ahead import hook_train_step, predict_beside_first_step
from stackcast.models.seeding import seed_everything
from stackcast.models.train_result import TrainResult
from stackcast.models.validation import PredictStepValidation, predict_step_validation_ok

logger = logging.getLogger(__name__)

LogHook = Callable[[str], None]


class TrainingError(RuntimeError):
    """Training failed in a way the user can act on (diverged, NaN loss, no data)."""

    def __init__(self, message: str, *, epoch: int | None = None, batch: int | None = None):
        super().__init__(message)
        self.epoch = epoch
        self.batch = batch


# --------------------------------------------------------------------------- callbacks


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
            loss = float(logs.get("loss", math.nan))
            self.hook(
                EpochLine(line, epoch=epoch + 1, epochs=self.epochs, loss=loss, seconds=seconds)
            )


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
    config: TrainConfig,
    monitor_gradients: bool,
    mixed: bool,
    jit_compile: Any,
    run_eagerly: bool,
    padded: bool,
) -> tuple[Any, ...]:
    """Everything that is baked into the compiled train step (not the learning rate)."""
    return (
        config.loss,
        config.clipnorm,
        config.steps_per_execution,
        bool(monitor_gradients),
        mixed,
        jit_compile,
        run_eagerly,
        padded,
    )


def _compile_or_reuse(
    model: keras.Model,
    config: TrainConfig,
    *,
    monitor_gradients: bool,
    mixed: bool,
    jit_compile: Any,
    run_eagerly: bool,
    padded: bool = False,
) -> bool:
    """Compile ``model``, or reuse the compilation of a previous ``train`` with the same setup.

    Compiling discards Keras' traced train/test/predict functions, so every ``compile`` costs a
    full graph retrace (seconds on CPU; a warm-started backtest fold trains for less than
    that). When ``train`` compiled this very model before with the same loss, clipping,
    monitoring, precision and jit settings, and nobody recompiled it since, the compiled
    functions are kept and the optimizer is put back into the state of a freshly built one
    (step 0, zero moments, zero gradient-norm accumulators, loss scale at its start value) with
    the learning rate of ``config``: the fit then computes exactly what it would after a fresh
    ``compile``, without the retrace. ``padded``: the batches carry padding rows at sample
    weight 0 (``stackcast.models.batches.pad_batch``); the loss then divides by the weight sum.

    Returns:
        Whether the previous compilation was reused.
    """
    key = _compile_key(config, monitor_gradients, mixed, jit_compile, run_eagerly, padded)
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
        lighten_train_function(model)  # no-op when the kept train function has it already
        return True
    optimizer = _optimizer(config, model, monitor_gradients, mixed)
    loss = masked_loss(config.loss)
    if padded:  # padding rows weigh 0: divide by the weight sum, count real rows in `loss`
        loss = MaskedLoss(config.loss, reduction=WEIGHTED_REDUCTION)
        count_weighted_rows(model)
    hook_train_step(model)  # before Keras binds the step into its train function
    model.compile(
        optimizer=optimizer,
        loss=loss,
        jit_compile=jit_compile,
        run_eagerly=run_eagerly,
        steps_per_execution=config.steps_per_execution,
    )
    # Build the optimizer now (fit would build it on its first step, with the same variables)
    # and remember its untouched state, which the next reuse restores.
    # On JAX its zero slots come from one compiled program, not one per weight shape.
    built_together(lambda: model.optimizer.build(model.trainable_variables))
    fresh = [to_numpy(v).copy() for v in model.optimizer.variables]
    # TensorFlow CPU: the train step's one instantiation skips graph passes that change
    # nothing for it (stackcast.models.grappler)
    lighten_train_function(model)
    _COMPILED[model] = _CompiledSetup(key, model.optimizer, fresh)
    return False


def train(
    model: keras.Model,
    train_data: Any,
    val_data: Any,
    config: TrainConfig | dict[str, Any],
    *,
    log: LogHook | None = None,
    verbose: int = 0,
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
        verbose: Keras verbosity (0: silent; progress goes through ``log``, which the CLI
            draws as a bar on a terminal).
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
    warnings: list[str] = []

    train_seq = as_batches(train_data, config.batch_size, shuffle=True, seed=config.seed)
    val_seq = as_batches(val_data, config.batch_size, shuffle=False, seed=config.seed)
    if train_seq is None or len(train_seq) == 0:
        raise TrainingError("no training batches: the training period holds no usable windows")
    if val_seq is not None and len(val_seq) == 0:
        warnings.append("validation data is empty: early stopping watches the training loss")
        val_seq = None
    head = train_seq[0]  # the first batch: its shapes size the padding and the pipeline
    first = check_pair(head, "train_data")
    if val_seq is not None:
        check_pair(val_seq[0], "val_data")

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
    mask_value = model_mask_value(model)
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
    # One batch shape (a short batch padded at sample weight 0): one compiled train step
    rows = None if run_eagerly else fixed_batch_rows(train_seq, first)
    reused = _compile_or_reuse(
        model,
        config,
        monitor_gradients=monitor_gradients,
        mixed=policy == "mixed_float16",
        jit_compile=False if run_eagerly else jit_compile,
        run_eagerly=run_eagerly,
        padded=rows is not None,
    )

    history: dict[str, list[float]] = {}
    train_adapter = BatchAdapter(train_seq, shuffle=True, seed=config.seed, rows=rows)
    fit_data = keras_input(train_adapter, head)
    guard = NanGuard(
        train_adapter, config.steps_per_execution, ends_epochs=fit_data is not train_adapter
    )
    grads = (
        GradientNormCallback(history, warnings, config.vanish_threshold, config.explode_threshold)
        if monitor_gradients
        else None
    )
    stopper = keras.callbacks.EarlyStopping(
        monitor=monitor, patience=config.patience, restore_best_weights=True
    )
    callbacks: list[keras.callbacks.Callback] = [guard]
    keras_val = val_seq
    if val_seq is not None and not run_eagerly and predict_step_validation_ok(model):
        # val_loss from the shared predict step: no test step to trace (first in the list,
        # so every other callback reads it)
        callbacks.insert(0, PredictStepValidation(val_seq))
        keras_val = None
        if not reused:  # its predict step traced while its first train step is set up
            predict_beside_first_step(model, callbacks[0].x)
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
        fit_data,
        validation_data=BatchAdapter(keras_val) if keras_val is not None else None,
        epochs=config.epochs,
        callbacks=callbacks,
        verbose=verbose,
        shuffle=False,  # BatchAdapter shuffles the batch order itself (seeded)
    )
    seconds = time.perf_counter() - t0
    if guard.hit is not None:
        hit = guard.hit
        data_batch = data_batch_of_hit(guard, train_adapter) if hit[2] >= 0 else None
        batch = data_batch if data_batch is not None else hit[2]
        raise TrainingError(
            divergence_message(guard, train_adapter, config.clipnorm),
            epoch=hit[1] + 1,
            batch=batch + 1 if batch >= 0 else None,
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
