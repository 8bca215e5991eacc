"""Learned peers (``Registered.peer``, e.g. LightGBM) tested against the random walk and the model.

The model's own verdicts (``metrics.json``'s ``verdicts``) test it against the random walk. A
peer gets the same one-sided test against the random walk, and a two-sided test against the
model (is either more accurate?), both with ``significance.pairwise_dm``: the loss
differential averaged per origin date, HAC with ``h - 1`` lags, the small-sample correction.
Each comparison's horizons form one Holm family, as the model's verdicts do; the comparisons
are not adjusted across one another (each answers its own question), which ``note`` states.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from stackcast.models.base import REFERENCE, label, peers
from stackcast.reports.significance import pairwise_dm
from stackcast.reports.verdicts import format_p, verdict_sentence


def _p(p: float | None) -> str:
    text = format_p(p)
    return f"Holm p {text}" if text.startswith("<") else f"Holm p = {text}"


def _vs_random_walk(name: str, e: dict[str, Any]) -> str:
    return verdict_sentence(e["horizon"], bool(e["better"]), e["p_holm"], subject=label(name))


def _vs_model(name: str, e: dict[str, Any]) -> str:
    who = {"y_pred": "the model is more accurate than", name: "is more accurate than the model"}
    h, p = e["horizon"], _p(e["p_holm"])
    if e["better"] == name:
        return f"{label(name)} {who[name]} at horizon {h} ({p}, two-sided)"
    if e["better"] == "y_pred":
        return f"{who['y_pred']} {label(name)} at horizon {h} ({p}, two-sided)"
    return f"the model and {label(name)} do not differ at horizon {h} ({p}, two-sided)"


def peer_comparisons(
    df: pd.DataFrame, columns: Mapping[str, str], significance: float
) -> dict[str, Any]:
    """Every peer among ``columns`` (predictor -> column) tested against the RW and the model.

    Args:
        df: Scored rows (``metrics.scored_rows``): ``origin, horizon, y_true, y_pred`` and a
            column per predictor.
        columns: The predictors present, as ``metrics.predictor_columns`` gives them.
        significance: The level.

    Returns:
        ``{name: {"label", "vs_random_walk": [DM...], "vs_model": [DM...], "sentences": [...],
        "note"}}`` (empty without a peer); DM entries are ``pairwise_dm``'s.
    """
    out: dict[str, Any] = {}
    for name in peers(list(columns)):
        col = columns[name]
        vs_rw = pairwise_dm(df, col, REFERENCE, significance) if REFERENCE in df else []
        vs_model = pairwise_dm(df, col, "y_pred", significance, two_sided=True)
        for e in vs_rw:
            e["better"] = name if e["better"] else None
        for e in vs_model:
            e["better"] = name if e["better"] == col else e["better"]
        horizons = len(vs_model)
        out[name] = {
            "label": label(name),
            "vs_random_walk": vs_rw,
            "vs_model": vs_model,
            "sentences": [_vs_random_walk(name, e) for e in vs_rw]
            + [_vs_model(name, e) for e in vs_model],
            "note": (
                f"Diebold-Mariano tests of {label(name)}: against the random walk one-sided "
                f"({label(name)} better), against the model two-sided; each set of {horizons} "
                f"horizon(s) is one Holm family at the {significance:.0%} level."
            ),
        }
    return out
