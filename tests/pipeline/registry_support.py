"""A forecaster that exists only in the tests: one module, registered with one line."""

from __future__ import annotations

import numpy as np
from stackcast.models.base import FitInfo, Forecaster, Prediction


class LastReturn(Forecaster):
    """Every horizon's log return is the origin's own one-bar return times h."""

    name = "last_return"

    def fit(self, panel, rows, *, fold=0, progress=None) -> FitInfo:
        return FitInfo()

    def predict(self, panel, rows) -> Prediction:
        last = panel.X[rows, panel.feature_names.index("log_return")]
        return Prediction.point(last[:, None] * np.arange(1, panel.horizons + 1)[None, :])
