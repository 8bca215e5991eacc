"""Files damaged behind stackcast's back (truncated copies, hand edits): every command that
meets one ends with one clear error (exit 2) naming the file, and writes nothing, or heals the
damage by refetching or retraining."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.conftest import Trained
from tests.reliability.helpers import assert_clean_error, cli, snapshot

V1 = Path("models/tiny/v0001")


def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 3])
    elif how == "garbage":
        path.write_bytes(b"\x00\xff not what it was \xfe" * 10)
    else:
        path.write_text(how, encoding="utf-8")


@pytest.mark.parametrize(
    ("target", "how", "words"),
    [
        (V1 / "model.keras", "truncate", ("model.keras is not a .keras archive",)),
        (V1 / "model.keras", "garbage", ("model.keras is not a .keras archive",)),
        (V1 / "meta.json", '{"features": [', ("meta.json is not valid JSON",)),
        (V1 / "meta.json", "[1, 2]", ("meta.json is not an object",)),
        (Path("models/tiny/champion.json"), '{"vers', ("champion.json is unreadable",)),
        (Path("models/tiny/champion.json"), '{"version": "v0042"}', ("missing version",)),
        (Path("models/tiny/champion.json"), '["v0001"]', ("champion.json is unreadable",)),
        (Path("models/tiny/champion.json"), '{"version": "../v0001"}', ("missing version",)),
        (Path("ledger.parquet"), "garbage", ("cannot read the ledger",)),
    ],
)
def test_a_damaged_file_is_one_clear_error(
    target: Path, how: str, words: tuple[str, ...], champion_home: Path, trained: Trained,
    tmp_path: Path,
) -> None:  # fmt: skip
    config = trained.config(tmp_path)
    if target.name == "ledger.parquet":
        assert cli("run", "-c", config).exit_code == 0  # a ledger to damage
    damage(champion_home / target, how)
    before = snapshot(champion_home)
    result = cli("run", "-c", config)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert_clean_error(result.stdout, result.stderr, *words)
    assert snapshot(champion_home) == before


def test_a_damaged_champion_is_replaced_by_the_next_training(
    champion_home: Path, trained: Trained, tmp_path: Path
) -> None:
    damage(champion_home / V1 / "model.keras", "truncate")
    config = trained.config(tmp_path)
    result = cli("train", "-c", config)
    assert result.exit_code == 0, result.stderr
    assert "promoted to champion: champion v0001 cannot be scored" in result.stdout
    assert "damaged" in result.stdout
    result = cli("run", "-c", config)
    assert result.exit_code == 0, result.stderr
