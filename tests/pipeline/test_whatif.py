"""What-if runs (replay, `run --as-of`, `train --as-of`) write only to their own home: the live
ledger, registry, champion, runs and index stay byte-identical, and the live scoreboard counts
only what production published."""

from __future__ import annotations

import datetime as _dt
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from stackcast.pipeline.config import RunConfig, to_toml
from stackcast.pipeline.errors import ConfigError, StackcastError
from stackcast.pipeline.results import ledger, registry, whatif

from tests.pipeline.test_replay import cfg_for, ingested
from tests.reliability.helpers import cli, error_lines, snapshot


def live_files(home: Path) -> dict[str, str]:
    """sha256 of every file of the live home, what-if homes left out."""
    return {k: v for k, v in snapshot(home).items() if not k.startswith(("replays/", "as-of/"))}


def fake_version(home: Path, version: str, seen: str, role: str = "as-of") -> Path:
    directory = registry.model_root(home, "tiny") / version
    directory.mkdir(parents=True)
    meta = {"seen_until": seen, "role": role, "version": version}
    (directory / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return directory


def store_prices(home: Path, ticker: str, close: float) -> Path:
    path = home / "prices" / f"{ticker}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame({"date": pd.to_datetime(["2020-01-02"]), "close": [close]})
    tmp = path.with_suffix(".tmp")
    frame.to_parquet(tmp)
    tmp.replace(path)  # as the store writes: a new file, never in place
    return path


def test_what_if_home_snapshots_prices_and_sees_live_versions_read_only(home: Path) -> None:
    cfg = cfg_for(home)
    store_prices(home, "MSFT", 10.0)
    fake_version(home, "v0001", "2008-09-30", role="champion")
    fake_version(home, "v0002", "2008-10-10", role="champion")
    fake_version(home, "v0003", "2008-10-01", role="challenger")  # never published
    before = snapshot(home)
    with whatif.what_if(cfg, "as-of") as inner:
        where = inner.home()
        assert where == home / "as-of" and whatif.live_home(where) == home
        assert pd.read_parquet(where / "prices" / "MSFT.parquet")["close"].tolist() == [10.0]
        assert not (where / "prices" / "GOOG.parquet").exists()  # nothing stored live
        store_prices(home, "MSFT", 99.0)  # a live ingest meanwhile: the snapshot holds
        assert pd.read_parquet(where / "prices" / "MSFT.parquet")["close"].tolist() == [10.0]
        # point in time over both registries; the live one is read in place
        assert registry.version_as_of(where, "tiny", "2008-10-05") == (
            "v0001",
            registry.model_root(home, "tiny") / "v0001",
        )
        with pytest.raises(registry.NoChampion, match="train --as-of 2008-09-29"):
            registry.version_as_of(where, "tiny", "2008-09-29")
        with registry.new_version(where, "tiny") as (version, staging):
            assert version == "v0004"  # numbered after the live versions: one name, one model
            (staging / "meta.json").write_text(
                json.dumps({"seen_until": "2008-10-03", "role": "as-of"}), encoding="utf-8"
            )
        assert registry.version_as_of(where, "tiny", "2008-10-05") == (
            "v0004",
            registry.model_root(where, "tiny") / "v0004",
        )  # saw more than the live v0001
    changed = {k for k, v in live_files(home).items() if before.get(k) != v}
    assert changed == {"prices/MSFT.parquet"}  # only the live ingest above wrote a live file
    with whatif.what_if(cfg, "as-of") as again:  # reused, prices refreshed from live
        assert pd.read_parquet(again.home() / "prices" / "MSFT.parquet")["close"].tolist() == [99.0]
        assert registry.versions(again.home(), "tiny") == ["v0004"]


def test_what_if_home_snapshots_the_covariates_prices_too(home: Path) -> None:
    """A covariate that is not forecast is read from the what-if home's store as well."""
    cfg = cfg_for(home)
    cfg = cfg.model_copy(
        update={"features": cfg.features.model_copy(update={"covariates": ["SPY"]})}
    )
    assert "SPY" not in cfg.data.tickers
    store_prices(home, "SPY", 7.0)
    with whatif.what_if(cfg, "as-of") as inner:
        snapped = inner.home() / "prices" / "SPY.parquet"
        assert pd.read_parquet(snapped)["close"].tolist() == [7.0]


def test_a_failed_what_if_run_leaves_nothing_behind(home: Path, tmp_path: Path) -> None:
    cfg = cfg_for(home)
    store_prices(home, "MSFT", 10.0)
    with pytest.raises(ConfigError, match="boom"), whatif.what_if(cfg, "replay"):
        raise ConfigError("boom")
    assert not (home / "replays").exists()
    mine = tmp_path / "mine"
    mine.mkdir()
    with pytest.raises(ConfigError, match="boom"), whatif.what_if(cfg, "as-of", mine):
        raise ConfigError("boom")
    assert mine.is_dir() and list(mine.iterdir()) == []  # the user's folder, emptied


def test_what_if_homes_refuse_live_places(home: Path, tmp_path: Path) -> None:
    cfg = cfg_for(home)
    store_prices(home, "MSFT", 10.0)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine", encoding="utf-8")
    foreign = tmp_path / "foreign"
    with whatif.what_if(cfg_for(tmp_path / "another-live"), "as-of", foreign):
        pass
    cases = {
        home: "holds the live STACKCAST_HOME",
        home.parent: "holds the live STACKCAST_HOME",
        home / "runs" / "x": "inside the live home's own folders",
        other: "holds other files",
        foreign: "a what-if home of",
    }
    for target, words in cases.items():
        with pytest.raises(StackcastError, match=words), whatif.what_if(cfg, "as-of", target):
            pass
    assert (other / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_home_without_as_of_is_refused(home: Path, tmp_path: Path) -> None:
    config = tmp_path / "tiny.toml"
    config.write_text(to_toml(cfg_for(home)), encoding="utf-8")
    for command in ("run", "train"):
        result = cli(command, "-c", config, "--home", tmp_path / "w")
        assert result.exit_code == 2, result.stderr
        (line,) = error_lines(result.stderr)
        assert "give --as-of too" in line
    assert snapshot(home) == {}


@pytest.mark.slow
def test_replay_and_as_of_runs_leave_production_byte_identical(home: Path, tmp_path: Path) -> None:
    from stackcast.pipeline.workflows.daily import daily_forecast
    from stackcast.pipeline.workflows.replay import replay
    from stackcast.pipeline.workflows.training import retrain

    cfg = ingested(home)  # MSFT and GOOG stored through 2008-10-14

    def until(day: str, where: Path = home) -> RunConfig:
        return cfg_for(where).with_overrides(end=_dt.date.fromisoformat(day))

    assert retrain(until("2008-09-30"), refresh=False).promoted  # champion v0001
    first = daily_forecast(until("2008-10-01"), refresh=False)  # production, origin 10-01
    assert first.home == home and len(ledger.read(home)) == 4
    twin = tmp_path / "twin"  # production without the replay
    shutil.copytree(home, twin)
    before = live_files(home)
    assert {"ledger.parquet", "index.html", "models/tiny/champion.json"} <= set(before)

    result = replay(cfg, _dt.date(2008, 10, 2), _dt.date(2008, 10, 3))
    assert result.home is not None and result.home.parent == home / "replays"
    assert live_files(home) == before  # ledger, champion, every registry file, runs, index
    book = ledger.read(result.home)  # the replay's own ledger: live v0001, read in place
    assert len(book) == 2 * 2 * 2 and set(book["model_version"]) == {"v0001"}
    assert registry.versions(result.home, "tiny") == [] and result.retrains == []
    assert (result.run_dir / "report.html").is_file() and (result.home / "index.html").is_file()

    nxt = daily_forecast(until("2008-10-07"), refresh=False)
    alone = daily_forecast(until("2008-10-07", twin), refresh=False)
    score = nxt.score["by_horizon"]
    assert score["n"].tolist() == [2, 2]  # only production's 10-01 forecasts are realised
    pd.testing.assert_frame_equal(score, alone.score["by_horizon"])

    # `train --as-of` and `run --as-of` on the command line: the same rule
    config = tmp_path / "tiny.toml"
    config.write_text(to_toml(cfg), encoding="utf-8")
    before = live_files(home)
    made = cli("train", "-c", config, "--as-of", "2008-10-02")
    assert made.exit_code == 0, made.stderr
    assert f"what-if home: {home / 'as-of'}" in made.stdout
    ran = cli("run", "-c", config, "--as-of", "2008-10-03")
    assert ran.exit_code == 0, ran.stderr
    assert live_files(home) == before
    assert registry.versions(home / "as-of", "tiny") == ["v0002"]  # after live v0001
    assert set(ledger.read(home / "as-of")["model_version"]) == {"v0002"}
