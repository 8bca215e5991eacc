"""The forecast ledger: every published daily forecast, in ``STACKCAST_HOME/ledger.parquet``.

One row per ``(ticker, origin, horizon, model_name)``: publishing the same origin again (a
rerun of the daily flow) replaces the earlier row instead of adding a duplicate. Appends take
a file lock and rewrite the file atomically (temporary file in the same directory, fsync,
``os.replace``), so a crash leaves the previous ledger intact and concurrent writers never
lose each other's rows. Scoring against realised prices is pure maths in
``stackcast.reports.scoreboard``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from stackcast.pipeline.atomic import atomic_write_parquet, file_lock
from stackcast.pipeline.errors import DataError
from stackcast.reports import scoreboard

LEDGER_FILE = "ledger.parquet"
KEY = ("ticker", "origin", "horizon", "model_name")
COLUMNS = (
    "ticker",
    "origin",
    "horizon",
    "target_date",
    "y_pred",
    "lo",
    "hi",
    "price_pred",
    "origin_close",
    "model_name",
    "model_version",
    "run_id",
    "published_at",
)
REQUIRED = (
    "ticker",
    "origin",
    "horizon",
    "target_date",
    "y_pred",
    "origin_close",
    "model_name",
    "model_version",
    "run_id",
)
_FLOATS = ("y_pred", "lo", "hi", "price_pred", "origin_close")
_STRINGS = ("ticker", "model_name", "model_version", "run_id")


@dataclass(frozen=True)
class LedgerUpdate:
    """What an append did: rows new to the ledger, rows replaced, rows in the ledger now."""

    added: int
    replaced: int
    total: int


def ledger_path(home: Path) -> Path:
    """Where the ledger lives under STACKCAST_HOME."""
    return Path(home) / LEDGER_FILE


def empty() -> pd.DataFrame:
    """An empty ledger with the ledger's columns and dtypes."""
    return _normalise(pd.DataFrame({c: [] for c in COLUMNS}))


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Coerce a frame to the ledger schema (dates at midnight, UTC publish time)."""
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    for col in _STRINGS:
        out[col] = df[col].astype(str).to_numpy()
    out["ticker"] = out["ticker"].str.upper()
    for col in ("origin", "target_date"):
        out[col] = pd.to_datetime(df[col].to_numpy()).normalize().astype("datetime64[ns]")
    out["horizon"] = df["horizon"].to_numpy(dtype="int64")
    for col in _FLOATS:
        out[col] = df[col].to_numpy(dtype="float64")
    published = pd.to_datetime(df["published_at"].to_numpy(), utc=True)
    out["published_at"] = published.astype("datetime64[ns, UTC]")
    return out[list(COLUMNS)]


def _prepare(rows: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in REQUIRED if c not in rows.columns]
    if missing:
        raise DataError(f"ledger rows lack column(s): {', '.join(missing)}")
    nulls = [c for c in (*_STRINGS, "origin", "target_date", "horizon") if rows[c].isna().any()]
    if nulls:
        raise DataError(f"ledger rows have missing values in: {', '.join(nulls)}")
    df = rows.copy()
    for col in ("lo", "hi"):
        if col not in df:
            df[col] = np.nan
    if "price_pred" not in df:
        df["price_pred"] = df["origin_close"].to_numpy(dtype="float64") * np.exp(
            df["y_pred"].to_numpy(dtype="float64")
        )
    if "published_at" not in df:
        df["published_at"] = pd.Timestamp(datetime.now(UTC))
    df = _normalise(df)
    if df["horizon"].lt(1).any():
        raise DataError("ledger rows need horizon >= 1")
    if not np.isfinite(df["y_pred"].to_numpy()).all():
        raise DataError("ledger rows have non-finite y_pred")
    if not np.isfinite(df["price_pred"].to_numpy()).all():
        raise DataError(
            "ledger rows have a non-finite price_pred (a forecast return too large to be a "
            "price): the model is broken; retrain it"
        )
    bad_close = df["origin_close"].to_numpy()
    if not (np.isfinite(bad_close) & (bad_close > 0)).all():
        raise DataError("ledger rows need a positive, finite origin_close")
    return df.drop_duplicates(list(KEY), keep="last")


def read(home: Path) -> pd.DataFrame:
    """Every published forecast (an empty ledger when none was published yet)."""
    path = ledger_path(home)
    if not path.is_file():
        return empty()
    try:
        return _normalise(pd.read_parquet(path))
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(f"{path}: cannot read the ledger: {exc}") from None


def append(home: Path, rows: pd.DataFrame, *, timeout: float = 60.0) -> LedgerUpdate:
    """Publish forecasts: add ``rows``, replacing earlier rows with the same key.

    The key is ``(ticker, origin, horizon, model_name)``; within ``rows`` the last duplicate
    wins. ``lo``/``hi`` default to NaN, ``price_pred`` to ``origin_close * exp(y_pred)`` and
    ``published_at`` to now (UTC).

    Raises:
        DataError: ``rows`` lack a required column or hold invalid values.
        LockTimeout: another writer held the ledger lock for more than ``timeout`` seconds.
    """
    home = Path(home)
    new = _prepare(rows)
    home.mkdir(parents=True, exist_ok=True)
    path = ledger_path(home)
    with file_lock(path, timeout):
        old = read(home)
        keys_old = pd.MultiIndex.from_frame(old[list(KEY)])
        keys_new = pd.MultiIndex.from_frame(new[list(KEY)])
        replaced_mask = keys_old.isin(keys_new)
        merged = pd.concat([old[~replaced_mask], new], ignore_index=True)
        merged = merged.sort_values(["origin", "ticker", "model_name", "horizon"], kind="stable")
        merged = merged.reset_index(drop=True)
        atomic_write_parquet(merged, path)
    replaced = int(replaced_mask.sum())
    return LedgerUpdate(added=len(new) - replaced, replaced=replaced, total=len(merged))


def score(ledger_df: pd.DataFrame, prices: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Fill realised ``y_true`` for forecasts whose target date has a close.

    Args:
        ledger_df: Rows from ``read``.
        prices: ``ticker -> DataFrame(date, close)`` (a price frame per ticker).

    Returns:
        ``ledger_df`` plus ``close_origin``, ``close_target``, ``y_true`` and ``status``; see
        ``stackcast.reports.scoreboard.realise``. Summaries: ``scoreboard.summary``/``cumulative``.
    """
    return scoreboard.realise(ledger_df, prices)
