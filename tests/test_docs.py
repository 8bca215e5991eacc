"""The documentation: the site builds offline with --strict, its generated references match the
code, and the README stays short, linked and runnable as written."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO, run_python

MKDOCS = "from mkdocs.__main__ import cli; cli()"
STACKCAST = "import sys; from stackcast.pipeline.cli import main; sys.exit(main())"
README = REPO / "README.md"
DOCS = REPO / "docs"
# Anything that tries the network during the build fails: the site must build offline.
OFFLINE = {
    var: "http://127.0.0.1:9"
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy")
}


def load_hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, **OFFLINE, "NO_MKDOCS_2_WARNING": "1", "no_proxy": "", "NO_PROXY": ""}
    args = ("build", "--strict", "--quiet", "--site-dir", str(out))
    proc = run_python(MKDOCS, *args, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def page(site: Path, path: str) -> str:
    return (site / path / "index.html").read_text(encoding="utf-8")


def test_site_builds_strict_with_every_page(site: Path) -> None:
    for path in ("concepts/verdicts", "guides/prefect", "reference/python-api", "operations"):
        assert (site / path / "index.html").is_file()
    api = page(site, "reference/python-api")
    for name in ("stackcast.pipeline.api.backtest", "TrainedModel", "Forecaster"):
        assert name in api


def defaults_keys() -> list[str]:
    """The keys ``stackcast config --defaults`` prints, as ``section.key`` (root keys bare)."""
    proc = run_python(STACKCAST, "config", "--defaults", env=dict(os.environ), timeout=120)
    assert proc.returncode == 0, proc.stderr
    keys, section = [], ""
    for line in proc.stdout.splitlines():
        if m := re.match(r"^\[(\w+)\]", line):
            section = m.group(1) + "."
        elif m := re.match(r"^(?:# )?(\w+) = ", line):
            keys.append(section + m.group(1))
    return keys


def test_configuration_reference_lists_every_key_of_config_defaults(site: Path) -> None:
    printed = defaults_keys()
    assert "features.window" in printed and "name" in printed
    assert sorted(load_hooks().config_keys()) == sorted(printed)
    html = page(site, "reference/configuration")
    missing = [k for k in printed if f"<code>{k}</code>" not in html]
    assert missing == []


def test_cli_reference_lists_every_command(site: Path) -> None:
    import typer.main
    from stackcast.pipeline.cli import app

    group = typer.main.get_command(app)
    html = page(site, "reference/cli")
    names = group.list_commands(group.make_context("stackcast", [], resilient_parsing=True))
    assert len(names) >= 10
    assert [n for n in names if f'<h2 id="stackcast-{n}">stackcast {n}' not in html] == []


def doc_texts() -> dict[str, str]:
    files = [README, REPO / "bench" / "README.md", *sorted(DOCS.rglob("*.md"))]
    return {str(f.relative_to(REPO)): f.read_text(encoding="utf-8") for f in files}


def test_user_docs_name_no_issue_numbers_or_commit_hashes() -> None:
    for name, text in doc_texts().items():
        assert not re.search(r"\b[Ii]ssues? #?\d+|(?<![\w/&])#\d+\b", text), name
        hashes = [
            w
            for w in re.findall(r"\b[0-9a-f]{7,40}\b", text)
            if re.search(r"\d", w) and re.search(r"[a-f]", w)
        ]
        assert hashes == [], name


def test_readme_is_short_and_links_into_the_docs() -> None:
    text = README.read_text(encoding="utf-8")
    prose = re.sub(r"```.*?```", " ", text, flags=re.S)
    assert len(text.split()) <= 1500
    assert len(prose.split()) >= 200
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", text)
    local = [link for link in links if not re.match(r"\w+://", link)]
    assert any(link.startswith("docs/") for link in local)
    assert [link for link in local if not (REPO / link).exists()] == []
    assert (REPO / "docs/assets/report.png").stat().st_size > 10_000


def readme_commands() -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    lines = [line.split("#", 1)[0].strip() for block in blocks for line in block.splitlines()]
    return [shlex.split(line) for line in lines if line]


def test_readme_commands_exist_as_written() -> None:
    import typer.main
    from stackcast.pipeline.cli import app

    commands = readme_commands()
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    make = [c for c in commands if c[0] == "make"]
    assert {"demo", "test"} <= {c[1] for c in make}
    for c in make:
        assert re.search(rf"^{c[1]}:", makefile, flags=re.M), c
    group = typer.main.get_command(app)
    ctx = group.make_context("stackcast", [], resilient_parsing=True)
    used = [c for c in commands if c[0] == "stackcast"]
    assert len(used) >= 5
    for args in used:
        command = group.get_command(ctx, args[1])
        assert command is not None, args
        command.make_context(args[1], list(args[2:]), parent=ctx)  # unknown options fail here
        for value in args[2:]:
            if value.endswith((".toml", ".csv", ".parquet")):
                assert (REPO / value).is_file(), value


def test_readme_ingest_command_runs_as_written(tmp_path: Path) -> None:
    ingest = next(c for c in readme_commands() if c[:2] == ["stackcast", "ingest"])
    env = {**os.environ, "STACKCAST_HOME": str(tmp_path / "home")}
    proc = run_python(STACKCAST, *ingest[1:], env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "home" / "prices").glob("*.parquet")) == [
        "GOOG.parquet",
        "MSFT.parquet",
    ]


def test_help_lists_every_command_with_a_whole_first_line() -> None:
    env = {**os.environ, "COLUMNS": "80"}
    proc = run_python(STACKCAST, "--help", env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    commands = proc.stdout.split("Commands:", 1)[1].strip().split("\n\n")[0].splitlines()
    assert len(commands) >= 10
    assert [line for line in commands if line.rstrip().endswith("...")] == []
