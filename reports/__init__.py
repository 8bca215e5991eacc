"""Pure reporting: metrics, trading simulation, plots and self-contained HTML rendering.

No file or network I/O happens here; callers in ``pipeline`` write what this returns.
"""

from reports.config import ReportConfig

__all__ = ["ReportConfig"]
