"""Report figures as ``data:image/png;base64,...`` URIs: forecasts, errors by fold, equity.

``forecast_plot`` and ``equity_plot`` draw one ticker (or the portfolio); ``error_plot`` the
errors per fold and horizon. The predicted-against-realised and squared-error-difference
figures are ``stackcast.reports.skill_plots``, the training histories
``stackcast.reports.training_plot``. Every function is tolerant of missing data and returns
``None`` when there is nothing to draw. The palette, sizes and axes helpers live in
``stackcast.reports.figures`` (no ``pyplot``: nothing is registered globally).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.ticker import PercentFormatter
from stackcast.features.returns import prices_from_returns
from stackcast.reports.figures import (
    COLORS,
    NAMES,
    add_legend,
    fixed_margins,
    log_axis,
    new_figure,
    plain,
    set_title,
    to_data_uri,
)
from stackcast.reports.trading import LABELS, STRATEGIES


def forecast_plot(
    prices: pd.DataFrame,
    predictions: pd.DataFrame,
    ticker: str,
    *,
    plot_last: int = 250,
) -> str | None:
    """Actual closes with the 1-step and H-step forecasts (and intervals) for one ticker.

    Forecast prices are ``close[origin] * exp(y_pred)`` drawn at each target date; ``lo``/``hi``
    become a shaded band when present. The latest origin's whole path (h = 1..H) is drawn as a
    dashed fan from its close.

    Args:
        prices: long frame with ``ticker, date, close``.
        predictions: backtest frame (``ticker, origin, horizon, target_date, y_pred``, optional
            ``lo, hi``).
        ticker: the ticker to draw.
        plot_last: number of most recent bars of actual prices shown.
    """
    rows = prices.loc[prices["ticker"].astype(str) == str(ticker)]
    if rows.empty:
        return None
    close = pd.Series(
        rows["close"].to_numpy(float), index=pd.DatetimeIndex(pd.to_datetime(rows["date"]))
    ).sort_index()
    close = close[~close.index.duplicated(keep="last")]
    shown = close.iloc[-plot_last:]
    pr = predictions.loc[predictions["ticker"].astype(str) == str(ticker)].copy()
    pr["origin"] = pd.to_datetime(pr["origin"])
    pr["target_date"] = pd.to_datetime(pr["target_date"])
    pr = pr.loc[pr["target_date"] >= shown.index[0]]
    pr["base"] = close.reindex(pr["origin"]).to_numpy()
    pr = pr.loc[np.isfinite(pr["base"].to_numpy(float))]

    fig, axes = new_figure(3.4)
    ax = axes[0, 0]
    ax.plot(shown.index, shown.to_numpy(), color=COLORS["actual"], lw=1.1, label="close")
    if not pr.empty:
        H = int(pr["horizon"].max())
        levels = [(1, COLORS["model"])] + ([(H, COLORS["model_h"])] if H > 1 else [])
        has_band = {"lo", "hi"} <= set(pr.columns) and pr[["lo", "hi"]].notna().any().all()
        for h, color in levels:
            g = pr.loc[pr["horizon"] == h].sort_values("target_date")
            if g.empty:
                continue
            base = g["base"].to_numpy(float)
            x = g["target_date"].to_numpy()
            ax.plot(
                x,
                prices_from_returns(base, g["y_pred"]),
                color=color,
                lw=1.0,
                label=f"forecast h={h}",
            )
            if has_band:
                ax.fill_between(
                    x,
                    prices_from_returns(base, g["lo"]),
                    prices_from_returns(base, g["hi"]),
                    color=color,
                    alpha=0.15,
                    lw=0,
                    label=f"interval h={h}",
                )
        last = pr.loc[pr["origin"] == pr["origin"].max()].sort_values("horizon")
        x0 = last["origin"].iloc[0]
        b0 = float(last["base"].iloc[0])
        xs = [x0, *last["target_date"].to_list()]
        ax.plot(
            xs,
            [b0, *(prices_from_returns(b0, last["y_pred"]))],
            color=COLORS["latest"],
            lw=1.2,
            ls="--",
            marker="o",
            ms=2.5,
            label="latest forecast",
        )
        if has_band and last[["lo", "hi"]].notna().all().all():
            ax.fill_between(
                xs,
                [b0, *(prices_from_returns(b0, last["lo"]))],
                [b0, *(prices_from_returns(b0, last["hi"]))],
                color=COLORS["latest"],
                alpha=0.15,
                lw=0,
            )
    set_title(ax, plain(ticker))
    ax.set_ylabel("price")
    add_legend(ax, "below")
    fig.autofmt_xdate(rotation=0, ha="center")
    return to_data_uri(fig)


def error_plot(by_fold: Sequence[Mapping[str, Any]] | pd.DataFrame) -> str | None:
    """Model MAE relative to the random walk per fold x horizon, and MAE by horizon.

    Args:
        by_fold: records ``{fold, horizon, predictor, n, mae, rmse}`` (``evaluate()["by_fold"]``).
    """
    df = pd.DataFrame(by_fold)
    if df.empty or not {"fold", "horizon", "predictor", "mae"} <= set(df.columns):
        return None
    df = df.dropna(subset=["mae"])
    mae = df.pivot_table(index=["fold", "horizon"], columns="predictor", values="mae")
    # Fixed margins: two panels side by side, the colorbar taken from the first.
    fig, axes = new_figure(3.3, 1, 2, width_ratios=[1.1, 1], layout=None)
    fixed_margins(fig, 0.55, 0.15, 0.3, 0.8, wspace=0.3)
    ax = axes[0, 0]
    if {"model", "random_walk"} <= set(mae.columns):
        ratio = (mae["model"] / mae["random_walk"]).unstack("horizon")
        folds, horizons = ratio.index.to_list(), ratio.columns.to_list()
        values = ratio.to_numpy(float)
        dev = np.nanmax(np.abs(values - 1.0)) if np.isfinite(values).any() else 0.1
        dev = max(float(dev), 0.02)
        im = ax.imshow(values, cmap="RdBu_r", vmin=1 - dev, vmax=1 + dev, aspect="auto")
        ax.set_xticks(range(len(horizons)), [str(h) for h in horizons])
        step = math.ceil(len(folds) / 12)  # at most ~12 fold labels
        ax.set_yticks(range(0, len(folds), step), [str(f) for f in folds[::step]])
        ax.set_xlabel("horizon")
        ax.set_ylabel("fold")
        ax.grid(False)
        if values.size <= 120:
            for (i, j), v in np.ndenumerate(values):
                if np.isfinite(v):
                    ax.text(
                        j,
                        i,
                        f"{v:.2f}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if abs(v - 1) > 0.6 * dev else "#222222",
                    )
        fig.colorbar(im, ax=ax, shrink=0.85, label="model / RW MAE")
        set_title(ax, "model MAE / random-walk MAE (blue: model better)")
    else:
        ax.set_axis_off()
    ax = axes[0, 1]
    by_h = df.groupby(["horizon", "predictor"])["mae"].mean().unstack("predictor")
    order = [n for n in NAMES if n in by_h.columns] + [n for n in by_h.columns if n not in NAMES]
    for name in order:
        ax.plot(
            by_h.index,
            by_h[name] * 100,
            marker="o",
            ms=3,
            lw=1.2,
            color=COLORS.get(name),
            label=NAMES.get(name, str(name)),
        )
    ax.set_xticks(by_h.index.to_list())
    ax.set_xlabel("horizon")
    ax.set_ylabel("MAE (log return, %)")
    set_title(ax, "mean MAE over folds")
    add_legend(ax, "below")
    return to_data_uri(fig)


def equity_plot(curves: pd.DataFrame, name: str) -> str | None:
    """Equity (log scale) and drawdown of each strategy for one ticker or the portfolio.

    Args:
        curves: ``TradingResult.curves[name]``: date index, ``<strategy>`` and
            ``<strategy>_dd`` columns.
        name: title (ticker or ``portfolio``).
    """
    if curves is None or curves.empty:
        return None
    # Fixed margins: the legend's labels are fixed words.
    fig, axes = new_figure(4.0, 2, 1, sharex=True, height_ratios=[2, 1], layout=None)
    top, bottom = axes[0, 0], axes[1, 0]
    for s in STRATEGIES:
        if s in curves:
            kw = {"color": COLORS[s], "lw": 1.1 if s != "buy_hold" else 1.0}
            top.plot(curves.index, curves[s], label=LABELS[s], **kw)
            bottom.plot(curves.index, curves[f"{s}_dd"] * 100, **kw)
    equity = curves[[s for s in STRATEGIES if s in curves]].to_numpy(float)
    if np.all(equity > 0) and equity.max() / equity.min() > 4:
        log_axis(top)
    top.axhline(1.0, color="#999999", lw=0.7)
    top.set_ylabel("equity (start = 1)")
    set_title(top, f"{plain(name)}: equity and drawdown, after costs")
    add_legend(top)
    bottom.set_ylabel("drawdown")
    bottom.yaxis.set_major_formatter(PercentFormatter(decimals=0))
    fig.autofmt_xdate(rotation=0, ha="center")
    fixed_margins(fig, 0.8, 1.25, 0.3, 0.4, hspace=0.12)  # after autofmt_xdate, as above
    return to_data_uri(fig)
