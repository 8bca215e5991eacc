"""Configuration of the feature pipeline (the ``[features]`` section)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

InputName = Literal["log_return", "range", "volume_z", "observed"]

# Every config section of every package: frozen, unknown keys refused, no NaN or inf, and
# strict types (``epochs = true`` or ``window = "16"`` are errors, not 1 and 16). Lists and
# dates keep pydantic's lax parsing (TOML arrays become tuples, ISO strings dates).
# Names of the business-day era: "B" was Mon-Fri, "D" every day, "data" the source's dates.
LEGACY_CALENDARS = {"B": "24/5", "D": "24/7", "data": "observed"}


def calendar_spec(value: str) -> str:
    """A calendar spec checked and made canonical (``ValueError`` names the valid forms)."""
    from stackcast.features.calendars import canonical_spec

    return canonical_spec(LEGACY_CALENDARS.get(value, value))


SECTION_CONFIG = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


class FeatureConfig(BaseModel):
    """How price bars become model inputs and targets.

    Attributes mirror the ``[features]`` TOML section; every field has a default.
    """

    model_config = SECTION_CONFIG

    window: int = Field(
        60, ge=2, le=1000, description="Bars per input window, ending at the origin."
    )
    horizons: int = Field(5, ge=1, le=250, description="Forecast horizons 1..H in bars.")
    inputs: tuple[InputName, ...] = Field(
        ("log_return", "range", "volume_z", "observed"),
        min_length=1,
        strict=False,
        description="Per-step inputs; those a source lacks columns for are left out (warned).",
    )
    volume_window: int = Field(
        20, ge=2, le=1000, description="Trailing bars for the volume z-score."
    )
    min_history: int = Field(
        20, ge=1, description="Shortest history (bars) kept; shorter origins are right-padded."
    )
    calendar: str = Field(
        "XNYS",
        description="Trading sessions: an exchange code (XNYS, XLON, ...), '24/7' for every "
        "day, or 'observed' for the dates the source delivered; horizons count sessions.",
    )
    mask_value: float = Field(
        -10.0, description="Value of padded steps (masked in the model); finite, |v| <= 1e6."
    )
    scaler: Literal["standard", "robust", "none"] = Field(
        "standard", description="Scaler fit on each fold's training range only."
    )
    scaler_scope: Literal["per_ticker", "pooled"] = Field(
        "per_ticker", description="Fit one scaler per ticker, or one for all tickers."
    )

    @field_validator("mask_value")
    @classmethod
    def _mask(cls, value: float) -> float:
        if abs(value) > 1e6:
            raise ValueError("must be within -1e6 .. 1e6 (padded steps are float32)")
        return value

    @field_validator("calendar")
    @classmethod
    def _calendar(cls, value: str) -> str:
        return calendar_spec(value)

    @model_validator(mode="after")
    def _check(self) -> FeatureConfig:
        if self.horizons >= self.window:
            raise ValueError(f"horizons ({self.horizons}) must be < window ({self.window})")
        if self.min_history > self.window:
            raise ValueError(f"min_history ({self.min_history}) must be <= window ({self.window})")
        if len(set(self.inputs)) != len(self.inputs):
            raise ValueError("inputs must not repeat a name")
        return self
