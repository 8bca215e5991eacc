"""``kill -9`` at every write boundary of the run, registry and ledger writers.

Each workload runs in a subprocess (``crashrun``) that SIGKILLs itself just before its k-th
``os.replace``/``os.rename``, for every k the complete run reaches. Afterwards every reader
sees the previous state or the new one, never a mix; the next run cleans up and completes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from stackcast.pipeline.atomic import STALE_TMP_SECONDS, atomic_write_text
from stackcast.pipeline.results import ledger, registry
from stackcast.pipeline.results.runs import staging_dir, sweep_stale

from tests.reliability.helpers import REPO, check_home, snapshot


def crashrun(trace: Path, kill_at: int, *args: str) -> int:
    """Run ``crashrun``; returns its exit code (-9 when it killed itself)."""
    proc = subprocess.run(
        [sys.executable, "-m", "tests.reliability.crashrun", str(trace), str(kill_at), *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if kill_at:
        assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr)
    else:
        assert proc.returncode == 0, proc.stderr
    return proc.returncode


def boundaries(trace: Path) -> list[list[str]]:
    return [line.split("\t") for line in trace.read_text().splitlines()]


def call(trace: Path, kill_at: int, fn: str, *args: str) -> int:
    return crashrun(trace, kill_at, "call", f"tests.reliability.workloads:{fn}", *args)


def hidden(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_a_new_run_directory_appears_whole_or_not_at_all(home: Path, tmp_path: Path) -> None:
    out = home / "runs" / "r1"
    full = tmp_path / "full.trace"
    call(full, 0, "publish_run", str(home), str(out), "new")
    ((kind, *_),) = [b[1:] for b in boundaries(full)]
    assert kind == "rename"
    expected = snapshot(out)
    for p in list(out.parent.iterdir()):
        if p.is_dir():
            shutil.rmtree(p)
    call(tmp_path / "k1.trace", 1, "publish_run", str(home), str(out), "new")
    assert not out.exists()
    assert [n for n in hidden(out.parent) if not n.endswith(".lock")] != []  # the staging dir
    assert check_home(home)  # only hidden leftovers
    call(tmp_path / "again.trace", 0, "publish_run", str(home), str(out), "new")
    assert snapshot(out) == expected
    assert hidden(out.parent) == []  # the dead run's staging dir and lock were swept


def test_replacing_a_run_directory_is_rolled_back_or_completed(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "report-dir"  # --out: a directory the user names, replaced on success
    call(tmp_path / "first.trace", 0, "publish_run", str(home), str(out), "old")
    old = snapshot(out)
    full = tmp_path / "full.trace"
    call(full, 0, "publish_run", str(home), str(out), "new")
    new = snapshot(out)
    steps = boundaries(full)
    assert [s[1] for s in steps] == ["rename", "rename"]  # out -> .old, staging -> out
    for k in range(1, len(steps) + 1):
        call(tmp_path / "reset.trace", 0, "publish_run", str(home), str(out), "old")
        call(tmp_path / f"k{k}.trace", k, "publish_run", str(home), str(out), "new")
        # the user's directory is old or missing (killed between the two renames) ...
        assert not out.exists() or snapshot(out) == old
        # ... and the next run's sweep puts the old one back, byte for byte
        sweep_stale(out.parent)
        assert snapshot(out) == old, k
        assert hidden(out.parent) == []
    call(tmp_path / "last.trace", 0, "publish_run", str(home), str(out), "new")
    assert snapshot(out) == new


def test_a_model_version_is_published_whole_and_the_champion_moves_atomically(
    home: Path, tmp_path: Path
) -> None:
    call(tmp_path / "v1.trace", 0, "publish_version", str(home), "m")
    full = tmp_path / "full.trace"
    call(full, 0, "publish_version", str(home), "m")
    steps = boundaries(full)
    assert [s[1] for s in steps] == ["rename", "replace"]  # version dir, champion.json
    assert steps[1][3].endswith("champion.json")
    for k in range(1, len(steps) + 1):
        root = home / "models" / "m"
        before = (root / "champion.json").read_bytes()
        versions = registry.versions(home, "m")
        call(tmp_path / f"k{k}.trace", k, "publish_version", str(home), "m")
        check_home(home)  # every published version complete, champion names one
        assert (root / "champion.json").read_bytes() == before
        grown = registry.versions(home, "m")
        assert grown == versions if k == 1 else grown == [*versions, f"v{len(versions) + 1:04d}"]
    call(tmp_path / "next.trace", 0, "publish_version", str(home), "m")
    leftovers = check_home(home)
    assert [x for x in leftovers if ".staging-" in x] == []  # the killed runs' dirs swept
    assert all(x.endswith(".tmp") for x in leftovers)  # the killed champion write's temp file
    champ = json.loads((home / "models" / "m" / "champion.json").read_text())
    assert champ["version"] == registry.versions(home, "m")[-1]


def test_the_ledger_is_old_or_new_never_torn(home: Path, tmp_path: Path) -> None:
    call(tmp_path / "d1.trace", 0, "append_ledger", str(home), "2024-01-02")
    before = (home / "ledger.parquet").read_bytes()
    call(tmp_path / "k1.trace", 1, "append_ledger", str(home), "2024-01-03")
    assert (home / "ledger.parquet").read_bytes() == before
    assert len(ledger.read(home)) == 4
    assert check_home(home) != []  # a hidden temp file, ignored by readers
    call(tmp_path / "d2.trace", 0, "append_ledger", str(home), "2024-01-03")
    call(tmp_path / "d3.trace", 0, "append_ledger", str(home), "2024-01-03")  # a rerun
    book = ledger.read(home)
    assert len(book) == 8 and not book.duplicated(list(ledger.KEY)).any()


def test_a_live_staging_directory_is_never_swept(tmp_path: Path) -> None:
    with staging_dir(tmp_path, "run1") as staging:
        (staging / "x").write_text("in progress")
        assert sweep_stale(tmp_path) == []
        assert (staging / "x").exists()
    assert list(tmp_path.iterdir()) == []  # its lock file goes with it


def test_stale_temp_files_are_removed_by_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "ledger.parquet"
    stale = tmp_path / ".ledger.parquet.abc123.tmp"
    fresh = tmp_path / ".ledger.parquet.def456.tmp"
    other = tmp_path / ".index.html.abc123.tmp"
    for p in (stale, fresh, other):
        p.write_bytes(b"half")
    old = time.time() - STALE_TMP_SECONDS - 10
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    atomic_write_text(target, "new")
    assert not stale.exists()
    assert fresh.exists()  # may belong to a live writer
    assert other.exists()  # another target's: left to its own next write
