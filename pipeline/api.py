"""The Python API (re-exported by ``stackcast``): the CLI's workflow bodies, for notebooks.

Given ``prices`` (a long DataFrame: ``date, ticker, close``, optional ``open, high, low,
volume``) nothing is read or written under STACKCAST_HOME. Bad input raises
``stackcast.StackcastError`` with the message the CLI prints after ``error:``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from stackcast.pipeline.config import RunConfig, check_ticker, load_config
from stackcast.pipeline.environment import use_runtime
from stackcast.pipeline.errors import ConfigError, DataError, UserError
from stackcast.pipeline.workflows import backtest as backtest_workflow
from stackcast.pipeline.workflows.backtest import BacktestResult
from stackcast.pipeline.workflows.steps import Progress, Steps
from stackcast.pipeline.workflows.training import TrainedModel

__all__ = ["BacktestResult", "TrainedModel", "backtest", "load_model", "sample_prices", "train"]

Config = RunConfig | Mapping[str, Any] | str | Path | None


def _config(config: Config) -> RunConfig:
    if config is None:
        return RunConfig()
    if isinstance(config, RunConfig):
        return config
    if isinstance(config, str | Path):
        return load_config(config)
    if isinstance(config, Mapping):
        return RunConfig.model_validate(dict(config))
    raise ConfigError(
        f"config must be a RunConfig, a dict of sections or a TOML path, got "
        f"{type(config).__name__}"
    )


def sample_prices(tickers: Sequence[str] | str | None = None) -> pd.DataFrame:
    """The bundled real daily prices (MSFT 1986-2017, GOOG 2004-2008) as one long frame.

    Columns ``date, ticker, open, high, low, close, volume``, as ``prices`` takes them; read
    from the files installed with stackcast, whatever the current directory.

    Args:
        tickers: Some of the sample's tickers (one name or a list); None: all of them.

    Raises:
        StackcastError: A ticker the sample does not hold.
    """
    from stackcast.pipeline.data.sources import SAMPLE_DIR, sample_tickers

    available = sample_tickers()
    names = [tickers] if isinstance(tickers, str) else list(tickers or available)
    wanted = [check_ticker(str(t)) for t in names]
    missing = [t for t in wanted if t not in available]
    if missing or not wanted:
        raise DataError(
            f"not in the bundled sample: {', '.join(missing) or 'no ticker given'} "
            f"(available: {', '.join(available)})"
        )
    return pd.concat([pd.read_csv(SAMPLE_DIR / f"{t}.csv") for t in wanted], ignore_index=True)


def backtest(
    config: Config = None,
    prices: pd.DataFrame | None = None,
    *,
    progress: Progress | None = None,
) -> BacktestResult:
    """Walk-forward backtest of the model against the other ``[backtest] forecasters``.

    Args:
        config: A ``RunConfig``, a dict of sections (``RunConfig.model_validate``), a TOML
            path, or None for the defaults.
        prices: A long price frame; None: ingest ``[data]`` into STACKCAST_HOME and use it.
        progress: Called with each progress line (folds, epochs).

    Returns:
        ``.forecasts`` (contract columns), ``.metrics`` (``model``, ``baselines``, verdicts),
        ``.save(directory)`` writes the run files and the report.
    """
    cfg = _config(config)
    use_runtime(cfg)
    return backtest_workflow.backtest(cfg, prices, steps=Steps(progress))


def train(
    config: Config = None,
    prices: pd.DataFrame | None = None,
    *,
    progress: Progress | None = None,
) -> TrainedModel:
    """Fit a model on ``prices`` (else the stored prices), validated on the latest block.

    Returns:
        A ``TrainedModel``: ``.forecast(prices)`` gives the next H forecasts per ticker,
        ``.validation`` the validation-block MAE per predictor (fractions in log-return
        units, averaged over horizons 1..H; x100 for percent of price), ``.save(directory)``
        writes it.
    """
    from stackcast.pipeline.workflows.training import fit_version

    cfg = _config(config)
    use_runtime(cfg)
    return fit_version(cfg, prices, steps=Steps(progress))


def load_model(directory: str | Path, config: Config = None) -> TrainedModel:
    """Load a model directory written by ``TrainedModel.save`` or the registry (safe mode).

    The configuration saved with the model is used unless ``config`` is given.
    """
    from stackcast.models.persistence import ModelMismatchError
    from stackcast.models.rnn import RNNForecaster
    from stackcast.pipeline.config import config_from_dict

    use_runtime(None if config is None else _config(config))
    directory = Path(directory)
    try:
        forecaster, meta = RNNForecaster.load(directory)
    except (FileNotFoundError, ModelMismatchError) as exc:
        raise UserError(f"cannot load the model in {directory}: {exc}") from None
    cfg = (
        _config(config)
        if config is not None
        else config_from_dict(meta.get("config"), str(directory))
    )
    forecaster.features, forecaster.train_config = cfg.features, cfg.train
    return TrainedModel(cfg, forecaster, meta, dict(meta.get("validation_mae", {})))
