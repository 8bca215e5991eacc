"""Pure feature engineering: returns, windows, masks, scalers and walk-forward splits.

Nothing in this package performs I/O, touches the network, or imports TensorFlow/Keras.
``FeatureConfig`` imports eagerly (it is pure pydantic); everything else is imported on first
use, so loading a configuration does not pay for scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import Any

from features.config import FeatureConfig

_LAZY = {
    "Panel": "features.panel",
    "build_panel": "features.panel",
    "align_calendar": "features.returns",
    "available_inputs": "features.returns",
    "input_matrix": "features.returns",
    "log_returns": "features.returns",
    "prices_from_returns": "features.returns",
    "target_matrix": "features.returns",
    "volume_zscore": "features.returns",
    "FoldScaler": "features.scaling",
    "FoldRows": "features.splits",
    "Split": "features.splits",
    "validation_split": "features.splits",
    "walk_forward": "features.splits",
    "WindowBatches": "features.windows",
    "materialize": "features.windows",
    "sliding_windows": "features.windows",
    "window_lengths": "features.windows",
}

__all__ = ["FeatureConfig", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` on first access."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'features' has no attribute {name!r}")
