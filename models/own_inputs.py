"""The RNN on each ticker's own inputs only: the control that says whether covariates help.

``[features] covariates`` add other tickers' columns to every window (named
``SYMBOL:input``). Listed in ``[backtest] forecasters`` beside the model, this forecaster
trains the same network, seed and held-out blocks on the same panel with those columns left
out, so the report's two-sided Diebold-Mariano test of it against the model answers "did the
covariates make the RNN more accurate?". Without covariates it is the model itself.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from stackcast.models.base import FitInfo, Prediction, Progress
from stackcast.models.rnn import RNNForecaster

if TYPE_CHECKING:
    from stackcast.features.panel import Panel
    from stackcast.features.splits import FoldRows


def own_panel(panel: Panel) -> Panel:
    """``panel`` without its covariate columns (``SYMBOL:input``); itself when it has none."""
    keep = [i for i, name in enumerate(panel.feature_names) if ":" not in name]
    if len(keep) == len(panel.feature_names):
        return panel
    names = tuple(panel.feature_names[i] for i in keep)
    return replace(panel, X=np.ascontiguousarray(panel.X[:, keep]), feature_names=names)


class OwnInputsRNN(RNNForecaster):
    """The model's RNN, trained and run without the covariate columns."""

    name = "rnn_own_inputs"

    def fit(
        self, panel: Panel, rows: FoldRows, *, fold: int = 0, progress: Progress | None = None
    ) -> FitInfo:
        """``RNNForecaster.fit`` on the panel's own-ticker columns."""
        return super().fit(own_panel(panel), rows, fold=fold, progress=progress)

    def predict(self, panel: Panel, rows: np.ndarray) -> Prediction:
        """``RNNForecaster.predict`` on the panel's own-ticker columns."""
        return super().predict(own_panel(panel), rows)
