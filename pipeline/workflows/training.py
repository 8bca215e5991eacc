"""Champion training, the challenger decision and the daily forecast.

Training a version is a one-fold backtest whose test block is the latest block of origins
with known outcomes (the validation block): the model, scaler and baselines are fit on the
past of that block exactly as in a backtest fold, and the block's errors decide whether a
challenger replaces the champion.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from stackcast.features.panel import Panel, build_panel
from stackcast.features.scaling import FoldScaler
from stackcast.features.splits import walk_forward
from stackcast.pipeline.config import RunConfig
from stackcast.pipeline.errors import DataError, UserError
from stackcast.pipeline.results import registry
from stackcast.pipeline.workflows.backtest import FoldOutput, Progress, _say, long_frame, run_fold

FAR_WORSE = 1.5  # a first model this many times worse than random walk is never promoted


@dataclass
class TrainedVersion:
    """A freshly trained, saved model version and its validation numbers."""

    name: str
    version: str
    directory: Path
    validation: dict[str, float]
    fold: FoldOutput


def validation_mae(frame: pd.DataFrame, column: str) -> float:
    """Mean absolute error of ``column`` against known outcomes over all horizons."""
    known = frame.dropna(subset=["y_true"])
    return float(np.mean(np.abs(known[column] - known["y_true"])))


def build(cfg: RunConfig, frames: dict[str, pd.DataFrame]) -> Panel:
    """Build the feature panel and refuse one with nothing usable in it."""
    try:
        panel = build_panel(frames, cfg.features)
    except ValueError as exc:
        raise DataError(f"cannot build model inputs: {exc}") from None
    if not panel.tickers:
        reasons = "; ".join(f"{t}: {r}" for t, r in panel.skipped.items())
        raise DataError(f"no ticker has enough history ({reasons})")
    return panel


def train_version(
    cfg: RunConfig, panel: Panel, meta_extra: dict[str, Any], progress: Progress | None = None
) -> TrainedVersion:
    """Train, validate and save a new version (not yet champion)."""
    from stackcast.models.persistence import save_model

    known = np.unique(panel.dates[panel.target_ok])
    try:
        split = walk_forward(
            known,
            folds=1,
            test_size=cfg.backtest.test_size,
            embargo=cfg.embargo,
            horizons=cfg.features.horizons,
            mode=cfg.backtest.mode,
            train_size=cfg.backtest.train_size if cfg.backtest.mode == "rolling" else None,
            min_train=min(cfg.backtest.train_size, 100),
        )[-1]
    except ValueError as exc:
        raise DataError(f"not enough history to train: {exc}") from None
    fold, model = run_fold(cfg, panel, split, None, progress)
    validation = {
        name: validation_mae(fold.predictions, name)
        for name in ("y_pred", "random_walk", "drift", "ridge")
    }
    home = cfg.home()
    with registry.new_version(home, cfg.name) as (version, staging):
        meta = {
            "name": cfg.name,
            "version": version,
            "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "config": cfg.model_dump(mode="json"),
            "features": list(panel.feature_names),
            "tickers": list(panel.tickers),
            "scaler": fold.scaler.to_json(),
            "interval_offsets": None if fold.offsets is None else fold.offsets.tolist(),
            "data_range": {t: [v["first"], v["last"]] for t, v in panel.summary().items()},
            "split": split.audit(),
            "validation_mae": validation,
            "history": {k: v for k, v in fold.history.items() if not k.startswith("grad")},
            **meta_extra,
        }
        save_model(model, staging, meta)
    _say(
        progress,
        f"saved {cfg.name} {version}: validation MAE model "
        f"{validation['y_pred']:.5f} vs random walk {validation['random_walk']:.5f}",
    )
    return TrainedVersion(
        cfg.name, version, registry.model_root(home, cfg.name) / version, validation, fold
    )


def score_version(directory: Path, cfg: RunConfig, panel: Panel, rows: np.ndarray) -> float:
    """Validation MAE of a saved version on the given origin rows (its own scaler)."""
    frame = forecast_rows(directory, cfg, panel, rows)[0]
    frame["y_true"] = panel.Y[rows].reshape(-1)
    return validation_mae(frame, "y_pred")


def decide(
    cfg: RunConfig, panel: Panel, challenger: TrainedVersion
) -> tuple[bool, str, dict[str, Any]]:
    """Whether the challenger replaces the champion, why, and the numbers behind it."""
    home = cfg.home()
    numbers: dict[str, Any] = {
        "challenger": challenger.version,
        **{f"challenger_{k}": v for k, v in challenger.validation.items()},
    }
    mae, rw = challenger.validation["y_pred"], challenger.validation["random_walk"]
    if not np.isfinite(mae) or mae > FAR_WORSE * rw:
        return (
            False,
            (f"challenger MAE {mae:.5g} is not usable (random walk {rw:.5f}); nothing promoted"),
            numbers,
        )
    record = registry.champion(home, cfg.name)
    if record is None:
        return True, "no champion yet", numbers
    champ_dir = registry.model_root(home, cfg.name) / record["version"]
    rows = challenger.fold.split.rows(panel).test
    try:
        champ_mae = score_version(champ_dir, cfg, panel, rows)
    except (UserError, ValueError, OSError) as exc:
        return True, f"champion {record['version']} cannot be scored ({exc})", numbers
    numbers |= {"champion": record["version"], "champion_mae": champ_mae}
    if mae < champ_mae and mae < rw:
        return (
            True,
            f"challenger MAE {mae:.5f} beats champion {champ_mae:.5f} and RW {rw:.5f}",
            numbers,
        )
    return (
        False,
        (
            f"challenger MAE {mae:.5f} does not beat both champion {champ_mae:.5f} "
            f"and random walk {rw:.5f}"
        ),
        numbers,
    )


def latest_origins(panel: Panel, as_of: _dt.date | None = None) -> np.ndarray:
    """The last usable origin row of each ticker (on or before ``as_of``)."""
    rows = []
    for k in range(len(panel.tickers)):
        lo, hi = int(panel.offsets[k]), int(panel.offsets[k + 1])
        ok = panel.origin_ok[lo:hi]
        if as_of is not None:
            ok = ok & (panel.dates[lo:hi] <= np.datetime64(as_of, "D"))
        idx = np.flatnonzero(ok)
        if len(idx):
            rows.append(lo + int(idx[-1]))
    return np.asarray(rows, dtype=np.int64)


def forecast_rows(
    directory: Path, cfg: RunConfig, panel: Panel, rows: np.ndarray
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Forecast the given origins with a saved version; one row per origin and horizon."""
    from stackcast.models.persistence import ModelMismatchError, load_model
    from stackcast.models.predict import predict

    try:
        model, meta = load_model(directory, expected_features=list(panel.feature_names))
    except ModelMismatchError as exc:
        raise UserError(f"model {directory.name} does not fit these inputs: {exc}") from None
    except FileNotFoundError as exc:
        raise UserError(f"model {directory.name} is incomplete ({exc}); train again") from None
    scaler = FoldScaler.from_json(meta["scaler"]).for_tickers(panel.tickers)
    tc = cfg.train
    Xs = scaler.transform_inputs(panel.X, panel.ticker_id)
    batches = panel.batches(rows, tc.batch_size, X=Xs)
    mean, lo, hi = predict(model, batches, tc.mc_samples, tc.interval, seed=tc.seed)
    if meta.get("interval_offsets") is not None:
        offsets = np.asarray(meta["interval_offsets"], dtype=float)
        lo, hi = mean + offsets[0], mean + offsets[1]
    tid = panel.ticker_id[rows]
    y_pred = scaler.inverse_targets(mean, tid)
    nan = np.full_like(mean, np.nan)
    lo_r = scaler.inverse_targets(lo, tid) if tc.mc_samples else nan
    hi_r = scaler.inverse_targets(hi, tid) if tc.mc_samples else nan
    columns = {"y_pred": y_pred, "lo": lo_r, "hi": hi_r}
    frame = long_frame(panel, rows, -1, columns, cfg.features.calendar)
    frame = frame.drop(columns=["y_true", "fold"])
    frame["price_pred"] = frame["origin_close"] * np.exp(frame["y_pred"])
    frame["model_name"] = meta.get("name", cfg.name)
    frame["model_version"] = meta.get("version", directory.name)
    return frame, meta


@dataclass
class RetrainResult:
    """A weekly retrain: the challenger, whether it became champion, and why."""

    challenger: TrainedVersion
    promoted: bool
    reason: str
    numbers: dict[str, Any]
    warnings: list[str]


def retrain(
    cfg: RunConfig, *, progress: Progress | None = None, refresh: bool = True
) -> RetrainResult:
    """Train a challenger on the latest data; promote it only if it beats the champion and RW.

    A failed training (``TrainingFailed``) raises before anything is saved, so the champion
    is untouched.
    """
    from stackcast.pipeline.data.prices import load_prices
    from stackcast.pipeline.results.runs import run_metadata

    frames, warnings = load_prices(cfg, refresh=refresh, progress=progress)
    panel = build(cfg, frames)
    challenger = train_version(cfg, panel, {"run": run_metadata()}, progress)
    promoted, reason, numbers = decide(cfg, panel, challenger)
    if promoted:
        registry.promote(cfg.home(), cfg.name, challenger.version, reason, numbers)
    _say(progress, f"{'promoted' if promoted else 'kept champion'}: {reason}")
    return RetrainResult(challenger, promoted, reason, numbers, warnings + challenger.fold.warnings)
