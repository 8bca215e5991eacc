"""Forecast accuracy of the model against the baselines, with honest significance tests.

Input is the backtest's predictions frame: one row per (ticker, origin, horizon) with
``y_true`` (realised log return origin -> target, NaN while unknown), the model's ``y_pred``
(and ``lo``/``hi`` interval bounds, possibly all NaN) and one column per baseline
(``random_walk`` = 0, ``drift``, ``ridge``).

Conventions:

- Every predictor is scored on the same rows: ``y_true`` and all predictor columns finite
  (a predictor column that is entirely NaN is treated as absent).
- Errors are ``e = y_true - prediction`` in log-return units.
- MASE is the mean of ``|e| / s`` where ``s`` is the in-sample scale of the row's ticker,
  horizon and fold: the mean absolute h-step random-walk error over that ticker's training
  origins in that fold. Rows without a scale are left out of MASE only, counted in
  ``mase_coverage`` and warned about; ``rel_mae`` is the MAE over the random walk's on the
  same rows (``stackcast.reports.denominators``).
- Directional accuracy counts ``sign(prediction) == sign(y_true)`` over rows with
  ``y_true != 0`` (a zero prediction is a miss); it is ``None`` for a predictor that always
  predicts 0 (the random walk). Its p-value is the one-sided binomial test against 0.5; for
  ``h > 1`` the targets of neighbouring origins overlap, so that p-value is optimistic.
- Diebold-Mariano compares the model with the random walk under squared-error loss, per ticker
  and pooled over tickers by origin date (``stackcast.reports.significance`` has the details);
  the pooled test's one-sided p-values are Holm-adjusted across the horizons, the per-ticker
  ones across every ticker x horizon (``p_holm``), and the verdicts and flags are decided on
  those.
- Interval coverage is checked against its nominal level per horizon and per fold: one
  that falls more than two standard errors below the nominal ``p`` gets a line in
  ``coverage_warnings``; ``coverage`` holds it by fold and by ticker. The standard error
  (``coverage_se``) clusters the rows by origin date with ``h - 1`` lags of dates, since
  overlapping targets and same-day outcomes of different tickers are correlated
  (``stackcast.reports.coverage``).
- Units (``UNITS``, also written into the output): errors in log returns (a fraction; the
  reports show them x100 as percent of price), squared errors in squared log returns, shares
  as fractions.
- Everything returned is JSON-able: NaN and infinities become ``None``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from stackcast.models.base import FORECASTERS
from stackcast.reports.config import ReportConfig
from stackcast.reports.coverage import coverage_detail, coverage_warnings
from stackcast.reports.denominators import (
    Scale,
    add_relative_mae,
    mase_coverage,
    row_scales,
    scale_lookup,
    scoring_warnings,
    unscored_tickers,
)
from stackcast.reports.peers import peer_comparisons
from stackcast.reports.scores import (
    fill_dir_p,
    group_interval_metrics,
    group_point_rows,
    interval_metrics,
    point_rows,
)
from stackcast.reports.scores import point_metrics as point_metrics  # re-exported
from stackcast.reports.significance import (
    RANDOM_WALK,
    dm_tables,
    finite_or_none,
    row_groups,
    ticker_family,
)
from stackcast.reports.verdicts import run_verdicts

MODEL = "model"

UNITS = {
    "mae, rmse, bias, interval_width, scale": "log return (fraction; x100 = percent of price)",
    "model_mse, rw_mse, mean_diff": "squared log return",
    "coverage, coverage_nominal, dir_acc, significance, rel_mae": "fraction",
}


def predictor_columns(
    predictions: pd.DataFrame, baselines: Sequence[str] | None = None
) -> dict[str, str]:
    """Predictor name -> column for the model and every baseline present (not all NaN).

    ``baselines`` names the baseline columns; by default ``predictions.attrs["baselines"]``
    (set by the walk-forward engine), else every registered forecaster's column present.
    """
    if baselines is None:
        baselines = predictions.attrs.get("baselines", list(FORECASTERS))
    names = {MODEL: "y_pred"} | {b: b for b in baselines}
    return {
        name: col
        for name, col in names.items()
        if col in predictions.columns and predictions[col].notna().any()
    }


def scored_rows(predictions: pd.DataFrame) -> pd.DataFrame:
    """The rows every predictor is scored on, sorted by (ticker, horizon, origin)."""
    cols = ["y_true", *predictor_columns(predictions).values()]
    ok = np.isfinite(predictions[cols].to_numpy(dtype=float)).all(axis=1)
    df = predictions.loc[ok]  # a new frame: the columns set below leave ``predictions`` as is
    df["ticker"] = df["ticker"].astype(str)
    df["horizon"] = df["horizon"].astype(int)
    return df.sort_values(["ticker", "horizon", "origin"], kind="stable").reset_index(drop=True)


def _predictor_blocks(
    df: pd.DataFrame,
    cols: Mapping[str, str],
    scale: np.ndarray,
    nominal: float | None,
    groups: Mapping[str, list[tuple[Any, np.ndarray]]],
) -> dict[str, dict[str, Any]]:
    """Per predictor: its overall, per-horizon and per-(ticker, horizon) metrics.

    ``groups`` holds the row positions of the ``horizon`` and ``ticker, horizon`` groups
    (``row_groups``), computed once; each group scores every predictor at once (``point_rows``)
    on numpy slices, and the model's interval as well.
    """
    names = list(cols)
    directional = [name != RANDOM_WALK for name in names]
    preds = np.stack([df[c].to_numpy(float) for c in cols.values()])
    nan = np.full(len(df), np.nan)
    y_all = df["y_true"].to_numpy(float)
    lo = df["lo"].to_numpy(float) if "lo" in df.columns else nan
    hi = df["hi"].to_numpy(float) if "hi" in df.columns else nan
    origin_all = df["origin"].to_numpy()
    horizon_all = df["horizon"].to_numpy()
    model = names.index(MODEL) if MODEL in names else None

    def rows(idx: np.ndarray | slice) -> list[dict[str, Any]]:
        y = y_all[idx]
        recs = point_rows(y, preds[:, idx], scale[idx], directional)
        if model is not None:
            h = int(horizon_all[idx].max()) if len(y) else 1
            recs[model] |= interval_metrics(y, lo[idx], hi[idx], nominal, origin_all[idx], h)
        return recs

    overall = rows(slice(None))
    by_h = [(int(h), rows(idx)) for h, idx in groups["horizon"]]
    th = groups["ticker_horizon"]
    bounds = np.array([(idx[0], idx[-1] + 1) for _, idx in th], dtype=np.int64).reshape(-1, 2)
    if all(len(idx) == b - a for (_, idx), (a, b) in zip(th, bounds.tolist(), strict=True)):
        # Each group a run of rows (the rows are sorted by ticker and horizon): scored at once.
        th_recs = group_point_rows(y_all, preds, scale, directional, bounds)
        if model is not None:
            h_of = np.array([h for (_, h), _ in th], dtype=np.int64)
            spans = group_interval_metrics(y_all, lo, hi, nominal, origin_all, h_of, bounds)
            for recs, span in zip(th_recs, spans, strict=True):
                recs[model] |= span
    else:
        th_recs = [rows(idx) for _, idx in th]
    by_th = [(str(t), int(h), r) for ((t, h), _), r in zip(th, th_recs, strict=True)]
    blocks = {}
    for i, name in enumerate(names):
        blocks[name] = {
            "overall": overall[i],
            "by_horizon": [{"horizon": h, **r[i]} for h, r in by_h],
            "by_ticker": [{"ticker": t, "horizon": h, **r[i]} for t, h, r in by_th],
        }
        block = blocks[name]
        fill_dir_p([block["overall"], *block["by_horizon"], *block["by_ticker"]])
    return blocks


def error_by_fold(predictions: pd.DataFrame) -> list[dict[str, Any]]:
    """MAE and RMSE per (fold, horizon, predictor) on the scored rows.

    Returns:
        Records ``{fold, horizon, predictor, n, mae, rmse}`` sorted by fold, horizon.
    """
    return _by_fold(scored_rows(predictions), predictor_columns(predictions))


def _by_fold(df: pd.DataFrame, cols: Mapping[str, str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    y_all = df["y_true"].to_numpy(float)
    preds = {col: df[col].to_numpy(float) for col in cols.values()}
    for (fold, h), idx in row_groups(df, ["fold", "horizon"]):  # each group's rows in order
        y = y_all[idx]
        for name, col in cols.items():
            e = y - preds[col][idx]
            rows.append(
                {
                    "fold": int(fold),
                    "horizon": int(h),
                    "predictor": name,
                    "n": int(e.size),
                    "mae": finite_or_none(np.mean(np.abs(e))),
                    "rmse": finite_or_none(np.sqrt(np.mean(e**2))),
                }
            )
    return rows


def evaluate(
    predictions: pd.DataFrame,
    scale: Scale,
    cfg: ReportConfig | None = None,
    *,
    nominal_coverage: float | None = None,
    tickers: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Score the model and every baseline; test the model against the random walk.

    Args:
        predictions: the backtest frame (see the module docstring).
        scale: MASE scale per (ticker, horizon[, fold]), any form ``scale_lookup`` accepts.
        cfg: report settings (``significance``); defaults to ``ReportConfig()``.
        nominal_coverage: nominal level of ``[lo, hi]`` (e.g. ``TrainConfig.interval``).
        tickers: every ticker of the run -> its last price date: those without a scored row
            are named in ``unscored`` and ``scoring_warnings``.

    Returns:
        A JSON-able dict::

            {"n": rows scored, "horizons": [1..H], "tickers": [...], "significance": 0.05,
             "model": BLOCK, "baselines": {"random_walk": BLOCK, "drift": BLOCK, ...},
             "dm": {"pooled": [DM...], "by_ticker": [{"ticker", **DM}...],
                    "ticker_family": {...}},
             "verdicts": [{"horizon", "beats_random_walk", "p_value", "p_raw", "sentence"}...],
             "verdict": the headline verdict (the shortest horizon's),
             "verdict_note": "... Holm-adjusted across 5 horizons ...",
             "coverage_warnings": ["interval coverage at horizon 1 is ..."...] (horizons,
                 then folds),
             "coverage": {"nominal", "by_fold": [...], "by_ticker": [...], "warnings"},
             "mase_coverage": {"rows", "of", "share", "excluded_tickers"},
             "unscored": [{"ticker", "last_bar", "reason"}...],
             "scoring_warnings": ["MASE leaves out ...", "X is not scored: ..."...],
             "units": UNITS,
             "by_fold": [{"fold", "horizon", "predictor", "n", "mae", "rmse"}...],
             "peers": {name: ...} only when a learned peer ran (``peers.peer_comparisons``)}

        where BLOCK is ``{"overall": M, "by_horizon": [{"horizon", **M}...],
        "by_ticker": [{"ticker", "horizon", **M}...]}``, M holds ``n, mae, rmse, mase, rel_mae,
        bias, dir_acc, dir_n, dir_p`` (the model also ``coverage, coverage_n, coverage_nominal,
        interval_width``), and DM holds ``horizon, n, mean_diff, stat, p_two_sided,
        p_one_sided, p_holm, variance, model_mse, rw_mse, beats_random_walk`` (pooled also
        ``tickers``); ``ticker_family`` is ``significance.ticker_family``. Verdicts use the
        pooled test's Holm-adjusted p (``p_value``; ``p_raw`` is the unadjusted one).
    """
    cfg = cfg or ReportConfig()
    if "y_pred" not in predictions.columns:
        raise ValueError("predictions need a y_pred column")
    df = scored_rows(predictions)
    cols = predictor_columns(predictions)
    groups = {
        "horizon": row_groups(df, "horizon"),
        "ticker_horizon": row_groups(df, ["ticker", "horizon"]),
    }
    lookup = scale_lookup(scale)
    scale_arr = row_scales(df, lookup, groups["ticker_horizon"])
    blocks = _predictor_blocks(df, cols, scale_arr, nominal_coverage, groups)
    add_relative_mae(blocks)
    for name, col in cols.items():  # a baseline's band (``<name>_lo``/``_hi``): its coverage
        if name != MODEL and f"{col}_lo" in df.columns:
            band = df[["y_true", f"{col}_lo", f"{col}_hi"]].to_numpy(float).T
            blocks[name]["overall"] |= interval_metrics(
                *band, nominal_coverage, df["origin"].to_numpy(), int(df["horizon"].max())
            )
    mase_rows = mase_coverage(df, scale_arr, bool(lookup))
    unscored = unscored_tickers(predictions, df["ticker"].unique(), tickers)
    coverage = coverage_detail(df, nominal_coverage)
    by_ticker, pooled = dm_tables(df, cfg.significance, groups)
    model = blocks.pop(MODEL)
    peers = peer_comparisons(df, cols, cfg.significance)
    return {
        "n": len(df),
        "horizons": sorted(int(h) for h in df["horizon"].unique()),
        "tickers": sorted(df["ticker"].unique().tolist()),
        "significance": cfg.significance,
        "model": model,
        "baselines": blocks,
        "dm": {
            "pooled": pooled,
            "by_ticker": by_ticker,
            "ticker_family": ticker_family(by_ticker, cfg.significance),
        },
        **run_verdicts(pooled, cfg.significance),
        "coverage_warnings": coverage_warnings(model["by_horizon"]) + coverage["warnings"],
        "coverage": coverage,
        "mase_coverage": mase_rows,
        "unscored": unscored,
        "scoring_warnings": scoring_warnings(mase_rows, unscored),
        "units": UNITS,
        "by_fold": _by_fold(df, cols),
        **({"peers": peers} if peers else {}),
    }
