"""The report's set-up runs in a thread while later folds train; a failure there is left alone."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from stackcast.pipeline.workflows import common


def _fold(number: int) -> SimpleNamespace:
    return SimpleNamespace(split=SimpleNamespace(fold=number))


def test_pages_are_prepared_in_a_thread_once_the_first_of_several_folds_is_done(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert common.pages_ahead(1) is None  # one fold: no later training to overlap
    calls: list[str] = []

    def record() -> None:
        calls.append(threading.current_thread().name)

    monkeypatch.setattr(common, "prepare_pages", record)
    after_fold = common.pages_ahead(3)
    assert after_fold is not None
    after_fold(_fold(1))  # the first fold to finish, whatever its number
    for thread in threading.enumerate():
        if thread.name == "prepare-pages":
            thread.join(timeout=60)
    after_fold(_fold(2))
    after_fold(_fold(3))
    assert calls == ["prepare-pages"]


def test_prepare_pages_compiles_the_templates_and_leaves_failures_to_the_render(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from stackcast.reports import html
    from stackcast.reports.templating import _env

    _env().cache.clear()  # compiled by nothing else before this call
    common.prepare_pages()
    assert set(html.RUN_TEMPLATES) <= {name for _, name in _env().cache}

    def broken() -> None:
        raise RuntimeError("template broke")

    monkeypatch.setattr(html, "prepare", broken)
    assert common.prepare_pages() is None  # not raised here: the render raises and reports it


def test_the_prepared_templates_are_every_one_the_pages_load() -> None:
    """What the run's two pages extend and include, to the last level, is compiled ahead."""
    import jinja2.meta
    from stackcast.reports import html
    from stackcast.reports.templating import _env

    env, seen, todo = _env(), set(), ["report.html", "ticker.html"]
    while todo:
        name = todo.pop()
        seen.add(name)
        source = env.loader.get_source(env, name)[0]
        for ref in jinja2.meta.find_referenced_templates(env.parse(source)):
            assert ref is not None, f"{name} loads a template chosen at render time"
            if ref not in seen:
                todo.append(ref)
    assert seen == set(html.RUN_TEMPLATES)
