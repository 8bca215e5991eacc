"""`stackcast serve` on a real PostgreSQL server: UI-style runs, then a restart on the same data.

A throwaway PostgreSQL cluster is created from the machine's server binaries (Debian's
``postgresql`` package) in a temporary folder, listening on 127.0.0.1 and a free port only.
``stackcast serve`` (the console script, as a user runs it) starts its Prefect server with
``PREFECT_API_DATABASE_CONNECTION_URL`` pointing at it. The test trains a champion, runs the
daily forecast and a backtest the way the UI's Run button does, stops everything, checks in
PostgreSQL itself that the runs, deployments and schedules are stored there (and that no SQLite
file appeared), deletes the runs the scheduler had created ahead of time, starts everything
again on the same database and waits for the scheduler to create new ones.

The product is driven through its CLI and the Prefect REST API only, so the test does not
depend on the package's import paths.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.prefect_support import (
    REPO,
    find_deployment,
    free_port,
    group_alive,
    serve_env,
    stop_process_group,
    trigger_deployment,
    wait_for_flow_run,
    wait_for_http,
)

PG_TOOLS = ("initdb", "pg_ctl", "postgres", "psql")
DEMO_CONFIG = REPO / "configs" / "demo.toml"
DEPLOYMENTS = ("daily-forecast", "weekly-retrain", "backtest", "ingest", "sweep")
SCHEDULED = ("daily-forecast", "weekly-retrain")


# --------------------------------------------------------------------------- PostgreSQL


def postgres_bindir() -> Path | None:
    """The folder with PostgreSQL's server binaries, or None when they are not installed.

    Debian keeps them off PATH in ``/usr/lib/postgresql/<version>/bin`` (``pg_config
    --bindir`` names it); other systems put them on PATH.
    """
    candidates: list[Path] = []
    if pg_config := shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            candidates.append(Path(out.stdout.strip()))
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    for folder in candidates:
        if all((folder / tool).is_file() for tool in PG_TOOLS):
            return folder
    return None


@dataclass
class PostgresServer:
    """A running throwaway PostgreSQL server with a ``prefect`` database."""

    bindir: Path
    root: Path
    port: int

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``prefect`` database (asyncpg, trust auth)."""
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/prefect"

    def psql(self, sql: str, database: str = "prefect") -> list[list[str]]:
        """Run ``sql`` with psql over TCP; rows of ``|``-separated columns."""
        out = subprocess.run(
            [
                str(self.bindir / "psql"),
                *("-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", database),
                *("-X", "-A", "-t", "-q", "-F", "|", "-v", "ON_ERROR_STOP=1", "-c", sql),
            ],
            capture_output=True,
            text=True,
            timeout=30,
            env=_pg_env(),
            check=False,
        )
        assert out.returncode == 0, f"psql failed ({out.returncode}): {out.stderr}\n{sql}"
        return [line.split("|") for line in out.stdout.splitlines() if line]


def _pg_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({"LC_ALL": "C", "PGCONNECT_TIMEOUT": "10"})
    return env


def _as_pg_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its tools as the ``postgres`` user then."""
    if os.geteuid() != 0:
        return cmd
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.fail("running as root needs runuser (util-linux) to start PostgreSQL as postgres")
    return [runuser, "-u", "postgres", "--", *cmd]


def _pg_run(cmd: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _as_pg_user(cmd),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_pg_env(),
        check=False,
    )


def _stop_postgres(bindir: Path, root: Path) -> None:
    """``pg_ctl stop -m fast``; if that fails, SIGQUIT (immediate shutdown) the postmaster."""
    data = root / "data"
    if not (data / "postmaster.pid").exists():
        return
    with contextlib.suppress(subprocess.TimeoutExpired):
        done = _pg_run(
            [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop"],
            root,
            timeout=40,
        )
        if done.returncode == 0:
            return
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((data / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            os.kill(pid, 0)  # raises ProcessLookupError (an OSError) once it is gone
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server on 127.0.0.1 and a free port, stopped and removed afterwards."""
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres, psql) not found; "
            "install Debian's `postgresql` package"
        )
    # Not under pytest's tmp_path: that is private to the test's user (0700), and as root the
    # server runs as the postgres user, who must reach the folder (hence /tmp then).
    root = Path(tempfile.mkdtemp(prefix="stackcast-pg-", dir="/tmp" if os.geteuid() == 0 else None))
    try:
        (root / "sock").mkdir()
        if os.geteuid() == 0:
            for path in (root, root / "sock"):
                shutil.chown(path, "postgres", "postgres")
        data, log = root / "data", root / "server.log"
        init = _pg_run(
            [
                str(bindir / "initdb"),
                *("-D", str(data), "-U", "postgres", "--auth=trust"),
                *("--encoding=UTF8", "--locale=C", "--no-sync"),
            ],
            root,
            timeout=120,
        )
        assert init.returncode == 0, f"initdb failed:\n{init.stdout}\n{init.stderr}"
        server: PostgresServer | None = None
        for _attempt in range(3):  # the free port can be taken before the server binds it
            port = free_port()
            options = f"-k {root / 'sock'} -h 127.0.0.1 -p {port} -c fsync=off"
            start = _pg_run(
                [
                    str(bindir / "pg_ctl"),
                    *("-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options),
                    "start",
                ],
                root,
                timeout=90,
            )
            if start.returncode == 0:
                server = PostgresServer(bindir, root, port)
                break
            _stop_postgres(bindir, root)
        if server is None:
            text = log.read_text(errors="replace") if log.exists() else ""
            pytest.fail(f"PostgreSQL did not start:\n{start.stdout}\n{start.stderr}\n{text}")
        server.psql("CREATE DATABASE prefect", database="postgres")
        yield server
    finally:
        _stop_postgres(bindir, root)
        shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------- stackcast


def stackcast_exe() -> str:
    """The ``stackcast`` console script of this interpreter's environment."""
    beside = Path(sys.executable).with_name("stackcast")
    found = str(beside) if beside.is_file() else shutil.which("stackcast")
    assert found, "the stackcast console script is not installed (make setup)"
    return found


def start_stackcast_serve(
    args: list[str], env: dict[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    """``stackcast serve ARGS`` in its own process group, output appended to ``log_path``."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [stackcast_exe(), "serve", *args],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def api(api_url: str, method: str, path: str, json: Any = None) -> Any:
    resp = httpx.request(method, api_url + path, json=json, timeout=15.0, trust_env=False)
    resp.raise_for_status()
    return resp.json()


def scheduled_runs(api_url: str, deployment_id: str) -> list[dict[str, Any]]:
    """The deployment's flow runs in state SCHEDULED."""
    body = {
        "flow_runs": {
            "deployment_id": {"any_": [deployment_id]},
            "state": {"type": {"any_": ["SCHEDULED"]}},
        },
        "sort": "EXPECTED_START_TIME_ASC",
    }
    return api(api_url, "POST", "/flow_runs/filter", body)


def wait_for_scheduled_runs(
    api_url: str, deployment_id: str, timeout: float
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [r for r in scheduled_runs(api_url, deployment_id) if r["auto_scheduled"]]
        if runs:
            return runs
        time.sleep(1.0)
    raise AssertionError(f"no scheduled run for deployment {deployment_id} after {timeout:.0f} s")


def schedules_of(dep: dict[str, Any]) -> list[tuple[str, str, bool]]:
    return [
        (s["schedule"]["cron"], s["schedule"]["timezone"], s["active"]) for s in dep["schedules"]
    ]


def with_schedule(toml_text: str, schedule: dict[str, str]) -> str:
    """The config text with its ``[schedule]`` table (if any) replaced by ``schedule``."""
    kept, in_schedule = [], False
    for line in toml_text.splitlines():
        if line.startswith("["):
            in_schedule = line.split("#")[0].strip() == "[schedule]"
        if not in_schedule:
            kept.append(line)
    kept += ["", "[schedule]", *(f'{key} = "{value}"' for key, value in schedule.items())]
    out = "\n".join(kept) + "\n"
    before, after = tomllib.loads(toml_text), tomllib.loads(out)
    assert after.pop("schedule") == schedule
    before.pop("schedule", None)
    assert after == before, "rewriting the config's [schedule] changed other settings"
    return out


def far_hour(now: datetime) -> int:
    """An hour of the day (UTC) at least ~10 h away and outside the refused 01:00-02:59."""
    hour = (now.hour + 12) % 24
    return 3 if hour in (1, 2) else hour


@pytest.mark.slow
@pytest.mark.timeout(540)
def test_serve_on_postgres_survives_restart(
    postgres: PostgresServer, home: Path, tmp_path: Path
) -> None:
    """Champion -> serve on PostgreSQL -> UI-style runs -> restart -> same deployments, runs."""
    started = time.monotonic()
    timings: dict[str, float] = {"postgres ready": 0.0}

    def mark(what: str) -> None:
        timings[what] = round(time.monotonic() - started, 1)

    # The demo config with schedules ~12 h away, so no scheduled run fires during the test.
    hour = far_hour(datetime.now(UTC))
    daily_cron, retrain_cron = f"30 {hour} * * 1-5", f"15 {hour} * * 6"
    config = tmp_path / "demo-pg.toml"
    schedule = {"daily_cron": daily_cron, "retrain_cron": retrain_cron, "timezone": "UTC"}
    config.write_text(with_schedule(DEMO_CONFIG.read_text(encoding="utf-8"), schedule), "utf-8")
    expected = {
        "daily-forecast": [(daily_cron, "UTC", True)],
        "weekly-retrain": [(retrain_cron, "UTC", True)],
        "backtest": [],
        "ingest": [],
        "sweep": [],
    }

    prefect_home = tmp_path / "prefect-home"
    env = serve_env(
        home,
        PREFECT_HOME=str(prefect_home),
        PREFECT_API_DATABASE_CONNECTION_URL=postgres.url,
        PREFECT_RUNNER_POLL_FREQUENCY="1",
    )
    ui_port = reports_port = free_port()
    while reports_port == ui_port:
        reports_port = free_port()
    api_url = f"http://127.0.0.1:{ui_port}/api"
    args = ["--config", str(config), "--host", "127.0.0.1"]
    args += ["--port", str(ui_port), "--reports-port", str(reports_port)]
    log = tmp_path / "serve.log"
    train_log = tmp_path / "train.log"

    procs: list[subprocess.Popen[bytes]] = []
    try:
        # Train the champion while the Prefect server creates its tables in PostgreSQL.
        with open(train_log, "wb") as out:
            train = subprocess.Popen(
                [stackcast_exe(), "train", "--config", str(config)],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        procs.append(train)
        proc = start_stackcast_serve(args, env, log)
        procs.append(proc)
        wait_for_http(f"{api_url}/health", timeout=120, proc=proc)
        mark("prefect up (first start)")
        deps = {name: find_deployment(api_url, name, timeout=60) for name in DEPLOYMENTS}
        mark("deployments registered")
        for name, dep in deps.items():
            assert schedules_of(dep) == expected[name], name
            assert dep["paused"] is False
            assert dep["parameters"]["cfg"] == str(config.resolve())
            assert dep["parameters"]["overrides"] == {}  # the file is the served config
        assert train.wait(timeout=300) == 0, train_log.read_text(errors="replace")[-3000:]
        mark("champion trained")

        forecast = trigger_deployment(api_url, deps["daily-forecast"]["id"])
        backtest = trigger_deployment(api_url, deps["backtest"]["id"])
        runs = {
            "daily-forecast": wait_for_flow_run(api_url, forecast["id"], timeout=240),
            "backtest": wait_for_flow_run(api_url, backtest["id"], timeout=240),
        }
        mark("daily forecast and backtest completed")
        for name, run in runs.items():
            assert run["state"]["type"] == "COMPLETED", (name, run["state"])
        # the scheduler creates the cron deployments' runs ahead of time
        for name in SCHEDULED:
            wait_for_scheduled_runs(api_url, deps[name]["id"], timeout=60)
        mark("scheduled runs created")

        rc = stop_process_group(proc, timeout=30)
        mark("stopped")
        assert rc == 0, log.read_text(errors="replace")[-3000:]
        assert not group_alive(proc.pid)
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{api_url}/health", timeout=2.0, trust_env=False)

        # With everything stopped, the state is in PostgreSQL, and nowhere else.
        assert not [p for p in prefect_home.rglob("*") if ".db" in p.name], "a SQLite file"
        ids = "', '".join(run["id"] for run in runs.values())
        stored = postgres.psql(f"SELECT id, state_type FROM flow_run WHERE id IN ('{ids}')")
        assert sorted(stored) == sorted([run["id"], "COMPLETED"] for run in runs.values())
        in_db = postgres.psql(
            "SELECT d.id, d.name, s.schedule->>'cron', s.schedule->>'timezone', s.active "
            "FROM deployment d LEFT JOIN deployment_schedule s ON s.deployment_id = d.id"
        )
        want = []
        for name, sched in expected.items():
            cols = [sched[0][0], sched[0][1], "t"] if sched else ["", "", ""]
            want.append([deps[name]["id"], name, *cols])
        assert sorted(in_db) == sorted(want)
        dep_ids = "', '".join(deps[name]["id"] for name in SCHEDULED)
        deleted = postgres.psql(
            f"DELETE FROM flow_run WHERE deployment_id IN ('{dep_ids}') "
            "AND state_type = 'SCHEDULED' RETURNING id"
        )
        assert deleted, "the scheduler had created no runs ahead of time"
        mark("checked in PostgreSQL")

        proc = start_stackcast_serve(args, env, log)
        procs.append(proc)
        wait_for_http(f"{api_url}/health", timeout=120, proc=proc)
        mark("prefect up (restart)")
        for name in DEPLOYMENTS:
            again = find_deployment(api_url, name, timeout=60)
            assert again["id"] == deps[name]["id"], name  # the same rows, not new deployments
            assert schedules_of(again) == expected[name], name
            assert again["paused"] is False
        for name, run in runs.items():
            after = api(api_url, "GET", f"/flow_runs/{run['id']}")
            assert after["state"]["type"] == "COMPLETED", name
        for name in SCHEDULED:
            new = wait_for_scheduled_runs(api_url, deps[name]["id"], timeout=90)
            first = datetime.fromisoformat(new[0]["expected_start_time"])
            assert first > datetime.now(UTC), new[0]
            assert (first.hour, first.minute) == (hour, 30 if name == "daily-forecast" else 15)
            assert not {r["id"] for r in new} & {row[0] for row in deleted}
        mark("scheduled runs created after restart")

        rc = stop_process_group(proc, timeout=30)
        mark("stopped again")
        assert rc == 0, log.read_text(errors="replace")[-3000:]
        assert not group_alive(proc.pid)
        assert not [p for p in prefect_home.rglob("*") if ".db" in p.name], "a SQLite file"
        # the runs created after the restart are in PostgreSQL too
        (count,) = postgres.psql(
            f"SELECT count(*) FROM flow_run WHERE deployment_id IN ('{dep_ids}') "
            "AND state_type = 'SCHEDULED'"
        )
        assert int(count[0]) > 0
    finally:
        for p in procs:
            if p is train and p.poll() is None:
                p.kill()
                p.wait(10)
            elif p is not train and (p.poll() is None or group_alive(p.pid)):
                stop_process_group(p, timeout=30)
        print(f"timings (s): {timings}")
        print(f"serve log tail:\n{log.read_text(errors='replace')[-3000:]}")
