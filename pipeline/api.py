"""The Python API (re-exported by ``stackcast``): the CLI's workflow bodies, for notebooks.

Given ``prices`` (a long DataFrame: ``date, ticker, close``, optional ``open, high, low,
volume``) nothing is read or written under STACKCAST_HOME. Bad input raises
``stackcast.StackcastError`` with the message the CLI prints after ``error:``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from stackcast.pipeline.config import RunConfig, load_config
from stackcast.pipeline.environment import use_runtime
from stackcast.pipeline.errors import ConfigError, UserError
from stackcast.pipeline.workflows import backtest as backtest_workflow
from stackcast.pipeline.workflows.backtest import BacktestResult
from stackcast.pipeline.workflows.steps import Progress, Steps
from stackcast.pipeline.workflows.training import TrainedModel

__all__ = ["BacktestResult", "TrainedModel", "backtest", "load_model", "train"]


def _config(config: RunConfig | str | Path | None) -> RunConfig:
    if config is None:
        return RunConfig()
    if isinstance(config, RunConfig):
        return config
    if isinstance(config, str | Path):
        return load_config(config)
    raise ConfigError(f"config must be a RunConfig or a TOML path, got {type(config).__name__}")


def backtest(
    config: RunConfig | str | Path | None = None,
    prices: pd.DataFrame | None = None,
    *,
    progress: Progress | None = None,
) -> BacktestResult:
    """Walk-forward backtest of the model against the random walk, drift and ridge.

    Args:
        config: A ``RunConfig``, a TOML path, or None for the defaults.
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
    config: RunConfig | str | Path | None = None,
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


def load_model(directory: str | Path, config: RunConfig | str | Path | None = None) -> TrainedModel:
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
