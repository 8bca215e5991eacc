"""Configuration of the network (``[model]``) and its training (``[train]``).

Pure pydantic: importing this module does not import Keras.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from stackcast.features.config import SECTION_CONFIG

Cell = Literal["lstm", "gru"]
MAX_SEED = 2**31 - 1 - 1000  # fold k trains with seed + k; both must fit a 32-bit RNG seed


class LayerConfig(BaseModel):
    """One recurrent layer: its cell, width and (optionally) a different backward cell."""

    model_config = SECTION_CONFIG

    cell: Cell = Field("lstm", description="Recurrent cell: lstm or gru.")
    units: int = Field(64, gt=0, le=4096, description="Units per direction.")
    bidirectional: bool = Field(True, description="Wrap the layer in Bidirectional.")
    backward_cell: Cell | None = Field(
        None, description="A different cell for the backward direction (bidirectional only)."
    )
    activation: str = Field("tanh", description="Cell activation; non-default disables cuDNN.")
    recurrent_activation: str = Field(
        "sigmoid", description="Gate activation; non-default disables cuDNN."
    )

    @model_validator(mode="after")
    def _backward_needs_two_directions(self) -> LayerConfig:
        if self.backward_cell is not None and not self.bidirectional:
            raise ValueError(
                f"backward_cell={self.backward_cell!r} needs bidirectional=true "
                "(a unidirectional layer has no backward direction)"
            )
        return self


class ModelConfig(BaseModel):
    """Architecture of the stacked recurrent regressor (the ``[model]`` section)."""

    model_config = SECTION_CONFIG

    layers: tuple[LayerConfig, ...] = Field(
        (LayerConfig(cell="lstm", units=64), LayerConfig(cell="lstm", units=32)),
        strict=False,
        description="Recurrent layers, bottom to top; return_sequences is set by position.",
    )
    merge_mode: Literal["concat", "sum", "ave", "mul"] = Field(
        "concat", description="How Bidirectional merges its two directions."
    )
    dropout: float = Field(0.2, ge=0.0, lt=1.0, description="Input dropout inside each layer.")
    recurrent_dropout: float = Field(
        0.0, ge=0.0, lt=1.0, description="Recurrent dropout; > 0 disables cuDNN (warned about)."
    )
    between_dropout: float = Field(
        0.1, ge=0.0, lt=1.0, description="Dropout between stacked recurrent layers."
    )
    head: Literal["last", "attention"] = Field(
        "last", description="Pool the top layer by its last state or by masked attention."
    )
    dense_units: int = Field(0, ge=0, le=4096, description="Optional hidden Dense before output.")
    kernel_initializer: str = Field("glorot_uniform", description="Keras kernel initializer.")
    recurrent_initializer: str = Field("orthogonal", description="Keras recurrent initializer.")

    @field_validator("layers")
    @classmethod
    def _at_least_one(cls, layers: tuple[LayerConfig, ...]) -> tuple[LayerConfig, ...]:
        if not layers:
            raise ValueError("at least one recurrent layer is required")
        return layers


class TrainConfig(BaseModel):
    """How a model is fit (see ``models.train``)."""

    model_config = SECTION_CONFIG

    epochs: int = Field(20, ge=1, le=10_000, description="Maximum epochs.")
    batch_size: int = Field(256, ge=1, le=65_536, description="Samples per batch.")
    learning_rate: float = Field(1e-3, gt=0.0, le=10.0, description="Adam learning rate.")
    validation_fraction: float = Field(
        0.15,
        ge=0.0,
        lt=0.9,
        description="Fraction of the latest training origins (by time) held out for early "
        "stopping (0: no held-out origins, no early stopping, no interval calibration).",
    )
    calibration_fraction: float = Field(
        0.15,
        ge=0.0,
        lt=0.9,
        description="Fraction of training origins after the early-stopping block (H-bar gaps) "
        "that only calibrate the interval; 0, or too few origins, calibrates on the "
        "early-stopping block (warned).",
    )
    interval_scale: Literal["volatility", "none"] = Field(
        "volatility",
        description="volatility: conformal residuals divided by each origin's trailing realised "
        "volatility (RMS log return over the window), so bands follow volatility; none: "
        "raw residual quantiles.",
    )
    patience: int = Field(4, ge=1, description="Early-stopping patience (epochs).")
    reduce_lr_patience: int = Field(2, ge=1, description="ReduceLROnPlateau patience (epochs).")
    clipnorm: float | None = Field(1.0, gt=0.0, description="Per-variable gradient clip norm.")
    loss: Literal["mse", "huber", "mae"] = Field("huber", description="Training loss.")
    seed: int = Field(
        42,
        ge=0,
        le=MAX_SEED,
        description="Seed for weights, dropout and shuffling (seed + fold fits 32 bits).",
    )
    deterministic: bool = Field(True, description="Enable op determinism (identical CPU runs).")
    mixed_precision: Literal["auto", "on", "off"] = Field(
        "auto", description="auto: mixed float16 on GPU only."
    )
    explode_threshold: float = Field(
        1e3, gt=0.0, description="Gradient norm above which a fit fails as exploding."
    )
    vanish_threshold: float = Field(
        1e-7, ge=0.0, description="Gradient norm below which training warns of vanishing."
    )
    mc_samples: int = Field(
        30,
        ge=0,
        le=1000,
        description="Monte Carlo dropout samples at prediction (0 = no band): the band without "
        "a calibration block, and the point forecast with point_forecast = mc_mean.",
    )
    point_forecast: Literal["deterministic", "mc_mean"] = Field(
        "deterministic",
        description="deterministic: one pass with dropout off (the band is calibrated around "
        "it); mc_mean: the mean of mc_samples dropout passes (mc_samples times the work).",
    )
    steps_per_execution: int = Field(
        8,
        ge=1,
        le=1024,
        description="Batches per compiled call (fewer host round trips; the NaN guard checks "
        "the loss after each call, so a divergence is located to within that many batches).",
    )
    interval: float = Field(0.8, gt=0.0, lt=1.0, description="Central prediction interval.")
    warm_start: bool = Field(True, description="Backtest folds start from the previous fold.")
    warm_epochs: int = Field(
        5, ge=1, le=10_000, description="Maximum epochs for a warm-started fold."
    )

    @model_validator(mode="after")
    def _held_out_leaves_fitting(self) -> TrainConfig:
        if self.validation_fraction + self.calibration_fraction >= 0.9:
            raise ValueError(
                f"validation_fraction + calibration_fraction = "
                f"{self.validation_fraction + self.calibration_fraction:g} leaves too few "
                "origins to fit (keep the sum below 0.9)"
            )
        return self
