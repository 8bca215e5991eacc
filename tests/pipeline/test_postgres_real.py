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

import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.pipeline import postgres_support
from tests.pipeline.postgres_support import PostgresServer
from tests.pipeline.serve_support import (
    api,
    far_hour,
    schedules_of,
    stackcast_exe,
    start_stackcast_serve,
    wait_for_scheduled_runs,
    with_schedule,
)
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

DEMO_CONFIG = REPO / "configs" / "demo.toml"
DEPLOYMENTS = ("daily-forecast", "weekly-retrain", "backtest", "ingest", "sweep")
SCHEDULED = ("daily-forecast", "weekly-retrain")

postgres = postgres_support.postgres  # the fixture


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
