"""Keras 3 recurrent regressors: building, training, gradient monitoring, persistence.

``ModelConfig`` and ``TrainConfig`` import without Keras; ``build_model`` and ``train`` import
Keras on first use, so the command line starts fast.
"""

from __future__ import annotations

from typing import Any

from models.config import LayerConfig, ModelConfig, TrainConfig

__all__ = ["LayerConfig", "ModelConfig", "TrainConfig", "build_model", "train"]

_LAZY = {
    "build_model": "models.network",
    "train": "models.training",
}


def __getattr__(name: str) -> Any:
    """Import Keras-backed names lazily."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'models' has no attribute {name!r}")
