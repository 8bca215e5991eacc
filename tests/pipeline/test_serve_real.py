"""`stackcast serve` for real: the daily-forecast deployment run from the API like the UI does.

A tiny champion is trained in this process first; the launcher then runs as a subprocess in
its own process group (Prefect server, runner, report server), and a headless chromium, when
installed, takes screenshots of the deployment's page in the UI and of the report.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from stackcast.pipeline.config import to_toml

from tests.pipeline.flow_support import tiny_config
from tests.prefect_support import (
    CHROMIUM_ARGS,
    find_deployment,
    flow_run_artifacts,
    free_port,
    group_alive,
    http_get,
    serve_env,
    start_serve,
    stop_process_group,
    trigger_deployment,
    wait_for_flow_run,
    wait_for_http,
)


def screenshot(url: str, out: Path, profile: Path) -> Path:
    """Render ``url`` in headless chromium into ``out`` (PNG)."""
    cmd = [
        "chromium",
        *CHROMIUM_ARGS,
        f"--user-data-dir={profile}",
        "--window-size=1280,900",
        "--virtual-time-budget=8000",
        f"--screenshot={out}",
        url,
    ]
    subprocess.run(cmd, capture_output=True, timeout=90, check=False)
    return out


def assert_rendered(png: Path) -> None:
    """The PNG exists and is not a blank page (a page still fading in is dim, not blank)."""
    import matplotlib.image as mpimg

    assert png.is_file() and png.stat().st_size > 10_000, png
    pixels = mpimg.imread(png)[..., :3]
    assert pixels.std() > 0.02, f"{png} looks blank"


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_daily_forecast_deployment_end_to_end(home: Path, tmp_path: Path) -> None:
    """Champion trained -> serve -> cron deployment -> UI-style run -> artifacts -> report."""
    from stackcast.pipeline.environment import quiet_tensorflow

    quiet_tensorflow()
    from stackcast.pipeline.workflows.training import retrain

    started = time.monotonic()
    cfg = tiny_config().model_copy(
        update={
            "schedule": tiny_config().schedule.model_copy(
                update={"daily_cron": "30 18 * * 1-5", "timezone": "Europe/London"}
            )
        }
    )
    config = tmp_path / "serve.toml"
    config.write_text(to_toml(cfg), encoding="utf-8")
    assert retrain(cfg).promoted
    timings = {"champion trained": time.monotonic() - started}

    ui_port, reports_port = free_port(), free_port()
    ui, api = f"http://127.0.0.1:{ui_port}", f"http://127.0.0.1:{ui_port}/api"
    log = tmp_path / "serve.log"
    args = ["--config", str(config), "--port", str(reports_port), "--ui-port", str(ui_port)]
    proc = start_serve(args, serve_env(home), log)
    shots: list[Path] = []
    try:
        wait_for_http(f"{api}/health", timeout=60, proc=proc)
        dep = find_deployment(api, "daily-forecast", timeout=30)
        timings["deployment registered"] = time.monotonic() - started
        (sched,) = dep["schedules"]
        assert sched["schedule"]["cron"] == "30 18 * * 1-5"
        assert sched["schedule"]["timezone"] == "Europe/London"
        assert sched["active"] is True and dep["paused"] is False
        assert dep["parameters"]["model_name"] == "tiny"
        assert dep["parameters"]["cfg"] == str(config.resolve())
        assert dep["parameters"]["overrides"] == {}  # the file is the served config
        assert {"cfg", "as_of"} <= set(dep["parameter_openapi_schema"]["properties"])
        for name in ("weekly-retrain", "backtest", "ingest"):
            find_deployment(api, name, timeout=10)

        run = trigger_deployment(api, dep["id"])
        final = wait_for_flow_run(api, run["id"], timeout=120)
        timings["flow run completed"] = time.monotonic() - started
        assert final["state"]["type"] == "COMPLETED", final["state"]

        arts = {a["key"]: a for a in flow_run_artifacts(api, run["id"])}
        assert set(arts) == {
            "daily-forecast-summary",
            "daily-forecast-ledger",
            "daily-forecast-report",
        }
        (link,) = re.findall(r"\]\((http[^)]+)\)", arts["daily-forecast-report"]["data"])
        assert link.startswith(f"http://127.0.0.1:{reports_port}/runs/")
        assert link in arts["daily-forecast-summary"]["data"]
        page = http_get(link)
        assert page.status_code == 200
        assert "stackcast daily forecast: tiny" in page.text

        if shutil.which("chromium"):
            pages = {
                "deployment": f"{ui}/deployments/deployment/{dep['id']}",
                "run-form": f"{ui}/deployments/deployment/{dep['id']}/run",
                "flow-run": f"{ui}/runs/flow-run/{run['id']}",
                "summary": f"{ui}/artifacts/artifact/{arts['daily-forecast-summary']['id']}",
                "report": link,
            }
            for name, url in pages.items():
                shots.append(screenshot(url, tmp_path / f"{name}.png", tmp_path / "chromium"))
            timings["screenshots"] = time.monotonic() - started
    finally:
        rc = stop_process_group(proc, timeout=30)
        timings["stopped"] = time.monotonic() - started
        print(f"timings (s): {timings}; screenshots: {shots}")
        print(f"log tail:\n{log.read_text(errors='replace')[-3000:]}")
    text = log.read_text(errors="replace")
    assert rc == 0, text[-3000:]
    assert "Stopped." in text
    assert not group_alive(proc.pid)
    for png in shots:
        assert_rendered(png)
