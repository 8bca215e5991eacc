"""The config sweep: backtest every combination of a grid, pick one on validation folds only.

The grid and its candidates are ``stackcast.pipeline.workflows.sweep_grid``. Every candidate
runs the same walk-forward folds (computed once from the base config's calendar):
``[sweep] validation_folds`` folds followed by the ``[backtest] folds`` test folds. A candidate
is scored on the validation folds' origins whose last target lies at least the embargo before
the first test origin, so the choice uses no price on or after it; the winner is the lowest
validation MAE. Each candidate's test folds are then scored against the random walk
(Diebold-Mariano per horizon, Holm-corrected over every candidate and horizon); the sweep's
verdict is the winner's entries of that family (``stackcast.reports.sweep``), stored once in
the run's ``metrics.json`` and read by its report, the index, ``stackcast runs``, the CLI and
the flow's artifacts. The run (``runs/<id>-sweep-...``: report, metrics, the winner's config
and test forecasts) is published. Each candidate is one step (``sweep-candidate-<i>``) on the
steps' runner; one that fails (or loses its worker) is reported and the others go on. The CLI
and the Prefect flow both call ``run_sweep``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from stackcast.features.splits import Split
from stackcast.pipeline.config import RunConfig, to_toml
from stackcast.pipeline.errors import DataError, TrainingFailed
from stackcast.pipeline.results.runs import new_run_id, now_iso, publish_run, run_metadata
from stackcast.pipeline.workflows.backtest import make_splits, run_engine
from stackcast.pipeline.workflows.common import build, obtain_prices, panel_warnings
from stackcast.pipeline.workflows.steps import Steps
from stackcast.pipeline.workflows.sweep_grid import Candidate, expand


class SweepFailed(TrainingFailed):
    """Every candidate of a sweep failed: nothing to choose from."""


def sweep_splits(cfg: RunConfig, calendar: np.ndarray) -> list[Split]:
    """The validation folds then the test folds every candidate runs (oldest first)."""
    validation, test = cfg.sweep.validation_folds, cfg.backtest.folds
    splits = make_splits(cfg, calendar, folds=validation + test, what="for the sweep")
    if len(splits) < validation + test:
        raise DataError(
            f"not enough history for the sweep: {len(splits)} walk-forward fold(s) fit, "
            f"{validation} validation + {test} test needed"
        )
    return splits


def validation_cutoff(cfg: RunConfig, calendar: np.ndarray, first_test: Split) -> np.datetime64:
    """Latest validation origin: the embargo before the first test origin.

    Its targets end ``horizons`` bars later, at least one bar before the first test origin.
    """
    cal = np.asarray(calendar).astype("datetime64[D]")
    position = int(np.searchsorted(cal, first_test.test_start)) - 1 - cfg.embargo
    if position < 0:
        raise DataError("not enough history for the sweep: no validation origin before the test")
    return cal[position]


@dataclass
class CandidateRun:
    """A candidate's forecasts on every fold and the test folds' MASE scale."""

    predictions: pd.DataFrame
    scale: pd.DataFrame
    warnings: list[str]
    seconds: float
    epochs: list[Any]


def candidate_task(
    configs: Mapping[str, RunConfig],
    frames: Mapping[str, pd.DataFrame],
    splits: list[Split],
    validation_folds: int,
    candidate: str,
) -> CandidateRun:
    """Backtest one candidate over the sweep's folds (what each ``sweep-candidate`` step runs)."""
    from stackcast.models.engine import rw_scale

    started = time.perf_counter()
    cfg = configs[candidate]
    panel = build(cfg, frames)
    run = run_engine(cfg, panel, splits, Steps())
    scale = rw_scale(panel, splits[validation_folds].rows(panel).train)
    return CandidateRun(
        run.predictions,
        scale,
        panel_warnings(panel) + run.warnings,
        time.perf_counter() - started,
        [f.history.get("epochs_run") for f in run.folds],
    )


def _mae(frame: pd.DataFrame, column: str) -> float | None:
    known = frame[np.isfinite(frame["y_true"])]
    if known.empty:
        return None
    return float(np.mean(np.abs(known[column].to_numpy(float) - known["y_true"].to_numpy(float))))


@dataclass
class SweepResult:
    """A scored sweep: candidates, the winner, their numbers, and the sweep's verdicts.

    ``verdicts`` is ``stackcast.reports.sweep.selection_verdicts`` (``verdicts``, ``verdict``,
    ``verdict_note``); ``winner_metrics`` is the winner's test ``evaluate`` output with those
    verdicts and the family's Holm p-values in place of its own.
    """

    config: RunConfig
    grid: dict[str, Any]
    candidates: list[Candidate]
    rows: list[dict[str, Any]]
    winner: Candidate
    winner_metrics: dict[str, Any]
    winner_forecasts: pd.DataFrame
    periods: dict[str, Any]
    failed: dict[str, str]
    verdicts: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def score_candidates(
    cfg: RunConfig,
    candidates: list[Candidate],
    runs: Mapping[str, CandidateRun],
    cutoff: np.datetime64,
    test_start: np.datetime64,
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Per candidate: validation and test MAE vs the random walk, DM and Holm p-values.

    Validation rows are the origins up to ``cutoff``; test rows those from ``test_start`` on.

    Returns:
        ``(rows in grid order, test metrics by candidate key)``; a candidate missing from
        ``runs`` gets a row with its status only.
    """
    from stackcast.reports.metrics import evaluate
    from stackcast.reports.sweep import adjust_candidates

    tests: dict[str, dict[str, Any]] = {}
    rows = []
    for c in candidates:
        key = str(c.index)
        row: dict[str, Any] = {"candidate": c.index, "label": c.label, "values": c.values}
        if key not in runs:
            rows.append(row | {"status": "failed"})
            continue
        pred = runs[key].predictions
        val = pred[pred["origin"] <= pd.Timestamp(cutoff)]
        test = pred[pred["origin"] >= pd.Timestamp(test_start)]
        test.attrs["baselines"] = pred.attrs.get("baselines", [])
        metrics = evaluate(test, runs[key].scale, cfg.report)
        tests[key] = metrics
        pooled = {e["horizon"]: e for e in metrics["dm"]["pooled"]}
        row |= {
            "status": "ok",
            "validation_mae": _mae(val, "y_pred"),
            "validation_rw_mae": _mae(val, "random_walk"),
            "validation_n": int(np.isfinite(val["y_true"]).sum()),
            "test_mae": _mae(test, "y_pred"),
            "test_rw_mae": _mae(test, "random_walk"),
            "test_n": int(np.isfinite(test["y_true"]).sum()),
            "dm": [
                {"horizon": h, "p": e["p_one_sided"], "mean_diff": e["mean_diff"]}
                for h, e in sorted(pooled.items())
            ],
            "seconds": round(runs[key].seconds, 2),
            "epochs": runs[key].epochs,
        }
        for name in ("validation", "test"):
            mae, rw = row[f"{name}_mae"], row[f"{name}_rw_mae"]
            row[f"{name}_ratio"] = mae / rw if mae is not None and rw else None
        rows.append(row)
    # One family: every candidate at every horizon against the random walk (Holm).
    adjust_candidates(rows, cfg.report.significance)
    return rows, tests


def choose(rows: list[dict[str, Any]]) -> int:
    """The winner: lowest validation MAE (ties: the earlier candidate). Test numbers unused."""
    ok = [r for r in rows if r["status"] == "ok" and r["validation_mae"] is not None]
    if not ok:
        raise SweepFailed("no candidate has a validation score")
    return min(ok, key=lambda r: (r["validation_mae"], r["candidate"]))["candidate"]


def sweep(
    cfg: RunConfig,
    grid: Mapping[str, Any],
    *,
    steps: Steps | None = None,
    refresh: bool = True,
    where: str = "grid",
) -> SweepResult:
    """Check the grid, backtest every candidate as a step, choose on validation, score test.

    Raises:
        ConfigError: a bad grid (before anything runs).
        SweepFailed: every candidate failed.
    """
    from stackcast.reports.sweep import selection_verdicts, with_selection

    steps = steps or Steps()
    candidates = expand(cfg, grid, where)
    frames, warnings, _ = obtain_prices(cfg, steps, refresh=refresh)
    panel = build(cfg, frames)
    calendar = panel.calendar()
    splits = sweep_splits(cfg, calendar)
    validation_folds = cfg.sweep.validation_folds
    cutoff = validation_cutoff(cfg, calendar, splits[validation_folds])
    steps.say(
        f"sweep: {len(candidates)} candidate(s), {validation_folds} validation + "
        f"{cfg.backtest.folds} test fold(s); validation origins up to {cutoff}"
    )
    configs = {str(c.index): c.config for c in candidates}
    runs, failed = steps.map(
        "sweep-candidate", candidate_task, list(configs), "candidate",
        configs=configs, frames=frames, splits=splits, validation_folds=validation_folds,
    )  # fmt: skip
    by_label = {str(c.index): c.label for c in candidates}
    for key in configs:
        status = "done" if key in runs else f"failed: {failed[key]}"
        steps.say(f"candidate {int(key) + 1}/{len(configs)} ({by_label[key]}): {status}")
    if not runs:
        raise SweepFailed(
            "every candidate failed: " + "; ".join(f"{by_label[k]}: {w}" for k, w in failed.items())
        )
    test_start = splits[validation_folds].test_start
    rows, tests = score_candidates(cfg, candidates, runs, cutoff, test_start)
    winner = candidates[choose(rows)]
    key = str(winner.index)
    verdicts = selection_verdicts(rows, winner.index, cfg.report.significance)
    row = next(r for r in rows if r["candidate"] == winner.index)
    pred = runs[key].predictions
    for k, run in runs.items():
        warnings += [f"{by_label[k]}: {w}" for w in run.warnings]
    warnings += [f"{by_label[k]}: failed: {w}" for k, w in failed.items()]
    periods = {
        "validation_folds": validation_folds,
        "test_folds": cfg.backtest.folds,
        "validation_start": str(splits[0].test_start),
        "validation_end": str(cutoff),
        "embargo": cfg.embargo,
        "test_start": str(splits[validation_folds].test_start),
        "test_end": str(splits[-1].test_end),
        "folds": [s.audit() for s in splits],
    }
    return SweepResult(
        cfg, dict(grid), candidates, rows, winner, with_selection(tests[key], row, verdicts),
        pred[pred["origin"] >= pd.Timestamp(test_start)].reset_index(drop=True), periods,
        {by_label[k]: w for k, w in failed.items()}, verdicts, warnings,
    )  # fmt: skip


def publish_sweep(result: SweepResult, out: Path | None = None) -> Path:
    """Publish the sweep run: report, metrics, grid, winner config and test forecasts."""
    from stackcast.reports.run_index import index_entry
    from stackcast.reports.sweep import SweepData, render_sweep

    cfg = result.config
    run_id, created, meta = new_run_id("sweep"), now_iso(), run_metadata()
    title = f"Sweep: {cfg.report.title}"
    winner_toml = to_toml(result.winner.config)
    metrics = {
        "kind": "sweep",
        "grid": result.grid,
        "periods": result.periods,
        "selection": "lowest validation MAE; test folds unused for the choice",
        "significance": cfg.report.significance,
        "correction": "holm",
        "winner": {"candidate": result.winner.index, "label": result.winner.label},
        **result.verdicts,
        "candidates": result.rows,
        "failed": result.failed,
        "winner_test": result.winner_metrics,
        "run": {"run_id": run_id, "created": created, **meta, "warnings": result.warnings},
    }
    html = render_sweep(
        SweepData(
            title=title,
            run_id=run_id,
            created=created,
            grid=result.grid,
            rows=result.rows,
            winner=result.winner.index,
            periods=result.periods,
            failed=result.failed,
            significance=cfg.report.significance,
            winner_config=winner_toml,
            warnings=result.warnings,
            verdicts=result.verdicts,
        )
    )
    files = {
        "report.html": html,
        "metrics.json": metrics,
        "winner.toml": winner_toml,
        "grid.json": result.grid,
        "forecasts.parquet": result.winner_forecasts,
    }
    entry = index_entry(
        run_id, created, "sweep", result.winner_metrics,
        title=f"{title}: chose {result.winner.label}",
    )  # fmt: skip
    return publish_run(cfg.home(), run_id, files, entry, out=out)


def run_sweep(
    cfg: RunConfig,
    grid: Mapping[str, Any],
    *,
    steps: Steps | None = None,
    refresh: bool = True,
    out: Path | None = None,
    where: str = "grid",
) -> tuple[SweepResult, Path]:
    """Sweep and publish the run; ``(result, run directory)``. What the CLI and the flow call."""
    steps = steps or Steps()
    result = sweep(cfg, grid, steps=steps, refresh=refresh, where=where)
    return result, steps.call("publish-sweep", publish_sweep, result, out)
