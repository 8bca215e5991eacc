"""Unit tests of the bugs the reliability work found and fixed (one test per fix)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from stackcast.models.config import MAX_SEED
from stackcast.pipeline.cli.app import print_ingest_table
from stackcast.pipeline.config import load_config, parse_config
from stackcast.pipeline.data.store import PriceStore
from stackcast.pipeline.data.validate import (
    MAX_PRICE,
    MIN_PRICE,
    PriceValidationError,
    validate_prices,
)
from stackcast.pipeline.errors import ConfigError, DataError


def test_the_ingest_table_of_no_results_prints_its_header(
    capsys: pytest.CaptureFixture[str],
) -> None:
    print_ingest_table([])  # was: TypeError from max() of one argument
    assert capsys.readouterr().out.split() == [
        "ticker", "status", "added", "first", "last", "rows", "note"
    ]  # fmt: skip


def test_prices_must_lie_in_the_plausible_range() -> None:
    dates = pd.bdate_range("2024-01-01", periods=4).strftime("%Y-%m-%d")
    ok = pd.DataFrame({"date": dates, "close": [MIN_PRICE, 1.0, 1e6, MAX_PRICE]})
    frame, warnings = validate_prices(ok, "AAA")
    assert len(frame) == 4 and warnings  # absurd jumps warn, but the values are accepted
    for bad in (MIN_PRICE / 10, 5e-324, MAX_PRICE * 10):
        raw = ok.assign(close=[1.0, bad, 1.0, 1.0])
        with pytest.raises(PriceValidationError, match="outside the plausible range"):
            validate_prices(raw, "AAA")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda f: f.assign(close=f["close"].where(f.index != 3, np.nan)), "close nan"),
        (lambda f: f.assign(close=f["close"].where(f.index != 3, -1.0)), "close -1"),
        (lambda f: f.assign(volume=f["volume"].where(f.index != 3, np.inf)), "volume inf"),
        (lambda f: pd.concat([f, f.iloc[[2]]]), "not unique and increasing"),
        (lambda f: f.iloc[::-1], "not unique and increasing"),
        (lambda f: f.assign(date=f["date"].where(f.index != 1)), "missing dates"),
    ],
)
def test_a_damaged_store_file_is_refused(home: Path, change, words: str) -> None:
    store = PriceStore(home)
    good = pd.DataFrame(
        {
            "date": pd.bdate_range("2024-01-01", periods=6),
            "ticker": "AAA",
            "close": np.arange(1.0, 7.0),
            "volume": 10.0,
        }
    )
    store.write("AAA", good)
    store.read("AAA")
    change(good).to_parquet(store.path("AAA"), index=False)
    with pytest.raises(DataError, match=f"AAA: stored prices are damaged .*{words}"):
        store.read("AAA")


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes("\ufeffname = 'bom'\n".encode())
    assert load_config(path).name == "bom"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[train]\nepochs = true\n", "key 'train.epochs': expected a number, got the boolean true"),
        ("[train]\nlearning_rate = '0.1'\n", "key 'train.learning_rate': expected a number"),
        ("[model]\nlayers = [{units = '8'}]\n", "key 'model.layers.0.units': expected a number"),
        (
            "[model]\nlayers = [{bidirectional = 'yes'}]\n",
            "key 'model.layers.0.bidirectional': expected a boolean",
        ),
        ("[features]\nmask_value = -inf\n", "key 'features.mask_value': must be a finite"),
        ("[train]\nclipnorm = inf\n", "key 'train.clipnorm': must be a finite number"),
        (
            f"[train]\nseed = {MAX_SEED + 1}\n",
            "key 'train.seed': Input should be less than or equal to",
        ),
    ],
)
def test_config_values_of_the_wrong_type_or_not_finite_are_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "x.toml")
    assert str(info.value).startswith(f"x.toml: {message}")


def test_valid_configs_still_load() -> None:
    for name in ("default", "demo"):
        load_config(Path(__file__).resolve().parents[2] / "configs" / f"{name}.toml")
    cfg = parse_config("[data]\nstart = 2020-01-02\n[train]\nlearning_rate = 1\nseed = 0\n")
    assert cfg.data.start == dt.date(2020, 1, 2) and cfg.train.learning_rate == 1.0


def test_a_directory_source_is_named_as_such(tmp_path: Path) -> None:
    from stackcast.pipeline.data.sources import parse_source

    (tmp_path / "x.csv").mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        parse_source(str(tmp_path / "x.csv"))


@pytest.mark.filterwarnings("ignore:overflow encountered in exp:RuntimeWarning")
def test_a_forecast_whose_price_overflows_is_not_published(home: Path) -> None:
    """A diverged model's return of 1e18 gives price_pred = inf: refuse it, keep the ledger."""
    from stackcast.pipeline.results import ledger

    rows = pd.DataFrame(
        {
            "ticker": ["AAA"],
            "origin": pd.Timestamp("2024-01-02"),
            "horizon": [1],
            "target_date": pd.Timestamp("2024-01-03"),
            "y_pred": [1.2e18],
            "origin_close": [100.0],
            "model_name": "tiny",
            "model_version": "v0001",
            "run_id": "r",
        }
    )
    with pytest.raises(DataError, match="non-finite price_pred"):
        ledger.append(home, rows)
    assert not (home / "ledger.parquet").exists()
