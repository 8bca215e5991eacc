"""Held-out blocks of a fold's training origins and the rows its scaler is fit on.

Shared by every forecaster that holds out an early-stopping and a calibration block (the RNN,
LightGBM): pure NumPy, so a forecaster that needs these does not import Keras.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from stackcast.features.splits import holdout_split
from stackcast.models.config import TrainConfig
from stackcast.models.intervals import min_calibration

if TYPE_CHECKING:
    from stackcast.features.panel import Panel


def held_out_masks(
    dates: np.ndarray, tc: TrainConfig, horizons: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str | None]:
    """``(fit, early_stopping, calibration, warning)`` masks over a fold's training dates.

    The calibration block is the latest ``calibration_fraction`` of the dates, the
    early-stopping block the ``validation_fraction`` before it, H-bar gaps before each. With
    ``calibration_fraction = 0`` or too few dates for three parts, the early-stopping block
    also calibrates (``warning`` says so when a calibration block was asked for); without
    ``validation_fraction`` or with too few dates for any split, nothing is held out.
    """
    n = len(dates)
    none = np.zeros(n, bool)
    if tc.validation_fraction <= 0 or len(np.unique(dates)) <= 4 * horizons:
        return np.ones(n, bool), none, none, None
    warning = None
    if tc.calibration_fraction > 0:
        try:
            fit, val, cal = holdout_split(
                dates, (tc.validation_fraction, tc.calibration_fraction), gap=horizons
            )
        except ValueError:
            cal = None
        need = min_calibration(tc.interval)
        if cal is not None and cal.sum() >= need:
            return fit, val, cal, None
        warning = (
            f"interval calibrated on the early-stopping block: {len(np.unique(dates))} "
            f"training dates are too few for a separate calibration block of at least {need} "
            "origins"
        )
    fit, val = holdout_split(dates, (tc.validation_fraction,), gap=horizons)
    return fit, val, val, warning


def refit_masks(
    dates: np.ndarray, tc: TrainConfig, horizons: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str | None]:
    """``(fit, early_stopping, calibration, warning)`` masks for a refit with a fixed epoch count.

    No early-stopping block. With a band to calibrate (``mc_samples > 0`` and a held-out
    fraction), the latest ``calibration_fraction`` of the dates (``validation_fraction``
    when that is 0) after an H-date gap is the calibration block; too few dates for a block
    of ``min_calibration`` origins hold out nothing and ``warning`` says so.
    """
    n = len(dates)
    none = np.zeros(n, bool)
    fraction = tc.calibration_fraction or tc.validation_fraction
    if tc.mc_samples == 0 or fraction <= 0:
        return np.ones(n, bool), none, none, None
    need = min_calibration(tc.interval)
    try:
        fit, cal = holdout_split(dates, (fraction,), gap=horizons)
    except ValueError:
        cal = None
    if cal is not None and len(np.unique(dates)) > 4 * horizons and cal.sum() >= need:
        return fit, none, cal, None
    warning = (
        f"refit not calibrated on a held-out block: {len(np.unique(dates))} training dates are "
        f"too few for a calibration block of at least {need} origins"
    )
    return np.ones(n, bool), none, none, warning


def scaler_rows(panel: Panel, fit_rows: np.ndarray, held_out: np.ndarray) -> np.ndarray:
    """The rows a fold's scaler is fit on: ``fit_rows`` before the first held-out origin.

    Args:
        panel: The panel.
        fit_rows: ``[N]`` bool mask of the fold's scaler range (``FoldRows.fit_rows``).
        held_out: Rows of the early-stopping and calibration blocks (may be empty).

    Returns:
        ``fit_rows`` restricted to rows dated before the first held-out date whose targets
        also end before it, so no input or target of a held-out block enters the statistics;
        ``fit_rows`` itself when nothing is held out.
    """
    if len(held_out) == 0:
        return fit_rows
    first = panel.dates[held_out].min()
    return fit_rows & (panel.dates < first) & (panel.target_end < first)


def scaler_range(panel: Panel, rows: np.ndarray) -> dict[str, str | None]:
    """``scaler_fit_start`` and ``scaler_fit_end``: the dates the scaler rows span (ISO)."""
    dates = panel.dates[rows]
    if len(dates) == 0:
        return {"scaler_fit_start": None, "scaler_fit_end": None}
    return {"scaler_fit_start": str(dates.min()), "scaler_fit_end": str(dates.max())}
