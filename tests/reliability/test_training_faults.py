"""Training faults: non-finite inputs are refused before training; a diverging fit ends with
one clear error (``TrainingFailed``, exit 2) and leaves the champion and the registry as they
were; a rerun of a day replaces its ledger rows instead of adding duplicates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import stackcast.pipeline.cli.commands
from stackcast.pipeline.config import RunConfig, load_config
from stackcast.pipeline.data.store import PriceStore
from stackcast.pipeline.errors import DataError
from stackcast.pipeline.results import ledger, registry

from tests.conftest import sessions
from tests.reliability.conftest import Trained
from tests.reliability.helpers import assert_clean_error, check_home, cli, digest, tiny_config

CHAMPION = Path("models/tiny/champion.json")


def with_learning_rate(cfg: RunConfig, lr: float) -> RunConfig:
    """``cfg`` with a learning rate the config file cannot hold (pydantic caps it at 10)."""
    return cfg.model_copy(update={"train": cfg.train.model_copy(update={"learning_rate": lr})})


def published(home: Path) -> list[str]:
    return registry.versions(home, "tiny")


def hidden_leftovers(home: Path) -> list[str]:
    return [p.name for p in (home / "models" / "tiny").iterdir() if p.name.startswith(".staging")]


def test_nan_loss_is_one_clear_error_and_the_champion_is_untouched(
    champion_home: Path, trained: Trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = trained.config(tmp_path)
    diverging = with_learning_rate(load_config(path), 1e38)  # the loss is NaN in epoch 1
    monkeypatch.setattr(stackcast.pipeline.cli.commands, "load_run_config", lambda _: diverging)
    champion = (champion_home / CHAMPION).read_bytes()

    result = cli("train", "-c", path)

    assert result.exit_code == 2, result.stderr
    assert_clean_error(result.stdout, result.stderr, "training diverged", "NaN", "learning_rate")
    assert (champion_home / CHAMPION).read_bytes() == champion
    assert published(champion_home) == ["v0001"]
    assert hidden_leftovers(champion_home) == []
    check_home(champion_home)


@dataclass(frozen=True)
class Exploded:
    home: Path
    champion_before: bytes
    result: Any


@pytest.fixture(scope="module")
def exploded(trained: Trained, tmp_path_factory: pytest.TempPathFactory) -> Exploded:
    """``stackcast train`` with learning_rate 10 (the most a config allows) and a gradient-norm
    limit of 1 (about a healthy fit's norm before clipping), run once."""
    home = trained.copy_to(tmp_path_factory.mktemp("exploded"))
    path = trained.config(
        home.parent,
        "explode.toml",
        train='learning_rate = 10.0\nloss = "mse"\nexplode_threshold = 1.0\n',
    )
    before = (home / CHAMPION).read_bytes()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STACKCAST_HOME", str(home))
        result = cli("train", "-c", path)
    return Exploded(home, before, result)


def test_exploding_gradients_fail_the_training_and_keep_the_champion(exploded: Exploded) -> None:
    """Gradient norms still explode at the end of the fit: one clear error, exit 2.

    Nothing is published: champion.json is byte-identical and no new version appears.
    """
    result = exploded.result
    assert result.exit_code == 2, result.stderr
    assert_clean_error(result.stdout, result.stderr, "exploding gradients", "learning_rate")
    assert (exploded.home / CHAMPION).read_bytes() == exploded.champion_before
    assert published(exploded.home) == ["v0001"]
    check_home(exploded.home)


def test_a_price_spike_that_would_overflow_returns_is_refused_before_training(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """close 1e300 after 1e-300: both finite and positive, their ratio is inf in float64."""
    import stackcast.models.engine

    def tripwire(*args: object, **kwargs: object) -> None:
        raise AssertionError("training started")

    monkeypatch.setattr(stackcast.models.engine, "run_fold", tripwire)
    dates = sessions("2020-01-01", periods=300)
    close = np.full(300, 100.0)
    close[150], close[151] = 1e-300, 1e300
    csv = tmp_path / "AAA.csv"
    pd.DataFrame({"date": dates, "close": close}).to_csv(csv, index=False)
    config = tmp_path / "spike.toml"
    config.write_text(tiny_config(csv, ("AAA",)), encoding="utf-8")
    result = cli("train", "-c", config)
    assert result.exit_code == 2, result.stderr
    assert_clean_error(result.stdout, result.stderr, "no ticker could be ingested: AAA")
    assert "plausible range" in result.stderr  # the ingest line says which bar and why
    assert not (home / "models").exists()
    assert not (home / "prices" / "AAA.parquet").exists()


def test_damaged_stored_prices_are_refused_then_healed(
    champion_home: Path, trained: Trained, tmp_path: Path
) -> None:
    """A store file changed behind stackcast's back (NaN close) never reaches a model."""
    config = trained.config(tmp_path)
    made = cli("train", "-c", config, "--as-of", "2021-06-30")  # a model for the replay
    assert made.exit_code == 0, made.stderr
    path = champion_home / "prices" / "AAA.parquet"
    frame = pd.read_parquet(path)
    frame.loc[400, "close"] = np.nan
    frame.to_parquet(path, index=False)
    with pytest.raises(DataError, match="damaged"):
        PriceStore(champion_home).read("AAA")

    result = cli("run", "-c", config, "--as-of", "2021-06-30")  # replays use the store as is
    assert result.exit_code == 1, result.stderr  # one ticker not forecast; the other is
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("warning: AAA")]
    assert "damaged" in line and "ingest again" in line
    assert set(ledger.read(champion_home / "as-of")["ticker"]) == {"BBB"}  # a what-if run
    again = cli("train", "-c", config, "--as-of", "2021-06-30")  # training refuses it too
    assert again.exit_code == 2, again.stderr
    assert_clean_error(again.stdout, again.stderr, "AAA", "damaged", "ingest again")

    result = cli("ingest", "-c", config)  # the next ingest refetches the whole history
    assert result.exit_code == 0, result.stderr
    assert "refetching the full history" in result.stderr
    assert np.isfinite(PriceStore(champion_home).read("AAA")["close"]).all()


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_the_panel_refuses_non_finite_inputs() -> None:
    """Last line of defence, in features: a NaN input never reaches the network."""
    from stackcast.features.config import FeatureConfig
    from stackcast.features.panel import build_panel

    frame = pd.DataFrame(
        {"date": sessions("2020-01-01", periods=60), "close": np.linspace(10, 20, 60)}
    )
    frame.loc[30:31, "close"] = [1e-300, 1e300]  # finite prices, an infinite return
    cfg = FeatureConfig(window=16, horizons=2, min_history=8, inputs=("log_return",))
    with pytest.raises(ValueError, match="AAA: non-finite input on 2020-02-18"):
        build_panel({"AAA": frame}, cfg)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_a_panel_refusal_reaches_the_user_as_bad_data(trained: Trained, tmp_path: Path) -> None:
    from stackcast.pipeline.workflows.training import build

    frame = pd.DataFrame(
        {"date": sessions("2020-01-01", periods=60), "close": np.linspace(10, 20, 60)}
    )
    frame.loc[30:31, "close"] = [1e-300, 1e300]
    with pytest.raises(DataError):
        build(load_config(trained.config(tmp_path)), {"AAA": frame})


def test_rerunning_a_day_replaces_its_ledger_rows(
    champion_home: Path, trained: Trained, tmp_path: Path
) -> None:
    config = trained.config(tmp_path)
    first = cli("run", "-c", config)
    assert first.exit_code == 0, first.stderr
    book = ledger.read(champion_home)
    assert len(book) == 4  # 2 tickers x 2 horizons
    assert "ledger: 4 new rows, 0 replaced" in first.stdout

    again = cli("run", "-c", config)
    assert again.exit_code == 0, again.stderr
    assert "ledger: 0 new rows, 4 replaced" in again.stdout
    book2 = ledger.read(champion_home)
    assert len(book2) == 4
    cols = ["ticker", "origin", "horizon", "y_pred", "price_pred"]
    pd.testing.assert_frame_equal(book[cols], book2[cols])  # same day, same forecasts

    made = cli("train", "-c", config, "--as-of", "2021-06-30")  # a model that saw no later price
    assert made.exit_code == 0, made.stderr
    replay = cli("run", "-c", config, "--as-of", "2021-06-30")  # an earlier day, twice
    assert replay.exit_code == 0, replay.stderr
    replay2 = cli("run", "-c", config, "--as-of", "2021-06-30")
    assert replay2.exit_code == 0, replay2.stderr
    assert len(ledger.read(champion_home)) == 4  # what-if runs never reach the live ledger
    whatif = champion_home / "as-of"
    assert len(ledger.read(whatif)) == 4  # the same past day twice: replaced, not added
    assert check_home(champion_home) == [] and check_home(whatif) == []
    for where, count in ((champion_home, 2), (whatif, 2)):
        runs = [p for p in (where / "runs").iterdir() if "-daily-" in p.name and p.name[0] != "."]
        assert len(runs) == count
        assert all(json.loads((r / "metrics.json").read_text())["ledger"] for r in runs)
    assert digest(champion_home / CHAMPION) == digest(trained.home / CHAMPION)
