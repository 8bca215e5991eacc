"""Report figures as ``data:image/png;base64,...`` URIs: errors by fold.

``error_plot`` draws the errors per fold and horizon (the ticker pages draw their forecasts
as SVG: ``stackcast.reports.ticker_pages``). The predicted-against-realised and
squared-error-difference figures are ``stackcast.reports.skill_plots``, the training histories
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
from stackcast.reports.figures import (
    COLORS,
    NAMES,
    add_legend,
    fixed_margins,
    new_figure,
    set_title,
    to_data_uri,
)


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
