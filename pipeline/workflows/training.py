"""The train/retrain workflow: fit a version, decide champion or not, publish the decision.

Fitting a version is a one-fold backtest whose test block is the latest block of origins with
known outcomes (the validation block): the model, its scaler and the baselines are fit on the
past of that block exactly as in a backtest fold, and the block's errors decide whether a
challenger replaces the champion. ``fit_version`` is the Python API's ``stackcast.train``;
``retrain`` (CLI ``stackcast train``, the ``train`` and ``weekly-retrain`` flows) also saves
the version, scores the champion on the same block, promotes, and writes a validation run.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from stackcast.features.panel import Panel
from stackcast.pipeline.config import RunConfig
from stackcast.pipeline.data.prices import stored_frames
from stackcast.pipeline.errors import DataError, UserError
from stackcast.pipeline.results import registry, whatif
from stackcast.pipeline.results.runs import run_metadata, staging_dir
from stackcast.pipeline.units import percent
from stackcast.pipeline.workflows.backtest import (
    BacktestResult,
    make_splits,
    run_engine,
    shrink_warnings,
)
from stackcast.pipeline.workflows.common import (
    build,
    forecast_origins,
    latest_origins,
    load_version,
    obtain_prices,
    panel_warnings,
)
from stackcast.pipeline.workflows.refit import refit
from stackcast.pipeline.workflows.steps import Steps

FAR_WORSE = 1.5  # a first model this many times worse than random walk is never promoted


def validation_mae(frame: pd.DataFrame, column: str) -> float:
    """Mean absolute error of ``column`` against known outcomes, averaged over every horizon.

    A fraction (log-return units); ``percent`` shows it as percent of price.
    """
    known = frame.dropna(subset=["y_true"])
    return float(np.mean(np.abs(known[column] - known["y_true"])))


def over_horizons(cfg: RunConfig) -> str:
    """What a validation MAE is averaged over, in words."""
    return f"averaged over horizons 1..{cfg.features.horizons}"


@dataclass
class TrainedModel:
    """A fitted model version: its forecaster, validation block and metadata.

    ``forecast(prices)`` gives the next H forecasts per ticker; ``save(directory)`` writes
    ``model.keras`` and ``meta.json`` (``stackcast.load_model`` reads it back).

    Attributes:
        validation: Validation-block MAE per predictor (``y_pred`` the model, then every
            forecaster ``[backtest] forecasters`` scores beside it) as fractions in log-return
            units, averaged over horizons 1..H (x100 for percent of price); ``meta.json``'s
            ``validation_mae``.
    """

    config: RunConfig
    forecaster: Any
    meta: dict[str, Any]
    validation: dict[str, float] = field(default_factory=dict)
    result: BacktestResult | None = None

    def forecast(self, prices: pd.DataFrame, as_of: _dt.date | None = None) -> pd.DataFrame:
        """Forecasts from each ticker's latest origin (on or before ``as_of``) in ``prices``."""
        from stackcast.pipeline.data.prices import frames_from_table

        panel = build(self.config, frames_from_table(self.config, prices))
        rows = latest_origins(panel, as_of)
        if len(rows) == 0:
            raise DataError(f"no usable origin on or before {as_of or 'the last bar'}")
        return forecast_origins(self.forecaster, self.meta, panel, rows, self.config.name)

    def save(self, directory: str | Path) -> Path:
        """Write the model directory (it appears only once complete; never over another)."""
        final = Path(directory).resolve()
        if final.exists():
            raise UserError(f"{final} exists: choose a new directory for the model")
        with staging_dir(final.parent, final.name) as staging:
            self.forecaster.save(staging, self.meta)
            staging.rename(final)
        return final


def fit_version(
    cfg: RunConfig,
    prices: pd.DataFrame | None = None,
    *,
    steps: Steps | None = None,
    panel: Panel | None = None,
    frames: Mapping[str, pd.DataFrame] | None = None,
) -> TrainedModel:
    """Fit a model on the latest data, validated on the latest block with known outcomes.

    With ``panel``, ``frames`` are the prices it was built from (the validation report's plots
    and next-open fills).
    """
    steps = steps or Steps()
    warnings: list[str] = []
    frames = dict(frames or {})
    if panel is None:
        frames, warnings, _ = obtain_prices(cfg, steps, prices, refresh=False)
        panel = build(cfg, frames)
    known = np.unique(panel.dates[panel.target_ok])
    split = make_splits(cfg, known, folds=1, what="to train")[-1:]
    warnings += shrink_warnings(cfg, split, known, 1)
    run = run_engine(cfg, panel, split, steps)
    from stackcast.models.engine import fold_rows

    fold = run.folds[0]
    predictors = ("y_pred", *cfg.backtest.lineup()[1])
    validation = {name: validation_mae(fold.predictions, name) for name in predictors}
    train_rows = fold_rows(panel, fold.split).train
    meta = {
        "name": cfg.name,
        "role": "challenger",
        "seen_until": str(panel.target_end[train_rows].max()),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "config": cfg.model_dump(mode="json"),
        "features": list(panel.feature_names),
        "tickers": list(panel.tickers),
        "data_range": {t: [v["first"], v["last"]] for t, v in panel.summary().items()},
        "split": fold.split.audit(),
        "validation_mae": validation,
        "history": {k: v for k, v in fold.history.items() if not k.startswith("grad")},
    }
    result = BacktestResult.scored(
        cfg, run, panel, frames, warnings + panel_warnings(panel), kind="train"
    )
    return TrainedModel(cfg, run.model, meta, validation, result)


@dataclass
class TrainedVersion:
    """A saved model version and its validation numbers."""

    name: str
    version: str
    directory: Path
    model: TrainedModel


def save_version(cfg: RunConfig, model: TrainedModel, role: str) -> TrainedVersion:
    """Save ``model`` as the next version of ``cfg.name`` (role: champion, as-of, challenger)."""
    home = cfg.home()
    with registry.new_version(home, cfg.name) as (version, staging):
        model.meta.update(version=version, role=role, run=run_metadata())
        model.forecaster.save(staging, model.meta)
    directory = registry.model_root(home, cfg.name) / version
    return TrainedVersion(cfg.name, version, directory, model)


IDENTITY_KEYS = ("config", "features", "tickers", "data_range", "seen_until", "role")


def identical_version(cfg: RunConfig, model: TrainedModel) -> TrainedVersion | None:
    """An existing version with the same config, inputs and data as ``model``, or None.

    A seeded fit of the same config on the same data is the same model: it is not stored twice.
    """
    from stackcast.pipeline.workflows.daily import read_meta

    root = registry.model_root(cfg.home(), cfg.name)
    want = {k: model.meta.get(k) for k in IDENTITY_KEYS}
    want = json.loads(json.dumps(want, default=str))
    for version in reversed(registry.versions(cfg.home(), cfg.name)):
        meta = read_meta(root / version)
        if {k: meta.get(k) for k in IDENTITY_KEYS} == want:
            return TrainedVersion(cfg.name, version, root / version, model)
    return None


def score_forecaster(
    forecaster: Any, meta: dict[str, Any], cfg: RunConfig, panel: Panel, rows: np.ndarray
) -> float:
    """Validation MAE of a loaded version on the given origin rows (its own scaler)."""
    frame = forecast_origins(forecaster, meta, panel, rows, cfg.name)
    frame["y_true"] = panel.Y[rows].reshape(-1)
    return validation_mae(frame, "y_pred")


def decide(
    cfg: RunConfig, panel: Panel, challenger: TrainedModel
) -> tuple[bool, str, dict[str, Any]]:
    """Whether the challenger replaces the champion, why, and the numbers behind it.

    Both are scored on the challenger's validation block. A refit champion has seen prices up
    to its ``seen_until``: it is scored only on the block's origins after that, so the
    comparison stays out of sample for both.
    """
    validation = challenger.validation
    numbers: dict[str, Any] = {f"challenger_{k}": v for k, v in validation.items()}
    mae, rw = validation["y_pred"], validation["random_walk"]
    if not np.isfinite(mae) or mae > FAR_WORSE * rw:
        reason = (
            f"challenger MAE {percent(mae)} is not usable (random walk {percent(rw)}, "
            f"{over_horizons(cfg)}); nothing promoted"
        )
        return False, reason, numbers
    record = registry.champion(cfg.home(), cfg.name)
    if record is None:
        return True, "no champion yet", numbers
    version = record["version"]
    champ_dir = registry.model_root(cfg.home(), cfg.name) / version
    assert challenger.result is not None
    rows = challenger.result.run.folds[0].split.rows(panel).test
    try:
        champion, meta = load_version(champ_dir, cfg, panel)
        seen = meta.get("seen_until")
        if seen is not None:
            rows = rows[panel.dates[rows] > np.datetime64(seen, "D")]
        if len(rows) == 0:
            return _decide_by_ratio(meta, version, seen, mae, rw, numbers)
        champ_mae = score_forecaster(champion, meta, cfg, panel, rows)
    except (UserError, ValueError, OSError) as exc:
        return True, f"champion {version} cannot be scored ({exc})", numbers
    numbers |= {"champion": version, "champion_mae": champ_mae}
    if mae < champ_mae and mae < rw:
        return (
            True,
            f"challenger MAE {percent(mae)} beats champion {percent(champ_mae)} and RW "
            f"{percent(rw)} ({over_horizons(cfg)})",
            numbers,
        )
    reason = (
        f"challenger MAE {percent(mae)} does not beat both champion {percent(champ_mae)} "
        f"and random walk {percent(rw)} ({over_horizons(cfg)})"
    )
    return False, reason, numbers


def _decide_by_ratio(
    meta: dict[str, Any],
    version: str,
    seen: str | None,
    mae: float,
    rw: float,
    numbers: dict[str, Any],
) -> tuple[bool, str, dict[str, Any]]:
    """Decide by out-of-sample MAE relative to the random walk, each on its own validation block.

    Used when the champion saw the whole block (it was refit through its last bar).
    """
    own = meta.get("validation_mae") or {}
    ratio, champ_ratio = mae / rw, own.get("y_pred", np.nan) / own.get("random_walk", np.nan)
    numbers |= {"champion": version, "champion_ratio": champ_ratio, "challenger_ratio": ratio}
    where = f"champion {version} saw this block (seen until {seen}): MAE / RW out of sample"
    if mae < rw and not ratio >= champ_ratio:
        return True, f"{where}, challenger {ratio:.4f} vs champion {champ_ratio:.4f}", numbers
    return (
        False,
        f"{where}, challenger {ratio:.4f} does not beat both champion {champ_ratio:.4f} and RW 1",
        numbers,
    )


@dataclass
class RetrainResult:
    """A retrain: the challenger, whether it became champion and why, its validation run."""

    challenger: TrainedVersion
    promoted: bool
    reason: str
    numbers: dict[str, Any]
    warnings: list[str]
    run_dir: Path
    ingest_failed: dict[str, str] = field(default_factory=dict)

    @property
    def metrics(self) -> dict[str, Any]:
        """The validation block's metrics (model vs baselines)."""
        result = self.challenger.model.result
        return result.metrics if result is not None else {}


def retrain(
    cfg: RunConfig,
    *,
    steps: Steps | None = None,
    refresh: bool = True,
    as_of: _dt.date | None = None,
    home: str | Path | None = None,
) -> RetrainResult:
    """Train a challenger on the latest data; promote it only if it beats the champion and RW.

    A promoted challenger is refit through the last stored bar before it is published. With
    ``as_of`` the prices are cut at that date (no ingest) and the refit version is saved for
    ``run --as-of`` (role ``as-of``) in a what-if home (``home``, default
    STACKCAST_HOME/as-of), never in the live registry. A failed training raises before
    anything is saved. Every retrain writes a validation run with the decision.
    """
    if as_of is not None and not whatif.is_whatif(cfg.home()):
        with whatif.what_if(cfg, "as-of", home) as inner:
            return retrain(inner, steps=steps, refresh=False, as_of=as_of)
    whatif.refuse_home_without_as_of(home, as_of)
    steps = steps or Steps()
    if as_of is None:
        frames, warnings, ingest_failed = obtain_prices(cfg, steps, refresh=refresh)
    else:
        frames, warnings = steps.call("load-prices", stored_frames, cfg, as_of)
        ingest_failed = {}
    panel = build(cfg, frames)
    challenger = steps.call(
        "train-challenger", fit_version, cfg, steps=steps, panel=panel, frames=frames
    )
    result = challenger.result
    assert result is not None
    result.frames = frames
    warnings += result.warnings
    promoted, reason, numbers = steps.call("decide", decide, cfg, panel, challenger)
    if as_of is not None:
        promoted, reason = False, f"trained as of {as_of} for replays; champion unchanged"
    model, role = challenger, "challenger"
    if promoted or as_of is not None:
        model = steps.call("refit-champion", refit, cfg, panel, challenger, steps)
        role = "champion" if promoted else "as-of"
    same = None if promoted or as_of is not None else identical_version(cfg, model)
    if same is not None:  # the same config on the same data: the same model, not stored twice
        version = same
        steps.say(f"challenger is identical to {same.version} (same config and data): not stored")
    else:
        version = steps.call("save-version", save_version, cfg, model, role)
    numbers = {"challenger": version.version, **numbers}
    v = challenger.validation
    steps.say(
        f"saved {cfg.name} {version.version} ({role}, seen until {model.meta['seen_until']}): "
        f"validation MAE ({over_horizons(cfg)}) model {percent(v['y_pred'])} vs random walk "
        f"{percent(v['random_walk'])}"
    )
    if promoted:
        steps.call(
            "promote", registry.promote, cfg.home(), cfg.name, version.version, reason, numbers
        )
    steps.say(f"{'promoted' if promoted else 'kept champion'}: {reason}")
    if not v["y_pred"] < v["random_walk"]:
        warnings.append(
            f"model does not beat random walk on the validation block "
            f"(MAE {percent(v['y_pred'])} vs {percent(v['random_walk'])}, {over_horizons(cfg)})"
        )
    result.warnings = warnings
    title = f"stackcast {cfg.name} {version.version}: validation block"
    result.config = cfg.model_copy(
        update={"report": cfg.report.model_copy(update={"title": title})}
    )
    decision = {"promoted": promoted, "reason": reason, **numbers}
    verb = (
        "promoted" if promoted else ("saved as of " + str(as_of) if as_of else "kept the champion")
    )
    run_dir = steps.call(
        "write-validation-report",
        result.save,
        extra={"decision": decision, "seen_until": model.meta["seen_until"]},
        title=f"{cfg.name} {version.version}: {verb}",
    )
    return RetrainResult(version, promoted, reason, numbers, warnings, run_dir, ingest_failed)
