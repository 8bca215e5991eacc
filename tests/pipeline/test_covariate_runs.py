"""Covariates through the workflows: ingest, backtest leakage, saved models and the daily run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from stackcast.pipeline.api import load_model
from stackcast.pipeline.config import RunConfig, parse_config
from stackcast.pipeline.data.ingest import ingest
from stackcast.pipeline.errors import DataError, UserError
from stackcast.pipeline.workflows.backtest import backtest
from stackcast.pipeline.workflows.daily import daily_forecast
from stackcast.pipeline.workflows.training import retrain

from tests.pipeline.flow_support import tiny_config
from tests.pipeline.test_backtest import TINY, ar1, series

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


def with_covariates(cfg: RunConfig, *names: str, **data: Any) -> RunConfig:
    """``cfg`` with ``[features] covariates`` (and ``[data]`` overrides)."""
    raw = cfg.model_dump(mode="json")
    raw["features"]["covariates"] = list(names)
    raw["data"] |= data
    return RunConfig.model_validate(raw)


def test_ingest_fetches_covariates_with_the_tickers(home: Path) -> None:
    cfg = with_covariates(tiny_config(home, tickers=["MSFT"]), "GOOG")
    results = ingest(cfg)
    assert [r.ticker for r in results] == ["MSFT", "GOOG"] and all(r.ok for r in results)


def test_a_missing_covariate_is_a_clear_data_error() -> None:
    cfg = parse_config(TINY.replace("[features]", '[features]\ncovariates = ["IDX"]'))
    with pytest.raises(DataError, match=r"no prices for covariate.*IDX"):
        backtest(cfg, series(ar1(1400, 0.3, seed=3)))


def test_one_price_frame_of_the_forecast_tickers_serves_trading_and_the_pages() -> None:
    """``forecast_prices``: the forecast tickers only (a covariate that is only an input is
    left out); a result built without it computes the same frame."""
    from stackcast.pipeline.workflows.backtest import BacktestResult
    from stackcast.pipeline.workflows.common import forecast_prices, prices_frame

    cfg = parse_config(TINY.replace("[features]", '[features]\ncovariates = ["IDX"]'))
    frames = {
        "AAA": series(ar1(50, 0.3, seed=1), "AAA").drop(columns="ticker"),
        "IDX": series(ar1(50, 0.3, seed=2), "IDX").drop(columns="ticker"),
    }
    got = forecast_prices(cfg, frames)
    pd.testing.assert_frame_equal(got, prices_frame({"AAA": frames["AAA"]}))
    assert forecast_prices(cfg, {}) is None
    result = BacktestResult(cfg, None, None, frames, {}, None)
    pd.testing.assert_frame_equal(result.prices, got)


@pytest.mark.slow
def test_perturbing_a_covariate_after_an_origin_changes_nothing_published_before() -> None:
    """A covariate that drives the ticker: moving its prices after D changes no forecast
    (model, intervals, baselines) of an origin whose targets end before D."""
    idx = ar1(1400, 0.3, seed=11)
    own = 0.6 * np.concatenate([[0.0], idx[:-1]]) + np.random.default_rng(4).normal(0, 0.005, 1400)
    prices = pd.concat([series(own, "AAA"), series(idx, "IDX")], ignore_index=True)
    cfg = parse_config(TINY.replace("[features]", '[features]\ncovariates = ["IDX"]'))
    result = backtest(cfg, prices)
    base = result.run
    assert set(base.predictions["ticker"]) == {"AAA"}  # a covariate only, not forecast
    assert result.panel.feature_names == ("log_return", "observed", *_idx_columns())
    d = pd.Timestamp(base.predictions["origin"].sort_values().unique()[60])
    moved = prices.copy()
    later = (moved["ticker"] == "IDX") & (moved["date"] >= d)
    moved.loc[later, "close"] *= np.exp(np.random.default_rng(0).normal(0, 0.05, later.sum()))
    other = backtest(cfg, moved).run
    keep = base.predictions["origin"] < d - pd.offsets.BDay(cfg.features.horizons)
    assert keep.sum() > 100
    pd.testing.assert_frame_equal(
        base.predictions[keep].reset_index(drop=True),
        other.predictions[keep].reset_index(drop=True),
    )
    assert not np.allclose(
        base.predictions.loc[~keep, "y_pred"], other.predictions.loc[~keep, "y_pred"]
    )


def _idx_columns() -> tuple[str, ...]:
    return ("IDX:log_return", "IDX:observed")  # close-only prices: no range, no volume


@pytest.mark.slow
def test_saved_model_records_covariates_and_the_daily_run_checks_them(home: Path) -> None:
    cfg = with_covariates(tiny_config(home, tickers=["MSFT"]), "GOOG")
    made = retrain(cfg)
    meta = json.loads((Path(made.challenger.directory) / "meta.json").read_text())
    assert meta["features"] == [
        "log_return", "range", "volume_z", "observed",
        "GOOG:log_return", "GOOG:range", "GOOG:volume_z", "GOOG:observed",
    ]  # fmt: skip
    assert meta["config"]["features"]["covariates"] == ["GOOG"]
    done = daily_forecast(cfg, refresh=False)
    assert set(done.forecasts["ticker"]) == {"MSFT"}
    # The same model without its covariate does not fit the inputs.
    with pytest.raises(DataError, match="GOOG:log_return"):
        daily_forecast(with_covariates(cfg), refresh=False)
    # Through the Python API: the covariate's prices are needed, and a config without it fails.
    model = load_model(made.challenger.directory)
    sample = {t: pd.read_csv(SAMPLE / f"{t}.csv") for t in ("MSFT", "GOOG")}
    both = pd.concat([f[f["date"] <= "2008-10-14"] for f in sample.values()])
    assert set(model.forecast(both)["ticker"]) == {"MSFT"}
    with pytest.raises(DataError, match="no prices for covariate"):
        model.forecast(both[both["ticker"] == "MSFT"])
    bare = load_model(made.challenger.directory, config=with_covariates(cfg))
    with pytest.raises(UserError, match="does not fit these inputs"):
        bare.forecast(both[both["ticker"] == "MSFT"])
    # MSFT's bars go on after GOOG's last one (2008-10-14): the covariate is stale.
    later = with_covariates(cfg, "GOOG", end="2008-10-20")
    with pytest.raises(DataError, match=r"covariate GOOG \(last bar 2008-10-14\) is older"):
        daily_forecast(later)
