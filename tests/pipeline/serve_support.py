"""Drive ``stackcast serve`` from a test: the console script, the Prefect REST API, schedules."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from tests.prefect_support import REPO


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
