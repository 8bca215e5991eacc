"""The refit keeps the validated recipe: window rule, epoch count, its own calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from stackcast.pipeline.config import RunConfig
from stackcast.pipeline.workflows.common import build
from stackcast.pipeline.workflows.refit import refit, refit_rows
from stackcast.pipeline.workflows.steps import Steps
from stackcast.pipeline.workflows.training import fit_version

from tests.conftest import SAMPLE
from tests.pipeline.test_replay import TINY


def config(**backtest: object) -> RunConfig:
    """The replay tests' tiny config, rolling over 250 dates, two epochs."""
    train = {**TINY["train"], "epochs": 2}
    window = {**TINY["backtest"], "mode": "rolling", **backtest}
    return RunConfig.model_validate({**TINY, "train": train, "backtest": window})


def prices() -> pd.DataFrame:
    frames = []
    for t in ("MSFT", "GOOG"):
        f = pd.read_csv(SAMPLE / f"{t}.csv", parse_dates=["date"])
        frames.append(f[f["date"] <= "2008-10-14"].assign(ticker=t))
    return pd.concat(frames, ignore_index=True)


def panel_of(cfg: RunConfig):
    from stackcast.pipeline.data.prices import frames_from_table

    return build(cfg, frames_from_table(cfg, prices()))


def test_rolling_refit_trains_on_the_last_train_size_dates_through_the_last_bar() -> None:
    cfg = config()
    panel = panel_of(cfg)
    rows = refit_rows(cfg, panel)
    known = np.isfinite(panel.Y).any(axis=1) & panel.origin_ok
    dates = np.unique(panel.dates[rows.train])
    assert len(dates) == 250  # the challenger's window length
    assert dates.max() == panel.dates[known].max()  # through the last bar's targets
    assert np.array_equal(rows.train, np.flatnonzero(known & (panel.dates >= dates.min())))
    assert not (rows.fit_rows & (panel.dates < dates.min())).any()
    # expanding: every origin with a known target
    everything = refit_rows(config(mode="expanding"), panel)
    assert np.array_equal(everything.train, np.flatnonzero(known))


@pytest.mark.slow
def test_refit_records_its_rows_and_calibrates_on_its_own_held_out_block() -> None:
    cfg = config()
    panel = panel_of(cfg)
    challenger = fit_version(cfg, prices())
    refitted = refit(cfg, panel, challenger, Steps())
    r = refitted.meta["refit"]
    best = challenger.result.run.folds[0].history["best_epoch"]
    assert r["window"] == "rolling" and r["epochs"] == best
    assert r["origin_dates"] == 250 and r["origins"] == len(refit_rows(cfg, panel).train)
    assert r["origin_range"][1] == "2008-10-13"  # the last origin with a known target
    assert r["calibration_block"] == "calibration" and r["calibration_origins"] > 0
    assert r["trained_origins"] + r["calibration_origins"] < r["origins"]  # the gap
    assert r["scaler_range"][1] < r["origin_range"][1]  # the scaler saw no held-out row
    cal, old = refitted.forecaster.calibration, challenger.forecaster.calibration
    assert cal is not None and cal is not old and cal.n[0] >= 9
    assert refitted.meta["seen_until"] == "2008-10-14"
    assert refitted.forecaster.train_config == cfg.train
