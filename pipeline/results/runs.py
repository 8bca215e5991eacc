"""Run directories, run metadata and the run index under STACKCAST_HOME.

A run is written into ``runs/.staging-<run_id>-<token>/`` and renamed to ``runs/<run_id>/``
only when every file is in place, so a crash never leaves a half-written run behind. Each run
keeps a ``summary.json`` that the index (``STACKCAST_HOME/index.html``) is rebuilt from.

A staging directory is guarded by a lock file beside it (``.staging-...-<token>.lock``) held
while its process works in it; the OS drops the lock when the process dies, even by
``kill -9``. The next run in the same parent directory (``sweep_stale``) removes staging
directories whose lock is free, and rolls back a replacement of an existing directory (an
``--out`` given twice) that a crash interrupted halfway.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stackcast.pipeline.atomic import atomic_write_text, file_lock, fsync_dir, write_durably
from stackcast.pipeline.results import jsontext

from stackcast.versions import library_versions

REPO = Path(__file__).resolve().parents[2]
STAGING_PREFIX = ".staging-"
#: Threads writing a run's files at once (each mostly waits for its file to reach the disk).
FILE_WRITERS = 8
_STAGING_RE = re.compile(
    r"^\.staging-(?P<final>.+)-(?P<token>[0-9a-f]{6})(?P<suffix>\.lock|\.old)?$"
)


RUN_KINDS = ("backtest", "train", "daily", "replay", "sweep")  # what ``stackcast runs`` lists


def new_run_id(kind: str) -> str:
    """A sortable, unique run id such as ``20261125T160102Z-backtest-3f9a``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{kind}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class RunDir:
    """Where a run's files go while it is written and where they end up."""

    run_id: str
    staging: Path
    final: Path


@contextmanager
def staged_run(
    home: Path, kind: str, out: Path | None = None, run_id: str | None = None
) -> Iterator[RunDir]:
    """Create a staging directory and publish it atomically when the block succeeds.

    Args:
        home: STACKCAST_HOME.
        kind: ``backtest``, ``daily`` or ``train``; part of the run id.
        out: Final directory chosen by the user (``--out``); default ``home/runs/<run_id>``.
            An existing ``out`` directory is replaced only when the run succeeds.
        run_id: Use this id (e.g. one already written to the ledger) instead of a new one.
    """
    run_id = run_id or new_run_id(kind)
    final = (out or home / "runs" / run_id).resolve()
    with staging_dir(final.parent, final.name) as staging:
        yield RunDir(run_id, staging, final)
        _publish(staging, final)


def _staging_lock(staging: Path) -> Path:
    return staging.with_name(staging.name + ".lock")


@contextmanager
def staging_dir(parent: Path, final_name: str) -> Iterator[Path]:
    """A new hidden directory ``parent/.staging-<final_name>-<token>``, removed on exit.

    Its lock is held until the block ends, so ``sweep_stale`` leaves it alone while this
    process lives and removes it if the process dies. Stale ones are swept first.
    """
    import filelock

    parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(parent)
    staging = parent / f"{STAGING_PREFIX}{final_name}-{secrets.token_hex(3)}"
    lock = filelock.FileLock(_staging_lock(staging))
    lock.acquire(timeout=0)  # a fresh random name: nobody else can hold it
    try:
        staging.mkdir()
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        lock.release()
        with contextlib.suppress(OSError):
            _staging_lock(staging).unlink()


def sweep_stale(parent: Path) -> list[str]:
    """Clean up after processes that died while staging a directory in ``parent``.

    A staging directory whose lock is free belongs to a dead process: it is removed. If that
    process was replacing an existing directory and died between the two renames, the
    previous directory (``<staging>.old``) is put back. Errors are ignored: sweeping must
    never fail a run.

    Returns:
        The names of the staging directories cleaned up.
    """
    import filelock

    done: list[str] = []
    try:
        names = sorted(p.name for p in parent.iterdir())
    except OSError:
        return done
    for name in names:
        m = _STAGING_RE.match(name)
        if m is None:
            continue
        staging = parent / name.removesuffix(m["suffix"] or "")
        if staging.name in done:
            continue
        lock = filelock.FileLock(_staging_lock(staging))
        try:
            lock.acquire(timeout=0)
        except (filelock.Timeout, OSError):
            continue  # a live process is still writing it
        try:
            old = staging.with_name(staging.name + ".old")
            final = parent / m["final"]
            with contextlib.suppress(OSError):
                if old.is_dir() and not final.exists():
                    old.rename(final)
            shutil.rmtree(old, ignore_errors=True)
            shutil.rmtree(staging, ignore_errors=True)
            done.append(staging.name)
        finally:
            lock.release()
            with contextlib.suppress(OSError):
                _staging_lock(staging).unlink()
    return done


def _publish(staging: Path, final: Path) -> None:
    if final.exists():
        old = staging.with_name(staging.name + ".old")  # sweep_stale rolls back from here
        final.rename(old)
        staging.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(final)


def git_commit() -> str | None:
    """The repository's current commit (``+dirty`` if tracked files changed), or None.

    Its two git commands run at the same time (from a process holding TensorFlow, each
    costs tens of milliseconds, mostly waiting).
    """

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip()

    with ThreadPoolExecutor(max_workers=2) as pool:
        head = pool.submit(git, "rev-parse", "--short=12", "HEAD")
        dirty = pool.submit(
            git, "--no-optional-locks", "status", "--porcelain", "--untracked-files=no"
        )
        try:
            return (head.result() + ("+dirty" if dirty.result() else "")) or None
        except (OSError, subprocess.SubprocessError):
            return None


def device_description() -> str:
    """The Keras backend and the accelerator it sees (``cpu`` when none)."""
    import keras

    backend = keras.backend.backend()
    devices: list[str] = []
    if backend == "tensorflow":
        import tensorflow as tf

        devices = [d.name for d in tf.config.list_physical_devices("GPU")]
    elif backend == "jax":
        import jax

        devices = [str(d) for d in jax.devices() if d.platform != "cpu"]
    where = ", ".join(devices) if devices else f"cpu ({os.cpu_count()} cores)"
    return f"keras {keras.__version__} on {backend}: {where}"


def run_metadata() -> dict[str, Any]:
    """Versions, git commit, device and host facts recorded with every run.

    The git commit is read in a thread while the rest is gathered.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        commit = pool.submit(git_commit)
        versions = library_versions()
        device, host = device_description(), platform.platform()
        return {
            "versions": versions,
            "git_commit": commit.result(),
            "device": device,
            "platform": host,
        }


def now_iso() -> str:
    """The current UTC time as an ISO string to the second (a run's ``created``)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


RunFile = str | dict[str, Any] | list[Any] | Any


def publish_run(
    home: Path,
    run_id: str,
    files: Mapping[str, RunFile] | Iterable[tuple[str, RunFile]],
    summary: dict[str, Any],
    *,
    out: Path | None = None,
) -> Path:
    """Write a run's files and summary, publish the directory atomically, refresh the index.

    The one writer of every kind of run (backtest, train, daily, ...).

    Args:
        home: STACKCAST_HOME.
        run_id: The run's id (``new_run_id``), also its default directory name.
        files: File name -> content: ``str`` (text), ``dict``/``list`` (JSON) or a DataFrame
            (Parquet). A name may hold relative folders (``tickers/MSFT.html``): they are made
            inside the staging directory, so they are published with the rest. ``(name,
            content)`` pairs from a generator are written as they come, so the first files
            are written while the generator renders the next; if it raises, nothing is
            published.
        summary: What the index shows for the run (``summary.json``).
        out: Final directory (``--out``); default ``home/runs/<run_id>``. The index is
            refreshed only for runs under ``home/runs``.

    Returns:
        The published directory.
    """
    kind = summary.get("kind", "run")
    pairs = files.items() if isinstance(files, Mapping) else files
    with staged_run(home, kind, out, run_id=run_id) as run:
        root = run.staging
        # Nobody reads the staging directory before it is renamed into place, so each file is
        # a durable plain write (no temporary file, rename and folder sync per file), and the
        # folders are synced once at the end. A few threads write the files: a sync waits on
        # the disk, not the CPU, so files are synced while the JSON and Parquet are encoded.
        folders, paths = {root}, {root / "summary.json"}
        with _writers(len(files) + 1 if isinstance(files, Mapping) else FILE_WRITERS) as pool:
            written = [pool.submit(_write_file, root / "summary.json", summary_text(summary))]
            for name, content in pairs:
                path = staged_path(root, name, made=folders)
                if path in paths:
                    raise ValueError(f"run file {name!r} given twice (or is the summary)")
                paths.add(path)
                written.append(pool.submit(_write_file, path, content))
            for future in written:
                future.result()
        for folder in sorted(folders, reverse=True):
            fsync_dir(folder)
    if out is None or run.final.parent == (home / "runs").resolve():
        update_index(home)
    return run.final


def _writers(files: int) -> ThreadPoolExecutor:
    """Threads that write a run's files: a few, fewer for a few files (one for none)."""
    return ThreadPoolExecutor(max_workers=max(1, min(FILE_WRITERS, files)))


def _write_file(path: Path, content: RunFile) -> None:
    """One run file, durably in place: text, JSON (``dict``/``list``) or Parquet (a frame).

    The bytes are those of ``atomic_write_text``, ``atomic_write_json`` and
    ``atomic_write_parquet``.
    """
    if isinstance(content, dict | list):
        content = jsontext.dumps(content) + "\n"
    if isinstance(content, str):
        data = content.encode("utf-8")
        write_durably(path, lambda p: p.write_bytes(data))
    else:
        write_durably(path, lambda p: content.to_parquet(p, index=False, engine="pyarrow"))


def staged_path(staging: Path, name: str, *, made: set[Path] | None = None) -> Path:
    """``staging / name`` with its folders made; a name that leaves ``staging`` is refused.

    The name is checked as written (an absolute name, or one whose ``..`` climbs out, is
    refused): the staging directory is new and holds only the plain files and folders
    written into it, so no link inside it can lead out. ``made``: the folders known to exist,
    to which this call adds the name's folders (many files in one folder make it once).
    """
    rel = os.path.normpath(name)
    if os.path.isabs(rel) or rel in (os.curdir, os.pardir) or rel.startswith(os.pardir + os.sep):
        raise ValueError(f"run file {name!r} is outside the run directory")
    path = staging / rel
    folder = path.parent
    if made is None or folder not in made:
        folder.mkdir(parents=True, exist_ok=True)
        if made is not None:
            made.update(f for f in (folder, *folder.parents) if f.is_relative_to(staging))
    return path


def summary_text(summary: dict[str, Any]) -> str:
    """A run's ``summary.json`` text (what the index shows)."""
    return json.dumps(summary, indent=2, default=str)


def read_summaries(home: Path) -> list[dict[str, Any]]:
    """Every published run's summary, newest first; unreadable ones are skipped."""
    runs_dir = home / "runs"
    out = []
    for path in runs_dir.glob("*/summary.json") if runs_dir.is_dir() else []:
        if path.parent.name.startswith("."):
            continue
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        summary.setdefault("run_id", path.parent.name)
        summary["href"] = f"runs/{path.parent.name}/report.html"
        out.append(summary)
    out.sort(key=lambda s: str(s.get("created", "")), reverse=True)
    return out


def update_index(home: Path) -> Path:
    """Rebuild ``STACKCAST_HOME/index.html`` from the run summaries (under a lock)."""
    from stackcast.reports.run_index import render_index

    home.mkdir(parents=True, exist_ok=True)
    path = home / "index.html"
    with file_lock(home / ".index.lock", timeout=60):
        atomic_write_text(path, render_index(read_summaries(home)))
    return path
