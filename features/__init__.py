"""Pure feature engineering: returns, windows, masks, scalers and walk-forward splits.

Nothing in this package performs I/O, touches the network, or imports TensorFlow/Keras.
"""

from features.config import FeatureConfig

__all__ = ["FeatureConfig"]
