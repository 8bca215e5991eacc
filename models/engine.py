"""The walk-forward engine: any forecasters over any splits, one long forecasts frame.

Per fold, each forecaster is fit on the fold's past (its scaler, validation and calibration
stay inside the training range) and forecasts the fold's test origins. The first forecaster
is *the model*: its forecasts are the frame's ``y_pred``, ``lo`` and ``hi``; every other one
adds a column named after it. The same instance carries over from fold to fold, so a
forecaster that warm-starts (the RNN) does. Baselines marked ``concurrent`` (NumPy only) fit
and forecast in a thread while the model trains, whose recurrent kernels leave a core idle;
the frame is the same as when they run after it. Pure: no files, no network.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from stackcast.features.panel import Panel, target_dates, ticker_groups
from stackcast.features.splits import FoldRows, Split
from stackcast.models.base import FitInfo, FoldError, Forecaster, Prediction, Progress, labelled
from stackcast.models.training import TrainingError

log = logging.getLogger(__name__)


@dataclass
class FoldResult:
    """One fold: its split, forecasts (long frame), the model's fit history and warnings.

    ``complete``: the fold's training origins with every target known (what
    ``split.rows(panel).train`` selects), kept from the fold's run for the MASE scale.
    """

    split: Split
    predictions: pd.DataFrame
    history: dict[str, Any]
    warnings: list[str]
    seconds: float
    complete: np.ndarray


@dataclass
class BacktestRun:
    """Every fold's forecasts and fits, before anything is scored or written.

    Attributes:
        predictions: All folds' long frames, concatenated.
        folds: Per-fold results, oldest first.
        scale: In-sample random-walk MAE per (ticker, horizon, fold) over each fold's training
            origins (the MASE denominator; ``fold`` numbered from 1 as in ``predictions``).
        baselines: Names of the baseline columns in ``predictions``.
        model: The model forecaster as fit on the last fold (unfitted when the folds ran
            apart and were joined by ``assemble``).
    """

    predictions: pd.DataFrame
    folds: list[FoldResult]
    scale: pd.DataFrame
    baselines: tuple[str, ...]
    model: Forecaster
    warnings: list[str] = field(default_factory=list)


def say(progress: Progress | None, message: str) -> None:
    """Log ``message`` and pass it to ``progress``."""
    log.info(message)
    if progress is not None:
        progress(message)


def forecast_frame(
    panel: Panel, rows: np.ndarray, fold: int, columns: dict[str, np.ndarray]
) -> pd.DataFrame:
    """One row per (origin, horizon): the contract's columns plus one column per predictor."""
    n, horizons = len(rows), panel.horizons
    frame = pd.DataFrame(
        {
            # Taken from the tickers' own strings: converting a column of objects costs more.
            "ticker": pd.array(panel.tickers, dtype="str").take(
                np.repeat(panel.ticker_id[rows], horizons)
            ),
            "origin": np.repeat(panel.dates[rows], horizons).astype("datetime64[ns]"),
            "horizon": np.tile(np.arange(1, horizons + 1), n),
            "target_date": target_dates(panel, rows).reshape(-1).astype("datetime64[ns]"),
            "y_true": panel.Y[rows].reshape(-1),
            "fold": fold,
            "origin_close": np.repeat(panel.close[rows], horizons),
        }
    )
    for name, values in columns.items():
        frame[name] = np.asarray(values, dtype=float).reshape(-1)
    return frame


def model_columns(prediction: Prediction) -> dict[str, np.ndarray]:
    """The model's forecast as the frame's ``y_pred``, ``lo`` and ``hi`` columns."""
    return {"y_pred": prediction.mean, "lo": prediction.lo, "hi": prediction.hi}


def rw_scale(panel: Panel, rows: np.ndarray) -> pd.DataFrame:
    """In-sample random-walk MAE per ticker and horizon (the MASE denominator).

    One frame built from per-ticker arrays (not a frame per ticker, then concatenated); each
    ticker's ``np.nanmean(abs(Y[its rows]), axis=0)`` computed for every ticker at once.
    """
    names, scales = group_abs_means(panel, rows)
    if not names:  # no training origin with every target known: no scale
        return pd.DataFrame({"ticker": [], "horizon": [], "scale": []})
    horizons = panel.horizons
    return pd.DataFrame(
        {
            "ticker": pd.array(names, dtype="str").take(np.repeat(np.arange(len(names)), horizons)),
            "horizon": np.tile(np.arange(1, horizons + 1), len(names)),
            "scale": scales.reshape(-1),
        }
    )


def group_abs_means(panel: Panel, rows: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Tickers of ``rows`` (ascending ids) and ``np.nanmean(np.abs(panel.Y[r]), axis=0)`` of each.

    Tickers with the same number of rows are summed as one ``[tickers, rows, H]`` block along
    its rows: NumPy adds row after row there as it does in one ticker's ``[rows, H]`` array,
    so the bits are those of ``nanmean`` ticker by ticker (which one horizon, whose sums NumPy
    may split pairwise, and a ticker without any known value still take).
    """
    groups = ticker_groups(panel, rows)
    names = [panel.tickers[t] for t, _ in groups]
    if not groups:
        return names, np.zeros((0, panel.horizons))
    sizes = np.array([len(r) for _, r in groups])
    A = np.abs(panel.Y[np.concatenate([r for _, r in groups])])
    known = ~np.isnan(A)
    if A.shape[1] > 1:
        A[~known] = 0.0
        starts = np.cumsum(sizes) - sizes
        total, count = np.empty((len(groups), A.shape[1])), np.empty((len(groups), A.shape[1]))
        for size in np.unique(sizes):
            g = np.flatnonzero(sizes == size)
            idx = starts[g][:, None] + np.arange(size)
            total[g] = A[idx].sum(axis=1)
            count[g] = known[idx].sum(axis=1, dtype=np.intp)
        if count.all():
            return names, total / count
    return names, np.array([np.nanmean(np.abs(panel.Y[r]), axis=0) for _, r in groups])


def fold_rows(panel: Panel, split: Split) -> FoldRows:
    """The fold's rows; training origins keep those with at least one known horizon.

    A horizon that lands on an unobserved bar has a NaN target, masked in the loss; the origin
    still trains on its other horizons.
    """
    rows = split.rows(panel, require_targets=False)
    train = rows.train[np.isfinite(panel.Y[rows.train]).any(axis=1)]
    if len(train) < 2 or len(rows.test) == 0:
        raise FoldError(
            f"fold {split.fold + 1}: {len(train)} training and {len(rows.test)} test origins"
        )
    return replace(rows, train=train)


def run_fold(
    panel: Panel,
    split: Split,
    model: Forecaster,
    baselines: Sequence[Forecaster] = (),
    progress: Progress | None = None,
) -> FoldResult:
    """Fit every forecaster on the fold's past and forecast its test origins."""
    started = time.perf_counter()
    rows = fold_rows(panel, split)
    number = split.fold + 1

    def epoch_line(message: str) -> None:
        say(progress, labelled(f"fold {number}", message))

    beside = [b for b in baselines if b.concurrent]
    with ThreadPoolExecutor(max_workers=1) as pool:
        # NumPy baselines fit while the model trains (its kernels leave a core idle)
        early = pool.submit(_fit_predict, beside, panel, rows, split.fold) if beside else None
        try:
            info = model.fit(panel, rows, fold=split.fold, progress=epoch_line)
        except TrainingError as exc:
            raise TrainingError(f"fold {number}: {exc}", epoch=exc.epoch, batch=exc.batch) from None
        columns = model_columns(model.predict(panel, rows.test))
        done = early.result() if early is not None else {}
    rest = [b for b in baselines if not b.concurrent]
    done.update(_fit_predict(rest, panel, rows, split.fold))
    warnings = [f"fold {number}: {w}" for w in info.warnings]
    for baseline in baselines:
        fitted, pred = done[baseline.name]
        warnings += [f"fold {number}: {baseline.name}: {w}" for w in fitted.warnings]
        columns[baseline.name] = pred.mean
        if np.isfinite(pred.lo).any():  # a band (a peer's conformal interval): scored too
            columns[f"{baseline.name}_lo"], columns[f"{baseline.name}_hi"] = pred.lo, pred.hi
    frame = forecast_frame(panel, rows.test, number, columns)  # 1-based, as the logs say
    # Every target known implies one known: the complete origins are among ``rows.train``.
    complete = rows.train[np.isfinite(panel.Y[rows.train]).all(axis=1)]
    seconds = time.perf_counter() - started
    return FoldResult(split, frame, info.history, warnings, seconds, complete)


def _fit_predict(
    forecasters: Sequence[Forecaster], panel: Panel, rows: FoldRows, fold: int
) -> dict[str, tuple[FitInfo, Prediction]]:
    """Each forecaster fit on the fold's past and its forecast of the test origins, by name."""
    out = {}
    for f in forecasters:
        fitted = f.fit(panel, rows, fold=fold)
        out[f.name] = (fitted, f.predict(panel, rows.test))
    return out


def _epochs(n: int) -> str:
    return f"{n} epoch" if n == 1 else f"{n} epochs"


def fold_banner(split: Split, folds: int) -> str:
    """The line that opens a fold: its training and test ranges."""
    a = split.audit()
    return (
        f"fold {split.fold + 1}/{folds}: train {a['train_start']}..{a['train_end']}, "
        f"test {a['test_start']}..{a['test_end']}"
    )


def fold_done(out: FoldResult, folds: int) -> str:
    """The line that closes a fold: its time and epochs."""
    epochs = out.history.get("epochs_run")
    done = f" ({_epochs(epochs)})" if epochs is not None else ""
    return f"fold {out.split.fold + 1}/{folds} done in {out.seconds:.1f} s{done}"


def assemble(
    panel: Panel, folds: Sequence[FoldResult], baselines: Sequence[str], model: Forecaster
) -> BacktestRun:
    """One ``BacktestRun`` from its folds' results (in fold order), however they ran."""
    folds = sorted(folds, key=lambda f: f.split.fold)
    predictions = pd.concat([f.predictions for f in folds], ignore_index=True)
    scale = pd.concat(
        [rw_scale(panel, f.complete).assign(fold=f.split.fold + 1) for f in folds],
        ignore_index=True,
    )
    warnings = [w for f in folds for w in f.warnings]
    names = tuple(baselines)
    predictions.attrs["baselines"] = list(names)
    return BacktestRun(predictions, list(folds), scale, names, model, warnings)


def backtest(
    panel: Panel,
    splits: Sequence[Split],
    model: Forecaster,
    baselines: Sequence[Forecaster] = (),
    progress: Progress | None = None,
    after_fold: Callable[[FoldResult], None] | None = None,
) -> BacktestRun:
    """Run every fold in order (the model warm-starts from the previous fold where it can).

    ``after_fold`` is called with each fold's result as it finishes, before the next starts.
    """
    say(
        progress,
        f"{len(splits)} fold(s) over {len(panel.tickers)} ticker(s) ({', '.join(panel.tickers)})",
    )
    folds: list[FoldResult] = []
    for split in splits:
        say(progress, fold_banner(split, len(splits)))
        out = run_fold(panel, split, model, baselines, progress)
        folds.append(out)
        say(progress, fold_done(out, len(splits)))
        if after_fold is not None:
            after_fold(out)
    return assemble(panel, folds, [b.name for b in baselines], model)
