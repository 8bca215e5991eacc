"""Pure reporting: metrics, trading simulation, plots and self-contained HTML rendering.

No file or network I/O happens here; callers in ``pipeline`` write what this returns.
``ReportConfig`` imports without scipy, matplotlib or jinja2; the other names import their
modules on first use, so the command line starts fast.
"""

from __future__ import annotations

from typing import Any

from stackcast.reports.config import ReportConfig

__all__ = [
    "ReportConfig",
    "ReportData",
    "TradingResult",
    "evaluate",
    "index_entry",
    "render_index",
    "render_report",
    "simulate",
]

_LAZY = {
    "evaluate": "stackcast.reports.metrics",
    "simulate": "stackcast.reports.trading",
    "TradingResult": "stackcast.reports.trading",
    "ReportData": "stackcast.reports.html",
    "render_report": "stackcast.reports.html",
    "render_index": "stackcast.reports.run_index",
    "index_entry": "stackcast.reports.run_index",
}


def __getattr__(name: str) -> Any:
    """Import the heavier names lazily."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'reports' has no attribute {name!r}")
