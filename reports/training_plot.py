"""The training figure: loss and per-layer gradient norms, folds laid end to end.

History parsing lives in ``stackcast.reports.histories``; the figure is an SVG ``data:`` URI
(``stackcast.reports.svg_plot``), or ``None`` when no fold has a history.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from stackcast.reports.figures import COLORS
from stackcast.reports.histories import as_series, fold_histories, grad_layers
from stackcast.reports.svg_plot import Canvas, Key, dash_of


def training_plot(
    histories: Mapping[Any, Any] | Sequence[Any] | None,
    *,
    explode_threshold: float | None = None,
    vanish_threshold: float | None = None,
) -> str | None:
    """Loss / val_loss and per-layer gradient norms, folds laid end to end on one epoch axis.

    Drawn as SVG (``stackcast.reports.svg_plot``): line panels need no matplotlib figure.

    Args:
        histories: per fold (a list, or a mapping fold -> history) a dict with optional
            ``loss``, ``val_loss`` and ``grad_norm/<layer>`` (``{"mean": [...], "max": [...]}``
            or a plain list) entries; anything missing is skipped.
        explode_threshold: drawn as a dotted line on the gradient panel when given.
        vanish_threshold: likewise.
    """
    folds = []  # (fold, first epoch, loss, val_loss, {layer: {stat: values}})
    offset = 0
    for fold, hist in fold_histories(histories):
        loss, val = as_series(hist.get("loss", [])), as_series(hist.get("val_loss", []))
        grads = grad_layers(hist)
        n = max(
            [loss.size, val.size, *(s.size for g in grads.values() for s in g.values())], default=0
        )
        if n:
            folds.append((fold, offset, loss, val, grads))
            offset += n
    if not folds:
        return None
    layers = sorted({layer for *_, grads in folds for layer in grads})
    canvas = Canvas(880, 500 if layers else 310)
    xlim = (0.0, offset + 1.0)
    losses = np.concatenate([a for _, _, loss, val, _ in folds for a in (loss, val)])
    ax_loss = canvas.panel((84, 56, 600, 170 if layers else 220), xlim, _limits(losses))
    panels = [ax_loss]
    ax_g = None
    if layers:
        vals = [v for *_, grads in folds for g in grads.values() for v in g.values()]
        positive = np.concatenate(vals)
        finite = positive[np.isfinite(positive)]
        log = bool(finite.size) and bool(np.all(finite > 0))
        thresholds = [
            (thr, label)
            for thr, label in ((explode_threshold, "explode"), (vanish_threshold, "vanish"))
            if thr and positive.size and _near(thr, positive)
        ]
        shown = np.concatenate([finite, [t for t, _ in thresholds]])
        ax_g = canvas.panel((84, 276, 600, 170), xlim, _limits(shown, log), ylog=log)
        panels.append(ax_g)
    colors = [COLORS[c] for c in ("model", "model_h", "ridge", "long_short", "drift")]
    layer_color = {layer: colors[i % len(colors)] for i, layer in enumerate(layers)}
    label_every = math.ceil(len(folds) / 8)  # keep fold labels from overlapping
    for k, (fold, start, loss, val, grads) in enumerate(folds):
        if k:
            for ax in panels:
                ax.vline(start + 0.5, "#bbbbbb", 0.8, dash_of(":"))
        if k % label_every == 0:
            x = float(ax_loss.px(np.array([start + 1.0]))[0])
            canvas.text(x, 52, f"fold {fold}", size=10, color="#666")
        ax_loss.line(start + 1 + np.arange(loss.size), loss, COLORS["model"], 1.4)
        ax_loss.line(start + 1 + np.arange(val.size), val, COLORS["model_h"], 1.4, dash_of("--"))
        for layer, g in grads.items() if ax_g is not None else ():
            if "mean" in g:
                ax_g.line(start + 1 + np.arange(g["mean"].size), g["mean"], layer_color[layer])
            if "max" in g:
                ax_g.line(
                    start + 1 + np.arange(g["max"].size),
                    g["max"],
                    _pale(layer_color[layer]),
                    0.9,
                    dash_of("--"),
                )
    xlabel = "epoch (folds end to end)"
    ax_loss.axes(
        title="training loss per fold",
        pad=22,
        ylabel="loss",
        xticks="none" if layers else "linear",
        xlabel="" if layers else xlabel,
    )
    canvas.legend(
        [Key("loss", COLORS["model"]), Key("val_loss", COLORS["model_h"], dash_of("--"))], 700, 66
    )
    if ax_g is not None:
        keys = []
        for layer in layers:
            keys.append(Key(f"{layer} mean", layer_color[layer]))
            keys.append(Key(f"{layer} max", _pale(layer_color[layer]), dash_of("--"), width=1))
        for thr, label in thresholds:
            ax_g.hline(thr, "#d62728", 0.9, dash_of(":"))
            keys.append(Key(f"{label} threshold", "#d62728", dash_of(":")))
        ax_g.axes(
            title="gradient norm per layer (solid mean, dashed max)",
            ylabel="gradient norm",
            xlabel=xlabel,
            yticks="log" if ax_g.ylog else "linear",
        )
        canvas.legend(keys, 700, 286)
        canvas.height = max(canvas.height, 296 + 19 * len(keys))  # room for many layers
    return canvas.data_uri()


def _limits(values: np.ndarray, log: bool = False) -> tuple[float, float]:
    """Axis limits around the finite ``values``, padded by 5% (of the decades when ``log``)."""
    v = values[np.isfinite(values) & ((values > 0) if log else True)]
    if not v.size:
        return (0.1, 10.0) if log else (0.0, 1.0)
    lo, hi = float(v.min()), float(v.max())
    if log:
        pad = 0.05 * (math.log10(hi) - math.log10(lo) or 1.0)
        return lo / 10**pad, hi * 10**pad
    pad = 0.05 * (hi - lo or abs(hi) or 1.0)
    return lo - pad, hi + pad


def _pale(color: str) -> str:
    """``color`` halfway to white (the dashed maxima under the solid means)."""
    rgb = [int(color[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{(c + 255) // 2:02x}" for c in rgb)


def _near(threshold: float, values: np.ndarray) -> bool:
    """Whether a threshold is within two decades of the data (worth drawing on a log axis)."""
    v = values[np.isfinite(values) & (values > 0)]
    if not v.size or threshold <= 0:
        return False
    lo, hi = math.log10(v.min()), math.log10(v.max())
    t = math.log10(threshold)
    return lo - 2 <= t <= hi + 2
