"""Keras 3 recurrent regressors: building, training, gradient monitoring, persistence.

``ModelConfig`` and ``TrainConfig`` import without Keras; everything else (``build_model``,
``train``, ``save_model``, ...) imports Keras on first use, so the command line
starts fast. ``predict`` shares its module's name, so import it as
``from stackcast.models.predict import predict`` (a package-level lazy alias would be shadowed
by the submodule).
"""

from __future__ import annotations

from typing import Any

from stackcast.models.config import LayerConfig, ModelConfig, TrainConfig

_LAZY = {
    "build_model": "stackcast.models.network",
    "MaskedAttentionPooling": "stackcast.models.network",
    "CudnnCheck": "stackcast.models.cudnn",
    "cudnn_eligibility": "stackcast.models.cudnn",
    "MonitoredAdam": "stackcast.models.monitor",
    "train": "stackcast.models.training",
    "TrainResult": "stackcast.models.train_result",
    "TrainingError": "stackcast.models.training",
    "resolve_dtype_policy": "stackcast.models.precision",
    "seed_everything": "stackcast.models.seeding",
    "save_model": "stackcast.models.persistence",
    "load_model": "stackcast.models.persistence",
    "ModelMismatchError": "stackcast.models.persistence",
}

__all__ = ["LayerConfig", "ModelConfig", "TrainConfig", *_LAZY]


def __getattr__(name: str) -> Any:
    """Import Keras-backed names lazily."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'models' has no attribute {name!r}")
