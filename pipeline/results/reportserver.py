"""A small read-only HTTP server for the reports under STACKCAST_HOME.

Prefect's UI cannot open ``file://`` links, so link artifacts point at this server instead
(``http://127.0.0.1:<port>/runs/<run_id>/report.html``). It serves GET and HEAD only, binds
127.0.0.1 unless told otherwise, confines every request to the home directory after
resolving symlinks, and never serves hidden entries (``.staging-*`` runs, lock and temporary
files) or the ``prefect/`` directory (Prefect's database and profiles).
"""

from __future__ import annotations

import contextlib
import http.server
import io
import logging
import os
import socket
import threading
import urllib.parse
from functools import partial
from pathlib import Path

log = logging.getLogger(__name__)

REPORTS_URL_ENV = "STACKCAST_REPORTS_URL"
PRIVATE_DIRS = frozenset({"prefect"})
_WILDCARDS = {"", "0.0.0.0", "::"}


def is_public(relative: Path) -> bool:
    """Whether a path relative to the home may be served (no hidden or private parts)."""
    parts = relative.parts
    if any(p.startswith(".") for p in parts):
        return False
    if parts and parts[0] in PRIVATE_DIRS:
        return False
    return not relative.name.endswith((".lock", ".tmp"))


class ReportRequestHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files under ``directory``; 404 for anything outside it or not public."""

    server_version = "stackcast-reports"
    extensions_map = {  # noqa: RUF012 (the base class defines it as a plain dict)
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".parquet": "application/vnd.apache.parquet",
        ".json": "application/json",
        ".toml": "text/plain",
    }

    def _confined(self) -> Path | None:
        """The resolved file system path of the request, or None if it must not be served."""
        root = Path(self.directory).resolve()
        raw = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path, errors="strict")
        if "\x00" in raw:
            return None
        parts = [p for p in raw.split("/") if p]
        if any(p in ("..", ".") or "\\" in p for p in parts):
            return None
        target = root.joinpath(*parts).resolve()
        try:
            relative = target.relative_to(root)
        except ValueError:
            return None
        return target if is_public(relative) else None

    def send_head(self):  # noqa: D102 (same contract as the base class)
        try:
            target = self._confined()
        except (UnicodeDecodeError, ValueError):
            target = None
        if target is None or not target.exists():
            self.send_error(404, "Not found")
            return None
        return super().send_head()

    def list_directory(self, path: str | os.PathLike[str]) -> io.BytesIO | None:
        """A listing of a directory inside the home, without hidden or private entries."""
        root = Path(self.directory).resolve()
        here = Path(path).resolve()
        try:
            names = sorted(os.listdir(here), key=str.lower)
        except OSError:
            self.send_error(404, "Not found")
            return None
        shown = [n for n in names if is_public((here / n).relative_to(root))]
        rel = here.relative_to(root).as_posix()
        title = "/" if rel == "." else f"/{rel}/"
        items = "".join(
            f'<li><a href="{urllib.parse.quote(n)}{"/" if (here / n).is_dir() else ""}">'
            f"{_escape(n)}</a></li>"
            for n in shown
        )
        body = (
            f"<!doctype html><meta charset='utf-8'><title>{_escape(title)}</title>"
            f"<h1>{_escape(title)}</h1><ul>{items}</ul>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def end_headers(self) -> None:  # noqa: D102
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-Content-Type-Options", "nosniff")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: D102
        log.debug("%s - %s", self.address_string(), format % args)


def _escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)


class ReportServer(http.server.ThreadingHTTPServer):
    """A threaded HTTP server whose request threads never block process exit."""

    daemon_threads = True

    def __init__(self, home: Path, host: str, port: int) -> None:
        if ":" in host:
            self.address_family = socket.AF_INET6
        handler = partial(ReportRequestHandler, directory=str(Path(home).resolve()))
        super().__init__((host, port), handler)
        self.home = Path(home).resolve()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        """Serve requests from a daemon thread (the socket is already bound)."""
        self.thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="stackcast-report-server",
            daemon=True,
        )
        self.thread.start()

    @property
    def url(self) -> str:
        """Base URL (ends in ``/``); wildcard binds are reported as loopback."""
        host, port = self.server_address[:2]
        if host in _WILDCARDS:
            host = "127.0.0.1" if self.address_family == socket.AF_INET else "::1"
        shown = f"[{host}]" if ":" in str(host) else str(host)
        return f"http://{shown}:{port}/"


def start_report_server(
    home: Path | str, host: str = "127.0.0.1", port: int = 0
) -> tuple[ReportServer, str]:
    """Serve ``home`` read-only in a background thread.

    Args:
        home: STACKCAST_HOME (created if missing).
        host: Interface to bind; loopback by default.
        port: TCP port; 0 picks a free one.

    Returns:
        ``(server, url)``; ``url`` is the base URL ending in ``/``. Stop with
        ``stop_report_server(server)``.

    Raises:
        OSError: the port is taken or the host cannot be bound.
    """
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    server = ReportServer(home, host, port)
    server.start()
    return server, server.url


def stop_report_server(server: ReportServer, timeout: float = 5.0) -> None:
    """Stop a server started by ``start_report_server`` and close its socket.

    Safe on a server whose serving thread never started (``shutdown`` alone would block).
    """
    if server.thread is not None and server.thread.is_alive():
        with contextlib.suppress(Exception):
            server.shutdown()
        server.thread.join(timeout)
    server.server_close()


def link_for(home: Path | str, path: Path | str, base_url: str | None = None) -> str | None:
    """The http URL of a file under ``home`` on the report server.

    Args:
        home: STACKCAST_HOME.
        path: A file inside ``home`` (absolute, or relative to ``home``).
        base_url: The server's base URL; default ``$STACKCAST_REPORTS_URL`` (set by
            ``stackcast serve`` for the flow runs it starts).

    Returns:
        The URL, or None when no server URL is known or the file is not servable.
    """
    base = base_url or os.environ.get(REPORTS_URL_ENV)
    if not base:
        return None
    root = Path(home).resolve()
    target = (root / path).resolve()
    try:
        relative = target.relative_to(root)
    except ValueError:
        return None
    if not is_public(relative):
        return None
    return base.rstrip("/") + "/" + urllib.parse.quote(relative.as_posix())
