from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from stackcast.pipeline import atomic
from stackcast.pipeline.atomic import (
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_parquet,
    atomic_write_text,
    file_lock,
    lock_path,
)
from stackcast.pipeline.errors import LockTimeout, UserError

REPO = Path(__file__).resolve().parents[2]


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def test_writes_round_trip_and_create_parent_dirs(tmp_path: Path) -> None:
    atomic_write_bytes(tmp_path / "a" / "b.bin", b"\x00\x01")
    atomic_write_text(tmp_path / "a" / "c.txt", "héllo")
    atomic_write_json(
        tmp_path / "a" / "d.json",
        {"when": dt.date(2024, 1, 2), "n": np.int64(3), "x": np.array([1.5]), "p": Path("/x")},
    )
    df = pd.DataFrame({"a": [1.0, 2.0]})
    df.attrs = {"meta": {"k": "v"}}
    atomic_write_parquet(df, tmp_path / "a" / "e.parquet")

    assert (tmp_path / "a" / "b.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "a" / "c.txt").read_text(encoding="utf-8") == "héllo"
    assert json.loads((tmp_path / "a" / "d.json").read_text()) == {
        "when": "2024-01-02",
        "n": 3,
        "x": [1.5],
        "p": "/x",
    }
    back = pd.read_parquet(tmp_path / "a" / "e.parquet")
    pd.testing.assert_frame_equal(back, df)
    assert back.attrs == {"meta": {"k": "v"}}
    assert _leftovers(tmp_path / "a") == []


def test_new_files_are_0644_and_existing_mode_is_kept(tmp_path: Path) -> None:
    p = tmp_path / "f.txt"
    atomic_write_text(p, "1")
    assert p.stat().st_mode & 0o777 == 0o644
    p.chmod(0o600)
    atomic_write_text(p, "2")
    assert p.stat().st_mode & 0o777 == 0o600
    assert p.read_text() == "2"


@pytest.mark.parametrize(
    "write",
    [
        lambda p: atomic_write_bytes(p, b"new"),
        lambda p: atomic_write_text(p, "new"),
        lambda p: atomic_write_json(p, {"new": 1}),
        lambda p: atomic_write_parquet(pd.DataFrame({"new": [1]}), p),
    ],
    ids=["bytes", "text", "json", "parquet"],
)
def test_crash_before_rename_keeps_old_file_and_removes_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, write
) -> None:
    target = tmp_path / "target"
    target.write_bytes(b"old")

    def boom(src, dst):  # the crash: after the temp file is complete, before the rename
        assert Path(src).read_bytes() != b""
        raise OSError("simulated crash")

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(OSError, match="simulated crash"):
        write(target)
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_failing_writer_removes_temp(tmp_path: Path) -> None:
    target = tmp_path / "x.parquet"
    bad = pd.DataFrame({"obj": [object()]})
    with pytest.raises(Exception):  # noqa: B017 - pyarrow's own error type
        atomic_write_parquet(bad, target)
    assert not target.exists()
    assert _leftovers(tmp_path) == []


def test_json_rejects_unknown_objects(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        atomic_write_json(tmp_path / "x.json", {"x": object()})
    assert list(tmp_path.iterdir()) == []


def test_lock_path_convention(tmp_path: Path) -> None:
    assert lock_path(tmp_path / "ledger.parquet") == tmp_path / "ledger.parquet.lock"
    assert lock_path(tmp_path / ".index.lock") == tmp_path / ".index.lock"


def test_file_lock_serialises_threads(tmp_path: Path) -> None:
    target = tmp_path / "counter.txt"
    atomic_write_text(target, "0")
    inside = []
    overlap = []

    def work() -> None:
        for _ in range(5):
            with file_lock(target, timeout=10):
                inside.append(1)
                if len(inside) > 1:
                    overlap.append(1)
                n = int(target.read_text())
                time.sleep(0.005)
                atomic_write_text(target, str(n + 1))
                inside.pop()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert target.read_text() == "20"
    assert overlap == []


def test_file_lock_times_out_with_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "ledger.parquet"
    held = threading.Event()
    release = threading.Event()

    def holder() -> None:
        with file_lock(target, timeout=5):
            held.set()
            release.wait(5)

    t = threading.Thread(target=holder)
    t.start()
    try:
        assert held.wait(5)
        start = time.monotonic()
        with (
            pytest.raises(
                LockTimeout, match=r"ledger\.parquet is locked by another stackcast run"
            ) as err,
            file_lock(target, timeout=0.2),
        ):
            pass
        assert time.monotonic() - start < 3
        assert isinstance(err.value, UserError)
        assert "0.2s" in str(err.value)
    finally:
        release.set()
        t.join()
    with file_lock(target, timeout=1):  # free again
        pass


def test_file_lock_excludes_other_processes(tmp_path: Path) -> None:
    target = tmp_path / "prices" / "MSFT.parquet"
    code = (
        "import sys, time\n"
        "from stackcast.pipeline.atomic import file_lock\n"
        "with file_lock(sys.argv[1], timeout=5):\n"
        "    print('locked', flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(target)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        with pytest.raises(LockTimeout), file_lock(target, timeout=0.2):
            pass
    finally:
        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.flush()
        proc.wait(10)
    with file_lock(target, timeout=2):
        pass
