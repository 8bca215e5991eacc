"""Running score of published forecasts against realised prices (pure, no I/O).

The ledger holds every forecast the daily flow published. Once a forecast's target date has
a closing price, its realised log return ``y_true = log(close[target] / close[origin])`` is
known and the forecast can be scored, next to the random walk (which forecasts no change,
``y_pred = 0``) on exactly the same rows.

A forecast is ``scored`` when both closes are known, ``pending`` while the target date is
after the ticker's last known bar, and ``missing`` when the target date has passed without a
bar (a holiday or a gap): the training targets treat such dates as unknown too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

SCORED, PENDING, MISSING = "scored", "pending", "missing"

UNITS = {
    "mae, rmse, rw_mae, rw_rmse, y_pred, y_true, lo, hi": "log return (fraction; x100 = percent "
    "of price)",
    "dir_acc, up_share, coverage, coverage_nominal": "fraction",
}

METRIC_COLUMNS = (
    "n",
    "mae",
    "rmse",
    "dir_acc",
    "rw_mae",
    "rw_rmse",
    "mae_ratio",
    "rmse_ratio",
    "up_share",
    "coverage",
    "coverage_n",
)


def _closes_by_date(frame: pd.DataFrame) -> pd.Series:
    dates = pd.to_datetime(frame["date"]).dt.normalize()
    closes = pd.Series(np.asarray(frame["close"], dtype="float64"), index=dates.to_numpy())
    return closes[~closes.index.duplicated(keep="last")].sort_index()


def realise(forecasts: pd.DataFrame, closes: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Attach realised outcomes to forecasts.

    Args:
        forecasts: Ledger rows with at least ``ticker, origin, target_date, y_pred`` and,
            optionally, ``origin_close`` (used when the prices lack the origin date).
        closes: ``ticker -> DataFrame(date, close)``; tickers absent here stay pending.

    Returns:
        A copy of ``forecasts`` with ``close_origin``, ``close_target``, ``y_true`` (NaN unless
        scored) and ``status`` (``scored``, ``pending`` or ``missing``).
    """
    out = forecasts.copy()
    n = len(out)
    close_origin = np.full(n, np.nan)
    close_target = np.full(n, np.nan)
    status = np.full(n, PENDING, dtype=object)
    origin = pd.to_datetime(out["origin"]).dt.normalize().to_numpy()
    target = pd.to_datetime(out["target_date"]).dt.normalize().to_numpy()
    fallback = (
        out["origin_close"].to_numpy(dtype="float64")
        if "origin_close" in out
        else np.full(n, np.nan)
    )
    tickers = out["ticker"].astype(str).to_numpy()
    for ticker in pd.unique(tickers):
        frame = closes.get(ticker)
        if frame is None or len(frame) == 0:
            continue
        series = _closes_by_date(frame)
        rows = np.flatnonzero(tickers == ticker)
        co = series.reindex(origin[rows]).to_numpy(dtype="float64")
        co = np.where(np.isnan(co), fallback[rows], co)
        ct = series.reindex(target[rows]).to_numpy(dtype="float64")
        close_origin[rows] = co
        close_target[rows] = ct
        last = series.index.max()
        passed = target[rows] <= last.to_datetime64()
        known = ~np.isnan(ct) & ~np.isnan(co)
        status[rows] = np.where(known, SCORED, np.where(passed, MISSING, PENDING))
    with np.errstate(divide="ignore", invalid="ignore"):
        y_true = np.log(close_target / close_origin)
    out["close_origin"] = close_origin
    out["close_target"] = close_target
    out["y_true"] = np.where(status == SCORED, y_true, np.nan)
    out["status"] = status.astype(str)
    return out


def _metrics(y_true: np.ndarray, y_pred: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> dict:
    n = len(y_true)
    if n == 0:
        return dict.fromkeys(METRIC_COLUMNS, np.nan) | {"n": 0, "coverage_n": 0}
    err = y_pred - y_true
    mae = float(np.mean(np.abs(err)))
    rmse = float(np.sqrt(np.mean(err**2)))
    rw_mae = float(np.mean(np.abs(y_true)))
    rw_rmse = float(np.sqrt(np.mean(y_true**2)))
    moved = y_true != 0
    dir_acc = (
        float(np.mean(np.sign(y_pred[moved]) == np.sign(y_true[moved]))) if moved.any() else np.nan
    )
    up_share = float(np.mean(y_true[moved] > 0)) if moved.any() else np.nan
    has_band = ~np.isnan(lo) & ~np.isnan(hi)
    coverage = (
        float(np.mean((y_true[has_band] >= lo[has_band]) & (y_true[has_band] <= hi[has_band])))
        if has_band.any()
        else np.nan
    )
    return {
        "n": n,
        "mae": mae,
        "rmse": rmse,
        "dir_acc": dir_acc,
        "rw_mae": rw_mae,
        "rw_rmse": rw_rmse,
        "mae_ratio": mae / rw_mae if rw_mae > 0 else np.nan,
        "rmse_ratio": rmse / rw_rmse if rw_rmse > 0 else np.nan,
        "up_share": up_share,
        "coverage": coverage,
        "coverage_n": int(has_band.sum()),
    }


def _scored_arrays(frame: pd.DataFrame) -> tuple[np.ndarray, ...]:
    n = len(frame)
    nan = np.full(n, np.nan)
    lo = frame["lo"].to_numpy(dtype="float64") if "lo" in frame else nan
    hi = frame["hi"].to_numpy(dtype="float64") if "hi" in frame else nan
    return (
        frame["y_true"].to_numpy(dtype="float64"),
        frame["y_pred"].to_numpy(dtype="float64"),
        lo,
        hi,
    )


def only_scored(realised: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``realise``'s output whose outcome is known."""
    return realised[realised["status"] == SCORED]


def summary(
    realised: pd.DataFrame,
    by: Sequence[str] = ("model_name", "horizon"),
    *,
    nominal: float | None = None,
) -> pd.DataFrame:
    """Score per group: model vs random walk on the same scored rows.

    Columns: the ``by`` keys, then ``n`` (scored forecasts), ``mae``, ``rmse``, ``dir_acc``
    (share of rows where the forecast's sign matches the realised move; rows with no move are
    left out), ``rw_mae``, ``rw_rmse`` (the random walk's errors, i.e. ``|y_true|``),
    ``mae_ratio``, ``rmse_ratio`` (model / random walk; below 1 beats it), ``up_share`` (share
    of realised up moves: the directional accuracy of "always up", since the random walk
    forecasts no direction), ``coverage`` (share of ``y_true`` inside ``[lo, hi]``, NaN
    without bands) and ``coverage_n`` (the scored rows with a band). Errors are log returns.
    Grouped by horizon, also ``dates`` (distinct origin dates), ``dm_p`` and ``dm_note``
    (why there is no p-value, else ``None``: computed once, every page prints it); with
    ``nominal`` (the interval's level), also ``coverage_nominal``. An empty ``by`` gives one
    overall row.
    """
    scored = only_scored(realised)
    keys = list(by)
    extra = ["coverage_nominal"] if nominal is not None else []
    if not keys:
        row = _metrics(*_scored_arrays(scored)) | {"coverage_nominal": nominal}
        return pd.DataFrame([row], columns=[*METRIC_COLUMNS, *extra]).astype(
            {"n": "int64", "coverage_n": "int64"}
        )
    rows = []
    for key, group in scored.groupby(keys, sort=True):
        values = key if isinstance(key, tuple) else (key,)
        row = dict(zip(keys, values, strict=True)) | _metrics(*_scored_arrays(group))
        if "horizon" in keys:
            h = int(row["horizon"])
            row["dates"] = int(pd.to_datetime(group["origin"]).dt.normalize().nunique())
            row["dm_p"] = dm_p_value(group, h)
            row["dm_note"] = dm_note(int(row["n"]), row["dates"], h)
            if nominal is not None:
                row["coverage_se"] = _coverage_se(group, h, nominal)
        row["coverage_nominal"] = nominal
        rows.append(row)
    extra = (["dates", "dm_p", "dm_note"] if "horizon" in keys else []) + extra
    if "horizon" in keys and nominal is not None:
        extra.append("coverage_se")
    out = pd.DataFrame(rows, columns=[*keys, *METRIC_COLUMNS, *extra])
    return out.astype({"n": "int64", "coverage_n": "int64"})


def _coverage_se(group: pd.DataFrame, horizon: int, nominal: float) -> float:
    """``coverage_se`` of one horizon's scored rows (NaN without a band)."""
    from stackcast.reports.coverage import coverage_se

    y, _, lo, hi = _scored_arrays(group)
    band = ~np.isnan(lo) & ~np.isnan(hi)
    if not band.any():
        return np.nan
    inside = (y[band] >= lo[band]) & (y[band] <= hi[band])
    origin = pd.to_datetime(group["origin"]).dt.normalize().to_numpy()[band]
    return coverage_se(inside, origin, horizon, nominal)


def coverage_warnings(score: pd.DataFrame) -> list[str]:
    """Low-coverage warnings for a ``summary`` by horizon that has ``coverage_nominal``.

    The same test as a backtest's (``stackcast.reports.metrics.coverage_warnings``): coverage
    more than two standard errors below nominal, rows clustered by origin date
    (``coverage_se``). Empty without the columns.
    """
    need = {"horizon", "coverage", "coverage_n", "coverage_nominal"}
    if score is None or score.empty or not need <= set(score.columns):
        return []
    from stackcast.reports.metrics import coverage_warnings as check

    records = [
        {
            "horizon": int(r["horizon"]),
            "coverage": None if pd.isna(r["coverage"]) else float(r["coverage"]),
            "coverage_n": int(r["coverage_n"]),
            "coverage_nominal": None
            if pd.isna(r["coverage_nominal"])
            else float(r["coverage_nominal"]),
            "coverage_se": None if pd.isna(r.get("coverage_se")) else float(r["coverage_se"]),
        }
        for _, r in score.iterrows()
    ]
    return [f"published forecasts: {w}" for w in check(records)]


MIN_DM = 30  # fewer scored forecasts than this give no Diebold-Mariano p-value
MIN_DATES = 30  # nor fewer origin dates than this ...
DATES_PER_STEP = 15  # ... or than 15 per step of the horizon (see ``min_dates``)


def min_dates(horizon: int) -> int:
    """Origin dates a horizon needs before the scoreboard gives a Diebold-Mariano p-value.

    With few dates the h-1-lag variance of overlapping errors is noisy and the test rejects a
    true null too often at long horizons (simulated, 5 correlated tickers, 3,000 repetitions:
    at h=5 9.2% of one-sided tests at 5% reject with 20 dates, 7.4% with 30, 6.2% with 80).
    ``max(30, 15 h)`` dates keeps every horizon's rate near the level
    (``tests/reports/test_null_significance.py`` checks it at the threshold).
    """
    return max(MIN_DATES, DATES_PER_STEP * int(horizon))


def dm_note(n: int, dates: int, horizon: int) -> str | None:
    """Why a scoreboard row has no Diebold-Mariano p-value, or ``None`` when it has one."""
    if n < MIN_DM:
        return f"too few scored forecasts for a test (n = {n} < {MIN_DM})"
    need = min_dates(horizon)
    if dates < need:
        return f"too few origin dates for a test ({dates} < {need})"
    return None


def dm_p_value(scored: pd.DataFrame, horizon: int) -> float:
    """One-sided Diebold-Mariano p-value that the forecasts beat the random walk.

    Squared-error loss differential averaged over the tickers of each origin date, then the
    test over dates (``stackcast.reports.significance.dm_by_date``, the backtest's test); NaN
    when ``dm_note`` gives a reason (too few forecasts or origin dates).
    """
    origin = pd.to_datetime(scored["origin"]).dt.normalize().to_numpy()
    if dm_note(len(scored), len(np.unique(origin)), horizon) is not None:
        return np.nan
    from stackcast.reports.significance import dm_by_date  # scipy: only when needed

    y_true = scored["y_true"].to_numpy(dtype="float64")
    d = (scored["y_pred"].to_numpy(dtype="float64") - y_true) ** 2 - y_true**2
    p = dm_by_date(d, origin, horizon)["p_one_sided"]
    return np.nan if p is None else float(p)


def cumulative(realised: pd.DataFrame, by: Sequence[str] = ("model_name",)) -> pd.DataFrame:
    """Running score over time, for a plot: one row per group and realisation date.

    Rows are ordered by ``target_date`` (the day a forecast's outcome became known); each row
    holds the cumulative ``n``, ``mae``, ``rmse``, ``dir_acc``, ``rw_mae`` and ``rw_rmse`` of
    every forecast of the group realised up to and including that date.
    """
    scored = only_scored(realised).copy()
    keys = list(by)
    columns = [*keys, "date", "n", "mae", "rmse", "dir_acc", "rw_mae", "rw_rmse"]
    if scored.empty:
        return pd.DataFrame(columns=columns)
    scored["date"] = pd.to_datetime(scored["target_date"]).dt.normalize()
    y_true = scored["y_true"].to_numpy(dtype="float64")
    err = scored["y_pred"].to_numpy(dtype="float64") - y_true
    moved = y_true != 0
    scored["_abs"] = np.abs(err)
    scored["_sq"] = err**2
    scored["_rw_abs"] = np.abs(y_true)
    scored["_rw_sq"] = y_true**2
    scored["_moved"] = moved.astype("int64")
    scored["_hit"] = (moved & (np.sign(scored["y_pred"].to_numpy()) == np.sign(y_true))).astype(
        "int64"
    )
    scored["_n"] = 1
    sums = ["_n", "_abs", "_sq", "_rw_abs", "_rw_sq", "_moved", "_hit"]
    daily = scored.groupby([*keys, "date"], sort=True)[sums].sum().reset_index()
    running = daily.groupby(keys, sort=False)[sums].cumsum() if keys else daily[sums].cumsum()
    out = daily[[*keys, "date"]].copy()
    n = running["_n"].to_numpy(dtype="float64")
    moved_n = running["_moved"].to_numpy(dtype="float64")
    out["n"] = running["_n"].astype("int64").to_numpy()
    out["mae"] = running["_abs"].to_numpy() / n
    out["rmse"] = np.sqrt(running["_sq"].to_numpy() / n)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["dir_acc"] = np.where(moved_n > 0, running["_hit"].to_numpy() / moved_n, np.nan)
    out["rw_mae"] = running["_rw_abs"].to_numpy() / n
    out["rw_rmse"] = np.sqrt(running["_rw_sq"].to_numpy() / n)
    return out[columns].reset_index(drop=True)
