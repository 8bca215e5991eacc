"""JSON encoding of the values stackcast's files hold (numpy, pandas, dates, paths).

One ``json_default`` for every JSON file stackcast writes (run files, model metadata), so
they all encode the same types the same way.
"""

from __future__ import annotations

import datetime as _dt
import os
from typing import Any


def json_default(obj: Any) -> Any:
    """``json.dumps(default=...)`` hook: dates, paths, sets, numpy and pandas values."""
    if isinstance(obj, _dt.date | _dt.datetime):
        return obj.isoformat()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    # numpy scalars and arrays, pandas Timestamps, without importing either here.
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON-serializable")
