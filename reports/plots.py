"""The report's errors-by-fold figure as an SVG ``data:`` URI.

``error_plot`` draws the errors per fold and horizon (the ticker pages draw their forecasts
as SVG: ``stackcast.reports.ticker_pages``). The predicted-against-realised and
squared-error-difference figures are ``stackcast.reports.skill_plots``, the training histories
``stackcast.reports.training_plot``. Every function is tolerant of missing data and returns
``None`` when there is nothing to draw. The palette lives in ``stackcast.reports.figures``,
the drawing in ``stackcast.reports.svg_plot``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from stackcast.reports.figures import COLORS, NAMES
from stackcast.reports.svg_plot import Canvas, Key, ticks

# matplotlib's RdBu_r (ColorBrewer's 11-class RdBu, reversed): blue below 1, red above.
RDBU_R = (
    "#053061", "#2166ac", "#4393c3", "#92c5de", "#d1e5f0", "#f7f7f7",
    "#fddbc7", "#f4a582", "#d6604d", "#b2182b", "#67001f",
)  # fmt: skip


def diverging(t: np.ndarray) -> list[str]:
    """``RDBU_R`` colours of values ``t`` in ``[0, 1]``, interpolated linearly between stops."""
    stops = np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in RDBU_R], dtype=float)
    pos = np.clip(np.asarray(t, dtype=float), 0.0, 1.0) * (len(RDBU_R) - 1)
    k = np.minimum(pos.astype(int), len(RDBU_R) - 2)
    rgb = stops[k] + (pos - k)[:, None] * (stops[k + 1] - stops[k])
    return ["#{:02x}{:02x}{:02x}".format(*row) for row in np.rint(rgb).astype(int).tolist()]


def error_plot(by_fold: Sequence[Mapping[str, Any]] | pd.DataFrame) -> str | None:
    """Model MAE relative to the random walk per fold x horizon, and MAE by horizon.

    An SVG ``data:`` URI (``stackcast.reports.svg_plot``): the heatmap's cells are coloured
    on a diverging scale centred on 1 (blue: model better) with the ratio written in each cell
    when there are at most 120, a colour bar beside it, and the mean MAE per horizon of every
    predictor on the right.

    Args:
        by_fold: records ``{fold, horizon, predictor, n, mae, rmse}`` (``evaluate()["by_fold"]``).
    """
    maes = _maes(by_fold)
    if maes is None:
        return None
    folds = sorted({f for f, _, _ in maes})
    horizons = sorted({h for _, h, _ in maes})
    predictors = sorted({p for _, _, p in maes})
    canvas = Canvas(880, 370)
    if {"model", "random_walk"} <= set(predictors):

        def grid(name: str) -> np.ndarray:
            return np.array([[maes.get((f, h, name), np.nan) for h in horizons] for f in folds])

        with np.errstate(divide="ignore", invalid="ignore"):
            values = grid("model") / grid("random_walk")
        dev = np.nanmax(np.abs(values - 1.0)) if np.isfinite(values).any() else 0.1
        dev = max(float(dev), 0.02)
        rows, cols = values.shape
        ax = canvas.panel((62, 30, 300, 260), (-0.5, cols - 0.5), (rows - 0.5, -0.5))
        colors = diverging((values.ravel() - (1 - dev)) / (2 * dev))
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                ax.rect(j - 0.5, i - 0.5, j + 0.5, i + 0.5, colors[i * cols + j])
                if values.size <= 120:
                    ink = "#ffffff" if abs(v - 1) > 0.6 * dev else "#222222"
                    ax.label(j, i, f"{v:.2f}", color=ink)
        step = math.ceil(rows / 12)  # at most ~12 fold labels
        ax.axes(
            title="model MAE / random-walk MAE (blue: model better)",
            xlabel="horizon",
            ylabel="fold",
            xticks=[(j, str(h)) for j, h in enumerate(horizons)],
            yticks=[(i, str(folds[i])) for i in range(0, rows, step)],
        )
        bar = canvas.panel((378, 45, 14, 230), (0, 1), (1 - dev, 1 + dev))
        edges = np.linspace(1 - dev, 1 + dev, 49)
        for lo, hi, c in zip(edges[:-1], edges[1:], diverging(np.linspace(0, 1, 48)), strict=True):
            bar.rect(0, lo, 1, hi + (hi - lo) * 0.05, c)
        for v, text in ticks(1 - dev, 1 + dev, n=4):
            canvas.text(396, float(bar.py(np.array([v]))[0]) + 4, text, size=11, color="#444")
        canvas.text(446, 160, "model / RW MAE", size=12, anchor="middle", rotate=True)
    order = [n for n in NAMES if n in predictors] + [n for n in predictors if n not in NAMES]
    # Each predictor's mean MAE per horizon over the folds that scored it (NaN: none did).
    values = 100 * np.array(
        [[_mean([v for (_, g, q), v in maes.items() if g == h and q == p]) for p in order]
         for h in horizons]
    )  # fmt: skip
    finite = values[np.isfinite(values)]
    hs = np.array(horizons, dtype=float)
    if finite.size:
        pad = 0.05 * (float(finite.max() - finite.min()) or 1.0)
        ylim = (float(finite.min()) - pad, float(finite.max()) + pad)
        xpad = 0.05 * (float(hs.max() - hs.min()) or 1.0)
        ax = canvas.panel((560, 30, 300, 260), (hs.min() - xpad, hs.max() + xpad), ylim)
        keys = []
        for k, name in enumerate(order):
            color = COLORS.get(name, "#56B4E9")
            ax.line(hs, values[:, k], color, 1.4)
            ax.markers(hs, values[:, k], color, r=2.5)
            keys.append(Key(NAMES.get(name, str(name)), color))
        ax.axes(
            title="mean MAE over folds",
            xlabel="horizon",
            ylabel="MAE (log return, %)",
            xticks=[(float(h), str(int(h))) for h in hs],
        )
        width = 150
        canvas.legend(keys, 440 - width * min(len(keys), 6) / 2, 352, across=6, step=width)
    return canvas.data_uri()


def _maes(
    by_fold: Sequence[Mapping[str, Any]] | pd.DataFrame,
) -> dict[tuple[Any, Any, Any], float] | None:
    """``{(fold, horizon, predictor): mae}`` of the records with an MAE; None when there are none.

    A few dozen records: plain Python, where a pandas pivot costs tens of milliseconds.
    """
    if isinstance(by_fold, pd.DataFrame):
        by_fold = by_fold.to_dict("records")
    out = {}
    for r in by_fold:
        if not {"fold", "horizon", "predictor", "mae"} <= r.keys():
            return None
        if r["mae"] is not None and not math.isnan(float(r["mae"])):
            out[(r["fold"], r["horizon"], r["predictor"])] = float(r["mae"])
    return out or None


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else float("nan")
