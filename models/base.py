"""The ``Forecaster`` interface every model and baseline implements, and their registry.

A forecaster is fit on one fold's training origins of a ``Panel`` (it fits its own scaler,
validation and calibration inside that range) and predicts log returns for horizons
``1..H`` at any origin rows. The walk-forward engine (``stackcast.models.engine``) runs any
list of them over the splits. Adding a model is one module with a ``Forecaster`` subclass
and one line in ``FORECASTERS``; reports pick it up by its ``name``.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from stackcast.models.config import ModelConfig, TrainConfig

if TYPE_CHECKING:
    from stackcast.features.config import FeatureConfig
    from stackcast.features.panel import Panel
    from stackcast.features.splits import FoldRows

Progress = Callable[[str], None]


class EpochLine(str):
    """A per-epoch progress line that also carries its numbers, for progress bars.

    It is the text (``"  epoch 3/8, loss ..."``) wherever a string is expected; ``epoch`` is
    1-based, ``loss`` NaN when the fit reported none.
    """

    epoch: int
    epochs: int
    loss: float
    seconds: float
    label: str

    def __new__(
        cls, text: str, *, epoch: int, epochs: int, loss: float, seconds: float, label: str = ""
    ) -> EpochLine:
        """The line ``text`` for ``epoch`` of ``epochs`` (``label``: what is training)."""
        line = super().__new__(cls, text)
        line.epoch, line.epochs, line.loss, line.seconds = epoch, epochs, loss, seconds
        line.label = label
        return line


def labelled(label: str, message: str) -> str:
    """``"  label: message"``; an ``EpochLine`` stays one, with ``label`` attached."""
    text = f"  {label}: {message.strip()}"
    if not isinstance(message, EpochLine):
        return text
    return EpochLine(
        text,
        epoch=message.epoch,
        epochs=message.epochs,
        loss=message.loss,
        seconds=message.seconds,
        label=label,
    )


class FoldError(ValueError):
    """A fold cannot be fit or forecast with the data it has (too few origins)."""


@dataclass(frozen=True)
class Prediction:
    """Forecast log returns at some origins, ``[n, H]`` each; ``lo``/``hi`` NaN without bands."""

    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    @classmethod
    def point(cls, mean: np.ndarray) -> Prediction:
        """A prediction without an interval."""
        mean = np.asarray(mean, dtype=float)
        nan = np.full_like(mean, np.nan)
        return cls(mean, nan, nan.copy())


@dataclass
class FitInfo:
    """What a fit reports: per-epoch history (empty for closed-form fits) and warnings."""

    history: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


class Forecaster(ABC):
    """Fit on a fold's past, forecast log returns for horizons ``1..H``.

    Every forecaster is built from the same three config sections (each uses what it needs),
    so the engine and the registry treat them alike.

    Attributes:
        name: Registry key and the name reports show (a forecasts-frame column for baselines).
    """

    name: ClassVar[str]

    def __init__(
        self,
        features: FeatureConfig,
        model: ModelConfig | None = None,
        train: TrainConfig | None = None,
    ) -> None:
        self.features = features
        self.model_config = model or ModelConfig()
        self.train_config = train or TrainConfig()

    @abstractmethod
    def fit(
        self, panel: Panel, rows: FoldRows, *, fold: int = 0, progress: Progress | None = None
    ) -> FitInfo:
        """Fit on ``rows.train`` (origins with at least one known target) of ``panel``.

        Args:
            panel: The feature panel.
            rows: The fold's rows: ``train`` origins and ``fit_rows`` (the scaler's range).
            fold: 0-based fold index (seeds derive from it).
            progress: Called with progress lines (epochs).
        """

    @abstractmethod
    def predict(self, panel: Panel, rows: np.ndarray) -> Prediction:
        """Forecast the origins ``rows`` of ``panel`` (log returns, ``[len(rows), H]``)."""


# The registry: name -> "module:Class". Adding a model is a module and one line here; the
# classes import on first use, so a baseline never pays for Keras.
FORECASTERS: dict[str, str] = {
    "rnn": "stackcast.models.rnn:RNNForecaster",
    "random_walk": "stackcast.models.baselines:RandomWalk",
    "drift": "stackcast.models.baselines:Drift",
    "ridge": "stackcast.models.baselines:Ridge",
}


def forecaster_class(name: str) -> type[Forecaster]:
    """The ``Forecaster`` subclass registered as ``name`` (``ValueError`` if unknown)."""
    try:
        module, _, attr = FORECASTERS[name].partition(":")
    except KeyError:
        known = ", ".join(sorted(FORECASTERS))
        raise ValueError(f"unknown forecaster {name!r} (known: {known})") from None
    return getattr(importlib.import_module(module), attr)


def make_forecaster(name: str, **options: Any) -> Forecaster:
    """A new, unfitted forecaster by registry name, built with ``options``."""
    return forecaster_class(name)(**options)
