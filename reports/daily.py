"""The daily forecast page: today's forecasts and the running score of published ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from stackcast.reports.scoreboard import coverage_warnings
from stackcast.reports.templating import _env


@dataclass
class DailyData:
    """What the daily page shows.

    Attributes:
        title: Page title.
        run_id: Run identifier.
        created: ISO timestamp.
        as_of: The day forecast (the origin date asked for).
        model: ``{"name", "version", "promoted_at", ...}`` of the champion used.
        forecasts: Ledger rows of this run (``ticker, origin, horizon, target_date, y_pred,
            lo, hi, origin_close, price_pred``).
        score: ``stackcast.reports.scoreboard.summary`` by horizon (model vs random walk).
        score_by_ticker: ``summary`` by ticker and horizon.
        running: ``stackcast.reports.scoreboard.cumulative`` (for the running-score plot).
        failed: Tickers that could not be forecast, with the reason.
        warnings: Run warnings.
    """

    title: str
    run_id: str
    created: str
    as_of: str
    model: Mapping[str, Any]
    forecasts: pd.DataFrame
    score: pd.DataFrame | None = None
    score_by_ticker: pd.DataFrame | None = None
    running: pd.DataFrame | None = None
    failed: Mapping[str, str] = field(default_factory=dict)
    warnings: Sequence[str] = ()


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    if frame is None or frame.empty:
        return []
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    return [
        {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
        for r in out.to_dict("records")
    ]


def forecast_records(forecasts: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows for the forecast table: prices and the interval in price terms."""
    f = forecasts.sort_values(["ticker", "horizon"]).copy()
    f["price_lo"] = f["origin_close"] * np.exp(f["lo"])
    f["price_hi"] = f["origin_close"] * np.exp(f["hi"])
    f["change"] = np.expm1(f["y_pred"])
    return _records(
        f[
            [
                "ticker",
                "origin",
                "horizon",
                "target_date",
                "origin_close",
                "price_pred",
                "change",
                "price_lo",
                "price_hi",
            ]
        ]
    )


def forecast_caption(meta: Mapping[str, Any]) -> str:
    """How a saved model makes its point forecast and band, from its ``meta.json``.

    Read from the configuration it was trained with (``point_forecast``, ``mc_samples``,
    ``interval``) and its saved ``interval_calibration``, so the daily page's caption says
    what produced the numbers beside it.
    """
    train = (meta.get("config") or {}).get("train") or {}
    samples = int(train.get("mc_samples", 30))
    # models saved before point_forecast existed used the MC-dropout mean
    mode = train.get("point_forecast", "mc_mean")
    if mode == "deterministic" or samples == 0:
        point = "Point forecast: one pass of the network with dropout off."
    else:
        point = f"Point forecast: the mean of {samples} MC-dropout passes."
    if samples == 0:
        return point + " No interval ([train] mc_samples = 0)."
    level = f"{100 * float(train.get('interval', 0.8)):.0f}%"
    cal = meta.get("interval_calibration")
    if not cal:
        return point + (
            f" Interval: the {level} quantiles of {samples} MC-dropout passes (not calibrated "
            "on held-out origins)."
        )
    n = min(cal.get("n") or [0])
    block = cal.get("block", "calibration")
    whose = "the refit's own" if (meta.get("refit") or {}).get("calibration_block") else "its"
    how = (
        "scaled by each origin's trailing volatility"
        if cal.get("method") == "volatility"
        else "in the scaler's units"
    )
    return point + (
        f" Interval: {level} split-conformal band around it, from the residual quantiles of "
        f"{whose} {block} block ({n} held-out origins per horizon), {how}."
    )


def running_plot(running: pd.DataFrame | None) -> str | None:
    """Running MAE of published forecasts against the random walk's, one panel per horizon.

    Args:
        running: ``stackcast.reports.scoreboard.cumulative`` output, by ``horizon`` (without a
            ``horizon`` column, one panel of every horizon pooled).
    """
    if running is None or running.empty:
        return None
    from stackcast.reports.figures import (
        COLORS,
        add_legend,
        headline_horizons,
        new_figure,
        set_title,
        to_data_uri,
    )

    if "horizon" in running:
        panels = [
            (f"h = {h}", running.loc[running["horizon"] == h])
            for h in headline_horizons(running["horizon"].unique())
        ]
    else:
        panels = [("all horizons", running)]
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    ncols = min(len(panels), 3)
    nrows = -(-len(panels) // ncols)
    fig, axes = new_figure(2.4 * nrows + 0.5, nrows, ncols)
    for ax, (title, g) in zip(axes.flat, panels, strict=False):
        dates = pd.to_datetime(g["date"])
        for col, name, color, ls in (
            ("mae", "published forecasts", COLORS["model"], "-"),
            ("rw_mae", "random walk", COLORS["random_walk"], "--"),
        ):
            ax.plot(dates, 100 * g[col], color=color, lw=1.3, ls=ls, label=name)
        n = int(g["n"].iloc[-1]) if len(g) else 0
        set_title(ax, f"{title} (n = {n})")
        if dates.max() - dates.min() < pd.Timedelta(days=7):  # a few days scored: show a week
            mid = dates.min() + (dates.max() - dates.min()) / 2
            ax.set_xlim(mid - pd.Timedelta(days=4), mid + pd.Timedelta(days=4))
        locator = AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_axis_off()
    for ax in axes[:, 0]:
        ax.set_ylabel("running MAE (%)", fontsize=8)
    fig.suptitle("Running MAE of published forecasts against the random walk, by horizon",
                 x=0.01, ha="left", fontsize=10, fontweight="bold")  # fmt: skip
    add_legend(axes[0, 0], "below")
    return to_data_uri(fig)


def render_daily(data: DailyData) -> str:
    """The self-contained daily HTML page."""
    return (
        _env()
        .get_template("daily.html")
        .render(
            d=data,
            forecasts=forecast_records(data.forecasts) if len(data.forecasts) else [],
            score=_records(data.score),
            score_by_ticker=_records(data.score_by_ticker),
            plot=running_plot(data.running),
            coverage_warnings=coverage_warnings(data.score),
        )
    )


def daily_verdict(row: Any) -> str:
    """The index's sentence for a daily run from its horizon-1 score row.

    Numbers, not a claim: the MAEs (percent), ``n`` and the Diebold-Mariano p-value, or why
    there is none yet.
    """
    n = int(row["n"])
    p = row.get("dm_p") if hasattr(row, "get") else None
    note = row.get("dm_note") if hasattr(row, "get") else None
    if isinstance(note, str):
        test = note
    elif p is None or not np.isfinite(p):
        test = "Diebold-Mariano p n/a"
    else:
        test = f"Diebold-Mariano p = {float(p):.3f} (one-sided, model better)"
    return (
        f"published 1-step forecasts: MAE {100 * row['mae']:.3f}% vs random walk "
        f"{100 * row['rw_mae']:.3f}% (n = {n}); {test}"
    )
