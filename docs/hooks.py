"""MkDocs hooks: the reference pages generated from the code at build time.

- ``<!-- generated: cli -->`` becomes every ``stackcast`` command, read from the Typer app
  (usage, help text, every option with its help), so the page shows what ``--help`` shows.
- ``<!-- generated: config -->`` becomes every configuration key, read from the pydantic
  models (type, constraints, default, description), so it shows what
  ``stackcast config --defaults`` prints.
- The Python API reference (mkdocstrings) reads the source statically. The four top-level
  folders install as ``stackcast.features`` etc., which a source tree does not show, so
  loading this file lays out ``build/docs-api/stackcast/`` as links to them for griffe.

``tests/test_docs.py`` imports this file to compare the configuration keys with the CLI's.
"""

from __future__ import annotations

import contextlib
import os
import re
import types
import typing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
API_TREE = ROOT / "build" / "docs-api"
PACKAGES = ("features", "models", "reports", "pipeline")  # installed as stackcast.<name>
MARKER = re.compile(r"<!-- generated: (\w+) -->")


def api_tree() -> Path:
    """Lay out the ``stackcast`` package tree that the API reference reads; return its root.

    Called when MkDocs loads this file: mkdocstrings resolves its search paths before any
    ``on_config`` hook runs.
    """
    package = API_TREE / "stackcast"
    package.mkdir(parents=True, exist_ok=True)
    links = {name: ROOT / name for name in PACKAGES}
    links |= {f.name: f for f in (ROOT / "stackcast").glob("*.py")}
    for name, target in links.items():
        link = package / name
        if not link.is_symlink():
            with contextlib.suppress(FileExistsError):  # a build running beside this one
                link.symlink_to(os.path.relpath(target, package))
    return API_TREE


api_tree()


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace each ``<!-- generated: NAME -->`` marker with its generated Markdown."""
    makers = {"cli": cli_reference, "config": config_reference}

    def replace(match: re.Match[str]) -> str:
        return makers[match.group(1)]()

    return MARKER.sub(replace, markdown)


# ---------------------------------------------------------------------------------------------
# The command line


def _cell(text: str, code: bool = False) -> str:
    """Text safe inside a Markdown table cell (``code``: inside a code span)."""
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if code else _escape(text)


def _escape(text: str) -> str:
    """Angle brackets shown as text (``runs/<id>``), never read as HTML."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def cli_reference() -> str:
    """Markdown for every command of the ``stackcast`` Typer app, in ``--help`` order."""
    import typer.main
    from stackcast.pipeline.cli import app

    group = typer.main.get_command(app)
    ctx = group.make_context("stackcast", [], resilient_parsing=True)
    out = [
        "```text",
        group.get_usage(ctx),
        "```",
        "",
        _help_paragraphs(group.help or ""),
        "",
        _help_paragraphs(group.epilog or ""),
        "",
        "Every command takes `-h`/`--help`.",
        "",
    ]
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        sub = command.make_context(name, [], parent=ctx, resilient_parsing=True)
        out += [f"## stackcast {name}", "", _help_paragraphs(command.help or ""), ""]
        out += ["```text", command.get_usage(sub), "```", ""]
        rows = []
        for param in command.get_params(sub):
            record = param.get_help_record(sub)
            if record is None or "--help" in record[0]:
                continue
            rows.append(f"| `{_cell(record[0], code=True)}` | {_cell(record[1])} |")
        if rows:
            out += ["| Option | Description |", "|---|---|", *rows, ""]
    return "\n".join(out)


def _help_paragraphs(text: str) -> str:
    """A docstring's paragraphs, each joined onto one line."""
    paragraphs = [_escape(" ".join(p.split())) for p in text.strip().split("\n\n")]
    return "\n\n".join(p for p in paragraphs if p)


# ---------------------------------------------------------------------------------------------
# The configuration


def config_keys() -> list[str]:
    """Every configuration key as ``section.key`` (root keys bare), in the models' order."""
    return [key for key, _field in _config_fields()]


def _config_fields() -> list[tuple[str, Any]]:
    from pydantic import BaseModel
    from stackcast.pipeline.config import RunConfig

    fields = []
    for name, field in RunConfig.model_fields.items():
        section = field.annotation
        if isinstance(section, type) and issubclass(section, BaseModel):
            fields += [(f"{name}.{key}", sub) for key, sub in section.model_fields.items()]
        else:
            fields.append((name, field))
    return fields


def config_reference() -> str:
    """Markdown tables of every configuration key: type, default and description."""
    from pydantic import BaseModel
    from stackcast.pipeline.config import RunConfig

    out = []
    root = [
        (name, field)
        for name, field in RunConfig.model_fields.items()
        if not _is_model(field.annotation)
    ]
    if root:
        out += ["## Top level", "", *_field_table(root), ""]
    for name, field in RunConfig.model_fields.items():
        section = field.annotation
        if not _is_model(section):
            continue
        doc = (section.__doc__ or "").strip().split("\n\n")[0]
        out += [f"## [{name}]", "", " ".join(doc.replace("``", "`").split()), ""]
        out += _field_table(list(section.model_fields.items()), prefix=f"{name}.")
        out.append("")
        for key, sub in section.model_fields.items():
            item = _list_item_model(sub.annotation)
            if item is not None and issubclass(item, BaseModel):
                out += [f"Each entry of `{name}.{key}` is a table with these keys:", ""]
                out += _field_table(list(item.model_fields.items()), anchor=f"{name}-{key}-")
                out.append("")
    return "\n".join(out)


def _is_model(annotation: Any) -> bool:
    from pydantic import BaseModel

    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _list_item_model(annotation: Any) -> Any:
    """The model class of ``tuple[Model, ...]`` / ``list[Model]``, else None."""
    if typing.get_origin(annotation) in (tuple, list):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        if len(args) == 1 and _is_model(args[0]):
            return args[0]
    return None


def _field_table(fields: list[tuple[str, Any]], prefix: str = "", anchor: str = "") -> list[str]:
    """A table of ``fields``, each key shown as ``prefix + key`` with a link anchor."""
    rows = ["| Key | Type | Default | Description |", "|---|---|---|---|"]
    for key, field in fields:
        ident = (anchor or prefix.replace(".", "-")) + key
        rows.append(
            f'| <a id="{ident}"></a>`{prefix}{key}` | {_cell(_type_name(field))} | '
            f"{_cell(_default(field), code=True)} | {_cell(field.description or '')} |"
        )
    return rows


def _type_name(field: Any) -> str:
    text = _annotation_name(field.annotation)
    optional = text.endswith(" (optional)")
    text = text.removesuffix(" (optional)")
    bounds = []
    for item in field.metadata:
        for attr, sign in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            value = getattr(item, attr, None)
            if value is not None:
                bounds.append(f"{sign} {value}")
        for attr, word in (("min_length", "at least"), ("max_length", "at most")):
            value = getattr(item, attr, None)
            if value is not None:
                bounds.append(f"{word} {value} {'item' if value == 1 else 'items'}")
    return text + (f" ({', '.join(bounds)})" if bounds else "") + (", optional" if optional else "")


def _annotation_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " or ".join(f"`{_toml(a)}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        names = [_annotation_name(a) for a in args if a is not type(None)]
        return " or ".join(names) + (" (optional)" if type(None) in args else "")
    if origin is typing.Annotated:
        return _annotation_name(args[0])
    if origin in (tuple, list):
        items = [a for a in args if a is not Ellipsis]
        inner = _annotation_name(items[0]) if len(items) == 1 else "value"
        return f"list of {inner}"
    if origin is dict:
        return f"table of {_annotation_name(args[1])}" if len(args) == 2 else "table"
    if _is_model(annotation):
        return "table"
    names = {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}
    name = getattr(annotation, "__name__", str(annotation))
    return names.get(name, name)


def _default(field: Any) -> str:
    from pydantic import BaseModel

    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, tuple | list) and value and isinstance(value[0], BaseModel):
        value = [v.model_dump(mode="json", exclude_none=True) for v in value]
    return f"`{_toml(value)}`"


def _toml(value: Any) -> str:
    """One value as inline TOML."""
    import tomli_w

    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items() if v is not None) + "}"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Path):
        value = str(value)
    return tomli_w.dumps({"v": value}).removeprefix("v = ").strip()
