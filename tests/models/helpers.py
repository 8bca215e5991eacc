"""Tiny data and one shared trained model for the models tests (CPU, 2 shared cores)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from stackcast.models.config import LayerConfig, ModelConfig, TrainConfig

MASK = -10.0
WINDOW = 6
FEATURES = 3
HORIZONS = 2


def make_data(
    n: int = 64, window: int = WINDOW, seed: int = 0, pad_every: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """Windows [n, window, F] (every ``pad_every``-th right-padded) and targets [n, H]."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, window, FEATURES)).astype(np.float32)
    y = np.stack([x[:, 0, 0] * 0.5, x[:, 1, 1] - x[:, 0, 2]], axis=1).astype(np.float32)
    for i in range(0, n, pad_every):
        keep = 2 + i % (window - 2)
        x[i, keep:, :] = MASK
    return x, y


class Batches:
    """A WindowBatches-like source: __len__/__getitem__ -> (x, y), counts on_epoch_end."""

    def __init__(self, x: np.ndarray, y: np.ndarray, batch_size: int):
        self.x, self.y, self.batch_size = x, y, batch_size
        self.epochs_ended = 0

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[s], self.y[s]

    def on_epoch_end(self) -> None:
        self.epochs_ended += 1


SHARED_MODEL = ModelConfig(
    layers=(
        LayerConfig(cell="lstm", units=6),
        LayerConfig(cell="gru", units=4, bidirectional=False),
    ),
    dropout=0.2,
    between_dropout=0.1,
    head="attention",
)
SHARED_TRAIN = TrainConfig(epochs=2, batch_size=32, seed=7, patience=2)


@dataclass
class Trained:
    model: Any
    result: Any
    x: np.ndarray
    y: np.ndarray
    lines: list[str]


def train_shared() -> Trained:
    from stackcast.models.network import build_model
    from stackcast.models.training import train

    x, y = make_data(96)
    model = build_model(SHARED_MODEL, FEATURES, WINDOW, HORIZONS, MASK, seed=SHARED_TRAIN.seed)
    lines: list[str] = []
    result = train(model, (x[:64], y[:64]), (x[64:], y[64:]), SHARED_TRAIN, log=lines.append)
    return Trained(model, result, x, y, lines)
