"""Crash-safe file writes and inter-process locks.

Every file stackcast keeps (prices, models' metadata, runs, the ledger, the index) is written
through these helpers: the data goes to a temporary file in the target's directory, is flushed
and fsync'd, then ``os.replace`` swaps it in. A reader sees the old file or the new one, never
half of either; a crash leaves at worst a stray ``.<name>.*.tmp`` beside the target, which
the next write of that target deletes once it is an hour old.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stackcast.pipeline.errors import LockTimeout

from stackcast.jsonable import json_default

if TYPE_CHECKING:
    import pandas as pd

_NEW_FILE_MODE = 0o644
STALE_TMP_SECONDS = 3600.0  # a temp file this old was left by a writer that died


def _fsync_dir(directory: Path) -> None:
    """Flush a directory entry (the rename) to disk; a no-op where unsupported."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


fsync_dir = _fsync_dir  # public: run publishing syncs a folder of pages once


def write_durably(path: Path, write: Callable[[Path], None]) -> None:
    """``write(path)`` fills ``path`` in place, then its bytes are synced to disk.

    Not atomic on its own: for a file nobody reads before it is renamed into place (a temp
    file, or a file in a run's staging directory).
    """
    write(path)
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _atomic_write(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Write ``path`` atomically: ``write(tmp)`` fills a temp file that then replaces ``path``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write_durably(tmp, write)
        try:
            mode = target.stat().st_mode & 0o7777
        except FileNotFoundError:
            mode = _NEW_FILE_MODE
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(target.parent)
    return target


def _remove_stale_temps(target: Path) -> None:
    """Delete ``.<name>.*.tmp`` files of ``target`` older than ``STALE_TMP_SECONDS``.

    They are what a writer killed between creating and renaming its temp file leaves; no
    reader ever opens them. Errors are ignored.
    """
    cutoff = time.time() - STALE_TMP_SECONDS
    for tmp in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        with contextlib.suppress(OSError):
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink()


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Atomically replace ``path`` with ``data``; returns the path.

    Args:
        path: Target file; its directory is created if missing.
        data: The complete new content.
    """
    return _atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    """Atomically replace ``path`` with ``text`` (UTF-8 by default); returns the path."""
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(
    path: str | os.PathLike[str], obj: Any, *, indent: int | None = 2, sort_keys: bool = False
) -> Path:
    """Atomically write ``obj`` as JSON (UTF-8, trailing newline); returns the path.

    Dates and datetimes become ISO strings, paths strings, numpy values plain numbers/lists.
    """
    text = json.dumps(obj, indent=indent, sort_keys=sort_keys, default=json_default)
    return atomic_write_text(path, text + "\n")


def atomic_write_parquet(
    df: pd.DataFrame, path: str | os.PathLike[str], *, index: bool = False
) -> Path:
    """Atomically write ``df`` to a Parquet file (pyarrow engine); returns the path.

    ``df.attrs`` (JSON-able values) are stored in the file's metadata and come back from
    ``pandas.read_parquet``.
    """
    return _atomic_write(path, lambda tmp: df.to_parquet(tmp, index=index, engine="pyarrow"))


def lock_path(path: str | os.PathLike[str]) -> Path:
    """The lock file guarding ``path``: itself if it ends in ``.lock``, else ``<path>.lock``."""
    p = Path(path)
    return p if p.suffix == ".lock" else p.with_name(p.name + ".lock")


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str], timeout: float = 60.0) -> Iterator[Path]:
    """Hold an exclusive inter-process (and inter-thread) lock guarding ``path``.

    The lock file is ``lock_path(path)`` (``<path>.lock`` unless ``path`` already ends in
    ``.lock``); its directory is created if missing. The OS releases the lock if the holder
    dies, so a leftover lock file is harmless.

    Args:
        path: The file to protect (or the lock file itself).
        timeout: Seconds to wait for the lock; ``0`` tries once, a negative value waits forever.

    Raises:
        LockTimeout: Another process or thread kept the lock for longer than ``timeout``.
    """
    import filelock

    lock_file = lock_path(path)
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    lock = filelock.FileLock(lock_file, timeout=timeout)
    try:
        lock.acquire()
    except filelock.Timeout:
        what = Path(path).name.removesuffix(".lock")
        raise LockTimeout(
            f"{what} is locked by another stackcast run (waited {timeout:g}s for {lock_file}); "
            "try again when it has finished"
        ) from None
    try:
        yield lock_file
    finally:
        lock.release()
