"""Helpers for tests that talk to Prefect: a session test harness and a real served server.

Flow tests that only need an API (runs, artifacts, logs) use the session-scoped
``prefect_harness`` fixture (registered once for the whole suite in ``tests/conftest.py``;
do not import it into a module, which would start a second server)::

    def test_my_flow(prefect_harness): ...

End-to-end tests start the ``stackcast serve`` launcher as a subprocess in its own process
group (``start_serve``), find deployments and trigger them through the REST API like the UI
does (``find_deployment``, ``trigger_deployment``, ``wait_for_flow_run``), then stop the whole
group (``stop_process_group``). Keep ``PREFECT_RUNNER_POLL_FREQUENCY`` low (``serve_env``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
TERMINAL_STATES = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})
# Headless Chromium as root in a container, nothing fetched from outside.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
)


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """A temporary Prefect API and database for the whole session (about 12 s to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def http_get(url: str, timeout: float = 5.0) -> httpx.Response:
    """GET ``url`` without proxies from the environment."""
    return httpx.get(url, timeout=timeout, trust_env=False)


def wait_for_http(
    url: str,
    timeout: float = 60.0,
    ok: Callable[[httpx.Response], bool] = lambda r: r.status_code == 200,
    proc: subprocess.Popen[Any] | None = None,
    interval: float = 0.25,
) -> httpx.Response:
    """Poll ``url`` until ``ok(response)``; fail early if ``proc`` exits first."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process exited with {proc.returncode} while waiting for {url}")
        try:
            resp = http_get(url, timeout=min(5.0, timeout))
            if ok(resp):
                return resp
            last = resp.status_code
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError(f"{url} not ready after {timeout:.0f} s (last: {last!r})")


def serve_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment for a launcher subprocess: private home, no inherited Prefect server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        {
            "STACKCAST_HOME": str(home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
            ),
        }
    )
    env.update(extra)
    return env


def start_serve(
    args: list[str], env: dict[str, str], log_path: Path, cwd: Path = REPO
) -> subprocess.Popen[bytes]:
    """Start ``python -m stackcast.pipeline.orchestration.serve ARGS`` in its own process group.

    Output goes to ``log_path``; stop it with ``stop_process_group``.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "stackcast.pipeline.orchestration.serve", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def group_alive(pgid: int) -> bool:
    """Whether any process of the process group is still alive."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_process_group(
    proc: subprocess.Popen[Any], timeout: float = 30.0, sig: int = signal.SIGINT
) -> int:
    """Send ``sig`` (Ctrl-C) to the process group; SIGKILL what is left after ``timeout``.

    Returns the leader's exit code (negative: killed by that signal).
    """
    pgid = proc.pid  # start_new_session: the leader's pid is the group id
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        proc.wait(10)
    deadline = time.monotonic() + timeout
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if group_alive(pgid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    return int(proc.returncode)


def pids_with_cmdline(*needles: str) -> list[int]:
    """Pids of live processes whose command line contains every needle (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        cmd = raw.replace(b"\0", b" ").decode(errors="replace")
        if cmd and all(n in cmd for n in needles):
            found.append(int(entry.name))
    return found


RETRY_STATUS = frozenset({429, 502, 503})


def _api(api_url: str, method: str, path: str, json: Any = None, tries: int = 20) -> Any:
    """Call the REST API, retrying 429/502/503 like Prefect's own client.

    The local SQLite server answers 503 while the database is locked, e.g. while the
    scheduler inserts the runs of a newly registered cron schedule.
    """
    for attempt in range(tries):
        resp = httpx.request(
            method, api_url.rstrip("/") + path, json=json, timeout=15.0, trust_env=False
        )
        if resp.status_code not in RETRY_STATUS or attempt == tries - 1:
            break
        time.sleep(min(0.25 * (attempt + 1), 2.0))
    resp.raise_for_status()
    return resp.json()


def find_deployment(api_url: str, name: str, timeout: float = 60.0) -> dict[str, Any]:
    """The deployment called ``name`` (polls until the runner has registered it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _api(
            api_url,
            "POST",
            "/deployments/filter",
            {"deployments": {"name": {"any_": [name]}}},
        )
        if found:
            return found[0]
        time.sleep(0.5)
    raise AssertionError(f"deployment {name!r} not registered after {timeout:.0f} s")


def trigger_deployment(
    api_url: str, deployment_id: str, parameters: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Create a flow run from a deployment the way the UI's Run button does."""
    body: dict[str, Any] = {
        "state": {"type": "SCHEDULED", "message": "Run from the test like the Prefect UI"},
        "parameters": parameters or {},
        # a retried request (after a 503) returns the same run instead of a second one
        "idempotency_key": str(uuid.uuid4()),
    }
    return _api(api_url, "POST", f"/deployments/{deployment_id}/create_flow_run", body)


def wait_for_flow_run(api_url: str, flow_run_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Poll a flow run until it reaches a terminal state; return the run."""
    deadline = time.monotonic() + timeout
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        run = _api(api_url, "GET", f"/flow_runs/{flow_run_id}")
        if (run.get("state") or {}).get("type") in TERMINAL_STATES:
            return run
        time.sleep(0.5)
    state = (run.get("state") or {}).get("type")
    raise AssertionError(f"flow run {flow_run_id} still {state} after {timeout:.0f} s")


def flow_run_artifacts(api_url: str, flow_run_id: str) -> list[dict[str, Any]]:
    """Artifacts created by a flow run (links, tables, markdown)."""
    return _api(
        api_url,
        "POST",
        "/artifacts/filter",
        {"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}},
    )
