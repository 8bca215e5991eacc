"""Training histories in reports: reading them per fold and summarising them.

A history is what ``stackcast.models.training.train`` records per fold (``loss``, ``val_loss``,
``lr`` and gradient norms); the report draws them (``stackcast.reports.training_plot``) and
tabulates them (``training_diagnostics``). Every function tolerates missing entries.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def fold_histories(histories: Mapping[Any, Any] | Sequence[Any] | None) -> list[tuple[str, dict]]:
    """``[(fold label, history), ...]`` from a list, a mapping fold -> history, or one history.

    A list (or a single history) is numbered from fold 1; a mapping keeps its keys.
    """
    if not histories:
        return []
    if isinstance(histories, Mapping):
        if any(k in ("loss", "val_loss") or str(k).startswith("grad_norm/") for k in histories):
            return [("1", dict(histories))]
        items = histories.items()
    else:
        items = enumerate(histories, start=1)
    return [(str(k), dict(v)) for k, v in items if isinstance(v, Mapping)]


def as_series(values: Any) -> np.ndarray:
    """A flat float array, or an empty one when ``values`` is not numeric."""
    try:
        return np.asarray(values, dtype=float).ravel()
    except (TypeError, ValueError):
        return np.array([], dtype=float)


def grad_layers(history: Mapping[str, Any]) -> dict[str, dict[str, np.ndarray]]:
    """``{layer: {"mean": [...], "max": [...]}}`` from a history's gradient-norm entries.

    Accepts both the flat Keras-history form written by ``models.train``
    (``grad_norm/<layer>/mean`` and ``grad_norm/<layer>/max`` lists) and the nested form
    (``grad_norm/<layer>`` -> ``{"mean": [...], "max": [...]}``).
    """
    out: dict[str, dict[str, np.ndarray]] = {}
    for key, value in history.items():
        if not str(key).startswith("grad_norm/"):
            continue
        layer = str(key).split("/", 1)[1]
        if isinstance(value, Mapping):
            stats = {k: as_series(value[k]) for k in ("mean", "max") if k in value}
        elif layer.rsplit("/", 1)[-1] in ("mean", "max") and "/" in layer:
            layer, stat = layer.rsplit("/", 1)
            stats = {stat: as_series(value)}
        else:
            stats = {"mean": as_series(value)}
        stats = {k: v for k, v in stats.items() if v.size}
        if stats:
            out.setdefault(layer, {}).update(stats)
    return out


def training_diagnostics(
    histories: Mapping[Any, Any] | Sequence[Any] | None,
    explode_threshold: float | None = None,
    vanish_threshold: float | None = None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Per-fold training summary rows and warnings read from the histories.

    Returns:
        ``(rows, warnings)``: rows ``{fold, epochs, final_loss, best_val_loss, best_epoch,
        last_lr, max_grad, max_grad_layer}``; warnings for non-finite losses and gradient norms
        above ``explode_threshold`` or (mean) below ``vanish_threshold``.
    """
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for fold, hist in fold_histories(histories):
        loss = as_series(hist.get("loss", []))
        val = as_series(hist.get("val_loss", []))
        lr = as_series(hist.get("lr", []))
        grads = grad_layers(hist)
        row: dict[str, Any] = {
            "fold": fold,
            "epochs": int(max(loss.size, val.size)),
            "final_loss": float(loss[-1]) if loss.size else None,
            "best_val_loss": None,
            "best_epoch": None,
            "last_lr": float(lr[-1]) if lr.size else None,
            "max_grad": None,
            "max_grad_layer": None,
        }
        if val.size and np.isfinite(val).any():
            i = int(np.nanargmin(np.where(np.isfinite(val), val, np.nan)))
            row.update(best_val_loss=float(val[i]), best_epoch=i + 1)
        if not (np.isfinite(loss).all() and np.isfinite(val).all()):
            notes.append(f"fold {fold}: non-finite loss during training")
        for layer, g in grads.items():
            peak = g.get("max", g.get("mean"))
            finite = peak[np.isfinite(peak)]
            top = float(finite.max()) if finite.size else math.inf
            if row["max_grad"] is None or top > row["max_grad"]:
                row.update(max_grad=top, max_grad_layer=layer)
            if explode_threshold and (top > explode_threshold or finite.size < peak.size):
                notes.append(
                    f"fold {fold}: exploding gradients in {layer} "
                    f"(max norm {top:.3g} > {explode_threshold:g})"
                )
            mean = g.get("mean", np.array([]))
            mean = mean[np.isfinite(mean)]
            if vanish_threshold and mean.size:
                low = float(mean.min())
                if low < vanish_threshold:
                    notes.append(
                        f"fold {fold}: vanishing gradients in {layer} "
                        f"(mean norm {low:.3g} < {vanish_threshold:g})"
                    )
        rows.append(row)
    return rows, notes
