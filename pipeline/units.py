"""How the command line and the workflows write an error for a person: percent of price."""

from __future__ import annotations

import math


def percent(x: float | None, digits: int = 3) -> str:
    """A log-return error or a share as percent (``0.04006`` -> ``4.006%``); ``n/a`` if unknown."""
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.{digits}f}%"
