"""A sweep's grid: dotted config keys to lists of values, checked and expanded into candidates.

A grid maps dotted config keys to lists of values (``"model.dropout" = [0.0, 0.2]``; nested
TOML tables read the same). ``expand`` checks it before anything runs (unknown or fixed key,
non-list or empty list, a value the config refuses, more than ``[sweep] max_combinations``
combinations) and returns one validated config per combination.
"""

from __future__ import annotations

import itertools
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from stackcast.pipeline.config import RunConfig, with_dotted
from stackcast.pipeline.errors import ConfigError

SWEEPABLE = ("features", "model", "train")
FIXED = {
    "features.horizons": "it changes the targets every candidate is scored on",
    "features.calendar": "it changes the origins every candidate is scored on",
    "train.warm_start": "it is set for the whole sweep by the base config",
}


@dataclass(frozen=True)
class Candidate:
    """One grid combination: its position, label, the values it sets and its config."""

    index: int
    label: str
    values: dict[str, Any]
    config: RunConfig


def _flat(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested TOML tables as dotted keys (``{"model": {"dropout": [..]}}`` -> ``model.dropout``)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and name.count(".") < 1:
            out |= _flat(value, name)
        else:
            out[name] = value
    return out


def parse_grid(text: str, where: str = "<grid>") -> dict[str, Any]:
    """The grid of TOML text as ``{dotted key: values}`` (not yet checked)."""
    try:
        return _flat(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None


def read_grid(path: str | Path) -> dict[str, Any]:
    """Read a grid file (``ConfigError`` if missing or not TOML)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"grid file not found: {p}")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read grid: {exc}") from None
    return parse_grid(text, str(p))


def _check_key(cfg: RunConfig, key: str, values: Any, where: str) -> None:
    section, _, name = key.partition(".")
    fields = type(cfg).model_fields
    sub = getattr(cfg, section, None) if section in fields else None
    if not name or "." in name or not hasattr(type(sub), "model_fields"):
        raise ConfigError(f"{where}: unknown key '{key}' (use section.key, e.g. model.dropout)")
    if name not in type(sub).model_fields:
        raise ConfigError(f"{where}: unknown key '{key}'")
    if section not in SWEEPABLE:
        raise ConfigError(
            f"{where}: key '{key}' cannot be swept: only [features], [model] and [train] keys "
            "can (the others change what is measured, not the model)"
        )
    if key in FIXED:
        raise ConfigError(f"{where}: key '{key}' cannot be swept: {FIXED[key]}")
    if not isinstance(values, list):
        raise ConfigError(f"{where}: key '{key}': expected a list of values, got {values!r}")
    if not values:
        raise ConfigError(f"{where}: key '{key}': the list of values is empty")
    seen = [json.dumps(v, sort_keys=True, default=str) for v in values]
    if len(set(seen)) < len(seen):
        raise ConfigError(f"{where}: key '{key}': a value appears twice")


def label(values: Mapping[str, Any]) -> str:
    """``model.dropout=0.2, features.window=20`` (compact JSON for lists and tables)."""

    def show(v: Any) -> str:
        return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"), default=str)

    return ", ".join(f"{k}={show(v)}" for k, v in values.items())


def expand(cfg: RunConfig, grid: Mapping[str, Any], where: str = "grid") -> list[Candidate]:
    """Check the grid against ``cfg`` and build every combination's config, in grid order.

    Raises:
        ConfigError: an empty grid, an unknown or unsweepable key, a value that is not a
            non-empty list of distinct values, too many combinations, or a combination the
            config refuses (the message names it).
    """
    grid = _flat(dict(grid))
    if not grid:
        raise ConfigError(f"{where}: the grid is empty: give at least one key = [values]")
    for key, values in grid.items():
        _check_key(cfg, key, values, where)
    count = int(np.prod([len(v) for v in grid.values()]))
    limit = cfg.sweep.max_combinations
    if count > limit:
        raise ConfigError(
            f"{where}: {count} combinations exceed [sweep] max_combinations = {limit}"
        )
    out = []
    for k, combo in enumerate(itertools.product(*grid.values())):
        values = dict(zip(grid, combo, strict=True))
        text = label(values)
        out.append(Candidate(k, text, values, with_dotted(cfg, values, f"{where}: {text}")))
    return out
