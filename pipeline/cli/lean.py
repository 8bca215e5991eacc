"""Keras' optional extras, skipped while the command line starts Keras.

When they are installed, Keras 3 imports ``matplotlib.pyplot`` (for its image-gallery plot) and
scikit-learn (for its estimator wrappers, which pull in most of SciPy) as it loads, and
TensorFlow loads Keras as it loads: over a second of every command's start on two cores, for
features stackcast never calls. ``skip_keras_extras`` makes exactly those imports, made by
Keras' own modules as they load, fail as if the packages were missing, which Keras handles
(``plt = None``, ``sklearn = None``). Every other import is untouched: stackcast's report
figures and robust scaler import matplotlib and scikit-learn as usual when they need them.
Only the command line does this, never ``import stackcast``: a notebook keeps Keras as
installed.
"""

from __future__ import annotations

import sys
from importlib.machinery import ModuleSpec
from types import FrameType
from typing import Any

SKIPPED = frozenset({"matplotlib", "matplotlib.pyplot", "sklearn"})


def _importer(frame: FrameType | None) -> FrameType | None:
    """The frame whose code asked for the import (past the import machinery's own frames)."""
    while frame is not None and frame.f_globals.get("__name__", "").startswith("importlib"):
        frame = frame.f_back
    return frame


class KerasExtrasFinder:
    """A meta path finder refusing ``SKIPPED`` to Keras' module-level imports only."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        """Raise ``ModuleNotFoundError`` for a skipped extra Keras is loading; else defer."""
        if name not in SKIPPED:
            return None
        frame = _importer(sys._getframe(1))
        if (
            frame is not None
            and frame.f_code.co_name == "<module>"
            and frame.f_globals.get("__name__", "").startswith("keras.")
        ):
            raise ModuleNotFoundError(f"{name} is not loaded for Keras' extras", name=name)
        return None


def skip_keras_extras() -> None:
    """Install ``KerasExtrasFinder`` first on ``sys.meta_path`` (once; no effect once loaded)."""
    if not any(isinstance(f, KerasExtrasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, KerasExtrasFinder())
