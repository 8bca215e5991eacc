"""The Prefect server that ``stackcast serve`` starts: launching it, its health, its ports.

``start_prefect_server`` runs ``prefect server start`` as a subprocess in its own session (a
terminal's Ctrl-C does not reach it; on Linux it also gets SIGTERM when its parent dies,
``PR_SET_PDEATHSIG``); ``wait_for_health`` polls ``/api/health`` until it answers;
``free_port`` and ``check_port_free`` pick or check its port beforehand.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stackcast.pipeline.errors import UserError

READY_TIMEOUT = 120.0
_WILDCARDS = {"", "0.0.0.0", "::"}


def client_host(host: str) -> str:
    """The address a client on this machine uses for a server bound to ``host``."""
    return "127.0.0.1" if host in _WILDCARDS else host


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def health_ok(api_url: str, timeout: float = 2.0) -> bool:
    """Whether ``{api_url}/health`` answers 200."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    try:
        with opener.open(api_url.rstrip("/") + "/health", timeout=timeout) as resp:
            return resp.status == 200
    except (OSError, ValueError):
        return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def wait_for_health(
    api_url: str,
    timeout: float = READY_TIMEOUT,
    proc: subprocess.Popen[bytes] | None = None,
    log_path: Path | None = None,
) -> float:
    """Poll the API's health endpoint until it answers; return the seconds waited.

    Raises:
        UserError: the server process exited, or ``timeout`` passed (with the log's tail).
    """
    start = time.monotonic()
    while True:
        where = f"\n--- {log_path} (last lines) ---\n{_tail(log_path)}" if log_path else ""
        if proc is not None and proc.poll() is not None:
            raise UserError(f"the Prefect server exited with code {proc.returncode}{where}")
        if health_ok(api_url):
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise UserError(
                f"the Prefect server at {api_url} was not ready after {timeout:.0f} s{where}"
            )
        time.sleep(0.25)


def _pdeathsig() -> Callable[[], None] | None:
    """A pre-exec hook that makes the child get SIGTERM when this process dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1

    def hook() -> None:
        prctl(pr_set_pdeathsig, int(signal.SIGTERM), 0, 0, 0)

    return hook


@dataclass
class PrefectServer:
    """A ``prefect server start`` subprocess started by ``serve``."""

    proc: subprocess.Popen[bytes]
    api_url: str
    log_path: Path

    @property
    def ui_url(self) -> str:
        """The UI's address."""
        return self.api_url.removesuffix("/api")

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM the server, SIGKILL it after ``timeout``; return its exit code."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                self.proc.wait(timeout)
        return self.proc.returncode


def start_prefect_server(
    host: str, port: int, prefect_home: Path, log_path: Path, env: dict[str, str] | None = None
) -> PrefectServer:
    """Start ``prefect server start --host HOST --port PORT`` (not waiting for it).

    The server gets its own session (Ctrl-C in a terminal does not reach it), analytics
    off, ``PREFECT_HOME=prefect_home`` and, unless set, ``PREFECT_UI_API_URL``; its output goes
    to ``log_path``.
    """
    api_url = f"http://{_url_host(client_host(host))}:{port}/api"
    child_env = dict(os.environ if env is None else env)
    child_env.pop("PREFECT_API_URL", None)
    child_env["PREFECT_HOME"] = str(prefect_home)
    child_env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    child_env.setdefault("PREFECT_UI_API_URL", api_url)
    prefect_home.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "prefect", "server", "start", "--host", host, "--port", str(port)]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_pdeathsig(),  # a single prctl call, safe after fork
        )
    return PrefectServer(proc, api_url, log_path)


def free_port(host: str) -> int:
    """A TCP port on ``host`` that is free now (the operating system picks it)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def check_port_free(host: str, port: int) -> None:
    """Fail early when the Prefect port is taken (by an older server, say)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            url = f"http://{_url_host(client_host(host))}:{port}/api"
            raise UserError(
                f"port {port} is in use; if a Prefect server runs there, use it with "
                f"PREFECT_API_URL={url}, or choose another --ui-port"
            ) from None
