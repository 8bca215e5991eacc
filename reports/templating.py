"""The Jinja environment the report pages render with, and its number-formatting filters.

Templates live in ``reports/templates`` and load through ``jinja2.PackageLoader`` with
autoescaping on, so every string from a user (tickers, titles, config values, warnings) is
escaped; undefined template variables are errors. Filters: ``num``, ``pct``, ``pp`` (log-return
errors in percentage points), ``pval`` and ``urlpath``.

Compiling the templates costs about 40 ms per process, so each template ships pre-compiled
beside its source (``compiled_<name>.py``, Jinja's own module form of it). A compiled module is
used only when it was made from the template's current text by the installed Jinja; otherwise
the template is compiled from source as usual. ``python -m stackcast.reports.templating``
writes the modules again after a template changes (a test says when one is stale).
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
from collections.abc import Callable, MutableMapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from stackcast.reports.significance import format_p

TEMPLATE_DIR = Path(__file__).with_name("templates")
#: The files under ``TEMPLATE_DIR`` that are templates (the rest are their compiled modules).
TEMPLATE_SUFFIXES = (".html", ".css")


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


def compiled_path(name: str) -> Path:
    """Template ``name``'s compiled module: ``report.html`` -> ``compiled_report_html.py``."""
    return TEMPLATE_DIR / f"compiled_{name.replace('.', '_').replace('-', '_')}.py"


def _stamp(source: str) -> str:
    """The first line of a compiled module: which source text and Jinja version made it."""
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()
    return f"# stackcast compiled template: sha256 {digest}, jinja2 {jinja2.__version__}\n"


def compiled_module(env: jinja2.Environment, name: str) -> str:
    """Template ``name`` compiled by ``env`` to the text of its module (with its stamp)."""
    source, _, _ = env.loader.get_source(env, name)  # type: ignore[union-attr]
    code = env.compile(source, name, raw=True, defer_init=True)
    return _stamp(source) + "# Generated: do not edit; see stackcast.reports.templating.\n" + code


class CompiledLoader(jinja2.PackageLoader):
    """``PackageLoader`` that takes a template's compiled module when it is current."""

    def load(
        self,
        environment: jinja2.Environment,
        name: str,
        globals: MutableMapping[str, Any] | None = None,
    ) -> jinja2.Template:
        """The template, from its compiled module if current, else compiled from source."""
        source, filename, uptodate = self.get_source(environment, name)
        namespace = _current_module(name, source)
        if namespace is None:
            return super().load(environment, name, globals)
        template = environment.template_class.from_module_dict(
            environment, namespace, globals or {}
        )
        template.filename, template._uptodate = filename, uptodate
        return template


def _current_module(name: str, source: str) -> dict[str, Any] | None:
    """The namespace of ``name``'s compiled module, or None where it is missing or stale."""
    path = compiled_path(name)
    try:
        with path.open(encoding="utf-8") as f:
            if f.readline() != _stamp(source):
                return None
    except OSError:
        return None
    spec = importlib.util.spec_from_file_location(f"stackcast.reports.templates.{path.stem}", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # imports through the bytecode cache, as any module
    return vars(module)


@cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=CompiledLoader("stackcast.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    filters: dict[str, Callable[..., str]] = {"num": _num, "pct": _pct, "pp": _pp, "pval": _pval}
    env.filters.update(filters)
    env.filters["urlpath"] = lambda s: quote(str(s), safe="")
    return env


def template_names() -> list[str]:
    """Every template under ``TEMPLATE_DIR``, by name."""
    return sorted(p.name for p in TEMPLATE_DIR.iterdir() if p.suffix in TEMPLATE_SUFFIXES)


def write_compiled() -> list[Path]:
    """Write every template's compiled module beside it (a developer's step; returns the paths)."""
    env, written = _env(), []
    for name in template_names():
        path = compiled_path(name)
        path.write_text(compiled_module(env, name), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write_compiled():
        print(p)
