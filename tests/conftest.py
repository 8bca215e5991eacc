"""Shared fixtures: an isolated STACKCAST_HOME per test, offline and quiet."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import stackcast.pipeline as pipeline  # noqa: F401  (loads curl_cffi before any test imports TensorFlow)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"


@pytest.fixture(autouse=True)
def _home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("STACKCAST_HOME", str(home))
    return home


@pytest.fixture
def home(_home: Path) -> Path:
    """The test's private STACKCAST_HOME."""
    return _home
