"""Report figures as ``data:image/png;base64,...`` URIs.

Forecasts, predicted against realised returns, errors by fold and horizon, the cumulative
squared-error difference against the random walk, equity and drawdown, and training
histories. The portfolio-level figures (everything but ``forecast_plot`` and ``equity_plot``
of one ticker) pool every ticker into a fixed number of panels. Every
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
    fixed_margins,
    headline_horizons,
    log_axis,
    new_figure,
    plain,
    series_style,
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


def ols_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float] | None:
    """``(intercept, slope, slope standard error)`` of ``y = a + b x``; None without spread."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    n = x.size
    sxx = float(np.sum((x - x.mean()) ** 2)) if n else 0.0
    if n < 3 or sxx <= 0:
        return None
    b = float(np.sum((x - x.mean()) * (y - y.mean())) / sxx)
    a = float(y.mean() - b * x.mean())
    se = math.sqrt(float(np.sum((y - a - b * x) ** 2)) / (n - 2) / sxx)
    return a, b, se


def predicted_vs_realised_plot(
    predictions: pd.DataFrame | None,
    *,
    horizons: Sequence[int] | None = None,
    max_points: int = 800,
) -> str | None:
    """Realised against predicted log return per horizon, every ticker pooled, with OLS fits.

    One panel per horizon (at most six, spread over ``1..H``). The random walk forecasts 0 (the
    vertical line); the dotted diagonal is a perfect forecast; the fitted line and its slope
    (with standard error) come from OLS of realised on predicted over all scored rows. A
    slope near 1 means well-scaled forecasts, near 0 no usable signal. At most ``max_points``
    points are drawn per panel (a fixed random sample), and the axes stop at the 0.5% and
    99.5% quantiles so a crash day does not flatten the rest.

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
        fit = ols_fit(x, y)
        if fit is not None:
            a, b, se = fit
            xs = np.array([lo - pad, hi + pad])
            ax.plot(xs, a + b * xs, color=COLORS["model_h"], lw=1.4, label="OLS fit")
            text = f"OLS slope {b:.2f} ± {se:.2f}\nn = {x.size:,}"
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
    # Fixed margins (the layout engine was a third of this figure's time): the legends hold
    # fixed words and layer names, which fit the right margin.
    fig, axes = new_figure(4.6 if layers else 2.8, 2 if layers else 1, 1, sharex=True, layout=None)
    fixed_margins(fig, 0.75, 1.75, 0.5, 0.5, hspace=0.35)
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
