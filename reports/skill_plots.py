"""Skill figures pooled over tickers: predicted against realised, and the loss difference.

``predicted_vs_realised_plot`` scatters realised on predicted log returns per horizon with the
OLS slope and its standard error (``stackcast.reports.slope``); ``error_difference_plot`` sums
the per-date squared-error difference against the random walk that the Diebold-Mariano test
averages. Both return a ``data:`` URI, or ``None`` when there is nothing to draw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from stackcast.reports.figures import (
    COLORS,
    add_legend,
    fixed_margins,
    headline_horizons,
    new_figure,
    series_style,
    set_title,
    to_data_uri,
)
from stackcast.reports.slope import slope_fit


def _scored(predictions: pd.DataFrame | None) -> pd.DataFrame:
    """Rows with a known outcome and forecast: ``origin, horizon, y_true, y_pred, rw``."""
    if predictions is None or predictions.empty:
        return pd.DataFrame(columns=["origin", "horizon", "y_true", "y_pred", "rw"])
    rw = predictions.get("random_walk", 0.0)
    df = pd.DataFrame(
        {
            "origin": pd.to_datetime(predictions["origin"]),
            "horizon": predictions["horizon"].astype(int),
            "y_true": predictions["y_true"].astype(float),
            "y_pred": predictions["y_pred"].astype(float),
            "rw": pd.Series(rw, index=predictions.index, dtype=float).fillna(0.0),
        }
    )
    ok = np.isfinite(df[["y_true", "y_pred"]].to_numpy(float)).all(axis=1)
    return df.loc[ok]


def predicted_vs_realised_plot(
    predictions: pd.DataFrame | None,
    *,
    horizons: Sequence[int] | None = None,
    max_points: int = 800,
) -> str | None:
    """Realised against predicted log return per horizon, every ticker pooled, with OLS fits.

    One panel per horizon (at most six, spread over ``1..H``). The random walk forecasts 0 (the
    vertical line); the dotted diagonal is a perfect forecast; the fitted line and its slope
    come from OLS of realised on predicted over all scored rows, the slope's standard error
    from ``stackcast.reports.slope.slope_fit`` (clustered by origin date, h - 1 lags of dates
    for the overlapping targets). A slope near 1 means well-scaled forecasts, near 0 no usable
    signal. At most ``max_points`` points are drawn per panel (a fixed random sample), and the
    axes stop at the 0.5% and 99.5% quantiles so a crash day does not flatten the rest.

    Args:
        predictions: backtest frame (``origin, horizon, y_true, y_pred``).
        horizons: which horizons to draw (default: ``headline_horizons`` of those present).
        max_points: most points drawn per panel (the fit uses every point).
    """
    df = _scored(predictions)
    if df.empty:
        return None
    hs = list(horizons) if horizons is not None else headline_horizons(df["horizon"].unique())
    hs = [h for h in hs if (df["horizon"] == h).any()]
    if not hs:
        return None
    ncols = min(len(hs), 3)
    nrows = math.ceil(len(hs) / ncols)
    height = 2.7 * nrows + 0.4
    # A fixed grid of same-shaped panels: margins set here instead of by the layout engine.
    fig, axes = new_figure(height, nrows, ncols, layout=None)
    fixed_margins(fig, 0.6, 0.12, 0.3, 0.75, wspace=0.3, hspace=0.4)
    rng = np.random.default_rng(0)
    for ax, h in zip(axes.flat, hs, strict=False):
        g = df.loc[df["horizon"] == h]
        x, y = 100 * g["y_pred"].to_numpy(float), 100 * g["y_true"].to_numpy(float)
        shown = (
            rng.choice(x.size, max_points, replace=False) if x.size > max_points else slice(None)
        )
        ax.scatter(x[shown], y[shown], s=4, alpha=0.3, color=COLORS["model"], lw=0, rasterized=True)
        lo, hi = np.quantile(x, [0.005, 0.995])
        ylo, yhi = np.quantile(y, [0.005, 0.995])
        pad, ypad = 0.1 * (hi - lo) or 0.1, 0.1 * (yhi - ylo) or 0.1
        ax.set_xlim(lo - pad, hi + pad)
        ax.set_ylim(ylo - ypad, yhi + ypad)
        ax.axvline(0.0, color=COLORS["random_walk"], lw=1.0, label="random walk (forecast 0)")
        ax.axhline(0.0, color="#bbbbbb", lw=0.6)
        d = np.array([max(lo - pad, ylo - ypad), min(hi + pad, yhi + ypad)])
        ax.plot(d, d, color="#444444", lw=0.8, ls=":", label="perfect forecast")
        fit = slope_fit(x, y, g["origin"].to_numpy(), int(h))
        if fit is not None:
            xs = np.array([lo - pad, hi + pad])
            line = fit.intercept + fit.slope * xs
            ax.plot(xs, line, color=COLORS["model_h"], lw=1.4, label="OLS fit")
            se = "n/a" if fit.se is None else f"{fit.se:.2f}"
            text = f"OLS slope {fit.slope:.2f} ± {se}\nn = {x.size:,}, {fit.dates:,} dates"
        else:
            text = f"no spread in forecasts\nn = {x.size:,}"
        box = {"facecolor": "white", "edgecolor": "#cccccc", "alpha": 0.85, "pad": 2}
        ax.text(0.03, 0.97, text, transform=ax.transAxes, fontsize=7.5, va="top", bbox=box)
        set_title(ax, f"h = {h}")
        ax.set_xlabel("predicted (log return, %)", fontsize=8)
        ax.set_ylabel("realised (%)", fontsize=8)
    for ax in list(axes.flat)[len(hs) :]:
        ax.set_axis_off()
    add_legend(axes[0, 0], "below")
    return to_data_uri(fig)


def error_difference_plot(
    predictions: pd.DataFrame | None, *, horizons: Sequence[int] | None = None
) -> str | None:
    """Cumulative squared-error difference, model minus random walk, over forecast origins.

    Per origin date the squared errors of the model and the random walk are averaged over the
    tickers scored that day; their difference is summed from the first origin on (in %²). A
    falling line means the model is gaining on the random walk, a rising one losing; the
    end value over the number of origins is the mean loss differential a DM test looks at.

    Args:
        predictions: backtest frame (``origin, horizon, y_true, y_pred``, optional
            ``random_walk``).
        horizons: which horizons to draw (default: ``headline_horizons`` of those present).
    """
    df = _scored(predictions)
    if df.empty:
        return None
    hs = list(horizons) if horizons is not None else headline_horizons(df["horizon"].unique())
    df = df.assign(d=1e4 * ((df["y_true"] - df["y_pred"]) ** 2 - (df["y_true"] - df["rw"]) ** 2))
    daily = df.groupby(["horizon", "origin"], sort=True)["d"].mean()
    fig, axes = new_figure(3.2, layout=None)  # fixed margins: the legend's labels are short
    ax = axes[0, 0]
    drawn = 0
    for i, h in enumerate(hs):
        if h not in daily.index.get_level_values(0):
            continue
        s = daily.loc[h].cumsum()
        ax.plot(s.index, s.to_numpy(), lw=1.2, label=f"h = {h}", **series_style(i))
        drawn += 1
    if not drawn:
        fig.clear()
        return None
    ax.axhline(0.0, color="#999999", lw=0.8)
    ax.set_ylabel("cumulative SE model − RW (%²)")
    ax.set_xlabel("forecast origin")
    set_title(ax, "cumulative squared-error difference, model − random walk (falling: model gains)")
    add_legend(ax)
    fig.autofmt_xdate(rotation=0, ha="center")
    fixed_margins(fig, 0.75, 1.0, 0.3, 0.6)  # after autofmt_xdate, which moves the bottom
    return to_data_uri(fig)
