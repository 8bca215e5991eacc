"""The backtest workflow: prices -> panel -> walk-forward engine -> metrics -> run directory.

``backtest`` computes (the Python API's ``stackcast.backtest``: with ``prices`` it reads and
writes nothing under STACKCAST_HOME); ``run_backtest`` also publishes the run. The CLI and
the Prefect flow both call ``run_backtest``.

Fold-parallel: with ``[train] warm_start = false`` the folds are independent, so where the
steps run keys at the same time (``Steps.parallel``: the Prefect flows' task runner, the CLI
on Dask) each fold is its own step (``backtest-fold-<k>``, ``fold_task``) with fresh
forecasters; fold k still trains with seed ``seed + k``, so the forecasts are bit-identical to
the sequential run on CPU. A warm-started backtest runs its folds in order.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from stackcast.features.panel import Panel
from stackcast.features.splits import Split, walk_forward
from stackcast.pipeline.config import RunConfig, to_toml
from stackcast.pipeline.errors import DataError, TrainingFailed
from stackcast.pipeline.results.runs import new_run_id, now_iso, publish_run, run_metadata
from stackcast.pipeline.workflows.common import (
    build,
    core_errors,
    forecast_prices,
    obtain_prices,
    pages_ahead,
    panel_warnings,
    split_covariates,
)
from stackcast.pipeline.workflows.steps import Steps

CONTRACT_COLUMNS = ["ticker", "origin", "horizon", "target_date", "y_pred", "y_true", "fold"]
INTERVAL_COLUMNS = ["lo", "hi"]


def make_splits(
    cfg: RunConfig, calendar: Any, folds: int | None = None, what: str = "for the backtest"
) -> list[Split]:
    """The walk-forward folds over ``calendar`` (origin dates); ``DataError`` when too short."""
    bt = cfg.backtest
    try:
        return walk_forward(
            calendar,
            folds=bt.folds if folds is None else folds,
            test_size=bt.test_size,
            embargo=cfg.embargo,
            horizons=cfg.features.horizons,
            mode=bt.mode,
            train_size=bt.train_size if bt.mode == "rolling" else None,
            min_train=min(bt.train_size, 100),
        )
    except ValueError as exc:
        raise DataError(f"not enough history {what}: {exc}") from None


def shrink_warnings(cfg: RunConfig, splits: list[Split], calendar: Any, folds: int) -> list[str]:
    """What ``[backtest]`` asked for that the data could not give: folds, training windows.

    A short history runs fewer folds (``folds`` asked for) or, in rolling mode, trains on
    fewer origin dates than ``train_size``; the run goes on and says so.
    """
    bt, cal = cfg.backtest, np.asarray(calendar).astype("datetime64[D]")
    span = f"{len(cal)} origin dates, {cal[0]}..{cal[-1]}" if len(cal) else "no origin dates"
    out = []
    if len(splits) < folds:
        out.append(
            f"the data allows {len(splits)} of the {folds} folds asked for ([backtest] folds; "
            f"{span}, test_size {bt.test_size})"
        )
    short = [s for s in splits if bt.mode == "rolling" and s.n_train < bt.train_size]
    if short:
        sizes = ", ".join(f"fold {s.fold + 1}: {s.n_train}" for s in short)
        out.append(
            f"training windows shorter than [backtest] train_size = {bt.train_size} origin "
            f"dates ({sizes}; {span})"
        )
    return out


def forecasters(cfg: RunConfig) -> tuple[Any, list[Any]]:
    """The model and the forecasters scored beside it (``[backtest] forecasters``), built.

    Each is built from the config's sections; the random walk is always among the others.
    """
    from stackcast.models.base import make_forecaster

    parts = {"features": cfg.features, "model": cfg.model, "train": cfg.train}
    model, others = cfg.backtest.lineup()
    return make_forecaster(model, **parts), [make_forecaster(b, **parts) for b in others]


def run_engine(cfg: RunConfig, panel: Panel, splits: list[Split], steps: Steps) -> Any:
    """Fit and forecast every fold with the model and the baselines (``models.engine``)."""
    from stackcast.models import engine

    model, baselines = forecasters(cfg)
    ahead = pages_ahead(len(splits))  # the report's set-up while later folds train
    with core_errors():
        return engine.backtest(panel, splits, model, baselines, steps.say, after_fold=ahead)


class FoldsFailed(TrainingFailed):
    """Folds of a fold-parallel backtest failed (diverged, too little data, worker lost)."""


def fold_task(cfg: RunConfig, panel: Panel, splits: list[Split], fold: str) -> Any:
    """Fit and forecast fold ``fold`` (its index) with fresh forecasters: one parallel step."""
    from stackcast.models import engine

    model, baselines = forecasters(cfg)
    with core_errors():
        return engine.run_fold(panel, splits[int(fold)], model, baselines)


def folds_in_parallel(cfg: RunConfig, splits: list[Split], steps: Steps) -> bool:
    """Whether this backtest fans its folds out: independent folds, steps that run at once."""
    return steps.parallel and not cfg.train.warm_start and len(splits) > 1


def run_folds(cfg: RunConfig, panel: Panel, splits: list[Split], steps: Steps) -> Any:
    """Every fold as its own step (``backtest-fold-<k>``), joined into one engine run.

    Raises:
        FoldsFailed: a fold failed (the run is not published without it).
    """
    from stackcast.models import engine

    steps.say(f"{len(splits)} fold(s) in parallel over {len(panel.tickers)} ticker(s)")
    keys = [str(s.fold) for s in splits]
    done, failed = steps.map(
        "backtest-fold", fold_task, keys, "fold", cfg=cfg, panel=panel, splits=splits
    )
    if failed:
        raise FoldsFailed(
            f"{len(failed)} of {len(keys)} fold(s) failed: "
            + "; ".join(f"fold {int(k) + 1}: {why}" for k, why in failed.items())
        )
    for k in keys:
        steps.say(engine.fold_done(done[k], len(keys)))
    model, baselines = forecasters(cfg)  # each fold's fit stayed in its step
    return engine.assemble(panel, [done[k] for k in keys], [b.name for b in baselines], model)


def score(
    cfg: RunConfig,
    run: Any,
    frames: Mapping[str, pd.DataFrame] | None,
    *,
    prices: pd.DataFrame | None,
) -> tuple[dict[str, Any], Any]:
    """``(metrics, trading)`` of an engine run: model vs baselines, DM tests, trading, folds.

    The trading simulation fills at the next bar's open when ``prices`` (``forecast_prices``)
    carry opens. Only the tickers the run forecasts are scored (a covariate that is not one
    of them is an input).
    """
    from stackcast.reports.metrics import evaluate
    from stackcast.reports.trading import simulate

    if frames:
        frames = split_covariates(cfg, frames)[0]

    metrics = evaluate(
        run.predictions,
        run.scale,
        cfg.report,
        nominal_coverage=cfg.train.interval if cfg.train.mc_samples else None,
        tickers={t: last_date(f) for t, f in (frames or {}).items()},
    )
    trading = simulate(run.predictions, cfg.report, prices)
    metrics["trading"] = trading.to_json()
    metrics["folds"] = [
        {
            **fold_audit(f),
            "seconds": round(f.seconds, 2),
            "epochs": f.history.get("epochs_run"),
            "warm_start": f.history.get("warm_start"),
        }
        for f in run.folds
    ]
    return metrics, trading


def last_date(frame: pd.DataFrame) -> Any:
    """A price frame's last date (None without one): its NumPy maximum, as pandas' ``max``."""
    dates = frame["date"].to_numpy()
    if dates.dtype.kind == "M":
        dates = dates[~np.isnat(dates)]
        return dates.max() if len(dates) else None
    return frame["date"].max() if len(frame) else None


def fold_audit(fold: Any) -> dict[str, Any]:
    """A fold's leakage-audit row: its split's ranges, with the scaler range the model used.

    The model fits its scaler on the training rows before its held-out blocks, so its
    history's ``scaler_fit_start``/``scaler_fit_end`` replace the split's when recorded.
    """
    used = {k: fold.history.get(k) for k in ("scaler_fit_start", "scaler_fit_end")}
    return {**fold.split.audit(), **{k: v for k, v in used.items() if v}}


@dataclass
class BacktestResult:
    """A computed backtest: forecasts and metrics, and ``save`` to publish it as a run.

    Attributes:
        config: The run's configuration.
        run: The engine's output (folds, histories, the fitted model).
        panel: The feature panel it ran on.
        frames: The price frames by ticker.
        metrics: The ``metrics.json`` content (``model``, ``baselines``, verdicts, trading...).
        warnings: Data and training warnings.
        kind: ``backtest`` or ``train`` (a version's validation block).
        ingest_failed: Tickers whose ingest failed (their stored bars were used).
        prices: The forecast tickers' long price frame (``forecast_prices``, computed from
            ``frames`` when not given): the trading fills' and the pages' prices.
    """

    config: RunConfig
    run: Any
    panel: Panel
    frames: dict[str, pd.DataFrame]
    metrics: dict[str, Any]
    trading: Any
    warnings: list[str] = field(default_factory=list)
    kind: str = "backtest"
    ingest_failed: dict[str, str] = field(default_factory=dict)
    prices: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        if self.prices is None and self.frames:
            self.prices = forecast_prices(self.config, self.frames)

    @classmethod
    def scored(
        cls, cfg: RunConfig, run: Any, panel: Panel, frames: dict[str, pd.DataFrame],
        warnings: list[str], **more: Any,
    ) -> BacktestResult:  # fmt: skip
        """The engine run ``run`` scored (``score``) and held with what it ran on.

        The forecast tickers' price frame is made once, for the trading fills and the pages.
        ``more``: the other fields (``kind``, ``ingest_failed``).
        """
        prices = forecast_prices(cfg, frames)
        metrics, trading = score(cfg, run, frames, prices=prices)
        return cls(cfg, run, panel, frames, metrics, trading, warnings, prices=prices, **more)

    @property
    def forecasts(self) -> pd.DataFrame:
        """The forecasts with the contract's columns (log returns; ``y_true`` NaN if unknown)."""
        return self.run.predictions[CONTRACT_COLUMNS + INTERVAL_COLUMNS].reset_index(drop=True)

    def render(self, run_id: str, created: str, meta: dict[str, Any]) -> dict[str, str]:
        """The self-contained pages: ``report.html`` and ``tickers/<name>.html`` by path."""
        from stackcast.reports.html import ReportData, render_pages

        cfg = self.config
        data_ranges = [
            {"ticker": t, "start": v["first"], "end": v["last"], "bars": v["rows"],
             "origins": v["origins"]}
            for t, v in self.panel.summary().items()
        ]  # fmt: skip
        return render_pages(
            ReportData(
                title=cfg.report.title,
                run_id=run_id,
                created=created,
                kind=self.kind,
                headline=self.metrics,
                trading=self.trading,
                predictions=self.run.predictions,
                prices=self.prices,
                audit=[fold_audit(f) for f in self.run.folds],
                histories=[f.history for f in self.run.folds],
                config_text=to_toml(cfg),
                data_ranges=data_ranges,
                versions=meta["versions"],
                git_commit=meta["git_commit"],
                device=meta["device"],
                warnings=self.warnings,
                config=cfg.report,
                explode_threshold=cfg.train.explode_threshold,
                vanish_threshold=cfg.train.vanish_threshold,
            )
        )

    def save(
        self,
        directory: str | Path | None = None,
        *,
        extra: Mapping[str, Any] | None = None,
        title: str | None = None,
    ) -> Path:
        """Publish the run: forecasts, metrics, history, config and report files.

        The files are ``forecasts.parquet``, ``metrics.json``, ``history.json``,
        ``config.toml``, ``report.html`` and one ``tickers/<name>.html`` per ticker, in
        ``directory`` (default: a new STACKCAST_HOME/runs/<id>).

        Args:
            directory: Where to publish (replaced only when complete).
            extra: More ``metrics.json`` entries (a retrain's ``decision``).
            title: The run's title in the index (default: the report title).
        """
        from stackcast.reports.run_index import index_entry

        cfg = self.config
        run_id, created, meta = new_run_id(self.kind), now_iso(), run_metadata()
        metrics = {
            **self.metrics,
            **(extra or {}),
            "run": {"run_id": run_id, "created": created, **meta, "warnings": self.warnings},
        }

        def files() -> Iterator[tuple[str, Any]]:
            # The data files are written while the pages render.
            yield "forecasts.parquet", self.forecasts
            yield "metrics.json", metrics
            yield "history.json", [{"fold": f.split.fold + 1, **f.history} for f in self.run.folds]
            yield "config.toml", to_toml(cfg)
            yield from self.render(run_id, created, meta).items()

        entry = index_entry(
            run_id,
            created,
            self.kind,
            metrics,
            tickers=list(self.panel.tickers),
            title=title or cfg.report.title,
        )
        out = None if directory is None else Path(directory)
        return publish_run(cfg.home(), run_id, files(), entry, out=out)


def backtest(
    cfg: RunConfig,
    prices: pd.DataFrame | None = None,
    *,
    steps: Steps | None = None,
    refresh: bool = True,
) -> BacktestResult:
    """Walk-forward backtest of the model against the baselines, not yet published.

    Args:
        cfg: The configuration.
        prices: A long price frame; None: ingest ``[data]`` (unless ``refresh`` is False) and
            read the store.
        steps: How steps run (default: in this process, silently).
        refresh: Ingest new bars first (ignored with ``prices``).
    """
    steps = steps or Steps()
    frames, warnings, ingest_failed = obtain_prices(cfg, steps, prices, refresh=refresh)
    panel = build(cfg, frames)
    warnings += panel_warnings(panel)
    for w in warnings:
        steps.say(f"warning: {w}")
    calendar = panel.calendar()
    splits = make_splits(cfg, calendar)
    steps.say(f"{cfg.backtest.mode} training window, {len(splits)} fold(s)")
    shrunk = shrink_warnings(cfg, splits, calendar, cfg.backtest.folds)
    for w in shrunk:
        steps.say(f"warning: {w}")
    warnings += shrunk
    if folds_in_parallel(cfg, splits, steps):
        run = run_folds(cfg, panel, splits, steps)
    else:
        run = steps.call("backtest", run_engine, cfg, panel, splits, steps)
    warnings += run.warnings
    return BacktestResult.scored(cfg, run, panel, frames, warnings, ingest_failed=ingest_failed)


def run_backtest(
    cfg: RunConfig,
    *,
    out: Path | None = None,
    steps: Steps | None = None,
    refresh: bool = True,
) -> tuple[BacktestResult, Path]:
    """Backtest and publish the run (``out``, else a new STACKCAST_HOME/runs/<id>)."""
    steps = steps or Steps()
    result = backtest(cfg, steps=steps, refresh=refresh)
    run_dir = steps.call("publish-run", result.save, out)
    return result, run_dir
