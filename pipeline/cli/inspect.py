"""The everyday inspection commands: runs, models, export and config.

They only read STACKCAST_HOME (``export`` writes the one CSV it is asked for) and register on
``stackcast.pipeline.cli.app.app``; pandas is imported only by ``export``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from stackcast.pipeline.cli.app import ConfigOpt, app, load_run_config
from stackcast.pipeline.config import RunConfig, resolve_home
from stackcast.pipeline.errors import ConfigError, UserError

DASH = "—"
CONTRACT = ["ticker", "origin", "horizon", "target_date", "y_pred", "y_true", "fold", "lo", "hi"]
MODEL_NAME_RE = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")
BARE_KEY_RE = re.compile(r"^[A-Za-z0-9_\-]+$")
_NO_DESCRIPTION = {"tickers": "Tickers to ingest, backtest, train and forecast."}


def print_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Print ``rows`` under ``header`` as left-aligned columns, two spaces apart."""
    rows = [tuple(r) for r in rows]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(header)]
    for line in (tuple(header), *rows):
        typer.echo("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if isinstance(value, dict):  # per-ticker values
        value = ",".join(f"{k}={v}" for k, v in value.items())
    text = " ".join(str(value).split()) if value not in (None, "") else ""
    return text or DASH


def _mae(value: Any) -> str:
    """A log-return MAE as percent of price (``0.0123`` -> ``1.230%``)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return f"{100 * value:.3f}%" if ok else DASH


@app.command()
def runs(
    kind: Annotated[
        str | None,
        typer.Option(
            "--kind", "-k", help="Only runs of this kind: backtest, train, daily, replay or sweep."
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="At most N runs.")
    ] = None,
) -> None:
    """List the published runs, newest first.

    Reads STACKCAST_HOME/runs and writes nothing.
    """
    from stackcast.pipeline.results.runs import RUN_KINDS, read_summaries

    if kind is not None and kind not in RUN_KINDS:
        raise ConfigError(f"--kind: unknown run kind {kind!r}: use one of {', '.join(RUN_KINDS)}")
    home = resolve_home()
    summaries = read_summaries(home)
    if kind is not None:
        summaries = [s for s in summaries if s.get("kind") == kind]
    if not summaries:
        what = f"no {kind} runs" if kind else "no runs yet"
        typer.echo(f"{what} in {home / 'runs'}: try `stackcast demo` or `stackcast backtest`")
        return
    rows = []
    for s in summaries[:limit]:
        directory = home / "runs" / Path(str(s["href"])).parent.name
        tickers = s.get("tickers") or []
        tickers = tickers if isinstance(tickers, str) else ",".join(map(str, tickers))
        rows.append(
            (
                _cell(s.get("run_id")),
                _cell(s.get("kind")),
                _cell(tickers),
                _cell(s.get("verdict")),
                str(directory),
            )
        )
    print_table(("run", "kind", "tickers", "verdict", "path"), rows)


def _model_names(home: Path, name: str | None) -> list[str]:
    root = home / "models"
    if name is None:
        if not root.is_dir():
            return []
        return sorted(p.name for p in root.iterdir() if p.is_dir() and MODEL_NAME_RE.match(p.name))
    if not MODEL_NAME_RE.match(name):
        raise ConfigError(f"--name: invalid model name {name!r}: use 1-64 letters, digits, _ or -")
    if not (root / name).is_dir():
        raise UserError(f"no model named '{name}' in {root}: see stackcast models")
    return [name]


def _read_meta(directory: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


@app.command()
def models(
    name: Annotated[str | None, typer.Option("--name", help="Only this model name.")] = None,
) -> None:
    """List the model versions and the champion.

    Versions per name, newest first, the champion marked 'yes'. Columns: val_mae and rw_mae,
    the validation MAE of the model and of the random walk (percent of price, averaged over
    horizons 1..H), the last date the version has seen (where recorded) and when it was
    created.
    """
    from stackcast.pipeline.results import registry

    home = resolve_home()
    names = _model_names(home, name)
    rows = []
    for n in names:
        record = registry.champion(home, n)
        if record is None and (registry.model_root(home, n) / "champion.json").exists():
            typer.echo(
                f"warning: {n}: champion.json is unreadable or names a missing version", err=True
            )
        for version in reversed(registry.versions(home, n)):
            meta = _read_meta(registry.model_root(home, n) / version)
            mae = (meta or {}).get("validation_mae")
            mae = mae if isinstance(mae, dict) else {}
            rows.append(
                (
                    n,
                    version,
                    "yes" if record is not None and record["version"] == version else "",
                    _cell(str((meta or {}).get("seen_until") or "").removesuffix(" 00:00:00")),
                    _mae(mae.get("y_pred")),
                    _mae(mae.get("random_walk")),
                    _cell((meta or {}).get("created")),
                    "" if meta is not None else "meta.json unreadable",
                )
            )
    if not rows:
        typer.echo(f"no model versions yet in {home / 'models'}: run `stackcast train` first")
        return
    print_table(
        ("model", "version", "champion", "seen_until", "val_mae", "rw_mae", "created", "note"), rows
    )


def _run_dir(home: Path, run_id: str) -> Path:
    runs_dir = home / "runs"
    safe = run_id and not run_id.startswith(".") and not set(run_id) & {"/", "\\", "\0"}
    if not safe or not (runs_dir / run_id).is_dir():
        raise UserError(f"unknown run '{run_id}': see stackcast runs")
    return runs_dir / run_id


def _check_writable(path: Path) -> None:
    if path.is_dir():
        raise UserError(f"--csv {path}: is a directory; name a file")
    if not path.parent.is_dir():
        raise UserError(f"--csv {path}: directory {path.parent} does not exist")


@app.command()
def export(
    run_id: Annotated[
        str, typer.Argument(help="A run id from `stackcast runs`.", show_default=False)
    ],
    csv: Annotated[Path, typer.Option("--csv", help="CSV file to write (replaced atomically).")],
) -> None:
    """Write a run's forecasts as CSV.

    The contract's columns come first, then the run's others.
    """
    from stackcast.pipeline.atomic import atomic_write_text

    directory = _run_dir(resolve_home(), run_id)
    _check_writable(csv)
    source = directory / "forecasts.parquet"
    if not source.is_file():
        raise UserError(f"run '{run_id}' has no forecasts.parquet")
    import pandas as pd

    try:
        frame = pd.read_parquet(source)
    except (OSError, ValueError) as exc:
        raise UserError(f"{source}: cannot read forecasts: {exc}") from None
    order = [c for c in CONTRACT if c in frame.columns]
    order += [c for c in frame.columns if c not in order]
    text = frame[order].to_csv(index=False, lineterminator="\n")
    try:
        atomic_write_text(csv, text)
    except OSError as exc:
        raise UserError(f"--csv {csv}: cannot write: {exc.strerror or exc}") from None
    typer.echo(f"wrote {len(frame)} rows ({', '.join(order)}) to {csv}")


def _toml_key(key: str) -> str:
    import tomli_w

    return key if BARE_KEY_RE.match(key) else tomli_w.dumps({"v": key}).split("=", 1)[1].strip()


def _toml_value(value: Any) -> str:
    """One TOML value on one line (tables inline, None entries of tables left out)."""
    import tomli_w

    if isinstance(value, dict):
        items = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items() if v is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, dict) for v in value):  # one table per line
            return "[\n" + "".join(f"    {_toml_value(v)},\n" for v in value) + "]"
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return tomli_w.dumps({"v": value}).split("=", 1)[1].strip()


def _field_lines(model: BaseModel, key: str, value: Any) -> list[str]:
    """A key's comment (its field's description), its value, or a commented-out unset key."""
    field = type(model).model_fields[key]
    lines = [f"# {field.description or _NO_DESCRIPTION.get(key, key.replace('_', ' '))}"]
    items = getattr(model, key)
    if isinstance(items, tuple) and items and isinstance(items[0], BaseModel):
        for sub, sub_field in type(items[0]).model_fields.items():
            lines.append(f"#   {sub}: {sub_field.description}")
    lines.append(f"{key} = {_toml_value(value)}" if value is not None else f"# {key} = (unset)")
    return lines


def commented_toml(cfg: RunConfig, title: str) -> str:
    """``cfg`` as TOML with every key, each under a comment from its field's description.

    Unset (None) keys are commented out; ``parse_config`` reads the text back to ``cfg``.
    """
    dumped = cfg.model_dump(mode="python")
    root, sections = [f"# {title}"], []
    for key in RunConfig.model_fields:
        section = getattr(cfg, key)
        if not isinstance(section, BaseModel):
            root += _field_lines(cfg, key, dumped[key])
            continue
        doc = (type(section).__doc__ or key).splitlines()[0].replace("``", "")
        sections += ["", f"[{key}]  # {doc}"]
        for sub in type(section).model_fields:
            sections += _field_lines(section, sub, dumped[key][sub])
    return "\n".join(root + sections) + "\n"


@app.command("config")
def config_command(
    defaults: Annotated[bool, typer.Option("--defaults", help="The built-in defaults.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Print a configuration as commented TOML.

    The defaults, or a file's effective values. Without options: the effective
    configs/default.toml. Every key is shown, with a comment.
    """
    if defaults and config is not None:
        raise ConfigError("use either --defaults or --config, not both")
    if defaults:
        typer.echo(commented_toml(RunConfig(), "stackcast built-in defaults"), nl=False)
        return
    cfg = load_run_config(config)
    where = str(config) if config is not None else "configs/default.toml"
    typer.echo(commented_toml(cfg, f"stackcast effective configuration of {where}"), nl=False)
