"""``stackcast serve``: one command for the Prefect server, the deployments and the reports.

``serve(cfg)`` starts a local Prefect server as a subprocess (unless ``PREFECT_API_URL``
already names one), waits for ``/api/health``, starts the read-only report server, and
serves the deployments with a Prefect ``Runner`` (what ``prefect.serve`` does):

- ``daily-forecast`` on ``cfg.schedule.daily_cron`` (in ``cfg.schedule.timezone``),
- ``weekly-retrain`` on ``cfg.schedule.retrain_cron``,
- ``backtest``, ``sweep`` (its ``grid`` parameter a form field) and ``ingest`` on demand
  (Run button in the UI).

Each deployment's run form is short (``stackcast.pipeline.orchestration.parameters``): the
tickers, the model's name, ``overrides`` (dotted config keys) and the config file, read when a
run starts, with defaults that stand for the served configuration. Schedules stay active after
shutdown (``pause_on_shutdown=False``). Ctrl-C, SIGTERM or SIGHUP stop what this command
started (the report server and its own Prefect server) and nothing else; an external server is
left alone.

The Prefect server runs in its own session so a terminal's Ctrl-C reaches only this process,
which then stops the runner before the server; on Linux the server also gets SIGTERM if this
process dies without cleaning up (``PR_SET_PDEATHSIG``). Starting and polling that server
lives in ``stackcast.pipeline.orchestration.prefect_server``, the deployment specs in
``stackcast.pipeline.orchestration.deployments``; this module holds the command itself.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from stackcast.pipeline.config import RunConfig, load_config
from stackcast.pipeline.errors import UserError
from stackcast.pipeline.orchestration.deployments import (
    deployments_for,
    load_deployments,
    to_runner_deployments,
)
from stackcast.pipeline.orchestration.prefect_server import (
    READY_TIMEOUT,
    PrefectServer,
    check_port_free,
    client_host,
    free_port,
    health_ok,
    start_prefect_server,
    wait_for_health,
)
from stackcast.pipeline.results.reportserver import (
    REPORTS_URL_ENV,
    ReportServer,
    stop_report_server,
)

DEFAULT_UI_PORT = 4200
DEFAULT_REPORTS_PORT = 4201


def _interrupt(signum: int, frame: object = None) -> None:
    """Handle SIGTERM/SIGHUP like Ctrl-C.

    Re-raising SIGINT lets ``asyncio.run`` cancel the runner gracefully (its own SIGINT
    handler); where SIGINT is ignored or default (a process started in the background), a
    KeyboardInterrupt is raised directly.
    """
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL, None):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.raise_signal(signal.SIGINT)


@contextlib.contextmanager
def _stop_signals_interrupt() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into an interrupt so cleanup runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {}
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            saved[sig] = signal.signal(sig, _interrupt)
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


_ENV_KEYS = (
    "STACKCAST_HOME",
    "PREFECT_HOME",
    "PREFECT_SERVER_ANALYTICS_ENABLED",
    "PREFECT_API_URL",
    REPORTS_URL_ENV,
    "NO_PROXY",
    "no_proxy",
)


def _bypass_proxy_for_loopback() -> None:
    """Keep Prefect's clients (which honour HTTP(S)_PROXY) off any proxy for loopback."""
    for key in ("NO_PROXY", "no_proxy"):
        hosts = [h for h in os.environ.get(key, "").split(",") if h.strip()]
        missing = [h for h in ("127.0.0.1", "localhost", "::1") if h not in hosts]
        os.environ[key] = ",".join(hosts + missing)


@contextlib.contextmanager
def _restored_environ(keys: Sequence[str]) -> Iterator[None]:
    """Put the given environment variables back as they were on exit."""
    saved = {k: os.environ.get(k) for k in keys}
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _configured_api_url() -> str | None:
    """PREFECT_API_URL from the environment or the active Prefect profile."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    from prefect.settings import get_current_settings

    return get_current_settings().api.url


def serve(
    cfg: RunConfig,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_REPORTS_PORT,
    ui_port: int = DEFAULT_UI_PORT,
    deployments: Sequence[Any] | None = None,
    ready_timeout: float = READY_TIMEOUT,
    limit: int | None = None,
    out: Callable[[str], None] = print,
    config_path: str | Path | None = None,
) -> None:
    """Run Prefect, the deployments and the report server until interrupted.

    Args:
        cfg: The run configuration (deployment parameters, schedules, home).
        host: Interface both servers bind (127.0.0.1 by default).
        port: Report server port (0: a free one).
        ui_port: Port of the Prefect server/UI started here (0: a free one); unused when
            ``PREFECT_API_URL`` names a server already.
        deployments: ``DeploymentSpec``s (or Prefect ``RunnerDeployment``s) to serve instead
            of ``deployments_for(cfg)``.
        ready_timeout: Seconds to wait for the Prefect server's health check.
        limit: Most flow runs at once (default: Prefect's ``PREFECT_RUNNER_PROCESS_LIMIT``).
        out: Where the URLs are printed.
        config_path: The file ``cfg`` was read from (None: the default configuration):
            runs read it when they start, with what ``cfg`` changes as their overrides.

    Raises:
        UserError: a port is taken, the server does not come up, or the external
            ``PREFECT_API_URL`` does not answer.
    """
    home = cfg.home()
    home.mkdir(parents=True, exist_ok=True)
    server: PrefectServer | None = None
    reports: ReportServer | None = None
    with _stop_signals_interrupt(), _restored_environ(_ENV_KEYS):
        # Flow runs are child processes: they find the home, the API and the report
        # server through these variables.
        os.environ["STACKCAST_HOME"] = str(home)
        os.environ.setdefault("PREFECT_HOME", str(home / "prefect"))
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        _bypass_proxy_for_loopback()
        try:
            try:
                reports = _bind_reports(home, host, port)
                external = _configured_api_url()
                if external:
                    if not health_ok(external, timeout=5.0):
                        raise UserError(
                            f"PREFECT_API_URL={external} does not answer; start that server "
                            "or unset PREFECT_API_URL to let stackcast start one"
                        )
                    api_url = external
                    out(f"Using the Prefect server at {api_url}")
                else:
                    ui_port = ui_port or free_port(client_host(host))
                    check_port_free(host, ui_port)
                    prefect_home = Path(os.environ["PREFECT_HOME"])
                    server = start_prefect_server(
                        host, ui_port, prefect_home, prefect_home / "server.log"
                    )
                    out(f"Starting the Prefect server (log: {server.log_path}) ...")
                # import the flows while the server starts
                specs = (
                    deployments if deployments is not None else deployments_for(cfg, config_path)
                )
                if server is not None:
                    waited = wait_for_health(
                        server.api_url, ready_timeout, server.proc, server.log_path
                    )
                    api_url = server.api_url
                    out(f"Prefect server ready in {waited:.1f} s")
                reports.start()
                os.environ["PREFECT_API_URL"] = api_url
                os.environ[REPORTS_URL_ENV] = reports.url
                out(f"Prefect UI: {api_url.removesuffix('/api')}")
                out(f"Reports:    {reports.url}")
                _serve_deployments(specs, api_url, limit, out)
            except KeyboardInterrupt:
                pass
        finally:
            out("Shutting down ...")
            if reports is not None:
                stop_report_server(reports)
            if server is not None:
                server.stop()
            out("Stopped.")


def _bind_reports(home: Path, host: str, port: int) -> ReportServer:
    """Bind the report server's socket now (fail fast on a taken port); serve later."""
    try:
        return ReportServer(home, host, port)
    except OSError as exc:
        raise UserError(f"cannot serve reports on {host}:{port}: {exc.strerror or exc}") from None


def _describe(deployment: Any) -> str:
    schedules = [getattr(s, "schedule", s) for s in deployment.schedules or []]
    when = "; ".join(
        f"cron '{c.cron}' ({c.timezone})" if getattr(c, "cron", None) else str(c) for c in schedules
    )
    return f"  {deployment.flow_name}/{deployment.name}: {when or 'on demand'}"


def _serve_deployments(
    specs: Sequence[Any], api_url: str, limit: int | None, out: Callable[[str], None]
) -> None:
    """Serve the deployments until interrupted (what ``prefect.serve`` does, SIGTERM-safe).

    ``prefect.serve`` builds a ``Runner`` whose SIGTERM handler, in Prefect 3.8.8, calls the
    async-dispatched ``stop()`` from inside the running loop ("coroutine 'Runner.astop' was
    never awaited") and exits through tracebacks; here SIGTERM is handled like Ctrl-C.
    """
    import asyncio

    from prefect.runner import Runner
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    class _Runner(Runner):
        def handle_sigterm(self, *args: Any, **kwargs: Any) -> None:
            _interrupt(signal.SIGTERM)

    updates = {PREFECT_API_URL: api_url, PREFECT_HOME: os.environ["PREFECT_HOME"]}
    with temporary_settings(updates=updates):
        runner_deployments = to_runner_deployments(specs)
        runner = _Runner(pause_on_shutdown=False, limit=limit)
        for deployment in runner_deployments:
            runner.add_deployment(deployment)
        out(f"Serving {len(runner_deployments)} deployment(s); Ctrl-C stops:")
        for deployment in runner_deployments:
            out(_describe(deployment))
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(runner.start())


def serve_command(
    config_path: str | None,
    host: str = "127.0.0.1",
    port: int = DEFAULT_REPORTS_PORT,
    ui_port: int = DEFAULT_UI_PORT,
    *,
    deployments: str | None = None,
) -> int:
    """What ``stackcast serve`` runs; returns the exit code (0 after a clean shutdown).

    Args:
        config_path: TOML config (default ``configs/default.toml``).
        host: Interface both servers bind.
        port: Report server port (0: free).
        ui_port: Prefect server/UI port (0: free).
        deployments: ``MODULE:FUNCTION`` returning the deployments for a config, instead of
            the stackcast flows (for tests and extensions).

    Raises:
        UserError: bad config, taken port, server not ready (the CLI maps it to exit 2).
    """
    cfg = load_config(config_path)
    specs = load_deployments(deployments, cfg) if deployments else None
    serve(cfg, host=host, port=port, ui_port=ui_port, deployments=specs, config_path=config_path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m stackcast.pipeline.orchestration.serve``: the same as ``stackcast serve``."""
    parser = argparse.ArgumentParser(
        prog="python -m stackcast.pipeline.orchestration.serve",
        description="Start Prefect, serve the stackcast deployments and the reports.",
    )
    parser.add_argument("--config", help="TOML config file (default configs/default.toml)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_REPORTS_PORT, help="report server port (0: free)"
    )
    parser.add_argument(
        "--ui-port", type=int, default=DEFAULT_UI_PORT, help="Prefect UI/API port (0: free)"
    )
    parser.add_argument("--deployments", help="MODULE:FUNCTION returning deployments (tests)")
    args = parser.parse_args(argv)
    try:
        return serve_command(
            args.config, args.host, args.port, args.ui_port, deployments=args.deployments
        )
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    # Run the importable module's main, so what it uses are the same objects that other
    # modules import from stackcast.pipeline.orchestration.serve (not copies in __main__).
    from stackcast.pipeline.orchestration.serve import main as _main

    sys.exit(_main())
