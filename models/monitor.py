"""Per-layer gradient norms, recorded inside the optimizer at ~zero cost, read once per epoch.

``MonitoredAdam`` is Adam whose ``apply`` first adds each layer's gradient L2 norm (computed
before clipping, after loss-scale unscaling) into a few non-trainable optimizer variables:
per layer the sum and max of the per-step norms, plus step counts. Because they are optimizer
variables, this works inside compiled train steps on every backend (TF graph/XLA, JAX's
stateless ``stateless_apply``, torch). ``GradientNormCallback`` reads and resets them at the end
of every epoch and writes ``grad_norm/<layer>/mean`` and ``grad_norm/<layer>/max`` lists.

A layer is the first component of a variable's path (``rnn_0/forward_rnn_0/lstm_cell/kernel``
-> ``rnn_0``); the pseudo-layer ``all`` is the global norm over every variable.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import keras
import numpy as np
from keras import ops

log = logging.getLogger(__name__)

ALL = "all"


def to_numpy(value: Any) -> np.ndarray:
    """A variable's (or tensor's) value as a NumPy array, on any backend."""
    if isinstance(value, keras.Variable):
        return np.asarray(value.numpy())  # np.array(variable) warns under NumPy 2 on TF
    return np.asarray(keras.ops.convert_to_numpy(value))


def layer_of(variable: Any) -> str:
    """The top-level layer a model variable belongs to (first component of its path)."""
    path = getattr(variable, "path", None) or str(variable.name)
    return path.split("/", 1)[0]


@keras.saving.register_keras_serializable(package="stackcast")
class MonitoredAdam(keras.optimizers.Adam):
    """Adam that records per-layer gradient norms (before clipping) every step.

    Takes exactly Adam's arguments and serializes like Adam, so a model compiled with it saves
    and loads (safe mode) once this module is imported.
    """

    _layer_names: tuple[tuple[int, str], ...] = ()

    def watch(self, model: Any) -> None:
        """Group variables by ``model``'s top-level layers (call before the optimizer is built).

        Without it, variables are grouped by the first component of their path, which Keras
        does not keep stable for nested layers of a reloaded model.
        """
        self._layer_names = tuple(
            (id(v), layer.name) for layer in model.layers for v in layer.trainable_variables
        )

    def build(self, variables: list[Any]) -> None:
        """Create Adam's slots plus the gradient-norm accumulators."""
        if self.built:
            return
        super().build(variables)
        by_id = dict(self._layer_names)
        groups: list[str] = []
        group_index: list[int] = []
        for v in variables:
            name = by_id.get(id(v)) or layer_of(v)
            if name not in groups:
                groups.append(name)
            group_index.append(groups.index(name))
        groups.append(ALL)
        self.grad_groups: tuple[str, ...] = tuple(groups)
        # variable x slot 0/1 matrix: squared norms of the variables -> squared norms of the
        # groups in one matmul (slot n - 1 is ``all``; slots past the real groups stay zero).
        # Sized by the variable count (an upper bound on the groups), not by the groups, so the
        # optimizer's variable shapes do not depend on variable paths (they are rebuilt on load).
        n = len(variables) + 1
        membership = np.zeros((len(variables), n), dtype=np.float32)
        for i, g in enumerate(group_index):
            membership[i, g] = 1.0
            membership[i, len(groups) - 1] = 1.0
        self._grad_membership = membership
        # Rows: sum of the per-step norms, their max, the count of non-finite steps.
        self._gn_state = self.add_variable((3, n), dtype="float32", name="grad_norm_state")
        self._gn_steps_base = 0
        self._divisors: dict[int, Any] = {}

    def apply(self, grads: Any, trainable_variables: Any = None) -> Any:
        """Record the per-layer norms of ``grads``, then apply them as Adam does."""
        grads = list(grads)
        if trainable_variables is not None:
            trainable_variables = list(trainable_variables)
            if not self.built:
                with keras.name_scope(self.name, caller=self):
                    self.build(trainable_variables)
                self.built = True
            variables = trainable_variables
        else:
            variables = self._trainable_variables
        if grads:
            self._record(grads, variables)
        try:
            return super().apply(grads, trainable_variables)
        finally:
            self._divisors = {}

    def _record(self, grads: list[Any], variables: list[Any]) -> None:
        """Add this step's per-group norms to the accumulators (one variable update).

        The squared L2 norms also give ``_clip_gradients`` its divisors (``clipnorm``), which
        would otherwise compute the same reductions again.
        """
        rows = []
        squares = []
        kept = []
        for g, v in zip(grads, variables, strict=True):
            if g is None:
                continue
            sq = ops.sum(ops.square(ops.cast(g, "float32")), keepdims=True)
            rows.append(self._get_variable_index(v))
            squares.append(ops.reshape(sq, ()))
            kept.append(g)
        membership = ops.convert_to_tensor(self._grad_membership[rows])
        stacked = ops.stack(squares)
        norms = ops.sqrt(ops.squeeze(ops.matmul(ops.expand_dims(stacked, 0), membership), 0))
        if self.clipnorm and self.clipnorm > 0:
            self._clip_divisors(kept, stacked)
        finite = ops.isfinite(norms)
        zero = ops.zeros_like(norms)
        safe = ops.where(finite, norms, zero)
        state = self._gn_state
        self._gn_state.assign(
            ops.stack(
                [
                    state[0] + safe,
                    ops.maximum(state[1], safe),
                    state[2] + ops.cast(ops.logical_not(finite), "float32"),
                ]
            )
        )

    def _clip_divisors(self, grads: list[Any], squares: Any) -> None:
        """Each gradient's ``clipnorm`` divisor, as Keras computes it, all in one go.

        Keras clips a gradient to ``g * clipnorm / max(norm, clipnorm)``, deriving the norm
        from the squared norm through a few scalar ops per variable. The same elementwise ops
        on the vector of squared norms ``[len(grads)]`` give the same divisors bit for bit, in
        a handful of graph nodes instead of a handful per variable. Kept (by tensor identity)
        only for float32 gradients: Keras computes a float16 one's norm in float16.
        """
        positive = squares > 0
        safe = ops.where(positive, squares, ops.ones_like(squares))
        l2norm = ops.where(positive, ops.sqrt(safe), squares)
        divisors = ops.unstack(ops.maximum(l2norm, self.clipnorm), num=len(grads))
        self._divisors = {
            id(g): d for g, d in zip(grads, divisors, strict=True) if g.dtype == squares.dtype
        }

    def _clip_gradients(self, grads: list[Any]) -> list[Any]:
        """Keras' ``clipnorm`` clipping, with the divisors ``_record`` computed."""
        divisors = self._divisors
        if not (self.clipnorm and self.clipnorm > 0) or not divisors:
            return super()._clip_gradients(grads)
        out = []
        for g in grads:
            divisor = None if g is None else divisors.get(id(g))
            if divisor is None:
                out.append(g if g is None else self._clip_by_norm(g))
            else:  # Keras' clip_by_norm with its divisor
                out.append(ops.convert_to_tensor(ops.multiply(g, self.clipnorm)) / divisor)
        return out

    def _backend_update_step(self, grads: Any, trainable_variables: Any, learning_rate: Any) -> Any:
        """Adam's updates; on TensorFlow without a distribution strategy, one plain loop.

        Keras routes each variable's update through ``tf.distribute`` (merge call, per-variable
        update context) and recomputes the step's learning-rate factor for every variable.
        Outside a strategy both are the identity, so ``update_step`` runs directly with the
        factor computed once per step: the same ops on the same values, far fewer graph nodes
        to trace, optimise and run.
        """
        if keras.backend.backend() != "tensorflow" or self.amsgrad or _in_strategy():
            return super()._backend_update_step(grads, trainable_variables, learning_rate)
        self._alphas: dict[Any, Any] | None = {}
        try:
            for grad, variable in zip(grads, trainable_variables, strict=True):
                self.update_step(grad, variable, learning_rate)
        finally:
            self._alphas = None

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        """Adam's update of one variable (Keras' ``Adam.update_step``, the factor shared)."""
        alphas = getattr(self, "_alphas", None)
        if alphas is None:
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        if dtype not in alphas:
            lr = ops.cast(learning_rate, dtype)
            local_step = ops.cast(self.iterations + 1, dtype)
            beta_1_power = ops.power(ops.cast(self.beta_1, dtype), local_step)
            beta_2_power = ops.power(ops.cast(self.beta_2, dtype), local_step)
            alphas[dtype] = lr * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        alpha = alphas[dtype]
        gradient = ops.cast(gradient, dtype)
        m = self._momentums[self._get_variable_index(variable)]
        v = self._velocities[self._get_variable_index(variable)]
        self.assign_add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        self.assign_sub(
            variable, ops.divide(ops.multiply(m, alpha), ops.add(ops.sqrt(v), self.epsilon))
        )
        return None

    def read_grad_norms(self, reset: bool = True) -> dict[str, dict[str, float]]:
        """Per layer: mean and max norm over the steps since the last reset, and counts.

        Returns:
            ``{layer: {"mean": float, "max": float, "steps": int, "nonfinite": int}}``;
            empty before the first step. Mean/max are NaN when every step was non-finite.
        """
        if not self.built:
            return {}
        state = to_numpy(self._gn_state).astype(np.float64)
        total, peak, bad = state[0], state[1], state[2]
        iterations = int(to_numpy(self.iterations))
        steps = float(iterations - self._gn_steps_base)
        if reset:
            self._gn_state.assign(ops.zeros(self._gn_state.shape, dtype="float32"))
            self._gn_steps_base = iterations
        if steps <= 0:
            return {}
        out: dict[str, dict[str, float]] = {}
        for i, name in enumerate(self.grad_groups):
            good = steps - bad[i]
            out[name] = {
                "mean": float(total[i] / good) if good > 0 else math.nan,
                "max": float(peak[i]) if good > 0 else math.nan,
                "steps": int(steps),
                "nonfinite": int(bad[i]),
            }
        return out


def _in_strategy() -> bool:
    """Whether TensorFlow runs inside a ``tf.distribute`` strategy (not its default one)."""
    import tensorflow as tf

    return bool(tf.distribute.has_strategy())


def monitored_optimizer(optimizer: Any) -> MonitoredAdam | None:
    """The ``MonitoredAdam`` inside ``optimizer`` (unwrapping a LossScaleOptimizer), if any."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    return inner if isinstance(inner, MonitoredAdam) else None


class GradientNormCallback(keras.callbacks.Callback):
    """Read the optimizer's gradient norms each epoch into ``history`` and flag anomalies.

    Args:
        history: Dict receiving ``grad_norm/<layer>/mean`` and ``grad_norm/<layer>/max`` lists.
        warnings: List receiving one message per (layer, kind) the first time it happens.
        vanish_threshold: Mean norm below which a layer's gradients are called vanishing.
        explode_threshold: Max norm above which a layer's gradients are called exploding.
    """

    def __init__(
        self,
        history: dict[str, list[float]],
        warnings: list[str],
        vanish_threshold: float,
        explode_threshold: float,
    ):
        super().__init__()
        self.history = history
        self.warnings = warnings
        self.vanish_threshold = float(vanish_threshold)
        self.explode_threshold = float(explode_threshold)
        self.last: dict[str, dict[str, float]] = {}
        self._flagged: set[tuple[str, str]] = set()

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        """Discard anything recorded before this fit (e.g. a previous fit's last epoch)."""
        opt = monitored_optimizer(self.model.optimizer)
        if opt is not None:
            opt.read_grad_norms(reset=True)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """Append this epoch's per-layer mean/max norms and check the thresholds."""
        opt = monitored_optimizer(self.model.optimizer)
        if opt is None:
            return
        self.last = opt.read_grad_norms(reset=True)
        for layer, stats in self.last.items():
            self.history.setdefault(f"grad_norm/{layer}/mean", []).append(stats["mean"])
            self.history.setdefault(f"grad_norm/{layer}/max", []).append(stats["max"])
            if layer == ALL:
                continue
            if stats["nonfinite"]:
                self._flag(
                    layer,
                    "nonfinite",
                    f"non-finite gradients: {layer} had {stats['nonfinite']} of "
                    f"{stats['steps']} steps with a NaN/inf gradient norm in epoch {epoch + 1}",
                )
            if math.isfinite(stats["max"]) and stats["max"] > self.explode_threshold:
                self._flag(
                    layer,
                    "explode",
                    f"exploding gradients: {layer} gradient norm reached {stats['max']:.3g} "
                    f"(> explode_threshold {self.explode_threshold:g}) in epoch {epoch + 1}; "
                    "lower learning_rate, enable clipnorm or check the input scaling",
                )
            if math.isfinite(stats["mean"]) and stats["mean"] < self.vanish_threshold:
                self._flag(
                    layer,
                    "vanish",
                    f"vanishing gradients: {layer} mean gradient norm {stats['mean']:.3g} "
                    f"(< vanish_threshold {self.vanish_threshold:g}) in epoch {epoch + 1}",
                )

    def _flag(self, layer: str, kind: str, message: str) -> None:
        if (layer, kind) in self._flagged:
            return
        self._flagged.add((layer, kind))
        self.warnings.append(message)
        log.warning(message)
