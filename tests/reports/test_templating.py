"""reports.templating: the shipped compiled templates are current, used, and never stale."""

from __future__ import annotations

import jinja2
import pytest
from stackcast.reports import templating
from stackcast.reports.templating import (
    CompiledLoader,
    _env,
    compiled_module,
    compiled_path,
    template_names,
)

CONTEXT = {
    "title": "t <b>",
    "run_id": "r1",
    "created": "2026-01-01",
    "ticker": "BRK.B",
    "charts": [],
    "error_rows": [],
    "error_table": None,
    "family": None,
    "trading_rows": [],
    "data_range": {"ticker": "BRK.B", "start": "2020-01-02", "bars": None},
    "prev": None,
    "next": {"ticker": "^GSPC", "href": "_5EGSPC.html"},
}


def fresh_env(loader: jinja2.BaseLoader) -> jinja2.Environment:
    """An environment with ``_env``'s settings and filters, and another loader."""
    env = _env().overlay(loader=loader)
    env.cache = {}
    return env


@pytest.mark.parametrize("name", template_names())
def test_compiled_module_is_current(name: str) -> None:
    shipped = compiled_path(name).read_text(encoding="utf-8")
    assert shipped == compiled_module(_env(), name), (
        f"{compiled_path(name).name} is stale: run `python -m stackcast.reports.templating`"
    )


def test_templates_load_from_their_compiled_modules() -> None:
    for name in ("report.html", "ticker.html", "base.html"):
        module = _env().get_template(name).root_render_func.__module__
        assert module == f"stackcast.reports.templates.{compiled_path(name).stem}"


def test_compiled_and_source_render_the_same_bytes() -> None:
    source = fresh_env(jinja2.PackageLoader("stackcast.reports", "templates"))
    compiled = fresh_env(CompiledLoader("stackcast.reports", "templates"))
    a = source.get_template("ticker.html").render(**CONTEXT)
    b = compiled.get_template("ticker.html").render(**CONTEXT)
    assert a == b
    assert "t &lt;b&gt;" in b and 'href="_5EGSPC.html"' in b


def test_a_stale_or_missing_module_is_compiled_from_source(tmp_path, monkeypatch) -> None:
    stale = tmp_path / "stale.py"
    stale.write_text("# stackcast compiled template: sha256 0, jinja2 0\nraise SystemExit\n")
    expected = fresh_env(jinja2.PackageLoader("stackcast.reports", "templates"))
    want = expected.get_template("ticker.html").render(**CONTEXT)
    for path in (stale, tmp_path / "missing.py"):
        monkeypatch.setattr(templating, "compiled_path", lambda name, p=path: p)
        env = fresh_env(CompiledLoader("stackcast.reports", "templates"))
        template = env.get_template("ticker.html")
        assert template.root_render_func.__module__ is None  # compiled from source here
        assert template.render(**CONTEXT) == want
