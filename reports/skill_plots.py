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
from stackcast.models.baselines import one_blas_thread
from stackcast.reports.figures import (
    COLORS,
    headline_horizons,
    series_style,
)
from stackcast.reports.slope import slope_fit
from stackcast.reports.svg_plot import Canvas, Key, dash_of


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
    axes stop at the 0.5% and 99.5% quantiles so a crash day does not flatten the rest. Drawn
    as SVG (``stackcast.reports.svg_plot``).

    Args:
        predictions: backtest frame (``origin, horizon, y_true, y_pred``).
        horizons: which horizons to draw (default: ``headline_horizons`` of those present).
        max_points: most points drawn per panel (the fit uses every point).
    """
    df = _scored(predictions)
    if df.empty:
        return None
    hs = list(horizons) if horizons is not None else headline_horizons(df["horizon"].unique())
    horizon = df["horizon"].to_numpy()
    hs = [h for h in hs if (horizon == h).any()]
    if not hs:
        return None
    ncols = min(len(hs), 3)
    nrows = math.ceil(len(hs) / ncols)
    canvas = Canvas(880, 300 * nrows + 20)
    rng = np.random.default_rng(0)
    pred_all, true_all = 100 * df["y_pred"].to_numpy(float), 100 * df["y_true"].to_numpy(float)
    origin_all = df["origin"].to_numpy()
    for k, h in enumerate(hs):
        rows = horizon == h  # numpy masks: a pandas selection per panel cost more than drawing
        x, y = pred_all[rows], true_all[rows]
        shown = (
            rng.choice(x.size, max_points, replace=False) if x.size > max_points else slice(None)
        )
        lo, hi = np.quantile(x, [0.005, 0.995])
        ylo, yhi = np.quantile(y, [0.005, 0.995])
        pad, ypad = 0.1 * (hi - lo) or 0.1, 0.1 * (yhi - ylo) or 0.1
        row, col = divmod(k, ncols)
        ax = canvas.panel(
            (74 + col * 290, 30 + row * 300, 200, 210),
            (lo - pad, hi + pad),
            (ylo - ypad, yhi + ypad),
        )
        ax.hline(0.0, "#bbbbbb", 0.6)
        ax.vline(0.0, COLORS["random_walk"], 1.0)
        ax.markers(x[shown], y[shown], COLORS["model"], r=1.6, opacity=0.3)
        d = np.array([max(lo - pad, ylo - ypad), min(hi + pad, yhi + ypad)])
        ax.line(d, d, "#444444", 0.8, dash_of(":"))
        # One BLAS thread: the fit's dot products of a few thousand rows are microseconds,
        # while waking OpenBLAS's idle threads for them cost milliseconds each on a busy box.
        with one_blas_thread():  # the process's controller, found once
            fit = slope_fit(x, y, origin_all[rows], int(h))
        if fit is not None:
            xs = np.array([lo - pad, hi + pad])
            ax.line(xs, fit.intercept + fit.slope * xs, COLORS["model_h"], 1.6)
            se = "n/a" if fit.se is None else f"{fit.se:.2f}"
            text = f"OLS slope {fit.slope:.2f} ± {se}\nn = {x.size:,}, {fit.dates:,} dates"
        else:
            text = f"no spread in forecasts\nn = {x.size:,}"
        ax.note(0.03, 0.97, text, box=True)
        ax.axes(title=f"h = {h}", xlabel="predicted (log return, %)", ylabel="realised (%)")
    canvas.legend(
        [
            Key("random walk (forecast 0)", COLORS["random_walk"]),
            Key("perfect forecast", "#444444", dash_of(":"), width=1),
            Key("OLS fit", COLORS["model_h"], width=2),
        ],
        200,
        canvas.height - 14,
        across=3,
        step=200,
    )
    return canvas.data_uri()


def error_difference_plot(
    predictions: pd.DataFrame | None, *, horizons: Sequence[int] | None = None
) -> str | None:
    """Cumulative squared-error difference, model minus random walk, over forecast origins.

    Per origin date the squared errors of the model and the random walk are averaged over the
    tickers scored that day; their difference is summed from the first origin on (in %²). A
    falling line means the model is gaining on the random walk, a rising one losing; the
    end value over the number of origins is the mean loss differential a DM test looks at.
    Drawn as SVG (``stackcast.reports.svg_plot``): a few lines need no matplotlib figure.

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
    present = set(daily.index.get_level_values(0))
    series = []
    for i, h in enumerate(hs):
        if h not in present:
            continue
        s = daily.loc[h].cumsum()
        days = s.index.to_numpy().astype("datetime64[D]").astype(np.int64).astype(float)
        series.append((i, h, days, s.to_numpy(float)))
    if not series:
        return None
    x = np.concatenate([d for _, _, d, _ in series])
    y = np.concatenate([v for _, _, _, v in series] + [np.zeros(1)])
    y = y[np.isfinite(y)]
    pad = 0.05 * (float(y.max() - y.min()) or 1.0)
    canvas = Canvas(880, 350)
    ax = canvas.panel(
        (84, 30, 660, 270), (x.min(), max(x.max(), x.min() + 1)), (y.min() - pad, y.max() + pad)
    )
    ax.hline(0.0, "#999999")
    keys = []
    for i, h, days, values in series:
        style = series_style(i)
        ax.line(days, values, style["color"], 1.4, dash_of(style["ls"]))
        keys.append(Key(f"h = {h}", style["color"], dash_of(style["ls"])))
    ax.axes(
        title="cumulative squared-error difference, model − random walk (falling: model gains)",
        xlabel="forecast origin",
        ylabel="cumulative SE model − RW (%²)",
        xticks="date",
    )
    canvas.legend(keys, 760, 40)
    return canvas.data_uri()
