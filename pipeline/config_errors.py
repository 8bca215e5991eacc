"""Pydantic's validation errors in the words of a config file.

One line per error, naming where it came from (a file, ``<command line>``, ``config``), the
key and what was expected: ``configs/x.toml: key 'train.epochs': expected a number, got the
string 'ten'``. An unknown key gets the closest known key of its table ("did you mean"), and a
single value where a list belongs shows the list to write instead.
"""

from __future__ import annotations

import difflib
import json
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

_EXPECTED = {
    "int_type": "a number",
    "float_type": "a number",
    "bool_type": "a boolean (true or false)",
    "string_type": "a string",
}
_LISTS = ("tuple_type", "list_type")
_TABLES = ("model_type", "dict_type", "model_attributes_type")


def _got(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value!r}"
    return f"the {type(value).__name__} {value!r}"


def _as_list(name: str, value: str) -> str:
    """``tickers is a list: tickers = ["MSFT", "GOOG"]`` for ``"MSFT,GOOG"``."""
    items = [v.strip() for v in value.split(",") if v.strip()] or [value]
    return f"{name} is a list: {name} = {json.dumps(items)}"


def _message(err: Any) -> str:
    """Pydantic's error in the words of a config file (what was expected, what was found)."""
    kind, value = err["type"], err.get("input")
    names = [p for p in err["loc"] if isinstance(p, str)]
    if kind in _LISTS and isinstance(value, str) and names:
        return _as_list(names[-1], value)
    if kind in _TABLES and not isinstance(value, dict):
        return f"expected a table of keys, got {_got(value)}"
    if kind == "int_type" and isinstance(value, float):
        return f"expected a whole number, got {value!r}"
    if kind in _EXPECTED:
        whole = " (an integer)" if kind == "int_type" else ""
        return f"expected {_EXPECTED[kind]}, got {_got(value)}{whole}"
    if kind == "finite_number":
        return f"must be a finite number, got {value}"
    return err["msg"].removeprefix("Value error, ")


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model an annotation holds (``X``, ``X | None``, ``tuple[X, ...]``...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _known_keys(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys of the table at ``loc`` (list positions skipped); empty if not a model's."""
    model: type[BaseModel] | None = root
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if model is not None else None
        model = _model_in(field.annotation) if field is not None else None
        if model is None:
            return []
    return list(model.model_fields) if model is not None else []


def _unknown_key(root: type[BaseModel], loc: tuple[Any, ...], where: str) -> str:
    dotted = ".".join(str(p) for p in loc)
    close = difflib.get_close_matches(str(loc[-1]), _known_keys(root, loc[:-1]), n=1)
    if not close:
        return f"{where}: unknown key '{dotted}'"
    guess = ".".join([*(str(p) for p in loc[:-1]), close[0]])
    return f"{where}: unknown key '{dotted}' (did you mean '{guess}'?)"


def format_error(exc: ValidationError, where: str, root: type[BaseModel]) -> str:
    """The first of ``exc``'s errors as one line naming ``where`` and the key.

    Args:
        exc: The validation error of ``root``.
        where: What the values came from (a file name, ``<command line>``, ``config``).
        root: The model validated (its fields name the known keys).
    """
    err = exc.errors()[0]
    if err["type"] == "extra_forbidden":
        return _unknown_key(root, tuple(err["loc"]), where)
    loc = ".".join(str(p) for p in err["loc"])
    msg = _message(err)
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    if not loc:  # a check across sections names its keys itself
        return f"{where}: {msg}{more}"
    return f"{where}: key '{loc}': {msg}{more}"
