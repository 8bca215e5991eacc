"""Shared fixtures: an isolated STACKCAST_HOME per test, offline and quiet."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import stackcast.pipeline as pipeline  # noqa: F401  (loads curl_cffi before any test imports TensorFlow)

# One definition of the session-wide Prefect harness fixture, so every module shares one server
# (a module that imported the fixture itself would start and keep its own).
pytest_plugins = ["tests.prefect_support"]

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"


def run_python(
    code: str, *args: str, env: dict[str, str], timeout: int
) -> subprocess.CompletedProcess[str]:
    """Run ``python -c code args...`` in the repository, capturing text output."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_on_jax(
    code: str, *, cold: bool = False, timeout: int = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``run_python`` on the JAX backend; ``cold``: without the persistent compilation cache.

    ``env``: variables set for this run on top of the test's environment.
    """
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(REPO), **(env or {})}
    if cold:
        env.pop("JAX_COMPILATION_CACHE_DIR", None)
    return run_python(code, env=env, timeout=timeout)


def sessions(start: str, periods: int, calendar: str = "XNYS") -> pd.DatetimeIndex:
    """The first ``periods`` trading sessions of ``calendar`` from ``start`` on."""
    from stackcast.features.calendars import trading_calendar

    cal = trading_calendar(calendar)
    days = cal.next_sessions(np.datetime64(start, "D") - np.timedelta64(1, "D"), periods)
    return pd.DatetimeIndex(days.astype("datetime64[ns]"))


@pytest.fixture(autouse=True)
def _home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("STACKCAST_HOME", str(home))
    return home


@pytest.fixture
def home(_home: Path) -> Path:
    """The test's private STACKCAST_HOME."""
    return _home
