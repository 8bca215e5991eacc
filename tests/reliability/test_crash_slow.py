"""``kill -9`` during real ``stackcast ingest``, ``train``, ``backtest`` and ``run``, and two
daily runs at once.

Kills land at every write boundary of one complete run (a ``crashrun`` trace: each
``os.replace``/``os.rename``; the process SIGKILLs itself just before it) and at random times
(``SIGKILL`` from outside after a random delay; the seed is printed and can be fixed with
``STACKCAST_CRASH_SEED``). After every kill the home must pass ``check_home``: prices readable
and each ticker's file the old or the new version, every published model version complete,
``champion.json`` naming one, ledger readable without duplicates, no half-written run
visible (only hidden ``.staging-*`` leftovers). Then the next run must complete and sweep the
leftovers.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from stackcast.pipeline.data.store import PriceStore
from stackcast.pipeline.results import ledger, registry

from tests.reliability.conftest import Trained
from tests.reliability.helpers import REPO, check_home, cli, synthetic_prices, write_csv

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("STACKCAST_CRASH_SEED", time.time_ns() % 2**32))
TEN = tuple(f"T{k}" for k in range(10))
KILLS: list[str] = []  # every kill of this module, for the summary line


def env_for(home: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "STACKCAST_HOME": str(home)}
    env.pop("STACKCAST_DEBUG", None)
    return env


def traced(home: Path, trace: Path, kill_at: int, *args: str | Path) -> tuple[int, float]:
    """Run the CLI under ``crashrun``; returns (exit code, seconds)."""
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "tests.reliability.crashrun", str(trace), str(kill_at), "cli"]
        + [str(a) for a in args],
        cwd=REPO,
        env=env_for(home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    seconds = time.monotonic() - t0
    if kill_at:
        assert proc.returncode == -signal.SIGKILL, (kill_at, proc.returncode, proc.stderr)
        KILLS.append(f"{args[0]}@boundary{kill_at}")
    else:
        assert proc.returncode == 0, proc.stderr
    return proc.returncode, seconds


def killed_at_random(home: Path, delay: float, *args: str | Path) -> int:
    """``python -m pipeline ARGS`` killed with SIGKILL after ``delay`` s (if still running)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "stackcast", *map(str, args)],
        cwd=REPO,
        env=env_for(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        KILLS.append(f"{args[0]}@{delay:.2f}s")
    return proc.wait(timeout=60)


def boundaries(trace: Path) -> list[tuple[str, str]]:
    """``(kind, target)`` of every write boundary in a trace."""
    return [
        (kind, Path(target).name)
        for _, kind, _, target in (line.split("\t") for line in trace.read_text().splitlines())
    ]


def staging(home: Path) -> list[str]:
    return [x for x in check_home(home) if ".staging-" in x]


@pytest.fixture
def rng() -> random.Random:
    print(f"crash seed {SEED} (set STACKCAST_CRASH_SEED to replay)")
    return random.Random(SEED)


def frames(home: Path, tickers: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    store = PriceStore(home)
    return {t: store.read(t).reset_index(drop=True) for t in tickers if store.exists(t)}


def same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    try:
        pd.testing.assert_frame_equal(a, b)
    except AssertionError:
        return False
    return True


def test_kill_9_during_ingest(
    home: Path, tmp_path: Path, rng: random.Random, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = synthetic_prices(TEN, n=500)
    old_csv = write_csv(tmp_path / "old.csv", full[pd.to_datetime(full["date"]) < "2021-07-01"])
    new_csv = write_csv(tmp_path / "new.csv", full)
    assert cli("ingest", "-s", old_csv).exit_code == 0
    old = frames(home, TEN)
    base = tmp_path / "base"
    shutil.copytree(home, base)

    trace = tmp_path / "full.trace"
    _, seconds = traced(home, trace, 0, "ingest", "-s", new_csv)
    steps = boundaries(trace)
    assert [t for _, t in steps] == [f"{t}.parquet" for t in TEN]
    new = frames(home, TEN)
    assert all(len(new[t]) > len(old[t]) for t in TEN)

    plan = [("boundary", k) for k in (1, 5, len(steps))]
    plan += [("random", rng.uniform(0.3, 1.0) * seconds) for _ in range(3)]
    for how, when in plan:
        shutil.rmtree(home)
        shutil.copytree(base, home)
        if how == "boundary":
            traced(home, tmp_path / f"k{when}.trace", int(when), "ingest", "-s", new_csv)
        else:
            killed_at_random(home, when, "ingest", "-s", new_csv)
        check_home(home)
        now = frames(home, TEN)
        assert set(now) == set(TEN)
        for t in TEN:  # each file is the last good state or the new one, never a mix
            assert same(now[t], old[t]) or same(now[t], new[t]), (how, when, t)
        if how == "boundary":
            changed = sum(not same(now[t], old[t]) for t in TEN)
            assert changed == int(when) - 1
        result = cli("ingest", "-s", new_csv)  # the next run completes
        assert result.exit_code == 0, result.stderr
        assert all(same(f, new[t]) for t, f in frames(home, TEN).items())


def test_kill_9_during_train_then_run(
    home: Path, trained: Trained, tmp_path: Path, rng: random.Random
) -> None:
    trained.copy_to(home)
    config = trained.config(tmp_path)
    # The champion no longer fits the inputs (as after a config change), so every
    # challenger replaces it: each run writes model.keras, meta.json, the version dir and
    # champion.json.
    meta_path = home / "models" / "tiny" / "v0001" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["features"] = ["log_return"]
    meta_path.write_text(json.dumps(meta))
    champion_path = home / "models" / "tiny" / "champion.json"
    first = champion_path.read_bytes()

    probe = tmp_path / "probe"
    shutil.copytree(home, probe)
    trace = tmp_path / "full.trace"
    _, seconds = traced(probe, trace, 0, "train", "-c", config)
    steps = boundaries(trace)
    names = [t for _, t in steps]
    # The version is renamed into place, then champion.json replaced; the validation run follows.
    champion_at = names.index("champion.json") + 1
    assert names[champion_at - 2 : champion_at] == ["v0002", "champion.json"], steps
    # model.keras and meta.json are written inside the version's staging directory: the
    # rename is what publishes them.

    rename_at = names.index("v0002") + 1
    for k in range(1, champion_at + 1):
        before = champion_path.read_bytes()
        versions = registry.versions(home, "tiny")
        traced(home, tmp_path / f"k{k}.trace", k, "train", "-c", config)
        check_home(home)
        assert champion_path.read_bytes() == before  # killed before its replace
        # a version appears whole, once its directory is renamed into place, or not at all
        assert len(registry.versions(home, "tiny")) - len(versions) == (k > rename_at)
    assert champion_path.read_bytes() == first
    killed_at_random(home, rng.uniform(0.6, 1.0) * seconds, "train", "-c", config)
    check_home(home)

    result = cli("train", "-c", config)  # the next run completes and sweeps
    assert result.exit_code == 0, result.stderr
    assert staging(home) == []
    champ = json.loads(champion_path.read_text())
    assert champ["version"] != "v0001"  # the stale champion was replaced by a complete version
    check_home(home)
    result = cli("run", "-c", config)
    assert result.exit_code == 0, result.stderr
    assert len(ledger.read(home)) == 4


def test_kill_9_while_writing_the_backtest_report(
    home: Path, trained: Trained, tmp_path: Path, rng: random.Random
) -> None:
    trained.copy_to(home)
    config = trained.config(tmp_path)
    trace = tmp_path / "full.trace"
    _, seconds = traced(home, trace, 0, "backtest", "-c", config)
    steps = boundaries(trace)
    names = [t for _, t in steps]
    assert names[-1] == "index.html" and steps[-2][0] == "rename", steps
    # The run's files are written inside its staging directory, not swapped in one by one:
    # renaming that directory is the one step that publishes them.
    assert not {"forecasts.parquet", "metrics.json", "report.html", "summary.json"} & set(names)
    published = sorted(
        p.name for p in (home / "runs").iterdir() if "-backtest-" in p.name and p.name[0] != "."
    )
    assert len(published) == 1

    for k in (len(steps) - 1, len(steps)):  # publishing the run dir, writing the index
        traced(home, tmp_path / f"k{k}.trace", k, "backtest", "-c", config)
        check_home(home)  # every visible run complete: a killed run is hidden or whole
        now = sorted(
            p.name for p in (home / "runs").iterdir() if "-backtest-" in p.name and p.name[0] != "."
        )
        assert len(now) == len(published) + (k == len(steps))
        published = now
    killed_at_random(home, rng.uniform(0.7, 1.0) * seconds, "backtest", "-c", config)
    check_home(home)

    result = cli("backtest", "-c", config)
    assert result.exit_code == 0, result.stderr
    assert staging(home) == []
    runs = [p for p in (home / "runs").iterdir() if not p.name.startswith(".")]
    index = (home / "index.html").read_text(encoding="utf-8")
    assert all(p.name in index for p in runs)


def test_kill_9_during_the_daily_run(home: Path, trained: Trained, tmp_path: Path) -> None:
    trained.copy_to(home)
    config = trained.config(tmp_path)
    probe = tmp_path / "probe"
    shutil.copytree(home, probe)
    trace = tmp_path / "full.trace"
    traced(probe, trace, 0, "run", "-c", config)
    steps = boundaries(trace)
    names = [t for _, t in steps]
    ledger_at = names.index("ledger.parquet") + 1
    publish_at = [k for k, (kind, _) in enumerate(steps, 1) if kind == "rename"][-1]
    for k in (ledger_at, publish_at):
        traced(home, tmp_path / f"k{k}.trace", k, "run", "-c", config)
        check_home(home)
        assert len(ledger.read(home)) == (0 if k == ledger_at else 4)
    result = cli("run", "-c", config)
    assert result.exit_code == 0, result.stderr
    assert "ledger: 0 new rows, 4 replaced" in result.stdout  # the killed run's rows replaced
    assert len(ledger.read(home)) == 4
    assert staging(home) == []


def test_two_daily_runs_at_once(home: Path, trained: Trained, tmp_path: Path) -> None:
    trained.copy_to(home)
    config = trained.config(tmp_path)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "stackcast", "run", "-c", str(config)],
            cwd=REPO,
            env=env_for(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs, strict=True):
        assert "Traceback" not in out + err
        # both finish (the locks serialise them), or one waits and gives up cleanly
        assert p.returncode == 0 or (p.returncode == 2 and "locked" in err), err
    assert any(p.returncode == 0 for p in procs)
    book = ledger.read(home)
    assert len(book) == 4 and not book.duplicated(list(ledger.KEY)).any()
    assert check_home(home) == []
    runs = [p for p in (home / "runs").iterdir() if "-daily-" in p.name and p.name[0] != "."]
    assert len(runs) == sum(p.returncode == 0 for p in procs)
    result = cli("run", "-c", config)  # and a rerun of the same day is a clean replacement
    assert result.exit_code == 0 and "0 new rows, 4 replaced" in result.stdout
    assert len(ledger.read(home)) == 4


def test_summary() -> None:
    print(f"kills in this module: {len(KILLS)}: {', '.join(KILLS)}")
    assert len(KILLS) >= 6
