"""What-if homes: where replays and ``--as-of`` runs write, apart from production.

A what-if run (``stackcast replay``, ``run --as-of``, ``train --as-of``) asks what production
would have done; it must never change what production did. So it runs with a configuration
whose home is a *what-if home*: a directory laid out like STACKCAST_HOME (``prices/``,
``models/``, ``runs/``, ``ledger.parquet``, ``index.html``) with a ``whatif.json`` naming the
live home it belongs to. Every workflow body runs unchanged on it and writes only there:

- its prices are a snapshot of the live ones for the run's tickers and covariates (hard
  links, or copies across file systems), taken when the what-if run starts; the live store
  replaces its files atomically, so a later live ingest never changes the snapshot;
- its registry holds the versions trained there, and sees the live versions read-only
  (``registry.version_as_of`` picks among both, point in time: ``seen_until <= day``);
- its ledger, runs and index are its own.

Defaults: a replay gets a new ``STACKCAST_HOME/replays/<id>/``; ``run --as-of`` and
``train --as-of`` share ``STACKCAST_HOME/as-of/`` (so ``run --as-of`` finds what
``train --as-of`` made); ``--home DIR`` picks another (a new or empty directory, or an earlier
what-if home of the same live home).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from stackcast.pipeline.atomic import atomic_write_json
from stackcast.pipeline.errors import ConfigError
from stackcast.pipeline.results.runs import new_run_id, now_iso

MARKER = "whatif.json"
DEFAULT_DIRS = {"replay": "replays", "as-of": "as-of"}
LIVE_FOLDERS = ("prices", "models", "runs", "cache", "prefect")  # never a what-if home's place


def marker(home: Path) -> dict[str, Any] | None:
    """The ``whatif.json`` record of ``home`` (None: a live home, or no readable marker)."""
    try:
        record = json.loads((Path(home) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("live"), str) else None


def is_whatif(home: Path) -> bool:
    """Whether ``home`` is a what-if home."""
    return marker(home) is not None


def live_home(home: Path) -> Path | None:
    """The live home a what-if home belongs to (None for a live home)."""
    record = marker(home)
    return Path(record["live"]) if record is not None else None


def default_home(live: Path, kind: str) -> Path:
    """Where a what-if run of ``kind`` writes by default (a new folder per replay)."""
    folder = live / DEFAULT_DIRS[kind]
    return folder / new_run_id("replay") if kind == "replay" else folder


def _check_target(target: Path, live: Path) -> None:
    """Refuse a what-if home that is, holds or sits among the live home's files."""
    if target == live or live.is_relative_to(target):
        raise ConfigError(f"--home {target}: that holds the live STACKCAST_HOME; choose another")
    if target.is_relative_to(live) and target.relative_to(live).parts[0] in LIVE_FOLDERS:
        raise ConfigError(f"--home {target}: that is inside the live home's own folders")
    if target.exists() and not target.is_dir():
        raise ConfigError(f"--home {target}: not a directory")
    record = marker(target)
    if record is None and target.is_dir() and any(target.iterdir()):
        raise ConfigError(
            f"--home {target}: holds other files; give a new or empty directory, or an "
            "earlier what-if home"
        )
    if record is not None and Path(record["live"]) != live:
        raise ConfigError(
            f"--home {target}: a what-if home of {record['live']}, not of {live}; choose another"
        )


def _link_or_copy(source: Path, target: Path) -> None:
    """Make ``target`` the content of ``source`` atomically (a hard link where possible)."""
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(3)}.tmp")
    try:
        try:
            os.link(source, tmp)
        except OSError:  # another file system, or links not allowed
            shutil.copy2(source, tmp)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def snapshot_prices(live: Path, home: Path, tickers: Iterable[str]) -> None:
    """Make ``home``'s stored prices of ``tickers`` those of the live home now."""
    folder = home / "prices"
    folder.mkdir(parents=True, exist_ok=True)
    for ticker in tickers:
        source, target = live / "prices" / f"{ticker}.parquet", folder / f"{ticker}.parquet"
        if source.is_file():
            _link_or_copy(source, target)
        else:
            with contextlib.suppress(FileNotFoundError):
                target.unlink()


@contextmanager
def what_if(cfg: Any, kind: str, home: str | Path | None = None) -> Iterator[Any]:
    """``cfg`` pointed at a what-if home for one what-if run; writes go only there.

    A configuration that already points at a what-if home (a replay's inner runs) is used as
    it is. Otherwise the home is ``home`` or the default for ``kind``, made (or reused) with
    a fresh snapshot of the live prices of ``cfg``'s tickers and covariates. A home this call
    created is removed again when the run fails, so bad input leaves nothing behind.

    Args:
        cfg: The run's ``RunConfig`` (its home is the live home).
        kind: ``replay`` or ``as-of``.
        home: The what-if home (``--home``); default: ``default_home``.

    Raises:
        ConfigError: ``home`` is the live home, inside its folders, a directory holding other
            files, or the what-if home of another live home.
    """
    live = cfg.home()
    if is_whatif(live):
        yield cfg
        return
    target = Path(home).expanduser().resolve() if home is not None else default_home(live, kind)
    _check_target(target, live)
    existed = target.exists()
    fresh = marker(target) is None
    try:
        target.mkdir(parents=True, exist_ok=True)
        if fresh:
            record = {"kind": kind, "live": str(live), "created": now_iso()}
            atomic_write_json(target / MARKER, record)
        snapshot_prices(live, target, [*cfg.data.tickers, *cfg.features.covariates])
        paths = cfg.paths.model_copy(update={"home": str(target)})
        yield cfg.model_copy(update={"paths": paths})
    except BaseException:
        if fresh:
            _remove(target, keep=existed, parent=home is None and kind == "replay")
        raise


def _remove(target: Path, *, keep: bool, parent: bool) -> None:
    """Remove a what-if home made by a failed run (keep a folder the user made, emptied)."""
    shutil.rmtree(target, ignore_errors=True)
    if keep:
        target.mkdir(exist_ok=True)
    elif parent:
        with contextlib.suppress(OSError):
            target.parent.rmdir()  # replays/, when this was its only replay


def refuse_home_without_as_of(home: str | Path | None, as_of: Any) -> None:
    """``--home`` names a what-if home: without ``--as-of`` the run is production's."""
    if home is not None and as_of is None:
        raise ConfigError(
            "--home is where a what-if run writes: give --as-of too (a run for today writes "
            "to STACKCAST_HOME)"
        )
