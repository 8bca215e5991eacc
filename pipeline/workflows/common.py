"""Pieces every workflow shares.

Getting prices, building the panel, forecasting with a saved version, and turning the core's
errors into the CLI's.
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from stackcast.features.panel import Panel, build_panel
from stackcast.pipeline.config import RunConfig
from stackcast.pipeline.data.prices import (
    frames_from_table,
    ingest_ticker,
    stored_frame,
    stored_frames,
)
from stackcast.pipeline.errors import DataError, TrainingFailed, UserError
from stackcast.pipeline.workflows.steps import Steps


def bare_message(ticker: str, message: str) -> str:
    """``message`` without a leading ``"<ticker>: "``."""
    return message.removeprefix(f"{ticker}: ")


def ingest_warnings(ingested: Mapping[str, Any], failed: Mapping[str, str]) -> list[str]:
    """Validation warnings of the ingested tickers and one line per failed ingest."""
    out = [f"{t}: {w}" for t, r in ingested.items() for w in r["warnings"]]
    out += [
        f"{t}: ingest failed ({bare_message(t, why)}); using the stored prices"
        for t, why in failed.items()
    ]
    return out


def ingest_all(
    steps: Steps, cfg: RunConfig, tickers: list[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Ingest every ticker as its own step; ``(summaries, failures)`` by ticker."""
    ingested, failed = steps.map("ingest-ticker", ingest_ticker, tickers, "ticker", cfg=cfg)
    for t in tickers:
        if t in ingested:
            steps.say(f"ingest {t}: +{ingested[t]['rows_added']} rows")
        else:
            steps.say(f"ingest {t}: failed: {bare_message(t, failed[t])}")
    return ingested, failed


def obtain_prices(
    cfg: RunConfig,
    steps: Steps,
    prices: pd.DataFrame | None = None,
    *,
    refresh: bool = True,
) -> tuple[dict[str, pd.DataFrame], list[str], dict[str, str]]:
    """The price frames of a run: the caller's ``prices``, else ingested and stored ones.

    Returns:
        ``(frames by ticker, warnings, ingest failures by ticker)``.
    """
    if prices is not None:
        return frames_from_table(cfg, prices), [], {}
    ingested: dict[str, Any] = {}
    failed: dict[str, str] = {}
    if refresh:
        names = [*cfg.data.tickers, *cfg.features.covariates]
        ingested, failed = ingest_all(steps, cfg, list(dict.fromkeys(names)))
    try:
        frames, load_warnings = steps.call("load-prices", stored_frames, cfg)
    except DataError:
        if failed and not ingested:  # say why nothing is stored, not "ingest first"
            detail = "; ".join(f"{t}: {bare_message(t, w)}" for t, w in failed.items())
            raise DataError(f"no ticker could be ingested: {detail}") from None
        raise
    warnings = ingest_warnings(ingested, failed)
    warnings += [w for w in load_warnings if "no stored prices" in w]
    return frames, warnings, failed


def split_covariates(
    cfg: RunConfig, frames: Mapping[str, pd.DataFrame]
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """``(frames to forecast, covariate frames)``; a covariate is forecast only if in tickers.

    A covariate is forecast only if it is one of ``[data] tickers``.

    Raises:
        DataError: A configured covariate has no prices among ``frames``.
    """
    names = cfg.features.covariates
    missing = [c for c in names if c not in frames]
    if missing:
        raise DataError(
            f"no prices for covariate(s) {', '.join(missing)}: ingest them "
            f"(`stackcast ingest {' '.join(missing)}`) or include them in the prices"
        )
    only = set(names) - set(cfg.data.tickers)
    return {t: f for t, f in frames.items() if t not in only}, {c: frames[c] for c in names}


def stored_covariates(cfg: RunConfig, as_of: _dt.date | None = None) -> dict[str, pd.DataFrame]:
    """Each configured covariate's stored prices (cut at ``as_of``).

    Raises:
        DataError: Naming a covariate with no stored prices.
    """
    out: dict[str, pd.DataFrame] = {}
    for c in cfg.features.covariates:
        try:
            out[c] = stored_frame(cfg, c, as_of)
        except DataError as exc:
            raise DataError(f"covariate {exc}; `stackcast ingest {c}` fetches it") from None
    return out


def stale_covariates(covariates: Mapping[str, pd.DataFrame], origin: np.datetime64) -> list[str]:
    """``"SYMBOL (last bar DATE)"`` for each covariate whose last bar is older than ``origin``."""
    out = []
    for c, frame in covariates.items():
        last = pd.Timestamp(frame["date"].max()).date()
        if np.datetime64(last, "D") < np.datetime64(origin, "D"):
            out.append(f"{c} (last bar {last})")
    return out


def build(
    cfg: RunConfig,
    frames: Mapping[str, pd.DataFrame],
    covariates: Mapping[str, pd.DataFrame] | None = None,
) -> Panel:
    """Build the feature panel and refuse one with nothing usable in it.

    ``covariates`` default to the configured covariates' frames among ``frames``
    (``split_covariates``); given, every one of ``frames`` is forecast.
    """
    if covariates is None:
        frames, covariates = split_covariates(cfg, frames)
    try:
        panel = build_panel(dict(frames), cfg.features, cfg.data.calendars, dict(covariates))
    except ValueError as exc:
        raise DataError(f"cannot build model inputs: {exc}") from None
    if not panel.tickers:
        reasons = "; ".join(f"{t}: {r}" for t, r in panel.skipped.items())
        raise DataError(f"no ticker has enough history ({reasons})")
    return panel


def panel_warnings(panel: Panel) -> list[str]:
    """Inputs left out for lack of columns, and tickers skipped for lack of history."""
    out = []
    if panel.dropped_features:
        out.append(
            "inputs left out because the data lacks their columns: "
            + ", ".join(panel.dropped_features)
        )
    out += [f"{t}: skipped: {why}" for t, why in panel.skipped.items()]
    return out


@contextmanager
def core_errors() -> Iterator[None]:
    """Turn the forecasting core's errors into the CLI's (exit 2, one ``error:`` line)."""
    from stackcast.models.base import FoldError
    from stackcast.models.training import TrainingError

    try:
        yield
    except TrainingError as exc:
        raise TrainingFailed(str(exc)) from None
    except FoldError as exc:
        raise DataError(str(exc)) from None


def load_version(directory: Path, cfg: RunConfig, panel: Panel) -> tuple[Any, dict[str, Any]]:
    """A saved version as an ``RNNForecaster`` for this panel's inputs; ``(forecaster, meta)``."""
    from stackcast.models.persistence import ModelMismatchError
    from stackcast.models.rnn import RNNForecaster

    try:
        return RNNForecaster.load(
            directory, cfg.features, cfg.train, expected_features=list(panel.feature_names)
        )
    except ModelMismatchError as exc:
        raise UserError(f"model {directory.name} does not fit these inputs: {exc}") from None
    except FileNotFoundError as exc:
        raise UserError(f"model {directory.name} is incomplete ({exc}); train again") from None


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


def check_features(meta: Mapping[str, Any], panel: Panel, name: str) -> None:
    """Refuse a panel whose inputs are not those the model was saved with (``meta["features"]``).

    Raises:
        UserError: The inputs (own inputs, covariates) differ, saying how.
    """
    saved = meta.get("features")
    if saved is not None and list(saved) != list(panel.feature_names):
        from stackcast.models.persistence import feature_diff

        raise UserError(
            f"model {meta.get('version', name)} does not fit these inputs: features differ: "
            + feature_diff(list(panel.feature_names), list(saved))
        )


def row_independent(forecaster: Any) -> bool:
    """Whether a forecaster's output for a window is independent of the windows beside it.

    True without dropout sampling (``mc_samples = 0``, or a calibrated band around the
    deterministic point forecast): then many tickers' origins can share one predict call and
    get exactly what each would get alone.
    """
    train = forecaster.train_config
    return train.mc_samples == 0 or (
        forecaster.calibration is not None and train.point_forecast == "deterministic"
    )


def forecast_origins(
    forecaster: Any,
    meta: Mapping[str, Any],
    panel: Panel,
    rows: np.ndarray,
    name: str,
    prediction: Any = None,
) -> pd.DataFrame:
    """Forecasts of a fitted model at ``rows``: one row per origin and horizon, with prices.

    ``prediction``: the forecaster's prediction at ``rows`` when already made (default: made
    here).

    Raises:
        UserError: The panel's inputs (own inputs, covariates) are not those the model was
            saved with (``meta["features"]``).
    """
    from stackcast.models.engine import forecast_frame, model_columns

    check_features(meta, panel, name)
    if prediction is None:
        prediction = forecaster.predict(panel, rows)
    columns = model_columns(prediction)
    frame = forecast_frame(panel, rows, -1, columns).drop(columns=["y_true", "fold"])
    frame["price_pred"] = frame["origin_close"] * np.exp(frame["y_pred"])
    frame["model_name"] = meta.get("name", name)
    frame["model_version"] = meta.get("version", "")
    return frame


def prices_frame(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One long ``ticker, date, close, open`` frame of every ticker's prices (plots, fills).

    ``open`` is NaN for a source without opens. Built column by column (one NumPy
    concatenation where every ticker's column has the same NumPy dtype), not one frame per
    ticker: the same frame, a fraction of the cost at hundreds of tickers.
    """

    def column(name: str) -> Any:
        parts = [
            f[name] if name in f else pd.Series(np.nan, index=range(len(f)))
            for f in frames.values()
        ]
        dtypes = {p.dtype for p in parts}
        if len(dtypes) == 1 and isinstance(next(iter(dtypes)), np.dtype):
            return np.concatenate([p.to_numpy() for p in parts])
        return pd.concat(parts, ignore_index=True)

    owner = np.repeat(np.arange(len(frames)), [len(f) for f in frames.values()])
    return pd.DataFrame(
        {
            "ticker": pd.array(list(frames), dtype="str").take(owner),
            **{name: column(name) for name in ("date", "close", "open")},
        }
    )


def forecast_prices(cfg: RunConfig, frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame | None:
    """The long price frame (``prices_frame``) of the tickers the run forecasts; None without.

    Computed once per run: the trading simulation fills from it and the pages draw it.
    """
    return prices_frame(split_covariates(cfg, frames)[0]) if frames else None


def prepare_pages() -> None:
    """Load what publishing a run needs: the report modules, compiled templates, Parquet.

    Run in a thread while a later fold trains (``pages_ahead``), so the first render does not
    pay for it. A failure here is left for the render itself to raise and report.
    """
    try:
        import pyarrow.parquet  # noqa: F401  (the run's forecasts.parquet)
        from stackcast.reports import html, run_index  # noqa: F401

        html.prepare()
    except Exception:  # raised again, and reported, by the render
        return


def pages_ahead(folds: int) -> Callable[[Any], None] | None:
    """An ``after_fold`` for the engine that starts ``prepare_pages`` when the first fold is done.

    The recurrent kernels of the next folds leave a core mostly idle; the first fold's trace
    is Python work the thread would slow down. None for a single fold (nothing to overlap).
    """
    if folds < 2:
        return None
    thread = threading.Thread(target=prepare_pages, name="prepare-pages", daemon=True)

    def after_fold(_done: Any) -> None:
        if thread.ident is None:  # not started yet
            thread.start()

    return after_fold
