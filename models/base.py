"""The ``Forecaster`` interface every model and baseline implements, and their registry.

A forecaster is fit on one fold's training origins of a ``Panel`` (it fits its own scaler,
validation and calibration inside that range) and predicts log returns for horizons
``1..H`` at any origin rows. The walk-forward engine (``stackcast.models.engine``) runs any
list of them over the splits. Adding a model is one module with a ``Forecaster`` subclass
and one line in ``FORECASTERS``; ``[backtest] forecasters`` then chooses it by name and
every report, artifact and CLI summary shows it under its ``label``.
"""

from __future__ import annotations

import importlib
import importlib.util
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
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
    #: Fits and predicts in NumPy alone (no Keras, no global random state), so the engine
    #: may run it in a thread while the model trains.
    concurrent: ClassVar[bool] = False

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


@dataclass(frozen=True)
class Registered:
    """A registry entry: where the class lives and how reports show it.

    Attributes:
        path: ``"module:Class"``, imported on first use (a baseline never pays for Keras).
        label: The name reports and the CLI print.
        color: Its colour in the report's figures (None: one from the shared series palette).
        publishable: It can be the run's model (saved, versioned, served by the daily run).
        peer: A learned peer: besides the random walk, it is DM-tested against the model.
        requires: A package it needs beyond stackcast's core (an extra), checked up front.
    """

    path: str
    label: str = ""
    color: str | None = None
    publishable: bool = False
    peer: bool = False
    requires: str | None = None


# The reference every run scores, whether ``[backtest] forecasters`` lists it or not.
REFERENCE = "random_walk"

# The registry: name -> entry. Adding a model is a module and one line here (a plain
# ``"module:Class"`` string is an entry with the defaults).
FORECASTERS: dict[str, Registered | str] = {
    "rnn": Registered("stackcast.models.rnn:RNNForecaster", "RNN", "#0072B2", publishable=True),
    "random_walk": Registered("stackcast.models.baselines:RandomWalk", "random walk", "#7f7f7f"),
    "drift": Registered("stackcast.models.baselines:Drift", "drift", "#E69F00"),
    "ridge": Registered("stackcast.models.baselines:Ridge", "ridge", "#009E73"),
    "rnn_own_inputs": Registered(
        "stackcast.models.own_inputs:OwnInputsRNN", "RNN without covariates", "#D55E00", peer=True
    ),
    "lightgbm": Registered(
        "stackcast.models.boosting:LightGBM", "LightGBM", "#56B4E9", peer=True, requires="lightgbm"
    ),
}
# What ``[backtest] forecasters`` defaults to: the model first, then the baselines.
DEFAULT_FORECASTERS = ("rnn", "random_walk", "drift", "ridge")


def registered(name: str) -> Registered:
    """The registry entry of ``name`` (``ValueError`` naming the known ones if unknown)."""
    try:
        entry = FORECASTERS[name]
    except KeyError:
        known = ", ".join(sorted(FORECASTERS))
        raise ValueError(f"unknown forecaster {name!r} (known: {known})") from None
    return Registered(entry, name) if isinstance(entry, str) else entry


def label(name: str) -> str:
    """How reports show the forecaster ``name`` (its own name when unregistered)."""
    entry = FORECASTERS.get(name)
    if entry is None or isinstance(entry, str):
        return name
    return entry.label or name


def lineup(names: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """``(model, baselines)`` of a ``[backtest] forecasters`` list, checked.

    The first name is the model (it must be publishable); the others are scored beside it,
    the random walk first (added when missing: it is the reference every run scores).

    Raises:
        ValueError: an unknown or repeated name, a first name that cannot be the model, or a
            forecaster whose optional package is not installed.
    """
    names = list(names)
    if not names:
        raise ValueError("forecasters is empty: list the model first, e.g. ['rnn']")
    for n in names:
        need = registered(n).requires
        if need and importlib.util.find_spec(need) is None:
            raise ValueError(
                f"forecaster {n!r} needs the {need} package: pip install 'stackcast[{need}]' "
                "(make setup installs it)"
            )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"forecasters lists {', '.join(repeated)} more than once")
    model = names[0]
    if not registered(model).publishable:
        can = ", ".join(n for n in FORECASTERS if registered(n).publishable)
        raise ValueError(
            f"forecasters starts with {model!r}, which cannot be the published model "
            f"(the first entry is the model; one of: {can})"
        )
    rest = [n for n in names[1:] if n != REFERENCE]
    return model, (REFERENCE, *rest)


def peers(names: Sequence[str]) -> tuple[str, ...]:
    """The learned peers among ``names`` (DM-tested against the model too)."""
    return tuple(n for n in names if n in FORECASTERS and registered(n).peer)


def forecaster_class(name: str) -> type[Forecaster]:
    """The ``Forecaster`` subclass registered as ``name`` (``ValueError`` if unknown)."""
    module, _, attr = registered(name).path.partition(":")
    return getattr(importlib.import_module(module), attr)


def make_forecaster(name: str, **options: Any) -> Forecaster:
    """A new, unfitted forecaster by registry name, built with ``options``."""
    return forecaster_class(name)(**options)
