"""Runs say when they are not what the config asked: stored prices outside `[data] start/end`
are never used, and a backtest that cannot fit the configured folds or `train_size` runs with a
warning on the command line, in the report and in metrics.json."""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from stackcast.pipeline.config import RunConfig
from stackcast.pipeline.data.prices import stored_frame, stored_frames
from stackcast.pipeline.errors import DataError
from stackcast.pipeline.workflows.backtest import make_splits, shrink_warnings

from tests.reliability.helpers import cli, synthetic_prices, tiny_config, write_csv


def sample_config(home: Path, **data: object) -> RunConfig:
    return RunConfig.model_validate(
        {
            "data": {"source": "sample", "tickers": ["MSFT", "GOOG"], **data},
            "paths": {"home": str(home)},
        }
    )


def test_stored_prices_are_cut_to_the_configured_range(home: Path) -> None:
    stored = cli("ingest", "--source", "sample", "--tickers", "MSFT,GOOG")  # all of both
    assert stored.exit_code == 0, stored.stderr
    cfg = sample_config(home, start="2007-01-01", end="2008-06-30")
    frames, warnings = stored_frames(cfg)
    assert warnings == []
    for frame in frames.values():
        assert frame["date"].min() == pd.Timestamp("2007-01-03")  # first session of 2007
        assert frame["date"].max() == pd.Timestamp("2008-06-30")
    assert stored_frame(cfg, "GOOG")["date"].min() == pd.Timestamp("2007-01-03")

    # GOOG's stored file ends in 2008: with start = 2010 it is left out, never used instead
    later = sample_config(home, start="2010-01-01")
    frames, warnings = stored_frames(later)
    assert list(frames) == ["MSFT"] and frames["MSFT"]["date"].min() >= pd.Timestamp("2010-01-01")
    assert warnings == [
        "GOOG: no stored prices on or after 2010-01-01 (stored 2004-08-19..2008-10-14); left out"
    ]
    with pytest.raises(DataError) as info:
        stored_frames(later.with_overrides(tickers=("GOOG",)))
    assert str(info.value) == (
        "no prices of GOOG on or after 2010-01-01 (stored: GOOG 2004-08-19..2008-10-14): "
        "ingest it or change [data] start/end"
    )
    with pytest.raises(DataError, match="GOOG: no stored prices on or after 2010-01-01"):
        stored_frame(later, "GOOG")


def test_shrink_warnings_say_what_the_data_allows() -> None:
    calendar = pd.bdate_range("2020-01-01", periods=300).to_numpy().astype("datetime64[D]")
    cfg = RunConfig.model_validate(
        {"backtest": {"folds": 6, "test_size": 42, "train_size": 1500, "mode": "rolling"}}
    )
    splits = make_splits(cfg, calendar)
    # H = embargo = 5, min_train 100: a test block starting at f trains on f - 10 dates
    assert [s.n_train for s in splits] == [122, 164, 206, 248]
    assert shrink_warnings(cfg, splits, calendar, 6) == [
        "the data allows 4 of the 6 folds asked for ([backtest] folds; 300 origin dates, "
        "2020-01-01..2021-02-23, test_size 42)",
        "training windows shorter than [backtest] train_size = 1500 origin dates (fold 1: 122, "
        "fold 2: 164, fold 3: 206, fold 4: 248; 300 origin dates, 2020-01-01..2021-02-23)",
    ]
    fits = RunConfig.model_validate({"backtest": {"folds": 4, "test_size": 42, "train_size": 100}})
    assert shrink_warnings(fits, make_splits(fits, calendar), calendar, 4) == []
    expanding = RunConfig.model_validate(
        {"backtest": {"folds": 4, "test_size": 42, "train_size": 1500, "mode": "expanding"}}
    )  # train_size is a rolling window's size only
    assert shrink_warnings(expanding, make_splits(expanding, calendar), calendar, 4) == []
    assert np.datetime64(_dt.date(2021, 2, 23)) == calendar[-1]


@pytest.mark.slow
def test_a_shrunk_backtest_warns_in_the_cli_report_and_metrics(tmp_path: Path) -> None:
    csv = write_csv(tmp_path / "prices.csv", synthetic_prices(("AAA",), n=300))
    config = tmp_path / "shrunk.toml"
    text = tiny_config(csv, ("AAA",)).replace("folds = 1", "folds = 5")
    config.write_text(text.replace("test_size = 40", "test_size = 60"), encoding="utf-8")
    out = tmp_path / "run"
    result = cli("backtest", "-c", config, "--out", out)
    assert result.exit_code == 0, result.stderr
    lines = [x for x in result.stderr.splitlines() if x.startswith("warning: ")]
    folds = [x for x in lines if "of the 5 folds asked for" in x]
    windows = [x for x in lines if "shorter than [backtest] train_size = 300" in x]
    assert len(folds) == 1 and len(windows) == 1, result.stderr
    ran = len(json.loads((out / "metrics.json").read_text())["folds"])
    assert f"the data allows {ran} of the 5 folds" in folds[0] and 1 <= ran < 5
    warnings = json.loads((out / "metrics.json").read_text())["run"]["warnings"]
    report = (out / "report.html").read_text(encoding="utf-8")
    for line in (folds[0], windows[0]):
        text = line.removeprefix("warning: ")
        assert text in warnings
        assert text.replace("[", "&#91;").replace("]", "&#93;") in report or text in report
