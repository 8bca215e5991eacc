"""Bad input through the real command line: CLI flags, config files and data files.

Every case must end with exit 2, exactly one ``error: ...`` line on stderr that names the
problem, no traceback anywhere, and STACKCAST_HOME unchanged (sha256 of every file before and
after; zero-byte lock files aside). Cases that reach ``train``/``backtest``/``run`` must fail
before any training: the engine's ``run_fold`` is replaced by a tripwire.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from stackcast.pipeline.data.store import PriceStore

from tests.reliability.bad_config_cases import CONFIG_CASES
from tests.reliability.bad_data_cases import DATA_CASES, TRAINING_CASES
from tests.reliability.bad_flag_cases import FLAG_CASES
from tests.reliability.bad_input_files import Case, Files
from tests.reliability.helpers import assert_clean_error, cli, cli_subprocess, snapshot


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    return Files(tmp_path_factory.mktemp("inputs"))


@pytest.fixture(scope="module")
def seeded(files: Files, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home holding a good state: AAA, BBB (500 bars), CCC (5 bars), DDD (1 bar)."""
    from stackcast.pipeline.config import parse_config
    from stackcast.pipeline.data.ingest import ingest

    home = tmp_path_factory.mktemp("seeded")
    cfg = parse_config(f'[paths]\nhome = "{home}"\n')
    for source in (files.good, files.short, files.one):
        results = ingest(cfg, source=str(source), store=PriceStore(home))
        assert all(r.ok for r in results), results
    return home


@pytest.fixture
def stocked_home(home: Path, seeded: Path) -> Path:
    shutil.copytree(seeded, home, dirs_exist_ok=True)
    return home


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tripwire: any case that reaches model training fails the test (exit 1, not 2)."""
    import stackcast.models.engine

    def tripwire(*args: object, **kwargs: object) -> None:
        raise AssertionError("training started on bad input")

    monkeypatch.setattr(stackcast.models.engine, "run_fold", tripwire)


# id -> (argv built from the files, words the error line must contain)
CASES: dict[str, tuple[Case, tuple[str, ...]]] = {
    **CONFIG_CASES,
    **FLAG_CASES,
    **DATA_CASES,
    **TRAINING_CASES,
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_and_writes_nothing(
    case: str, files: Files, stocked_home: Path, no_training: None
) -> None:
    build, words = CASES[case]
    args = build(files)
    before = snapshot(stocked_home)
    result = cli(*args)
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert_clean_error(result.stdout, result.stderr, *words)
    assert snapshot(stocked_home) == before


def test_at_least_thirty_distinct_cases() -> None:
    assert len(CASES) >= 30


# The real console, in fresh processes: a sample across the three kinds of input.
SUBPROCESS_CASES = [
    "config UTF-16",
    "config is a directory",
    "config missing",
    "ticker with shell characters",
    "data binary garbage parquet",
    "data NaN price",
    "train on a series shorter than min_history",
]


@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_real_console(case: str, files: Files, stocked_home: Path) -> None:
    build, words = CASES[case]
    args = build(files)
    if case == "config UTF-16":
        args[0] = "train"
    if case == "config is a directory":
        args[0] = "backtest"
    before = snapshot(stocked_home)
    proc = cli_subprocess(*args, env={"STACKCAST_HOME": str(stocked_home)})
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert_clean_error(proc.stdout, proc.stderr, *words)
    assert snapshot(stocked_home) == before
    assert os.environ["STACKCAST_HOME"] == str(stocked_home)
