"""Training input pipeline: batch sources, the Keras adapter over them, and padding checks.

``train`` accepts ``(x, y)`` arrays (``ArrayBatches``) or any ``__len__``/``__getitem__``
source of ``(x, y)`` batches (e.g. ``stackcast.features.windows.WindowBatches``); it feeds
them to Keras through ``BatchAdapter``, which casts, checks for NaN/inf and shuffles the batch
order. ``detect_padding`` and ``model_mask_value`` tell the cuDNN check how the inputs are
padded.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np


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
