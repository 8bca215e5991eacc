"""The training figure: loss and per-layer gradient norms, folds laid end to end.

History parsing lives in ``stackcast.reports.histories``; the figure is a ``data:`` URI, or
``None`` when no fold has a history.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.ticker import MaxNLocator
from stackcast.reports.figures import (
    COLORS,
    add_legend,
    fixed_margins,
    log_axis,
    new_figure,
    plain,
    set_title,
    to_data_uri,
)
from stackcast.reports.histories import as_series, fold_histories, grad_layers


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
