"""Training input pipeline: batch sources, the Keras adapter over them, and padding checks.

``train`` accepts ``(x, y)`` arrays (``ArrayBatches``) or any ``__len__``/``__getitem__``
source of ``(x, y)`` batches (e.g. ``stackcast.features.windows.WindowBatches``); it feeds
them to Keras through ``BatchAdapter``, which casts, checks for NaN/inf and shuffles the batch
order. ``detect_padding`` and ``model_mask_value`` tell the cuDNN check how the inputs are
padded.

On TensorFlow and JAX every training batch has one shape (``fixed_batch_rows``): a short batch
is filled up with copies of its own windows at sample weight 0 (``pad_batch``), the loss
divides by the weight sum and the epoch's ``loss`` counts real rows only
(``count_weighted_rows``), so the padding adds nothing to the loss or its gradient. JAX then
compiles the train step once; TensorFlow traces it for a static batch dimension
(``keras_input``), which gives its recurrent loops' gradients static shapes: a cheaper trace
and fewer graph nodes per step than a step traced for any batch size. A padded short batch
is equal to the unpadded one up to float rounding, not bit for bit: its arithmetic runs at
another shape (on JAX a 14-row batch padded to 32 moved weights by about 1e-8) and its loss
is a weighted sum over a weight sum rather than a mean.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np

# The loss reduction for padded batches: the weighted sum over the sum of the sample weights
# (over the batch size when a batch has no weights, as Keras' default reduction).
WEIGHTED_REDUCTION = "mean_with_sample_weight"


def model_mask_value(model: keras.Model) -> float | None:
    """The ``mask_value`` of the model's ``Masking`` layer, or ``None`` when it has none."""
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
    not used, so batch numbers in messages are positions in the epoch. With ``rows`` every batch
    comes as ``(x, y, sample_weight)`` padded to that many rows (``pad_batch``).
    """

    def __init__(self, source: Any, shuffle: bool = False, seed: int = 0, rows: int | None = None):
        super().__init__()
        self.source = source
        self.shuffle = shuffle
        self.rows = rows
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(len(source))
        self._epoch = -1
        self.nonfinite: set[tuple[int, int]] = set()

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, i: int) -> tuple[np.ndarray, ...]:
        item = self.source[int(self._order[i])]
        if not isinstance(item, tuple | list) or len(item) < 2:
            raise TypeError("training/validation batches must be (x, y) pairs")
        x = np.asarray(item[0], dtype=np.float32)
        y = np.asarray(item[1], dtype=np.float32)
        # NaN targets are unknown horizons (masked in the loss); inf is a data error.
        if not (np.isfinite(x).all() and not np.isinf(y).any()):
            self.nonfinite.add((self._epoch, int(i)))
        if self.rows is not None:
            return pad_batch(x, y, self.rows)
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


def fixed_batch_rows(source: Any, first: np.ndarray) -> int | None:
    """Rows every training batch is padded to: the batch size on TensorFlow and JAX.

    JAX compiles the train step once per batch shape (seconds on CPU, and a persistent-cache
    entry of its own), so a short last batch would compile it twice. TensorFlow traces it
    once either way, but for a static batch dimension only when every batch has the same
    shape (``keras_input``). Other backends: ``None`` (batches as they come).

    Args:
        source: The training batches; its ``batch_size`` when it has one.
        first: The inputs of its first batch (their row count otherwise).
    """
    if keras.backend.backend() not in ("jax", "tensorflow"):
        return None
    rows = getattr(source, "batch_size", None)
    return int(rows) if isinstance(rows, int) and rows > 0 else len(first)


def keras_input(adapter: BatchAdapter, first: Any) -> Any:
    """What ``fit`` reads ``adapter``'s batches through (``first``: its source's first batch).

    On TensorFlow with fixed rows, a tf.data pipeline over the adapter whose batch dimension
    is static: Keras' own pipeline for a ``PyDataset`` declares it unknown, and the train step
    traced for any batch size carries the batch size through its recurrent loops as data
    (shape tensors stacked at every time step for the gradient), so it traces for longer and
    runs more graph nodes per step. Keras does not start or end the adapter's epochs on this
    pipeline: ``NanGuard`` does (``ends_epochs``). Elsewhere the adapter itself.
    """
    if adapter.rows is None or keras.backend.backend() != "tensorflow":
        return adapter
    import tensorflow as tf

    x, y = first[:2]
    rows = adapter.rows
    spec = (
        tf.TensorSpec((rows, *np.shape(x)[1:]), tf.float32),
        tf.TensorSpec((rows, *np.shape(y)[1:]), tf.float32),
        tf.TensorSpec((rows,), tf.float32),
    )

    def batches() -> Any:
        for i in range(len(adapter)):
            yield adapter[i]

    data = tf.data.Dataset.from_generator(batches, output_signature=spec)
    data = data.apply(tf.data.experimental.assert_cardinality(len(adapter)))
    return data.prefetch(tf.data.AUTOTUNE)  # as Keras' pipeline for a PyDataset


def pad_batch(x: np.ndarray, y: np.ndarray, rows: int) -> tuple[np.ndarray, ...]:
    """``(x, y, sample_weight)`` with ``rows`` rows: weight 1 per real row, 0 per added row.

    The added rows repeat the batch's own windows in order (never a fully masked window:
    every row goes through the network as real data does) and carry weight 0, so with the
    ``WEIGHTED_REDUCTION`` loss they change neither the loss nor its gradient. A batch that
    is already ``rows`` long (or longer) comes back whole, with weights 1.
    """
    n = len(x)
    if n >= rows or n == 0:
        return x, y, np.ones(n, dtype=np.float32)
    extra = np.arange(rows - n) % n
    weight = np.zeros(rows, dtype=np.float32)
    weight[:n] = 1.0
    return np.concatenate([x, x[extra]]), np.concatenate([y, y[extra]]), weight


def count_weighted_rows(model: keras.Model) -> None:
    """Make ``model``'s train step count a batch as its sample-weight sum in ``loss``.

    Keras' train steps add each batch's loss to the epoch's mean weighted by the batch's rows
    (``x.shape[0]``), padding rows included. With this, a batch that carries sample weights
    counts ``sum(sample_weight)`` rows, its real rows for ``pad_batch``'s batches (the same
    float32 count as Keras' for an unpadded batch); a batch without weights is counted by
    Keras' own code. Reaches into Keras' trainers, checked against Keras 3.15: on JAX its
    ``_update_metrics_variables`` and ``_loss_tracker``; on TensorFlow its ``train_step``,
    which, while it is traced, gets a loss tracker that takes the weight sum.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        _count_weighted_rows_tensorflow(model)
        return
    if backend != "jax" or "_update_metrics_variables" in vars(model):
        return
    keras_update = model._update_metrics_variables  # the trainer's bound method

    def update(
        metrics_variables: list[Any],
        unscaled_loss: Any,
        x: Any,
        y: Any,
        y_pred: Any,
        sample_weight: Any,
    ) -> tuple[dict[str, Any], list[Any]]:
        if sample_weight is None:
            return keras_update(metrics_variables, unscaled_loss, x, y, y_pred, sample_weight)
        mapping = list(zip(model.metrics_variables, metrics_variables, strict=True))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            model._loss_tracker.update_state(
                unscaled_loss, sample_weight=keras.ops.sum(sample_weight)
            )
            logs = model.compute_metrics(x, y, y_pred, sample_weight)
        values = [scope.get_current_value(v) for v in model.metrics_variables]
        return logs, [
            v.value if new is None else new
            for v, new in zip(model.metrics_variables, values, strict=True)
        ]

    model._update_metrics_variables = update


def _count_weighted_rows_tensorflow(model: keras.Model) -> None:
    """``count_weighted_rows`` on TensorFlow: runs only while the train step is traced."""
    if getattr(model.train_step, "counts_weighted_rows", False):
        return
    keras_step = model.train_step  # the trainer's bound method

    def train_step(data: Any) -> Any:
        _, _, weight = keras.utils.unpack_x_y_sample_weight(data)
        if weight is None:
            return keras_step(data)
        tracker = model._loss_tracker
        keras_update = tracker.update_state

        def update_state(values: Any, sample_weight: Any = None) -> Any:
            # Keras passes the batch's row count; the real rows are the weight sum
            return keras_update(values, sample_weight=keras.ops.sum(weight))

        tracker.update_state = update_state
        try:
            return keras_step(data)
        finally:
            del tracker.update_state

    vars(train_step).update(getattr(keras_step, "__dict__", {}))  # another wrapper's marks
    train_step.counts_weighted_rows = True  # type: ignore[attr-defined]
    model.train_step = train_step


def as_batches(data: Any, batch_size: int, shuffle: bool, seed: int) -> Any:
    """A batch sequence from ``(x, y)`` arrays (``ArrayBatches``) or a batch source as is.

    Returns:
        ``None`` for ``None``; ``ArrayBatches`` for an ``(x, y)`` tuple of arrays; any object
        with ``__len__`` and ``__getitem__`` unchanged.

    Raises:
        TypeError: ``data`` is neither.
    """
    if data is None:
        return None
    if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], np.ndarray):
        x, y = data
        return ArrayBatches(np.asarray(x), np.asarray(y), batch_size, shuffle=shuffle, seed=seed)
    if hasattr(data, "__len__") and hasattr(data, "__getitem__"):
        return data
    raise TypeError("data must be an (x, y) tuple of arrays or a sequence of (x, y) batches")


def check_pair(item: Any, what: str) -> np.ndarray:
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
