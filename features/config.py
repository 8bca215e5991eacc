"""Configuration of the feature pipeline (the ``[features]`` section)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

InputName = Literal[
    "log_return",
    "range",
    "volume_z",
    "observed",
    "day_of_week",
    "month",
    "volatility",
    "momentum",
    "rsi",
    "ma_distance",
]

#: Covariate symbols follow the store's ticker rule (no ``:``, which joins symbol and input).
_SYMBOL = re.compile(r"^[A-Z0-9^][A-Z0-9.\-=^]{0,19}$")

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
        description="Per-step inputs of each ticker's own bars, each a function of bars at or "
        "before the step: log_return (close to close), range (log high/low), volume_z (trailing "
        "z-score of log volume), observed (1 on a bar, 0 on a session without one), day_of_week "
        "and month (sin and cos of the step's date on the weekly / yearly cycle), volatility "
        "(trailing realised volatility), momentum (log return over each of momentum_windows), "
        "rsi (relative strength index rescaled to -1..1), ma_distance (log of close over its "
        "trailing moving average). Those a source lacks columns for are left out (warned).",
    )
    covariates: tuple[str, ...] = Field(
        (),
        strict=False,
        description="Other tickers (in the store or the source) whose per-step inputs join "
        "every ticker's window: log return, range and volume z-score where the covariate has "
        "those columns, and its observed flag, aligned on the ticker's sessions; a covariate "
        "bar dated after a step never enters it. A covariate is forecast only if it is also "
        "one of [data] tickers.",
    )
    volume_window: int = Field(
        20, ge=2, le=1000, description="Trailing bars for the volume z-score."
    )
    volatility_window: int = Field(
        20, ge=2, le=1000, description="Trailing bars of the realised volatility input."
    )
    momentum_windows: tuple[int, ...] = Field(
        (5, 20),
        min_length=1,
        strict=False,
        description="Bars back of each momentum input (one input per window: momentum_<n>).",
    )
    rsi_window: int = Field(14, ge=2, le=1000, description="Trailing bars of the RSI input.")
    ma_window: int = Field(
        20, ge=2, le=1000, description="Trailing bars of the moving average in ma_distance."
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

    @field_validator("covariates")
    @classmethod
    def _covariates(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        names = tuple(str(v).strip().upper() for v in value)
        for raw, name in zip(value, names, strict=True):
            if not _SYMBOL.fullmatch(name):
                raise ValueError(f"invalid covariate {raw!r}: use 1-20 letters, digits or . - = ^")
        if len(set(names)) != len(names):
            raise ValueError("covariates must not repeat a name")
        return names

    @field_validator("momentum_windows")
    @classmethod
    def _momentum(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(isinstance(v, bool) or not 1 <= v <= 1000 for v in value):
            raise ValueError("each momentum window must be an integer from 1 to 1000")
        if len(set(value)) != len(value):
            raise ValueError("momentum_windows must not repeat a window")
        return value

    @property
    def lookback(self) -> int:
        """Most bars before a step that any configured own input reads (trailing windows)."""
        extra = {
            "volume_z": self.volume_window,
            "volatility": self.volatility_window,
            "momentum": max(self.momentum_windows),
            "rsi": self.rsi_window,
            "ma_distance": self.ma_window,
        }
        return max([self.volume_window, *(extra[n] for n in self.inputs if n in extra)])

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
