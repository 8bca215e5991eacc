"""Fixtures of the reliability suite: tiny synthetic prices and one tiny trained champion.

The champion is trained once per session in-process (TensorFlow imported once, about 6 s) into
a template home; tests that need it copy the template into their own STACKCAST_HOME.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.reliability.helpers import synthetic_prices, tiny_config, write_csv


@dataclass(frozen=True)
class Trained:
    """A template home with prices (AAA, BBB) and champion ``tiny`` v0001."""

    home: Path
    csv: Path

    def config(self, directory: Path, name: str = "tiny.toml", **kwargs: str) -> Path:
        """A tiny config over the template's CSV, written to ``directory``."""
        path = directory / name
        path.write_text(tiny_config(self.csv, **kwargs), encoding="utf-8")
        return path

    def copy_to(self, home: Path) -> Path:
        shutil.copytree(self.home, home, dirs_exist_ok=True)
        return home


@pytest.fixture(scope="session")
def tiny_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """AAA and BBB, 500 business days of OHLCV."""
    return write_csv(tmp_path_factory.mktemp("data") / "prices.csv", synthetic_prices())


@pytest.fixture(scope="session")
def trained(tiny_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Trained:
    from stackcast.pipeline.environment import quiet_tensorflow

    quiet_tensorflow()
    from stackcast.pipeline.config import parse_config
    from stackcast.pipeline.workflows.training import retrain

    home = tmp_path_factory.mktemp("trained")
    cfg = parse_config(tiny_config(tiny_csv, home=home))
    result = retrain(cfg)
    assert result.promoted and result.challenger.version == "v0001"
    return Trained(home, tiny_csv)


@pytest.fixture
def champion_home(home: Path, trained: Trained) -> Path:
    """This test's STACKCAST_HOME holding a copy of the trained template."""
    return trained.copy_to(home)
