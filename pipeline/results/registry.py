"""The model registry: ``STACKCAST_HOME/models/<name>/<version>/`` and a champion pointer.

Versions are ``v0001``, ``v0002``, ... allocated under a lock and written into a staging
directory that is renamed into place only when ``model.keras`` and ``meta.json`` are complete
(a staging directory left by a killed process is removed by the next ``new_version``).
``champion.json`` names the version the daily forecast uses; it is replaced atomically.

In a what-if home (``stackcast.pipeline.results.whatif``) the registry also sees the live
home's versions, read-only: ``version_as_of`` picks among both, and new versions are numbered
after the highest of both, so a version name used in a what-if run names one model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stackcast.pipeline.atomic import atomic_write_json, file_lock
from stackcast.pipeline.errors import UserError
from stackcast.pipeline.results.runs import staging_dir
from stackcast.pipeline.results.whatif import live_home

VERSION_RE = re.compile(r"^v(\d{4,})$")


class NoChampion(UserError):
    """No champion model exists yet for this name."""


def model_root(home: Path, name: str) -> Path:
    """``home/models/<name>``."""
    return home / "models" / name


def versions(home: Path, name: str) -> list[str]:
    """Published versions, oldest first."""
    root = model_root(home, name)
    if not root.is_dir():
        return []
    found = [p.name for p in root.iterdir() if p.is_dir() and VERSION_RE.match(p.name)]
    return sorted(found, key=lambda v: int(v[1:]))


@contextmanager
def new_version(home: Path, name: str) -> Iterator[tuple[str, Path]]:
    """Allocate the next version; yields ``(version, staging_dir)``, published on success."""
    root = model_root(home, name)
    root.mkdir(parents=True, exist_ok=True)
    with file_lock(root / ".registry.lock", timeout=120):
        existing = [int(v[1:]) for h in _homes(home) for v in versions(h, name)]
        number = max(existing, default=0) + 1
        version = f"v{number:04d}"
        with staging_dir(root, version) as staging:  # a crash leaves only a hidden staging dir
            yield version, staging
            staging.rename(root / version)


def champion(home: Path, name: str) -> dict[str, Any] | None:
    """The champion record (``version``, ``promoted_at``, ``reason``), or None."""
    path = model_root(home, name) / "champion.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or not VERSION_RE.match(str(record.get("version", ""))):
        return None
    if not (model_root(home, name) / str(record.get("version", ""))).is_dir():
        return None
    return record


def champion_dir(home: Path, name: str) -> tuple[str, Path]:
    """``(version, directory)`` of the champion, or ``NoChampion`` with what to do."""
    record = champion(home, name)
    pointer = model_root(home, name) / "champion.json"
    if record is None and pointer.exists():
        raise NoChampion(
            f"{pointer} is unreadable or names a missing version: run `stackcast train` to "
            "train and promote a new champion"
        )
    if record is None:
        raise NoChampion(f"no trained model named '{name}' in {home}: run `stackcast train` first")
    version = str(record["version"])
    return version, model_root(home, name) / version


def promote(home: Path, name: str, version: str, reason: str, numbers: dict[str, Any]) -> None:
    """Make ``version`` the champion (atomic replace of ``champion.json``)."""
    root = model_root(home, name)
    if not (root / version).is_dir():
        raise UserError(f"model {name} has no version {version}")
    record = {
        "version": version,
        "promoted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "reason": reason,
        "numbers": numbers,
    }
    with file_lock(root / ".registry.lock", timeout=120):
        atomic_write_json(root / "champion.json", record)


def _homes(home: Path) -> list[Path]:
    """``home``, then the live home it belongs to when it is a what-if home."""
    live = live_home(home)
    return [home] if live is None else [home, live]


def version_as_of(home: Path, name: str, day: Any) -> tuple[str, Path]:
    """The version a forecast as of ``day`` may use: the most data, nothing after ``day``.

    That is the latest ``seen_until <= day``; ties: in a what-if home its own versions before
    the live ones, then the newest.

    Only versions meant for publication count: refit champions and ``train --as-of``
    versions (``meta.json`` ``role`` ``champion`` or ``as-of``), never a losing challenger.

    Raises:
        NoChampion: No such version, with the command that makes one.
    """
    day = str(day)
    best: tuple[str, int, int, Path] | None = None
    for rank, where in enumerate(reversed(_homes(home))):  # own versions rank higher
        for version in versions(where, name):
            directory = model_root(where, name) / version
            try:
                meta = json.loads((directory / "meta.json").read_text("utf-8"))
            except (OSError, ValueError):
                continue
            seen = str(meta.get("seen_until") or "")
            if meta.get("role") not in ("champion", "as-of") or not seen or seen > day:
                continue
            key = (seen, rank, int(version[1:]), directory)
            best = key if best is None or key[:3] > best[:3] else best
    if best is None:
        raise NoChampion(
            f"no version of model '{name}' has seen only prices up to {day}: run "
            f"`stackcast train --as-of {day}` to train one"
        )
    return best[3].name, best[3]
