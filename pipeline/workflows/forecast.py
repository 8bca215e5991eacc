"""Forecasting stored tickers with a saved version: checked inputs per ticker, one prediction.

``forecast_inputs`` is a ticker's own step (its stored bars, its panel, the point-in-time and
input checks), so one ticker that cannot be forecast never stops the others; ``forecast_all``
then predicts every prepared ticker through the version, loaded once per process
(``load_once``), in one predict call where the forecast does not sample dropout.
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from stackcast.features.panel import Panel, stack_panels
from stackcast.models.base import Prediction
from stackcast.pipeline.config import RunConfig
from stackcast.pipeline.data.prices import stored_frame
from stackcast.pipeline.errors import DataError
from stackcast.pipeline.workflows.common import (
    build,
    check_features,
    forecast_origins,
    latest_origins,
    load_version,
    row_independent,
    stale_covariates,
    stored_covariates,
)
from stackcast.pipeline.workflows.steps import Steps, failure_text

# The champion as loaded for the last (version files, settings, inputs): every ticker's
# forecast in a process shares one load (a Keras model load per ticker was most of a run).
_LOADED: dict[tuple[Any, ...], tuple[Any, dict[str, Any]]] = {}
_LOADED_LOCK = threading.Lock()


def load_once(directory: Path, cfg: RunConfig, panel: Any) -> tuple[Any, dict[str, Any]]:
    """``load_version``, loaded once per process for the same version files and settings.

    Keyed by the version directory, its files' sizes and modification times, the features and
    train sections and the panel's inputs, so a retrained or edited version loads afresh. The
    forecaster is only read when forecasting (its predictions are seeded), so tickers share it.
    """
    try:
        stamps = tuple(
            (p.name, p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(directory.iterdir())
            if p.is_file()
        )
    except OSError:  # missing or unreadable: load_version says why
        return load_version(directory, cfg, panel)
    key = (
        str(directory.resolve()),
        stamps,
        cfg.features.model_dump_json(),
        cfg.train.model_dump_json(),
        tuple(panel.feature_names),
    )
    with _LOADED_LOCK:
        loaded = _LOADED.get(key)
        if loaded is None:
            loaded = load_version(directory, cfg, panel)
            _LOADED.clear()
            _LOADED[key] = loaded
    return loaded[0], dict(loaded[1])


@dataclass
class TickerInputs:
    """One ticker's checked forecast inputs: its own panel and its latest origin row."""

    panel: Panel
    rows: np.ndarray
    meta: dict[str, Any]


def read_covariates(cfg: RunConfig, as_of: _dt.date | None = None) -> Any:
    """``stored_covariates`` read once for every ticker of a run, or the error they share."""
    try:
        return stored_covariates(cfg, as_of)
    except DataError as exc:
        return exc


def forecast_inputs(
    cfg: RunConfig,
    directory: Path,
    ticker: str,
    as_of: _dt.date | None = None,
    covariates: Any = None,
) -> TickerInputs:
    """Check that one ticker can be forecast now and build its inputs (nothing predicted).

    Args:
        cfg: The run's configuration.
        directory: The version that forecasts.
        ticker: The ticker.
        as_of: Forecast from the latest stored origin on or before this day.
        covariates: ``read_covariates``'s result (None: read them here).

    Raises:
        DataError: No usable origin, a stale covariate, or a model that has seen prices after
            the origin.
        UserError: The model does not fit this ticker's inputs.
    """
    # The latest origin needs its window and the volume z-score's trailing bars, nothing older:
    # a short frame keeps the daily run fast on decades of history.
    fc = cfg.features
    frame = stored_frame(cfg, ticker, as_of).tail(fc.window + fc.lookback + 2)
    if covariates is None:
        covariates = read_covariates(cfg, as_of)
    if isinstance(covariates, DataError):  # a fresh error per ticker (tasks run in threads)
        raise DataError(str(covariates))
    panel = build(cfg, {ticker: frame.reset_index(drop=True)}, covariates)
    rows = latest_origins(panel, as_of)
    if len(rows) == 0:
        raise DataError(f"{ticker}: no usable origin on or before {as_of or 'today'}")
    _, meta = load_once(Path(directory), cfg, panel)
    meta = {"version": Path(directory).name, **meta}
    origin, seen = panel.dates[rows[0]], meta.get("seen_until")
    stale = stale_covariates(covariates, origin)
    if stale:
        raise DataError(
            f"{ticker}: covariate {', '.join(stale)} is older than this origin {origin}: "
            "ingest it before forecasting"
        )
    if seen is not None and np.datetime64(seen, "D") > origin:
        raise DataError(
            f"{ticker}: model {meta['version']} has seen prices up to {seen}, after this "
            f"origin {origin}: forecasting it would use the future (`stackcast train --as-of "
            f"{origin}` trains a model for it)"
        )
    check_features(meta, panel, cfg.name)
    return TickerInputs(panel, rows, meta)


def forecast_all(
    cfg: RunConfig, directory: Path, inputs: Mapping[str, TickerInputs]
) -> pd.DataFrame:
    """Forecast every prepared ticker with the version, in one prediction where possible.

    Tickers whose inputs have the same columns share one predict call on one panel
    (``stack_panels``) when the forecaster's output for a window does not depend on the other
    windows of its pass (``row_independent``); otherwise (dropout samples) each ticker is
    predicted on its own panel, drawing exactly the samples a run of that ticker alone draws.
    Either way, on CPU, every forecast is bit for bit what forecasting the ticker alone gives
    (tested).
    """
    groups: dict[tuple[str, ...], list[str]] = {}
    for t, got in inputs.items():
        groups.setdefault(tuple(got.panel.feature_names), []).append(t)
    parts: dict[str, pd.DataFrame] = {}
    for names in groups.values():
        first = inputs[names[0]]
        forecaster, _ = load_once(Path(directory), cfg, first.panel)
        if not row_independent(forecaster):
            for t in names:
                got = inputs[t]
                parts[t] = forecast_origins(forecaster, got.meta, got.panel, got.rows, cfg.name)
            continue
        panels = [inputs[t].panel for t in names]
        panel, rows, prediction = stacked_prediction(
            forecaster, panels, [inputs[t].rows for t in names]
        )
        frame = forecast_origins(forecaster, first.meta, panel, rows, cfg.name, prediction)
        for t in names:
            parts[t] = frame[frame["ticker"] == t]
    return pd.concat([parts[t] for t in inputs], ignore_index=True)


def stacked_prediction(
    forecaster: Any, panels: list[Panel], rows: list[np.ndarray]
) -> tuple[Panel, np.ndarray, Prediction]:
    """One predict call for the ``rows`` of several panels: ``(panel, its rows, prediction)``.

    A volatility-scaled band uses each origin's trailing volatility, a difference of one
    running sum over the panel's rows, whose last bits depend on the blocks before the
    origin's: it is taken from each ticker's own panel, as forecasting it alone does.
    """
    panel = stack_panels(panels)
    starts = np.cumsum([0] + [p.n_rows for p in panels])  # each panel's first row in ``panel``
    at = np.concatenate([s + np.asarray(r) for s, r in zip(starts, rows, strict=False)])
    prediction = forecaster.predict(panel, at)
    cal = forecaster.calibration
    if forecaster.train_config.mc_samples and cal is not None and cal.method == "volatility":
        own = [cal.scale(p, r) for p, r in zip(panels, rows, strict=True)]
        vol, y = np.concatenate(own)[:, None], prediction.mean
        prediction = Prediction(y, y + cal.offsets[0] * vol, y + cal.offsets[1] * vol)
    return panel, at, prediction


def forecast_tickers(
    steps: Steps, cfg: RunConfig, directory: Path, tickers: list[str], as_of: _dt.date | None
) -> tuple[pd.DataFrame | None, dict[str, str]]:
    """Every ticker's inputs as its own step, then one step forecasting all that passed.

    Returns:
        ``(forecasts, failure message by ticker)``; forecasts None when none could be made.
    """
    covariates = read_covariates(cfg, as_of)  # once for every ticker
    inputs, failed = steps.map(
        "forecast-ticker", forecast_inputs, tickers, "ticker", cfg=cfg, directory=directory,
        as_of=as_of, covariates=covariates,
    )  # fmt: skip
    if not inputs:
        return None, failed
    ordered = {t: inputs[t] for t in tickers if t in inputs}
    try:
        return steps.call("forecast-all", forecast_all, cfg, directory, ordered), failed
    except Exception as exc:
        if len(ordered) == 1:
            failed |= {t: failure_text(exc) for t in ordered}
            return None, {t: failed[t] for t in tickers if t in failed}
    # One ticker can sink the shared prediction: forecast each alone, so only it fails.
    frames, alone = steps.call("forecast-each", forecast_each, cfg, directory, ordered)
    failed |= alone
    forecasts = pd.concat(frames.values(), ignore_index=True) if frames else None
    return forecasts, {t: failed[t] for t in tickers if t in failed}


def forecast_each(
    cfg: RunConfig, directory: Path, inputs: Mapping[str, TickerInputs]
) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """``forecast_all`` ticker by ticker: ``(forecasts by ticker, failure message by ticker)``."""
    frames: dict[str, pd.DataFrame] = {}
    failed: dict[str, str] = {}
    for t, got in inputs.items():
        try:
            frames[t] = forecast_all(cfg, directory, {t: got})
        except Exception as exc:
            failed[t] = failure_text(exc)
    return frames, failed
