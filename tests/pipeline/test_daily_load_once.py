"""The daily run loads the champion once per process for every ticker it forecasts."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from stackcast.pipeline.config import RunConfig
from stackcast.pipeline.workflows import daily


def test_one_load_per_version_files_and_settings(tmp_path: Path, monkeypatch) -> None:
    calls: list[Path] = []

    def load_version(directory, cfg, panel):
        calls.append(directory)
        return object(), {"seen_until": "2008-10-01"}

    monkeypatch.setattr(daily, "load_version", load_version)
    monkeypatch.setattr(daily, "_LOADED", {})
    version = tmp_path / "v0001"
    version.mkdir()
    (version / "meta.json").write_text("{}", encoding="utf-8")
    (version / "model.keras").write_bytes(b"weights")
    cfg = RunConfig()
    panel = SimpleNamespace(feature_names=["log_return", "range"])

    first, meta = daily.load_once(version, cfg, panel)
    for _ in range(3):  # every ticker of the run
        again, again_meta = daily.load_once(version, cfg, panel)
        assert again is first and again_meta == meta and again_meta is not meta
    assert len(calls) == 1

    (version / "model.keras").write_bytes(b"retrained weights")  # the version's files changed
    assert daily.load_once(version, cfg, panel)[0] is not first
    other = SimpleNamespace(feature_names=["log_return"])  # other inputs: loaded for them
    daily.load_once(version, cfg, other)
    assert len(calls) == 3

    missing = tmp_path / "v0002"  # load_version says why (nothing cached)
    daily.load_once(missing, cfg, panel)
    daily.load_once(missing, cfg, panel)
    assert calls[-2:] == [missing, missing]


def test_a_missing_version_still_says_why(tmp_path: Path) -> None:
    from stackcast.pipeline.errors import StackcastError

    panel = SimpleNamespace(feature_names=["log_return"])
    with pytest.raises(StackcastError, match="incomplete"):
        daily.load_once(tmp_path / "v0009", RunConfig(), panel)
