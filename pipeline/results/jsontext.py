"""Indented JSON text, byte for byte ``json.dumps(obj, indent=2, default=json_default)``.

With ``indent`` set, the standard library encodes in pure Python, a few microseconds per
value: a large run's ``metrics.json`` (a megabyte, tens of thousands of lines) took about
50 ms. Here the containers are walked in Python as the standard encoder walks them, but a
list or object whose values are all plain scalars (the bulk of a metrics file: one object
per ticker and horizon) is encoded in one call of the C encoder, its item separator carrying
the newline and indent of that depth. The text is the same (``tests/pipeline/test_jsontext.py``
compares them on run files and random documents).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from stackcast.jsonable import json_default

INDENT = 2
_SCALARS = (str, int, float, type(None))


@lru_cache(maxsize=64)  # (depth, default) pairs: a handful in practice
def _flat_encoder(level: int, default: Callable[[Any], Any]) -> Callable[[Any], str]:
    """A one-line encoder whose items are separated by a newline and ``level``'s indent.

    The C encoder where Python has it (no circular check: a document's scalars only).
    """
    sep = ",\n" + " " * (INDENT * level)
    c_make = json.encoder.c_make_encoder
    if c_make is None:  # pragma: no cover - CPython always builds _json
        return json.JSONEncoder(separators=(sep, ": "), default=default).encode
    enc = c_make(None, default, json.encoder.encode_basestring_ascii, None, ": ", sep,
                 False, False, True)  # fmt: skip
    return lambda obj: "".join(enc(obj, 0))


def _scalars(values: Any) -> bool:
    """Whether every value is a plain scalar (one type check per distinct type)."""
    return all(issubclass(t, _SCALARS) for t in set(map(type, values)))


def _key(key: Any) -> str:
    """A dictionary key as the standard encoder spells it (its text, not yet quoted)."""
    if isinstance(key, str):
        return key
    if isinstance(key, float):
        return json.encoder.JSONEncoder().encode(key)  # repr, NaN, Infinity: as the stdlib
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, int):
        return int.__repr__(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _encode(obj: Any, level: int, out: list[str], default: Callable[[Any], Any]) -> None:
    """Append ``obj``'s text at nesting ``level`` (its first line already indented)."""
    if isinstance(obj, list | tuple):
        if not obj:
            out.append("[]")
            return
        inner = "\n" + " " * (INDENT * (level + 1))
        if _scalars(obj):
            text = _flat_encoder(level + 1, default)(list(obj))
            out.append("[" + inner + text[1:-1] + "\n" + " " * (INDENT * level) + "]")
            return
        out.append("[")
        for i, v in enumerate(obj):
            out.append(("," if i else "") + inner)
            _encode(v, level + 1, out, default)
        out.append("\n" + " " * (INDENT * level) + "]")
    elif isinstance(obj, dict):
        if not obj:
            out.append("{}")
            return
        inner = "\n" + " " * (INDENT * (level + 1))
        if all(issubclass(t, str) for t in set(map(type, obj))) and _scalars(obj.values()):
            text = _flat_encoder(level + 1, default)(obj)
            out.append("{" + inner + text[1:-1] + "\n" + " " * (INDENT * level) + "}")
            return
        out.append("{")
        for i, (k, v) in enumerate(obj.items()):
            out.append(("," if i else "") + inner + json.encoder.encode_basestring_ascii(_key(k)))
            out.append(": ")
            _encode(v, level + 1, out, default)
        out.append("\n" + " " * (INDENT * level) + "}")
    elif isinstance(obj, _SCALARS):
        out.append(_flat_encoder(0, default)(obj))
    else:
        _encode(default(obj), level, out, default)


def dumps(obj: Any, default: Callable[[Any], Any] = json_default) -> str:
    """``json.dumps(obj, indent=2, default=default)``, the same text, faster for big files."""
    out: list[str] = []
    _encode(obj, 0, out, default)
    return "".join(out)
