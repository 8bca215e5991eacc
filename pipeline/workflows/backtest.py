"""Walk-forward backtest: per fold, fit scalers and the model on the past, forecast the fold.

The maths lives in ``features`` (panel, windows, scalers, splits), ``models`` (network,
training, MC-dropout prediction) and ``reports`` (baselines, metrics, trading, HTML); this
module orders it, times it and writes the run directory.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from stackcast.features.panel import Panel
from stackcast.features.scaling import FoldScaler
from stackcast.features.splits import Split, validation_split, walk_forward
from stackcast.pipeline.config import RunConfig
from stackcast.pipeline.errors import DataError, TrainingFailed
from stackcast.reports.baselines import RidgeBaseline, drift

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass
class FoldOutput:
    """What one fold produced: its predictions, training history and audit row."""

    split: Split
    predictions: pd.DataFrame
    history: dict[str, Any]
    warnings: list[str]
    seconds: float
    scaler: FoldScaler
    offsets: np.ndarray | None = None


@dataclass
class BacktestOutput:
    """Everything a backtest computed, before anything is written."""

    predictions: pd.DataFrame
    folds: list[FoldOutput]
    panel: Panel
    scale: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    model: Any = None


def _say(progress: Progress | None, message: str) -> None:
    log.info(message)
    if progress is not None:
        progress(message)


def target_dates(panel: Panel, rows: np.ndarray, horizons: int, calendar: str) -> np.ndarray:
    """Calendar date ``h`` bars after each origin row, shape ``[len(rows), horizons]``.

    Inside a ticker's history this is the calendar's own date; past its last bar the date is
    extrapolated with the calendar's frequency (business days for "B" and "data").
    """
    out = np.empty((len(rows), horizons), dtype="datetime64[D]")
    block_end = panel.offsets[panel.ticker_id[rows] + 1]
    offset = pd.offsets.Day(1) if calendar == "D" else pd.offsets.BDay(1)
    for h in range(1, horizons + 1):
        idx = rows + h
        inside = idx < block_end
        out[inside, h - 1] = panel.dates[idx[inside]]
        for k in np.flatnonzero(~inside):
            last = int(block_end[k]) - 1
            extra = int(idx[k] - last)
            out[k, h - 1] = (pd.Timestamp(panel.dates[last]) + extra * offset).to_datetime64()
    return out


def mean_return(panel: Panel, rows: np.ndarray) -> dict[int, float]:
    """Mean one-bar log return per ticker id over the given rows (the drift baseline)."""
    out: dict[int, float] = {}
    for tid in np.unique(panel.ticker_id[rows]):
        r = rows[panel.ticker_id[rows] == tid]
        first, last = r.min(), r.max()
        n = max(int(last - first), 1)
        out[int(tid)] = float(np.log(panel.close[last] / panel.close[first]) / n)
    return out


def rw_scale(panel: Panel, rows: np.ndarray) -> pd.DataFrame:
    """In-sample random-walk MAE per ticker and horizon (the MASE denominator)."""
    frames = []
    for tid in np.unique(panel.ticker_id[rows]):
        r = rows[panel.ticker_id[rows] == tid]
        err = np.nanmean(np.abs(panel.Y[r]), axis=0)
        frames.append(
            pd.DataFrame(
                {
                    "ticker": panel.tickers[tid],
                    "horizon": np.arange(1, panel.Y.shape[1] + 1),
                    "scale": err,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def conformal_offsets(residuals: np.ndarray, interval: float) -> np.ndarray:
    """Per-horizon residual quantiles ``[2, H]`` bounding a central ``interval`` band.

    MC-dropout spread measures only the model's own uncertainty and covers far less than its
    nominal level on returns; adding the validation block's residual quantiles to the MC mean
    (split conformal) gives bands whose coverage is checked in every report.
    """
    q = [(1.0 - interval) / 2.0, (1.0 + interval) / 2.0]
    return np.nanquantile(residuals, q, axis=0)


def check_gradients(history: dict[str, Any], threshold: float, fold: int) -> None:
    """Fail a fit whose gradient norm exploded (above ``threshold``) or went non-finite.

    Healthy fits here stay near 1 (before clipping); a norm past the threshold means the
    learning rate or the data is wrong, and weights from such a fit are not published.
    """
    norms = np.asarray(history.get("grad_norm/all/max") or [], dtype=float)
    bad = np.flatnonzero(~np.isfinite(norms) | (norms > threshold))
    if len(bad):
        epoch = int(bad[0])
        raise TrainingFailed(
            f"fold {fold}: exploding gradients: norm {norms[epoch]:.3g} in epoch {epoch + 1} "
            f"exceeds explode_threshold {threshold:g}; lower [train] learning_rate or set "
            "clipnorm"
        )


def make_splits(cfg: RunConfig, panel: Panel) -> list[Split]:
    """The walk-forward folds of this run; a clear ``DataError`` when history is too short."""
    bt = cfg.backtest
    try:
        return walk_forward(
            panel.calendar(),
            folds=bt.folds,
            test_size=bt.test_size,
            embargo=cfg.embargo,
            horizons=cfg.features.horizons,
            mode=bt.mode,
            train_size=bt.train_size if bt.mode == "rolling" else None,
            min_train=min(bt.train_size, 100),
        )
    except ValueError as exc:
        raise DataError(f"not enough history for the backtest: {exc}") from None


def long_frame(
    panel: Panel,
    rows: np.ndarray,
    fold: int,
    columns: dict[str, np.ndarray],
    calendar: str,
) -> pd.DataFrame:
    """One row per (origin, horizon): the contract's columns plus one column per predictor."""
    n, horizons = len(rows), panel.Y.shape[1]
    frame = pd.DataFrame(
        {
            "ticker": np.repeat(
                np.asarray(panel.tickers, dtype=object)[panel.ticker_id[rows]], horizons
            ),
            "origin": np.repeat(panel.dates[rows], horizons).astype("datetime64[ns]"),
            "horizon": np.tile(np.arange(1, horizons + 1), n),
            "target_date": target_dates(panel, rows, horizons, calendar)
            .reshape(-1)
            .astype("datetime64[ns]"),
            "y_true": panel.Y[rows].reshape(-1),
            "fold": fold,
            "origin_close": np.repeat(panel.close[rows], horizons),
        }
    )
    for name, values in columns.items():
        frame[name] = np.asarray(values, dtype=float).reshape(-1)
    return frame


def run_fold(
    cfg: RunConfig,
    panel: Panel,
    split: Split,
    model: Any,
    progress: Progress | None = None,
) -> tuple[FoldOutput, Any]:
    """Fit scaler, model and baselines on one fold's past and forecast its test origins.

    Returns the fold's output and the trained model (the next fold's warm start).
    """
    from stackcast.models import build_model, train
    from stackcast.models.predict import predict

    fc, tc = cfg.features, cfg.train
    started = time.perf_counter()
    rows = split.rows(panel, require_targets=False)
    # Keep origins with at least one known horizon (a holiday target is NaN and masked in the
    # loss); the ridge baseline, which cannot mask, uses the complete ones.
    known = np.isfinite(panel.Y[rows.train])
    rows = replace(rows, train=rows.train[known.any(axis=1)])
    complete = rows.train[known[known.any(axis=1)].all(axis=1)]
    if len(rows.train) < 2 or len(rows.test) == 0:
        raise DataError(
            f"fold {split.fold}: {len(rows.train)} training and {len(rows.test)} test origins"
        )
    scaler = FoldScaler.fit_panel(panel, rows.fit_rows, fc)
    Xs = scaler.transform_inputs(panel.X, panel.ticker_id)
    Ys = scaler.transform_targets(panel.Y, panel.ticker_id)

    if tc.validation_fraction > 0 and len(np.unique(panel.dates[rows.train])) > 4 * fc.horizons:
        fit_mask, val_mask = validation_split(
            panel.dates[rows.train], tc.validation_fraction, gap=fc.horizons
        )
    else:
        fit_mask, val_mask = np.ones(len(rows.train), bool), np.zeros(len(rows.train), bool)
    tr, va = rows.train[fit_mask], rows.train[val_mask]
    seed = tc.seed + split.fold
    train_b = panel.batches(tr, tc.batch_size, X=Xs, targets=Ys[tr], shuffle=True, seed=seed)
    val_b = panel.batches(va, tc.batch_size, X=Xs, targets=Ys[va]) if len(va) else None

    warm = model is not None and tc.warm_start
    epochs = tc.warm_epochs if warm else tc.epochs
    fold_tc = tc.model_copy(update={"epochs": epochs, "seed": seed})
    if not warm:
        from stackcast.models.training import resolve_dtype_policy

        model = build_model(
            cfg.model,
            len(panel.feature_names),
            fc.window,
            fc.horizons,
            mask_value=fc.mask_value,
            seed=seed,
            dtype_policy=resolve_dtype_policy(tc),
        )

    def epoch_line(message: str) -> None:
        _say(progress, f"  fold {split.fold + 1}: {message}")

    from stackcast.models.training import TrainingError

    try:
        result = train(model, train_b, val_b, fold_tc, log=epoch_line)
    except TrainingError as exc:
        raise TrainingFailed(f"fold {split.fold + 1}: {exc}") from None
    check_gradients(result.history, tc.explode_threshold, split.fold + 1)

    test_b = panel.batches(rows.test, tc.batch_size, X=Xs)
    mean, lo, hi = predict(model, test_b, tc.mc_samples, tc.interval, seed=seed)
    offsets = None
    if tc.mc_samples > 0 and val_b is not None:
        val_mean = predict(model, val_b, tc.mc_samples, tc.interval, seed=seed)[0]
        offsets = conformal_offsets(Ys[va] - val_mean, tc.interval)
        lo, hi = mean + offsets[0], mean + offsets[1]
    tid = panel.ticker_id[rows.test]
    columns: dict[str, np.ndarray] = {"y_pred": scaler.inverse_targets(mean, tid)}
    if tc.mc_samples > 0:
        columns["lo"] = scaler.inverse_targets(lo, tid)
        columns["hi"] = scaler.inverse_targets(hi, tid)
    else:
        columns["lo"] = columns["hi"] = np.full_like(mean, np.nan)

    ridge_fit = panel.batches(complete, 1024, X=Xs, targets=Ys[complete])
    ridge = RidgeBaseline(alpha=1.0).fit(ridge_fit[i] for i in range(len(ridge_fit)))
    ridge_pred = ridge.predict(test_b[i] for i in range(len(test_b)))
    drift_by_ticker = mean_return(panel, rows.train)
    columns["random_walk"] = np.zeros_like(mean)
    columns["drift"] = drift(np.array([drift_by_ticker.get(int(t), 0.0) for t in tid]), fc.horizons)
    columns["ridge"] = scaler.inverse_targets(ridge_pred, tid)

    frame = long_frame(panel, rows.test, split.fold, columns, fc.calendar)
    seconds = time.perf_counter() - started
    history = dict(result.history)
    history["epochs_run"] = result.epochs_run
    history["best_epoch"] = result.best_epoch
    history["warm_start"] = warm
    history["n_train"] = len(tr)
    history["n_val"] = len(va)
    warnings = [f"fold {split.fold + 1}: {w}" for w in result.warnings]
    return FoldOutput(split, frame, history, warnings, seconds, scaler, offsets), model


def backtest_panel(
    cfg: RunConfig, panel: Panel, progress: Progress | None = None
) -> BacktestOutput:
    """Run every walk-forward fold on a built panel (no I/O)."""
    splits = make_splits(cfg, panel)
    _say(
        progress,
        f"{len(splits)} folds over {len(panel.tickers)} tickers "
        f"({', '.join(panel.tickers)}), {cfg.backtest.mode} training window",
    )
    folds: list[FoldOutput] = []
    model = None
    for split in splits:
        a = split.audit()
        _say(
            progress,
            f"fold {split.fold + 1}/{len(splits)}: train {a['train_start']}.."
            f"{a['train_end']}, test {a['test_start']}..{a['test_end']}",
        )
        out, model = run_fold(cfg, panel, split, model, progress)
        folds.append(out)
        _say(
            progress,
            f"fold {split.fold + 1}/{len(splits)} done in {out.seconds:.1f} s "
            f"({out.history['epochs_run']} epochs)",
        )
    predictions = pd.concat([f.predictions for f in folds], ignore_index=True)
    first_train = folds[0].split.rows(panel).train
    warnings = [w for f in folds for w in f.warnings]
    return BacktestOutput(predictions, folds, panel, rw_scale(panel, first_train), warnings, model)


@dataclass
class BacktestResult:
    """A published backtest run."""

    run_id: str
    run_dir: Path
    report: Path
    metrics: dict[str, Any]
    warnings: list[str]


CONTRACT_COLUMNS = [
    "ticker",
    "origin",
    "horizon",
    "target_date",
    "y_pred",
    "y_true",
    "fold",
    "lo",
    "hi",
]


def _prices_frame(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(
        [f.assign(ticker=t)[["ticker", "date", "close"]] for t, f in frames.items()],
        ignore_index=True,
    )


def render(
    cfg: RunConfig,
    output: BacktestOutput,
    frames: dict[str, pd.DataFrame],
    run_id: str,
    created: str,
    meta: dict[str, Any],
    kind: str = "backtest",
) -> tuple[dict[str, Any], str]:
    """Metrics and the report HTML for a computed backtest (pure but for the clock)."""
    from stackcast.pipeline.config import to_toml
    from stackcast.reports.html import ReportData, render_report
    from stackcast.reports.metrics import evaluate
    from stackcast.reports.trading import simulate

    metrics = evaluate(
        output.predictions,
        output.scale,
        cfg.report,
        nominal_coverage=cfg.train.interval if cfg.train.mc_samples else None,
    )
    trading = simulate(output.predictions, cfg.report)
    metrics["trading"] = trading.to_json()
    metrics["folds"] = [
        {
            **f.split.audit(),
            "seconds": round(f.seconds, 2),
            "epochs": f.history["epochs_run"],
            "warm_start": f.history["warm_start"],
        }
        for f in output.folds
    ]
    summary = output.panel.summary()
    data = ReportData(
        title=cfg.report.title,
        run_id=run_id,
        created=created,
        kind=kind,
        headline=metrics,
        trading=trading,
        predictions=output.predictions,
        prices=_prices_frame(frames),
        audit=[f.split.audit() for f in output.folds],
        histories=[f.history for f in output.folds],
        config_text=to_toml(cfg),
        data_ranges=[
            {
                "ticker": t,
                "start": v["first"],
                "end": v["last"],
                "bars": v["rows"],
                "origins": v["origins"],
            }
            for t, v in summary.items()
        ],
        versions=meta["versions"],
        git_commit=meta["git_commit"],
        device=meta["device"],
        warnings=output.warnings,
        config=cfg.report,
        explode_threshold=cfg.train.explode_threshold,
        vanish_threshold=cfg.train.vanish_threshold,
    )
    return metrics, render_report(data)


def run_backtest(
    cfg: RunConfig,
    *,
    out: Path | None = None,
    progress: Progress | None = None,
    refresh: bool = True,
) -> BacktestResult:
    """Ingest, backtest walk-forward, and publish the run.

    Writes ``forecasts.parquet``, ``metrics.json``, ``history.json``, ``config.toml`` and
    ``report.html`` to ``out`` or a new ``STACKCAST_HOME/runs/<run_id>``.
    """
    from stackcast.pipeline.atomic import atomic_write_json, atomic_write_parquet, atomic_write_text
    from stackcast.pipeline.config import to_toml
    from stackcast.pipeline.data.prices import load_prices
    from stackcast.pipeline.results.runs import (
        run_metadata,
        staged_run,
        update_index,
        write_summary,
    )
    from stackcast.pipeline.workflows.training import build
    from stackcast.reports.html import index_entry

    frames, warnings = load_prices(cfg, refresh=refresh, progress=progress)
    panel = build(cfg, frames)
    if panel.dropped_features:
        warnings.append(
            "inputs left out because the data lacks their columns: "
            + ", ".join(panel.dropped_features)
        )
    warnings.extend(f"{t}: skipped: {why}" for t, why in panel.skipped.items())
    for w in warnings:
        _say(progress, f"warning: {w}")
    output = backtest_panel(cfg, panel, progress)
    output.warnings[:0] = warnings
    meta = run_metadata()
    home = cfg.home()
    with staged_run(home, "backtest", out) as run:
        created = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
        metrics, html = render(cfg, output, frames, run.run_id, created, meta)
        metrics["run"] = {
            "run_id": run.run_id,
            "created": created,
            **meta,
            "warnings": output.warnings,
        }
        forecasts = output.predictions[CONTRACT_COLUMNS]
        atomic_write_parquet(forecasts, run.staging / "forecasts.parquet")
        atomic_write_json(run.staging / "metrics.json", metrics)
        atomic_write_json(
            run.staging / "history.json",
            [{"fold": f.split.fold, **f.history} for f in output.folds],
        )
        atomic_write_text(run.staging / "config.toml", to_toml(cfg))
        atomic_write_text(run.staging / "report.html", html)
        write_summary(
            run,
            index_entry(
                run.run_id,
                created,
                "backtest",
                metrics,
                tickers=list(panel.tickers),
                title=cfg.report.title,
            ),
        )
    if out is None or run.final.parent == (home / "runs").resolve():
        update_index(home)
    return BacktestResult(
        run.run_id, run.final, run.final / "report.html", metrics, output.warnings
    )
