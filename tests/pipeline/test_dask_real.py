"""A real Dask cluster: `dask scheduler` and two `dask worker` processes on 127.0.0.1.

The fold-parallel backtest (the CLI with ``[runtime] dask_address``) and the sweep flow
(Prefect's ``DaskTaskRunner`` on the same address) give the numbers of the local sequential
runs (the CLI in a fresh process, TensorFlow set up as users get it); killing
a worker in the middle of a sweep fails only the candidate it ran (the scheduler is started
with ``allowed-failures = 0``, so a lost task is not rescheduled), the report names it, and
the runs published before are all still there.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from stackcast.pipeline.config import RunConfig, RuntimeConfig
from stackcast.pipeline.orchestration import flows

from tests.pipeline.sweep_support import tiny_config, write_config
from tests.prefect_support import free_port

distributed = pytest.importorskip("distributed")
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
DASK = [sys.executable, "-m", "dask"]  # the `dask` CLI of this interpreter
GRID = {"model.dropout": [0.0, 0.3]}


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [*DASK, *args], env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A scheduler and two single-threaded worker processes sharing one STACKCAST_HOME."""
    tmp = tmp_path_factory.mktemp("dask")
    home = tmp / "home"
    env = {
        **os.environ,
        "STACKCAST_HOME": str(home),
        "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    procs = [
        _start(["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
               env, tmp / "scheduler.log")
    ]  # fmt: skip
    worker_args = ["worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny"]
    try:
        for k in range(2):
            procs.append(_start([*worker_args, "--no-dashboard", "--name", f"w{k}"], env,
                                tmp / f"worker{k}.log"))  # fmt: skip
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield {"address": address, "home": home, "procs": procs, "tmp": tmp}
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def on_cluster(cfg: RunConfig, address: str) -> RunConfig:
    return cfg.model_copy(
        update={"runtime": RuntimeConfig(task_runner="dask", dask_address=address)}
    )


def numbers(rows: list[dict[str, Any]]) -> list[Any]:
    keys = ("label", "status", "validation_mae", "test_mae", "test_rw_mae", "dm")
    return [{k: r.get(k) for k in keys} for r in rows]


def stackcast(cluster: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in a fresh process on the shared home (TensorFlow set up as users get it)."""
    env = {**os.environ, "STACKCAST_HOME": str(cluster["home"])}
    cmd = [sys.executable, "-m", "stackcast", *args]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_fold_parallel_backtest_on_the_cluster_equals_the_local_run(
    cluster: dict[str, Any],
) -> None:
    tmp, cfg = cluster["tmp"], tiny_config(backtest={"folds": 2})
    local = write_config(tmp / "local.toml", cfg)
    remote = write_config(tmp / "cluster.toml", on_cluster(cfg, cluster["address"]))
    stackcast(cluster, "backtest", "-c", str(local), "-o", str(tmp / "local-backtest"))
    out = stackcast(cluster, "backtest", "-c", str(remote), "-v")
    assert "2 fold(s) in parallel over 2 ticker(s)" in out.stderr
    run_dir = next((cluster["home"] / "runs").glob("*-backtest-*"))
    pd.testing.assert_frame_equal(
        pd.read_parquet(run_dir / "forecasts.parquet"),
        pd.read_parquet(tmp / "local-backtest" / "forecasts.parquet"),
        check_exact=True,
    )
    with distributed.Client(cluster["address"], timeout=30) as client:
        ran = {
            k
            for k in client.run_on_scheduler(
                lambda dask_scheduler: list(dask_scheduler.task_prefixes)
            )
        }
        pids = set(client.run(os.getpid).values())
    assert "backtest-fold" in ran  # the folds ran on the cluster ...
    assert pids == {p.pid for p in cluster["procs"][1:]}  # ... of the two workers started here


@pytest.mark.usefixtures("prefect_harness")
def test_sweep_flow_on_the_cluster_equals_the_local_sweep(cluster: dict[str, Any]) -> None:
    tmp, cfg = cluster["tmp"], tiny_config()
    (tmp / "grid.toml").write_text('"model.dropout" = [0.0, 0.3]\n', encoding="utf-8")
    local = write_config(tmp / "local-sweep.toml", cfg)
    stackcast(cluster, "sweep", "-c", str(local), "-g", str(tmp / "grid.toml"),
              "-o", str(tmp / "local-sweep"))  # fmt: skip
    expected = json.loads((tmp / "local-sweep" / "metrics.json").read_text())
    cfg = on_cluster(tiny_config(cluster["home"]), cluster["address"])
    state = flows.sweep_flow(cfg, GRID, return_state=True)
    assert state.is_completed(), state.message
    metrics = json.loads((Path(state.result()["report"]).parent / "metrics.json").read_text())
    assert numbers(metrics["candidates"]) == numbers(expected["candidates"])
    assert metrics["winner"] == expected["winner"]


@pytest.mark.usefixtures("prefect_harness")
def test_killing_a_worker_fails_only_its_candidate(cluster: dict[str, Any]) -> None:
    import threading

    home = cluster["home"]
    before = {
        p.name: (p / "report.html").read_bytes() for p in (home / "runs").iterdir() if p.is_dir()
    }
    assert before  # the runs the other tests published
    cfg = on_cluster(tiny_config(home, train={"epochs": 4, "patience": 4}), cluster["address"])
    killed: dict[str, Any] = {}

    def kill_a_busy_worker() -> None:
        with distributed.Client(cluster["address"], timeout=30) as client:
            pids = client.run(os.getpid)
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                busy = [w for w, keys in client.processing().items()
                        if any("candidate_task" in str(k) for k in keys)]  # fmt: skip
                if len(busy) == 2:  # both candidates started: kill one mid-training
                    time.sleep(2.0)
                    killed["pid"] = pids[busy[0]]
                    os.kill(killed["pid"], signal.SIGKILL)
                    return
                time.sleep(0.2)

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    state = flows.sweep_flow(cfg, GRID, return_state=True)
    killer.join()
    assert killed["pid"] in {p.pid for p in cluster["procs"][1:]}
    assert state.is_completed(), state.message
    result = state.result()
    assert len(result["failed"]) == 1 and "1 candidate(s) failed" in state.message
    (label, why) = next(iter(result["failed"].items()))
    assert label in {"model.dropout=0.0", "model.dropout=0.3"}
    assert "KilledWorker" in why or "died" in why, why
    run_dir = Path(result["report"]).parent
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert sorted(r["status"] for r in metrics["candidates"]) == ["failed", "ok"]
    assert result["winner"] != label
    assert f"candidate {label} failed" in (run_dir / "report.html").read_text(encoding="utf-8")
    # Nothing published before is lost; the index lists them all and the new sweep.
    after = {
        p.name: (p / "report.html").read_bytes() for p in (home / "runs").iterdir() if p.is_dir()
    }
    assert all(after[name] == html for name, html in before.items())
    index = (home / "index.html").read_text(encoding="utf-8")
    assert all(name in index for name in after)
