"""The daily run loads the champion once per process for every ticker it forecasts."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from stackcast.pipeline.config import RunConfig
from stackcast.pipeline.workflows import forecast


def test_one_load_per_version_files_and_settings(tmp_path: Path, monkeypatch) -> None:
    calls: list[Path] = []

    def load_version(directory, cfg, panel):
        calls.append(directory)
        return object(), {"seen_until": "2008-10-01"}

    monkeypatch.setattr(forecast, "load_version", load_version)
    monkeypatch.setattr(forecast, "_LOADED", {})
    version = tmp_path / "v0001"
    version.mkdir()
    (version / "meta.json").write_text("{}", encoding="utf-8")
    (version / "model.keras").write_bytes(b"weights")
    cfg = RunConfig()
    panel = SimpleNamespace(feature_names=["log_return", "range"])

    first, meta = forecast.load_once(version, cfg, panel)
    for _ in range(3):  # every ticker of the run
        again, again_meta = forecast.load_once(version, cfg, panel)
        assert again is first and again_meta == meta and again_meta is not meta
    assert len(calls) == 1

    (version / "model.keras").write_bytes(b"retrained weights")  # the version's files changed
    assert forecast.load_once(version, cfg, panel)[0] is not first
    other = SimpleNamespace(feature_names=["log_return"])  # other inputs: loaded for them
    forecast.load_once(version, cfg, other)
    assert len(calls) == 3

    missing = tmp_path / "v0002"  # load_version says why (nothing cached)
    forecast.load_once(missing, cfg, panel)
    forecast.load_once(missing, cfg, panel)
    assert calls[-2:] == [missing, missing]


def test_a_missing_version_still_says_why(tmp_path: Path) -> None:
    from stackcast.pipeline.errors import StackcastError

    panel = SimpleNamespace(feature_names=["log_return"])
    with pytest.raises(StackcastError, match="incomplete"):
        forecast.load_once(tmp_path / "v0009", RunConfig(), panel)
