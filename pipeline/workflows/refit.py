"""The refit of a promoted (or as-of) challenger through the last stored bar.

A challenger is validated as a one-fold backtest; the version published is its recipe
refit on the newest data: the same window rule and epoch count, calibrated on its own
held-out block (``refit``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from stackcast.features.panel import Panel
from stackcast.features.splits import FoldRows
from stackcast.pipeline.config import RunConfig
from stackcast.pipeline.errors import DataError
from stackcast.pipeline.workflows.common import core_errors
from stackcast.pipeline.workflows.steps import Steps


def refit_rows(cfg: RunConfig, panel: Panel) -> FoldRows:
    """The origins a refit trains on, by the validated window rule, through the last bar.

    Origins with at least one known target (those near the last bar train on the horizons
    they have); ``rolling``: the latest ``[backtest] train_size`` of their dates, as each
    backtest fold and the challenger have; ``expanding``: all of them. The scaler range is the
    same dates' observed rows with every target known.
    """
    known = np.isfinite(panel.Y).any(axis=1) & panel.origin_ok
    if not known.any():
        raise DataError("no origin with a known target to refit on")
    dates = np.unique(panel.dates[known])
    if cfg.backtest.mode == "rolling":
        known &= panel.dates >= dates[max(0, len(dates) - cfg.backtest.train_size)]
    first = panel.dates[known].min()
    fit_rows = panel.observed & np.isfinite(panel.Y).all(axis=1) & (panel.dates >= first)
    return FoldRows(
        train=np.flatnonzero(known), test=np.zeros(0, dtype=np.int64), fit_rows=fit_rows
    )


def refit(cfg: RunConfig, panel: Panel, model: Any, steps: Steps) -> Any:
    """``model``'s recipe refit through the panel's last bar (a ``TrainedModel`` of it).

    The recipe is the challenger's: the same window rule (``refit_rows``), trained from
    scratch for the epoch count early stopping chose on the validation block (no early
    stopping now), and a calibration measured on the refit itself: the window's latest
    calibration block is held out of training and the scaler, as in every fold
    (``RNNForecaster.refit``). Only when the window is too short for that block does it keep
    ``model``'s calibration (warned). ``meta["refit"]`` records the rows used; its
    ``seen_until`` is the last bar.
    """
    from stackcast.models.rnn import RNNForecaster

    assert model.result is not None
    epochs = int(model.result.run.folds[0].history.get("best_epoch") or cfg.train.epochs)
    rows = refit_rows(cfg, panel)
    forecaster = RNNForecaster(cfg.features, cfg.model, cfg.train)
    origins = panel.dates[rows.train]
    steps.say(
        f"refit on {len(rows.train)} origins {origins.min()}..{origins.max()} "
        f"({cfg.backtest.mode} window) through {panel.dates.max()}, {epochs} epochs"
    )
    with core_errors():
        info = forecaster.refit(panel, rows, epochs, progress=steps.say)
    warnings = list(info.warnings)
    if forecaster.calibration is None and model.forecaster.calibration is not None:
        forecaster.calibration = model.forecaster.calibration
        warnings.append("refit keeps the challenger's interval calibration")
    h = info.history
    meta = {
        **model.meta,
        "seen_until": str(panel.dates[panel.observed].max()),
        "refit": {
            "window": cfg.backtest.mode,
            "epochs": epochs,
            "origins": len(rows.train),
            "origin_dates": len(np.unique(origins)),
            "origin_range": [str(origins.min()), str(origins.max())],
            "trained_origins": h.get("n_train"),
            "calibration_origins": h.get("n_calibration"),
            "calibration_block": h.get("calibration_block"),
            "scaler_range": [h.get("scaler_fit_start"), h.get("scaler_fit_end")],
            "warnings": warnings,
        },
    }
    return replace(model, forecaster=forecaster, meta=meta)
