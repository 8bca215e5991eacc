"""A throwaway PostgreSQL server for tests, built from the machine's server binaries.

``postgres_bindir`` finds Debian's (or PATH's) ``initdb``, ``pg_ctl``, ``postgres`` and ``psql``;
the ``postgres`` fixture creates a cluster in a temporary folder, listening on 127.0.0.1 and a
free port only, with a ``prefect`` database, and stops and removes it afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.prefect_support import free_port

PG_TOOLS = ("initdb", "pg_ctl", "postgres", "psql")


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
