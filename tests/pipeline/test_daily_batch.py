"""The daily run predicts every ticker in one call: each forecast is bit for bit its lone one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from stackcast.models.intervals import Calibration
from stackcast.pipeline.config import RunConfig, parse_config
from stackcast.pipeline.workflows import forecast
from stackcast.pipeline.workflows.common import build, latest_origins
from stackcast.pipeline.workflows.training import fit_version

from tests.pipeline.test_backtest import TINY, ar1, series

CONFIG = (
    TINY.replace("epochs = 12", "epochs = 1")
    .replace("dropout = 0.0", "dropout = 0.2")
    .replace('tickers = ["AAA"]', 'tickers = ["AAA", "BBB", "CCC", "DDD"]')
)
LENGTHS = {"AAA": 700, "BBB": 520, "CCC": 640, "DDD": 300}


@pytest.fixture(scope="module")
def version(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, pd.DataFrame]]:
    """A small fitted model saved as a version directory, and differently sized tickers."""
    frames = {
        t: series(ar1(n, 0.4, seed=k), t) for k, (t, n) in enumerate(LENGTHS.items(), start=3)
    }
    fitted = fit_version(parse_config(CONFIG), pd.concat(frames.values(), ignore_index=True))
    directory = tmp_path_factory.mktemp("model") / "v0001"
    fitted.save(directory)
    return directory, frames


def inputs_of(cfg: RunConfig, directory: Path, frames: dict[str, pd.DataFrame]) -> dict:
    """Every ticker's ``TickerInputs``, built on its own as the daily run builds them."""
    out = {}
    for t in ["CCC", "AAA", "DDD", "BBB"]:  # not sorted: the output keeps this order
        panel = build(cfg, {t: frames[t].drop(columns="ticker")}, {})
        _, meta = forecast.load_once(directory, cfg, panel)
        out[t] = forecast.TickerInputs(panel, latest_origins(panel), meta)
    return out


@pytest.mark.parametrize(
    "train, band",
    [
        ({}, "volatility"),  # the default: a calibrated band around the deterministic forecast
        ({}, "residual"),
        ({"mc_samples": 0}, None),
        ({"point_forecast": "mc_mean"}, "volatility"),  # dropout samples: one call per ticker
    ],
)
def test_one_batch_gives_every_ticker_its_lone_forecast(version, train, band) -> None:
    directory, frames = version
    raw = parse_config(CONFIG).model_dump(mode="json")
    raw["train"] |= train
    cfg = RunConfig.model_validate(raw)
    forecast._LOADED.clear()
    inputs = inputs_of(cfg, directory, frames)
    loaded, _ = forecast.load_once(directory, cfg, inputs["AAA"].panel)
    if band == "residual":
        loaded.calibration = Calibration("residual", np.array([[-0.4, -0.5], [0.3, 0.6]]))
    assert loaded.calibration is None or loaded.calibration.method == band or band is None
    together = forecast.forecast_all(cfg, directory, inputs)
    alone = pd.concat(
        [forecast.forecast_all(cfg, directory, {t: got}) for t, got in inputs.items()],
        ignore_index=True,
    )
    assert list(together["ticker"].unique()) == ["CCC", "AAA", "DDD", "BBB"]
    pd.testing.assert_frame_equal(together, alone, check_exact=True)
    if train.get("mc_samples") != 0:
        assert together["lo"].notna().all()


def test_covariates_are_read_once_for_every_ticker(monkeypatch) -> None:
    from stackcast.pipeline.errors import DataError
    from stackcast.pipeline.workflows.steps import Steps

    reads, seen = [], []
    monkeypatch.setattr(forecast, "stored_covariates", lambda cfg, as_of: reads.append(1) or {})

    def inputs(cfg, directory, ticker, as_of=None, covariates=None):
        seen.append(covariates)
        if ticker == "BAD":
            raise DataError("BAD: no usable origin on or before today")
        return ticker

    monkeypatch.setattr(forecast, "forecast_inputs", inputs)
    monkeypatch.setattr(forecast, "forecast_all", lambda cfg, d, got: pd.DataFrame({"t": [*got]}))
    frame, failed = forecast.forecast_tickers(
        Steps(), RunConfig(), Path("v0001"), ["AAA", "BAD", "CCC"], None
    )
    assert len(reads) == 1 and len(seen) == 3 and all(c is seen[0] for c in seen)
    assert list(frame["t"]) == ["AAA", "CCC"] and list(failed) == ["BAD"]


def test_a_ticker_that_sinks_the_shared_prediction_fails_alone(monkeypatch) -> None:
    from stackcast.pipeline.workflows.steps import Steps

    monkeypatch.setattr(forecast, "stored_covariates", lambda cfg, as_of: {})
    monkeypatch.setattr(forecast, "forecast_inputs", lambda cfg, directory, ticker, **kw: ticker)

    def predict(cfg, directory, got):
        if "BAD" in got:
            raise ValueError("a window of BAD is malformed")
        return pd.DataFrame({"t": [*got]})

    monkeypatch.setattr(forecast, "forecast_all", predict)
    frame, failed = forecast.forecast_tickers(
        Steps(), RunConfig(), Path("v0001"), ["AAA", "BAD", "CCC"], None
    )
    assert list(frame["t"]) == ["AAA", "CCC"] and list(failed) == ["BAD"]
    assert "malformed" in failed["BAD"]
