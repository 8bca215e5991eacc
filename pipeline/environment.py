"""Process set-up shared by every entry point (CLI, flows, workers)."""

from __future__ import annotations

import logging
import os


def quiet_tensorflow() -> None:
    """Keep TensorFlow's start-up chatter (oneDNN banners, retracing notes) off the terminal.

    oneDNN's custom ops are also switched off by default: CPU results are then bitwise
    reproducible, and the recurrent layers stackcast uses do not gain from them.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)
