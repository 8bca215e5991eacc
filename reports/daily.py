"""The daily forecast page: today's forecasts and the running score of published ones."""

from __future__ import annotations

import math
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

    An SVG ``data:`` URI (``stackcast.reports.svg_plot``: no matplotlib in the daily run).

    Args:
        running: ``stackcast.reports.scoreboard.cumulative`` output, by ``horizon`` (without a
            ``horizon`` column, one panel of every horizon pooled).
    """
    if running is None or running.empty:
        return None
    from stackcast.reports.figures import COLORS, headline_horizons
    from stackcast.reports.svg_plot import Canvas, Key

    if "horizon" in running:
        panels = [
            (f"h = {h}", running.loc[running["horizon"] == h])
            for h in headline_horizons(running["horizon"].unique())
        ]
    else:
        panels = [("all horizons", running)]
    ncols = min(len(panels), 3)
    nrows = -(-len(panels) // ncols)
    width, height = 290, 200  # one panel's cell
    canvas = Canvas(max(ncols * width + 20, 420), nrows * height + 40)  # room for the legend
    styles = (("mae", COLORS["model"], ""), ("rw_mae", COLORS["random_walk"], "5 3"))
    for k, (title, g) in enumerate(panels):
        row, col = divmod(k, ncols)
        days = g["date"].to_numpy().astype("datetime64[D]").astype(np.int64).astype(float)
        lo, hi = float(days.min()), float(days.max())
        if hi - lo < 7:  # a few days scored: show a week
            lo, hi = (lo + hi) / 2 - 4, (lo + hi) / 2 + 4
        values = 100 * g[["mae", "rw_mae"]].to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        y0, y1 = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        pad = 0.08 * ((y1 - y0) or abs(y1) or 1.0)
        ax = canvas.panel(
            (col * width + 64, row * height + 28, width - 84, height - 66),
            (lo, hi),
            (y0 - pad, y1 + pad),
        )
        for column, color, dash in styles:
            y = 100 * g[column].to_numpy(dtype=float)
            ax.line(days, y, color, 1.4, dash)
            if len(days) <= 3:  # too few days for a visible line
                ax.markers(days, y, color, r=2.5)
        n = int(g["n"].iloc[-1]) if len(g) else 0
        ax.axes(
            title=f"{title} (n = {n})",
            ylabel="running MAE (%)" if col == 0 else "",
            xticks=day_ticks(lo, hi),
            size=11,
        )
    keys = [Key("published forecasts", COLORS["model"]), Key("random walk", COLORS["random_walk"],
            dash="5 3")]  # fmt: skip
    canvas.legend(keys, 64, nrows * height + 22, across=2, step=190)
    return canvas.data_uri()


def day_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """Date ticks within ``[lo, hi]`` (days since 1970): about five days or month starts."""
    from stackcast.reports.svg_plot import ticks

    if hi - lo > 120:
        return ticks(lo, hi, "date")
    step = next(s for s in (1, 2, 7, 14, 28) if (hi - lo) / s <= 5)
    first = math.ceil(lo / step) * step if step < 7 else math.ceil((lo - 4) / 7) * 7 + 4
    out = []
    for d in np.arange(first, hi + 1e-9, step):  # weekly steps fall on Mondays
        out.append((float(d), str(np.datetime64(int(d), "D"))[5:]))
    return [(d, label) for d, label in out if lo <= d <= hi]


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
