"""Keras 3 recurrent regressors: building, training, gradient monitoring, persistence.

``ModelConfig`` and ``TrainConfig`` import without Keras; everything else (``build_model``,
``train``, ``save_model``, ...) imports Keras on first use, so the command line
starts fast. ``predict`` shares its module's name, so import it as
``from models.predict import predict`` (a package-level lazy alias would be shadowed by the
submodule).
"""

from __future__ import annotations

from typing import Any

from models.config import LayerConfig, ModelConfig, TrainConfig

_LAZY = {
    "build_model": "models.network",
    "MaskedAttentionPooling": "models.network",
    "CudnnCheck": "models.cudnn",
    "cudnn_eligibility": "models.cudnn",
    "MonitoredAdam": "models.monitor",
    "train": "models.training",
    "TrainResult": "models.training",
    "TrainingError": "models.training",
    "resolve_dtype_policy": "models.training",
    "seed_everything": "models.training",
    "save_model": "models.persistence",
    "load_model": "models.persistence",
    "ModelMismatchError": "models.persistence",
}

__all__ = ["LayerConfig", "ModelConfig", "TrainConfig", *_LAZY]


def __getattr__(name: str) -> Any:
    """Import Keras-backed names lazily."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'models' has no attribute {name!r}")
