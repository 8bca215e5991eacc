"""Configuration of metrics, trading simulation and the HTML report (``[report]``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from stackcast.features.config import SECTION_CONFIG


class ReportConfig(BaseModel):
    """What the report computes and shows."""

    model_config = SECTION_CONFIG

    cost_bps: float = Field(
        5.0, ge=0.0, le=1000.0, description="Transaction cost per unit turnover, bps."
    )
    periods_per_year: int = Field(252, ge=1, le=366, description="Bars per year for annualising.")
    risk_free: float = Field(0.0, ge=-1.0, le=1.0, description="Annual risk-free rate for Sharpe.")
    fill: Literal["next_open", "next_close"] = Field(
        "next_open",
        description=(
            "Price the trading simulation fills a position decided at a close at: the next "
            "bar's open (its close where the source has no open) or the next bar's close."
        ),
    )
    significance: float = Field(0.05, gt=0.0, lt=1.0, description="Level for 'beats random walk'.")
    plot_last: int = Field(250, ge=10, description="Bars of actual prices shown per ticker plot.")
    title: str = Field("stackcast backtest", max_length=200, description="Report title.")
