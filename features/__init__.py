"""Pure feature engineering: returns, windows, masks, scalers and walk-forward splits.

Nothing in this package performs I/O, touches the network, or imports TensorFlow/Keras.
``FeatureConfig`` imports eagerly (it is pure pydantic); everything else is imported on first
use, so loading a configuration does not pay for scikit-learn.
"""

from __future__ import annotations

import importlib
from typing import Any

from stackcast.features.config import FeatureConfig

_LAZY = {
    "Panel": "stackcast.features.panel",
    "build_panel": "stackcast.features.panel",
    "align_calendar": "stackcast.features.returns",
    "available_inputs": "stackcast.features.returns",
    "input_matrix": "stackcast.features.returns",
    "log_returns": "stackcast.features.returns",
    "prices_from_returns": "stackcast.features.returns",
    "target_matrix": "stackcast.features.returns",
    "volume_zscore": "stackcast.features.returns",
    "FoldScaler": "stackcast.features.scaling",
    "FoldRows": "stackcast.features.splits",
    "Split": "stackcast.features.splits",
    "holdout_split": "stackcast.features.splits",
    "validation_split": "stackcast.features.splits",
    "walk_forward": "stackcast.features.splits",
    "WindowBatches": "stackcast.features.windows",
    "materialize": "stackcast.features.windows",
    "sliding_windows": "stackcast.features.windows",
    "window_lengths": "stackcast.features.windows",
}

__all__ = ["FeatureConfig", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` on first access."""
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'features' has no attribute {name!r}")
