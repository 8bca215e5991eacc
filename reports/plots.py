"""Report figures as ``data:image/png;base64,...`` URIs.

Forecasts, errors by fold and horizon, equity and drawdown, and training histories. Every
function is tolerant of missing data and returns ``None`` when there is nothing to draw. The
palette, sizes and axes helpers live in ``stackcast.reports.figures`` (no ``pyplot``: nothing is
registered globally); history parsing lives in ``stackcast.reports.histories``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator, PercentFormatter
from stackcast.features.returns import prices_from_returns
from stackcast.reports.figures import (
    COLORS,
    NAMES,
    add_legend,
    log_axis,
    new_figure,
    plain,
    set_title,
    to_data_uri,
)
from stackcast.reports.histories import as_series, fold_histories, grad_layers
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
    fig, axes = new_figure(3.3, 1, 2, width_ratios=[1.1, 1])
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
    fig, axes = new_figure(4.0, 2, 1, sharex=True, height_ratios=[2, 1])
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
    return to_data_uri(fig)


def training_plot(
    histories: Mapping[Any, Any] | Sequence[Any] | None,
    *,
    explode_threshold: float | None = None,
    vanish_threshold: float | None = None,
) -> str | None:
    """Loss / val_loss and per-layer gradient norms, folds laid end to end on one epoch axis.

    Args:
        histories: per fold (a list, or a mapping fold -> history) a dict with optional
            ``loss``, ``val_loss`` and ``grad_norm/<layer>`` (``{"mean": [...], "max": [...]}``
            or a plain list) entries; anything missing is skipped.
        explode_threshold: drawn as a dotted line on the gradient panel when given.
        vanish_threshold: likewise.
    """
    folds = fold_histories(histories)
    if not folds:
        return None
    layers = sorted({layer for _, h in folds for layer in grad_layers(h)})
    fig, axes = new_figure(4.6 if layers else 2.8, 2 if layers else 1, 1, sharex=True)
    ax_loss = axes[0, 0]
    cmap = [COLORS[c] for c in ("model", "model_h", "ridge", "long_short", "drift")]
    layer_color = {layer: cmap[i % len(cmap)] for i, layer in enumerate(layers)}
    offset = 0
    plotted = False
    label_every = math.ceil(len(folds) / 8)  # keep fold labels from overlapping
    for k, (fold, hist) in enumerate(folds):
        loss, val = as_series(hist.get("loss", [])), as_series(hist.get("val_loss", []))
        grads = grad_layers(hist)
        n = max(
            [loss.size, val.size, *(s.size for g in grads.values() for s in g.values())], default=0
        )
        if n == 0:
            continue
        first = not plotted
        if plotted:
            for ax in axes.flat:
                ax.axvline(offset + 0.5, color="#bbbbbb", lw=0.8, ls=":")
        if k % label_every == 0:
            ax_loss.text(
                offset + 1,
                1.0,
                f"fold {plain(fold)}",
                transform=ax_loss.get_xaxis_transform(),
                fontsize=7,
                color="#666666",
                va="bottom",
                ha="left",
                clip_on=False,
            )
        x = np.arange(1, n + 1) + offset
        if loss.size:
            ax_loss.plot(
                x[: loss.size], loss, color=COLORS["model"], lw=1.2, label="loss" if first else None
            )
        if val.size:
            ax_loss.plot(
                x[: val.size],
                val,
                color=COLORS["model_h"],
                lw=1.2,
                ls="--",
                label="val_loss" if first else None,
            )
        if layers:
            ax_g = axes[1, 0]
            for layer, g in grads.items():
                c = layer_color[layer]
                if "mean" in g:
                    ax_g.plot(
                        x[: g["mean"].size],
                        g["mean"],
                        color=c,
                        lw=1.1,
                        label=f"{plain(layer)} mean" if first else None,
                    )
                if "max" in g:
                    ax_g.plot(
                        x[: g["max"].size],
                        g["max"],
                        color=c,
                        lw=0.8,
                        alpha=0.5,
                        ls="--",
                        label=f"{plain(layer)} max" if first else None,
                    )
        offset += n
        plotted = True
    if not plotted:
        fig.clear()
        return None
    ax_loss.set_ylabel("loss")
    set_title(ax_loss, "training loss per fold", pad=14)
    add_legend(ax_loss)
    bottom = axes[-1, 0]
    bottom.set_xlabel("epoch (folds end to end)")
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    if layers:
        ax_g = axes[1, 0]
        vals = [v for _, h in folds for g in grad_layers(h).values() for v in g.values()]
        positive = np.concatenate(vals) if vals else np.array([])
        if positive.size and np.all(positive[np.isfinite(positive)] > 0):
            log_axis(ax_g)
        for thr, label in ((explode_threshold, "explode"), (vanish_threshold, "vanish")):
            if thr and positive.size and _near(thr, positive):
                ax_g.axhline(thr, color="#d62728", lw=0.8, ls=":", label=f"{label} threshold")
        ax_g.set_ylabel("gradient norm")
        set_title(ax_g, "gradient norm per layer (solid mean, dashed max)")
        add_legend(ax_g)
    return to_data_uri(fig)


def _near(threshold: float, values: np.ndarray) -> bool:
    """Whether a threshold is within two decades of the data (worth drawing on a log axis)."""
    v = values[np.isfinite(values) & (values > 0)]
    if not v.size or threshold <= 0:
        return False
    lo, hi = math.log10(v.min()), math.log10(v.max())
    t = math.log10(threshold)
    return lo - 2 <= t <= hi + 2
