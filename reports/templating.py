"""The Jinja environment the report pages render with, and its number-formatting filters.

Templates live in ``reports/templates`` and load through ``jinja2.PackageLoader`` with
autoescaping on, so every string from a user (tickers, titles, config values, warnings) is
escaped; undefined template variables are errors. Filters: ``num``, ``pct``, ``pp`` (log-return
errors in percentage points), ``pval`` and ``urlpath``.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any
from urllib.parse import quote

import jinja2
from stackcast.reports.verdicts import format_p


def _num(x: Any, digits: int = 3) -> str:
    """A number with ``digits`` decimals; ``—`` for missing or non-finite."""
    if x is None or isinstance(x, str):
        return "—" if x is None else x
    x = float(x)
    return f"{x:,.{digits}f}" if math.isfinite(x) else "—"


def _pct(x: Any, digits: int = 1) -> str:
    """A fraction as a percentage (``0.123`` -> ``12.3%``)."""
    if x is None or not math.isfinite(float(x)):
        return "—"
    return f"{100 * float(x):,.{digits}f}%"


def _pp(x: Any, digits: int = 3) -> str:
    """A log-return error in percentage points (``0.0123`` -> ``1.230``)."""
    return "—" if x is None else _num(100 * float(x), digits)


def _pval(p: Any) -> str:
    return "—" if p is None else format_p(float(p))


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("stackcast.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=_num, pct=_pct, pp=_pp, pval=_pval)
    env.filters["urlpath"] = lambda s: quote(str(s), safe="")
    return env
