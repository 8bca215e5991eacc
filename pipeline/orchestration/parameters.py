"""The served flows' parameters: a run form that fits a screen, and the config it stands for.

Prefect renders a flow's parameters as its Custom run form. The flows take what a one-off run
changes first, and the rest of the configuration folded into two fields:

- ``as_of`` (the daily forecast): a plain optional date;
- ``tickers``: the tickers to run (empty: the configuration's);
- ``model_name``: the model's name in the registry (empty: the configuration's);
- ``overrides``: any other configuration key, dotted as in a sweep grid
  (``{"train.epochs": 5, "data.source": "sample"}``);
- ``cfg``: the TOML file the rest comes from, read when the run starts (empty: the default
  configuration); from Python, a ``RunConfig`` itself.

``flow_config`` turns them into the run's ``RunConfig``; ``form_defaults`` gives a deployment
the defaults that stand for the configuration ``stackcast serve`` was started with (its file,
plus as overrides whatever differs from that file). Each type carries its form description
(``WithJsonSchema``), so every flow's form reads the same.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from pydantic import WithJsonSchema
from stackcast.pipeline.config import RunConfig, load_config, with_dotted

AsOf = Annotated[
    date | None,
    WithJsonSchema(
        {
            "type": "string",
            "format": "date",
            "description": "Replay this past day on the stored prices (no ingest), written to "
            "the what-if home STACKCAST_HOME/as-of, never the live ledger; empty: today, after "
            "ingesting the new bars.",
        }
    ),
]
Tickers = Annotated[
    list[str] | None,
    WithJsonSchema(
        {
            "type": "array",
            "items": {"type": "string"},
            "description": "Tickers to run (empty: the configuration's [data] tickers).",
        }
    ),
]
ModelName = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "description": "The model's name in the registry: its champion and versions "
            "(empty: the configuration's name).",
        }
    ),
]
Overrides = Annotated[
    dict[str, Any] | None,
    WithJsonSchema(
        {
            "type": "object",
            "additionalProperties": True,
            "description": 'Any other configuration key, dotted: {"train.epochs": 5, '
            '"data.source": "sample"} (the keys of stackcast config --defaults).',
        }
    ),
]
ConfigSource = Annotated[
    str | RunConfig | None,
    WithJsonSchema(
        {
            "type": "string",
            "description": "The TOML configuration file the rest of the run's configuration "
            "comes from, read when the run starts (empty: configs/default.toml, else the "
            "built-in defaults).",
        }
    ),
]
Grid = Annotated[
    dict[str, list[Any]] | None,
    WithJsonSchema(
        {
            "type": "object",
            "additionalProperties": {"type": "array"},
            "description": 'Dotted config keys to lists of values, e.g. {"model.dropout": '
            "[0.0, 0.2]}: every combination is a candidate.",
        }
    ),
]


def dotted_changes(base: RunConfig, cfg: RunConfig) -> dict[str, Any]:
    """The dotted keys whose values in ``cfg`` differ from ``base`` (JSON values)."""
    old, new = base.model_dump(mode="json"), cfg.model_dump(mode="json")
    out: dict[str, Any] = {}
    for key, value in new.items():
        if isinstance(value, dict):
            was = old.get(key) or {}
            out |= {f"{key}.{k}": v for k, v in value.items() if was.get(k) != v}
        elif old.get(key) != value:
            out[key] = value
    return out


def flow_config(
    cfg: str | RunConfig | None,
    *,
    tickers: list[str] | None = None,
    model_name: str = "",
    overrides: Mapping[str, Any] | None = None,
) -> RunConfig:
    """The run's configuration from the form: the file (or config), overrides, tickers, name.

    Raises:
        ConfigError: the file cannot be read, or a key or value is refused.
    """
    base = cfg if isinstance(cfg, RunConfig) else load_config(cfg or None)
    changes = dict(overrides or {})
    if tickers:
        changes["data.tickers"] = list(tickers)
    if model_name:
        changes["name"] = model_name
    return with_dotted(base, changes) if changes else base


FIELDS = ("tickers", "model_name", "overrides", "cfg")
"""The run form's configuration fields, in the order the flows take them."""


def form_defaults(
    cfg: RunConfig, config_path: str | Path | None = None, fields: Collection[str] = FIELDS
) -> dict[str, Any]:
    """The run form's defaults that stand for ``cfg``, for a flow taking ``fields``.

    Args:
        cfg: The configuration to serve.
        config_path: The file ``cfg`` was read from (None: the default configuration); keys
            where ``cfg`` differs from it become ``overrides``.
        fields: The parameters the flow takes: a flow without ``tickers`` or ``model_name``
            gets any change to them in ``overrides``.
    """
    changes = dotted_changes(load_config(config_path), cfg)
    out: dict[str, Any] = {}
    if "tickers" in fields:
        out["tickers"] = list(cfg.data.tickers)
        changes.pop("data.tickers", None)
    if "model_name" in fields:
        out["model_name"] = cfg.name
        changes.pop("name", None)
    if "overrides" in fields:
        out["overrides"] = changes
    if "cfg" in fields:
        out["cfg"] = str(Path(config_path).expanduser().resolve()) if config_path else ""
    return out
