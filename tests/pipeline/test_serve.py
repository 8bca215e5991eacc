from __future__ import annotations

import os
import socket
import sys
import time
import types
from pathlib import Path

import pytest
from prefect import flow
from prefect.artifacts import create_link_artifact
from prefect.schedules import Cron
from stackcast.pipeline.config import RunConfig, load_config, parse_config
from stackcast.pipeline.errors import ConfigError, UserError
from stackcast.pipeline.orchestration import serve as serve_mod
from stackcast.pipeline.orchestration.deployments import (
    DEFAULT_GRID,
    DeploymentSpec,
    flow_parameters,
)
from stackcast.pipeline.orchestration.parameters import ConfigSource, Overrides, flow_config
from stackcast.pipeline.results.reportserver import link_for

from tests.prefect_support import (
    find_deployment,
    flow_run_artifacts,
    free_port,
    group_alive,
    http_get,
    pids_with_cmdline,
    serve_env,
    start_serve,
    stop_process_group,
    trigger_deployment,
    wait_for_flow_run,
    wait_for_http,
)

CONFIG = """
name = "servetest"
[schedule]
daily_cron = "30 18 * * 1-5"
retrain_cron = "0 9 * * 6"
timezone = "Europe/London"
"""


@flow(name="stackcast-test-report")
def report_flow(cfg: ConfigSource = "", overrides: Overrides = None, note: str = "hello") -> str:
    """A stand-in for the real flows: writes a report and links it as an artifact."""
    from prefect.runtime import flow_run

    home = flow_config(cfg, overrides=overrides).home()
    run_dir = home / "runs" / f"test-{flow_run.id}"
    run_dir.mkdir(parents=True)
    (run_dir / "report.html").write_text(f"<h1>report {note}</h1>", encoding="utf-8")
    link = link_for(home, run_dir / "report.html")
    assert link is not None, "STACKCAST_REPORTS_URL not set by serve"
    create_link_artifact(link, link_text="report", key="report")
    return link


def serve_deployments(cfg: RunConfig) -> list[DeploymentSpec]:
    """Loaded by the launcher subprocess through --deployments."""
    schedule = Cron(cfg.schedule.daily_cron, timezone=cfg.schedule.timezone)
    params = flow_parameters(cfg, flow=report_flow)
    return [DeploymentSpec(report_flow, "report-test", schedule, params)]


def test_flow_parameters_stand_for_the_served_config(tmp_path: Path) -> None:
    """The form's defaults give back the served config: its file, or what differs from it."""
    from stackcast.pipeline.config import builtin_config

    cfg = parse_config(CONFIG)
    params = flow_parameters(cfg)  # not from a file: every difference from the default config
    assert set(params) == {"tickers", "model_name", "overrides", "cfg"}
    assert params["cfg"] == "" and params["model_name"] == "servetest"
    assert params["overrides"]["schedule.timezone"] == "Europe/London"
    assert flow_config(**params) == cfg
    path = tmp_path / "serve.toml"
    path.write_text(CONFIG, encoding="utf-8")
    from_file = flow_parameters(cfg, path)
    assert from_file["overrides"] == {} and from_file["cfg"] == str(path.resolve())
    assert flow_config(**from_file) == cfg
    demo = load_config(builtin_config("demo"))
    changed = demo.model_copy(update={"name": "other"})
    ingest = flow_parameters(changed, builtin_config("demo"), report_flow)  # no model_name field
    assert ingest == {"overrides": {"name": "other"}, "cfg": str(builtin_config("demo"))}
    assert flow_config(**ingest) == changed
    again = flow_config(str(path), tickers=["SPY"], model_name="m", overrides={"train.epochs": 3})
    assert (again.data.tickers, again.name, again.train.epochs) == (("SPY",), "m", 3)
    with pytest.raises(ConfigError, match=r"overrides: unknown key 'train\.nope'"):
        flow_config(str(path), overrides={"train.nope": 1})
    with pytest.raises(ConfigError, match=r"key 'train\.epochs': expected a number"):
        flow_config(str(path), overrides={"train.epochs": "many"})


def test_deployments_for_uses_schedule_and_flows(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("stackcast.pipeline.orchestration.flows")
    for name in ("ingest_flow", "train_flow", "backtest_flow", "weekly_retrain_flow", "sweep_flow"):
        setattr(fake, name, report_flow)
    fake.daily_forecast_flow = report_flow
    import stackcast.pipeline.orchestration as orchestration

    monkeypatch.setitem(sys.modules, "stackcast.pipeline.orchestration.flows", fake)
    monkeypatch.setattr(orchestration, "flows", fake, raising=False)  # if imported already
    cfg = parse_config(CONFIG)
    specs = serve_mod.deployments_for(cfg)
    by_name = {s.name: s for s in specs}
    assert list(by_name) == ["daily-forecast", "weekly-retrain", "backtest", "sweep", "ingest"]
    daily, weekly = by_name["daily-forecast"].schedule, by_name["weekly-retrain"].schedule
    assert (daily.cron, daily.timezone) == ("30 18 * * 1-5", "Europe/London")
    assert (weekly.cron, weekly.timezone) == ("0 9 * * 6", "Europe/London")
    assert by_name["backtest"].schedule is None and by_name["ingest"].schedule is None
    params = flow_parameters(cfg, None, report_flow)
    assert all(s.parameters == params for s in specs if s.name != "sweep")
    assert by_name["sweep"].parameters == params | {"grid": DEFAULT_GRID}
    for name, at in (("daily-forecast", "18:30"), ("weekly-retrain", "09:00")):
        assert f"Schedule: {at} Europe/London time" in by_name[name].description


def test_deployments_for_without_flows_module(monkeypatch: pytest.MonkeyPatch) -> None:
    import stackcast.pipeline.orchestration as orchestration

    monkeypatch.delattr(orchestration, "flows", raising=False)
    monkeypatch.setitem(
        sys.modules, "stackcast.pipeline.orchestration.flows", None
    )  # import fails as if missing
    with pytest.raises(UserError, match=r"flows module .* is missing"):
        serve_mod.deployments_for(RunConfig())


def test_to_runner_deployments_schema_and_schedule() -> None:
    cfg = parse_config(CONFIG)
    (dep,) = serve_mod.to_runner_deployments(serve_deployments(cfg))
    assert dep.name == "report-test"
    assert dep.entrypoint == "tests.pipeline.test_serve.report_flow"
    assert dep.parameters["overrides"]["schedule.timezone"] == "Europe/London"
    (schedule,) = dep.schedules
    assert schedule.schedule.cron == "30 18 * * 1-5"
    schema = dep._parameter_openapi_schema.model_dump()
    assert set(schema["properties"]) == {"cfg", "overrides", "note"}
    assert "RunConfig" not in schema["definitions"]  # the config is one field, not a form


@pytest.mark.parametrize("name", ["default", "demo"])
def test_shipped_configs_pass_the_servers_parameter_check(name: str) -> None:
    """The server validates run parameters against the flow's schema (enforced)."""
    from prefect.utilities.schema_tools.validation import validate
    from stackcast.pipeline.config import builtin_config

    cfg = load_config(builtin_config(name))
    (dep,) = serve_mod.to_runner_deployments(serve_deployments(cfg))
    assert dep.enforce_parameter_schema is True
    schema = dep._parameter_openapi_schema.model_dump()
    assert validate(dep.parameters, schema, raise_on_error=True) == []
    assert validate(dep.parameters | {"overrides": [1]}, schema) != []


def test_external_api_url_that_does_not_answer(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(home / "prefect"))
    monkeypatch.setenv("PREFECT_API_URL", f"http://127.0.0.1:{free_port()}/api")
    monkeypatch.setenv("STACKCAST_REPORTS_URL", "unset")
    lines: list[str] = []
    port = free_port()
    with pytest.raises(UserError, match="does not answer"):
        serve_mod.serve(RunConfig(), port=port, deployments=[], out=lines.append)
    assert lines[-1] == "Stopped."
    with socket.socket() as s:  # the report port was released
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
    assert os.environ["STACKCAST_REPORTS_URL"] == "unset"  # environment put back


def test_prefect_port_taken(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(home / "prefect"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    # no server configured, even if a session test harness is active in this process
    monkeypatch.setattr(serve_mod, "_configured_api_url", lambda: None)
    before = dict(os.environ)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(UserError, match=f"port {port} is in use.*PREFECT_API_URL="):
            serve_mod.serve(RunConfig(), port=0, ui_port=port, deployments=[], out=print)
    assert dict(os.environ) == before
    assert not (home / "prefect" / "server.log").exists()  # no server was started


def test_report_port_taken(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT_HOME", str(home / "prefect"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(UserError, match=f"cannot serve reports on 127.0.0.1:{port}"):
            serve_mod.serve(RunConfig(), port=port, deployments=[], out=lambda _: None)


def test_wait_for_health_reports_early_exit(tmp_path: Path) -> None:
    import subprocess

    log = tmp_path / "server.log"
    log.write_text("boom: port already in use\n", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait()
    with pytest.raises(UserError, match=r"exited with code 3(.|\n)*port already in use"):
        serve_mod.wait_for_health(f"http://127.0.0.1:{free_port()}/api", 5, proc, log)
    t0 = time.monotonic()
    with pytest.raises(UserError, match="not ready after 1 s"):
        serve_mod.wait_for_health(f"http://127.0.0.1:{free_port()}/api", 1.0)
    assert time.monotonic() - t0 < 5


def test_main_reports_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert serve_mod.main(["--config", str(tmp_path / "missing.toml")]) == 2
    assert capsys.readouterr().err.startswith("error: config file not found")
    with pytest.raises(ConfigError):
        serve_mod.serve_command(str(tmp_path / "missing.toml"))
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    assert serve_mod.main(["--config", str(cfg), "--deployments", "nope"]) == 2
    assert "MODULE:FUNCTION" in capsys.readouterr().err
    assert load_config(cfg).name == "servetest"


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_serve_end_to_end(home: Path, tmp_path: Path) -> None:
    """Launcher subprocess -> deployment with cron -> UI-style trigger -> report over http."""
    started = time.monotonic()
    cfg = tmp_path / "serve.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    ui_port, reports_port = free_port(), free_port()
    api = f"http://127.0.0.1:{ui_port}/api"
    log = tmp_path / "serve.log"
    args = ["--config", str(cfg), "--port", str(reports_port), "--ui-port", str(ui_port)]
    args += ["--deployments", "tests.pipeline.test_serve:serve_deployments"]
    proc = start_serve(args, serve_env(home), log)
    timings: dict[str, float] = {}
    try:
        wait_for_http(f"{api}/health", timeout=60, proc=proc)
        timings["server ready"] = time.monotonic() - started
        dep = find_deployment(api, "report-test", timeout=30)
        timings["deployment registered"] = time.monotonic() - started
        (sched,) = dep["schedules"]
        assert sched["schedule"]["cron"] == "30 18 * * 1-5"
        assert sched["schedule"]["timezone"] == "Europe/London"
        assert sched["active"] is True
        assert dep["paused"] is False
        assert dep["parameters"]["overrides"]["name"] == "servetest"
        assert "cfg" in dep["parameter_openapi_schema"]["properties"]

        run = trigger_deployment(api, dep["id"], {"note": "from-the-ui"})
        final = wait_for_flow_run(api, run["id"], timeout=60)
        timings["flow run completed"] = time.monotonic() - started
        assert final["state"]["type"] == "COMPLETED", final["state"]
        assert final["parameters"]["overrides"]["name"] == "servetest"

        (art,) = [a for a in flow_run_artifacts(api, run["id"]) if a["type"] == "markdown"]
        link = art["data"].split("](", 1)[1].rstrip(")")
        assert link.startswith(f"http://127.0.0.1:{reports_port}/runs/test-")
        page = http_get(link)
        assert page.status_code == 200
        assert "report from-the-ui" in page.text
        assert http_get(f"http://127.0.0.1:{reports_port}/prefect/server.log").status_code == 404
    finally:
        stop_started = time.monotonic()
        rc = stop_process_group(proc, timeout=30)
        timings["stop"] = time.monotonic() - stop_started
        print(f"timings (s): {timings}; log tail:\n{log.read_text(errors='replace')[-3000:]}")
    text = log.read_text(errors="replace")
    assert rc == 0, text[-3000:]
    assert f"Prefect UI: http://127.0.0.1:{ui_port}" in text
    assert f"Reports:    http://127.0.0.1:{reports_port}/" in text
    assert "Stopped." in text
    assert not group_alive(proc.pid)
    deadline = time.monotonic() + 10
    while pids_with_cmdline("server", "start", f"--port {ui_port}") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert pids_with_cmdline("server", "start", f"--port {ui_port}") == []


@pytest.mark.slow
@pytest.mark.usefixtures("prefect_harness")
def test_report_flow_runs_under_the_harness(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STACKCAST_REPORTS_URL", "http://127.0.0.1:9/")
    link = report_flow(parse_config(CONFIG), note="direct")
    assert link.startswith("http://127.0.0.1:9/runs/test-")
    (report,) = home.glob("runs/test-*/report.html")
    assert "report direct" in report.read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_sigterm_to_the_launcher_stops_its_server(home: Path, tmp_path: Path) -> None:
    """SIGTERM to the launcher alone (a service manager's stop) shuts down like Ctrl-C."""
    import signal

    cfg = tmp_path / "serve.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    ui_port = free_port()
    api = f"http://127.0.0.1:{ui_port}/api"
    log = tmp_path / "serve.log"
    args = ["--config", str(cfg), "--port", "0", "--ui-port", str(ui_port)]
    args += ["--deployments", "tests.pipeline.test_serve:serve_deployments"]
    proc = start_serve(args, serve_env(home), log)
    try:
        wait_for_http(f"{api}/health", timeout=60, proc=proc)
        find_deployment(api, "report-test", timeout=30)
        deadline = time.monotonic() + 20
        while "Serving 1 deployment" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # let the runner install its own SIGTERM handler
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(30)
    finally:
        stop_process_group(proc, timeout=10)
    text = log.read_text(errors="replace")
    assert rc == 0, text[-3000:]
    assert "Stopped." in text
    assert "Traceback" not in text and "never awaited" not in text, text[-3000:]
    assert pids_with_cmdline("server", "start", f"--port {ui_port}") == []


def test_custom_run_form_puts_what_a_one_off_run_changes_first() -> None:
    """daily-forecast's form: as_of (a plain date), tickers, model name, overrides, the file."""
    from prefect.utilities.schema_tools.validation import validate

    cfg = parse_config(CONFIG)
    specs = [s for s in serve_mod.deployments_for(cfg) if s.name == "daily-forecast"]
    (dep,) = serve_mod.to_runner_deployments(specs)
    schema = dep._parameter_openapi_schema.model_dump()
    props = schema["properties"]
    by_position = sorted(props, key=lambda k: props[k]["position"])
    assert by_position == ["as_of", "tickers", "model_name", "overrides", "cfg"]
    assert not schema["definitions"] and not schema.get("required")
    # one type per field (no "date | None" toggle), no null default the form would send back
    assert all("anyOf" not in p and p.get("default", 0) is not None for p in props.values())
    assert (props["as_of"]["type"], props["as_of"]["format"]) == ("string", "date")
    # what the form sends: the date left empty (absent or null), or a date
    for as_of in ({}, {"as_of": None}, {"as_of": "2024-01-02"}):
        assert validate(dep.parameters | as_of, schema, raise_on_error=True) == []
    assert validate(dep.parameters | {"as_of": 20240102}, schema) != []
