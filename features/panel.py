"""The panel: every ticker's aligned inputs, targets and closes, stacked into flat arrays.

Rows are concatenated ticker blocks (tickers sorted by name). Block ``k`` holds rows
``offsets[k]:offsets[k+1]``, one per calendar bar of that ticker, in date order. The first
aligned bar of each ticker has no previous close and hence no return: it is *dropped*, so a
ticker's block starts at its second bar and every value of ``X`` is finite.

An *origin* is a row a forecast is made from: its window is the ``window`` rows ending at the
origin inside its own block (right-padded when the block has fewer rows before it), and its
targets are ``Y[row]``. ``origin_ok`` marks rows that may be origins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from stackcast.features.calendars import OBSERVED, TradingCalendar, as_days, trading_calendar
from stackcast.features.config import FeatureConfig, calendar_spec
from stackcast.features.covariates import covariate_matrix, covariate_set
from stackcast.features.indicators import column_names, own_inputs
from stackcast.features.returns import aligned_bars, available_inputs, target_matrix
from stackcast.features.windows import WindowBatches, window_lengths


@dataclass(eq=False)
class Panel:
    """Aligned features of many tickers, as flat arrays of ``N`` rows.

    Attributes:
        tickers: Ticker names in block order (skipped tickers excluded); ``ticker_id`` indexes it.
        feature_names: Names of the columns of ``X``: the requested inputs, less dropped ones,
            each expanded to its columns (``momentum_5``, ``day_of_week_sin``, ...), then each
            covariate's columns (``SPY:log_return``, ..., ``SPY:observed``).
        dropped_features: Requested inputs left out because some frame lacks their columns
            (the caller warns once).
        X: ``[N, F]`` float64 inputs (unscaled, all finite).
        Y: ``[N, H]`` float64 targets: log return from the row's close to the close ``h`` bars
            later; NaN when either bar is unobserved or past the end of the data.
        close: ``[N]`` closes (forward-filled over gaps).
        dates: ``[N]`` datetime64[D] calendar dates.
        ticker_id: ``[N]`` int64 index into ``tickers``.
        observed: ``[N]`` bool, False for a calendar bar the source did not have.
        offsets: ``[n_tickers + 1]`` int64 block boundaries.
        origin_ok: ``[N]`` bool: observed and at least ``min_history`` rows of history
            (origin row included) in its block.
        target_end: ``[N]`` datetime64[D]: the latest date any of the row's targets can reach
            (the date ``H`` rows later, clipped to the block's last row).
        skipped: Ticker -> reason it is not in the panel (too short, no bars).
        dropped_origins: Ticker -> observed rows that are not origins because they have fewer
            than ``min_history`` rows of history.
        window, horizons, mask_value, min_history: Copied from the ``FeatureConfig``.
        sessions: Ticker -> the trading calendar its rows are aligned to.
    """

    tickers: tuple[str, ...]
    feature_names: tuple[str, ...]
    dropped_features: tuple[str, ...]
    X: np.ndarray
    Y: np.ndarray
    close: np.ndarray
    dates: np.ndarray
    ticker_id: np.ndarray
    observed: np.ndarray
    offsets: np.ndarray
    origin_ok: np.ndarray
    target_end: np.ndarray
    skipped: dict[str, str] = field(default_factory=dict)
    dropped_origins: dict[str, int] = field(default_factory=dict)
    window: int = 60
    horizons: int = 5
    mask_value: float = -10.0
    min_history: int = 20
    sessions: dict[str, TradingCalendar] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        """Number of rows ``N``."""
        return len(self.dates)

    @property
    def starts(self) -> np.ndarray:
        """``[N]`` first row of each row's ticker block (``offsets[ticker_id]``)."""
        return self.offsets[self.ticker_id]

    @property
    def target_ok(self) -> np.ndarray:
        """``[N]`` bool: a usable origin whose H targets are all known (trainable)."""
        return self.origin_ok & np.isfinite(self.Y).all(axis=1)

    def calendar(self, origins_only: bool = True) -> np.ndarray:
        """Sorted unique dates (datetime64[D]) of the origin rows, or of all rows."""
        d = self.dates[self.origin_ok] if origins_only else self.dates
        return np.unique(d)

    def origins(
        self,
        start: np.datetime64 | None = None,
        end: np.datetime64 | None = None,
        *,
        require_targets: bool = False,
        before: np.datetime64 | None = None,
    ) -> np.ndarray:
        """Global row indices of origins dated within ``[start, end]`` (either may be None).

        Args:
            start: First origin date (inclusive).
            end: Last origin date (inclusive).
            require_targets: Keep only origins whose H targets are all known.
            before: Keep only origins whose targets end strictly before this date.
        """
        ok = self.target_ok.copy() if require_targets else self.origin_ok.copy()
        if start is not None:
            ok &= self.dates >= np.datetime64(start, "D")
        if end is not None:
            ok &= self.dates <= np.datetime64(end, "D")
        if before is not None:
            ok &= self.target_end < np.datetime64(before, "D")
        return np.flatnonzero(ok)

    def lengths(self, origins: np.ndarray) -> np.ndarray:
        """Real (unpadded) window length of each origin: ``min(window, rows of history)``."""
        origins = np.asarray(origins, dtype=np.int64)
        return window_lengths(origins, self.starts[origins], self.window)

    def batches(
        self,
        origins: np.ndarray,
        batch_size: int,
        *,
        X: np.ndarray | None = None,
        targets: np.ndarray | None = None,
        shuffle: bool = False,
        seed: int = 0,
    ) -> WindowBatches:
        """``WindowBatches`` over these origins (``X`` defaults to the unscaled ``self.X``).

        ``targets`` is per origin (``[len(origins), H]``), e.g. ``scaled_Y[origins]``.
        """
        origins = np.asarray(origins, dtype=np.int64)
        return WindowBatches(
            self.X if X is None else X,
            origins,
            self.starts[origins],
            self.window,
            batch_size,
            self.mask_value,
            targets=targets,
            shuffle=shuffle,
            seed=seed,
        )

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per ticker, JSON-ready: rows, gaps, origins, dropped origins, first and last date."""
        out: dict[str, dict[str, Any]] = {}
        for k, t in enumerate(self.tickers):
            lo, hi = int(self.offsets[k]), int(self.offsets[k + 1])
            out[t] = {
                "rows": hi - lo,
                "unobserved": int((~self.observed[lo:hi]).sum()),
                "origins": int(self.origin_ok[lo:hi].sum()),
                "dropped_origins": self.dropped_origins.get(t, 0),
                "first": str(self.dates[lo]),
                "last": str(self.dates[hi - 1]),
            }
        return out


def _split_long(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    if "ticker" not in df.columns:
        raise ValueError("a single price frame needs a 'ticker' column")
    return {str(t): g for t, g in df.groupby("ticker", sort=True)}


def build_panel(
    frames: Mapping[str, pd.DataFrame] | pd.DataFrame,
    cfg: FeatureConfig,
    calendars: Mapping[str, str] | None = None,
    covariates: Mapping[str, pd.DataFrame] | None = None,
) -> Panel:
    """Align, featurise and stack tickers into a ``Panel``.

    Per ticker: align to ``cfg.calendar`` (``align_calendar``), compute ``cfg.inputs``
    (``input_matrix``) and targets for horizons ``1..cfg.horizons`` (``target_matrix``), then
    drop the first aligned row (it has no return). An input some frame lacks the columns for is
    dropped for every ticker (``dropped_features``). A ticker with fewer than
    ``cfg.min_history`` rows left, or no usable origin, is reported in ``skipped`` and left
    out; if every ticker is skipped the panel is empty (``n_rows == 0``).

    Args:
        frames: Ticker -> price frame (``date``, ``close``, optional ``open, high, low,
            volume``), or one long frame with a ``ticker`` column.
        cfg: The feature configuration (``calendar`` for every ticker...).
        calendars: ...except these: ticker -> calendar spec.
        covariates: Symbol -> price frame of each of ``cfg.covariates`` (default: taken from
            ``frames``); their columns join every ticker's rows (``features.covariates``).

    Raises:
        ValueError: On a malformed frame (see ``align_calendar``), or a configured covariate
            without prices.
    """
    if isinstance(frames, pd.DataFrame):
        frames = _split_long(frames)
    names = sorted(frames)
    dropped: list[str] = []
    for t in names:
        _, d = available_inputs(frames[t].columns, cfg.inputs)
        dropped.extend(x for x in d if x not in dropped)
    used = tuple(x for x in cfg.inputs if x not in dropped)
    dropped_t = tuple(x for x in cfg.inputs if x in dropped)
    given = frames if covariates is None else covariates
    covs = covariate_set(cfg.covariates, given, cfg.volume_window)
    feature_names = tuple(c for x in used for c in column_names(x, cfg))
    feature_names += tuple(c for cov in covs for c in cov.columns)
    H, W = cfg.horizons, cfg.window

    blocks: list[dict[str, np.ndarray]] = []
    tickers: list[str] = []
    skipped: dict[str, str] = {}
    dropped_origins: dict[str, int] = {}
    sessions = _calendars(frames, names, cfg.calendar, calendars or {})
    for t in names:
        try:
            aligned = aligned_bars(frames[t], sessions[t])
        except ValueError as exc:
            raise ValueError(f"{t}: {exc}") from None
        n = len(aligned["date"]) - 1
        if n < cfg.min_history:
            skipped[t] = (
                f"only {max(n, 0)} bars with a return on the {sessions[t].spec} calendar "
                f"(min_history is {cfg.min_history})"
            )
            continue
        obs = aligned["observed"]
        X = own_inputs(aligned, used, cfg)[1:]
        if covs:
            X = np.concatenate([X, covariate_matrix(covs, aligned["date"])[1:]], axis=1)
        if not np.isfinite(X).all():
            bad = int(np.argwhere(~np.isfinite(X))[0, 0]) + 1
            day = aligned["date"][bad].astype("datetime64[D]")
            raise ValueError(f"{t}: non-finite input on {day}")
        Y = target_matrix(aligned["close"], obs, H)[1:]
        obs = obs[1:]
        hist = np.arange(1, n + 1)
        ok = obs & (hist >= cfg.min_history)
        if not ok.any():
            skipped[t] = f"no observed bar with {cfg.min_history} bars of history"
            continue
        dates = aligned["date"].astype("datetime64[D]")[1:]
        dropped_origins[t] = int((obs & (hist < cfg.min_history)).sum())
        blocks.append(
            {
                "X": X,
                "Y": Y,
                "close": aligned["close"][1:],
                "dates": dates,
                "observed": obs,
                "origin_ok": ok,
                "target_end": dates[np.minimum(np.arange(n) + H, n - 1)],
            }
        )
        tickers.append(t)

    sizes = [len(b["dates"]) for b in blocks]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    F = len(feature_names)

    def cat(key: str, empty: np.ndarray) -> np.ndarray:
        return np.concatenate([b[key] for b in blocks]) if blocks else empty

    return Panel(
        tickers=tuple(tickers),
        feature_names=feature_names,
        dropped_features=dropped_t,
        X=cat("X", np.zeros((0, F))),
        Y=cat("Y", np.zeros((0, H))),
        close=cat("close", np.zeros(0)),
        dates=cat("dates", np.zeros(0, dtype="datetime64[D]")),
        ticker_id=np.repeat(np.arange(len(tickers), dtype=np.int64), sizes),
        observed=cat("observed", np.zeros(0, dtype=bool)),
        offsets=offsets,
        origin_ok=cat("origin_ok", np.zeros(0, dtype=bool)),
        target_end=cat("target_end", np.zeros(0, dtype="datetime64[D]")),
        skipped=skipped,
        dropped_origins=dropped_origins,
        window=W,
        horizons=H,
        mask_value=cfg.mask_value,
        min_history=cfg.min_history,
        sessions={t: sessions[t] for t in tickers},
    )


def stack_panels(panels: list[Panel]) -> Panel:
    """One panel of the blocks of ``panels``, in order (same inputs and settings, distinct tickers).

    Each ticker's rows and values are exactly those of its own panel.
    """
    first = panels[0]
    keys = ("X", "Y", "close", "dates", "observed", "origin_ok", "target_end")
    cat = {k: np.concatenate([getattr(p, k) for p in panels]) for k in keys}
    starts = np.cumsum([0] + [p.n_rows for p in panels])  # each block's first row
    base = np.cumsum([0] + [len(p.tickers) for p in panels])
    return Panel(
        tickers=tuple(t for p in panels for t in p.tickers),
        feature_names=first.feature_names,
        dropped_features=first.dropped_features,
        ticker_id=np.concatenate([p.ticker_id + b for p, b in zip(panels, base, strict=False)]),
        offsets=np.concatenate(
            [p.offsets[:-1] + s for p, s in zip(panels, starts, strict=False)] + [starts[-1:]]
        ).astype(np.int64),
        skipped={t: why for p in panels for t, why in p.skipped.items()},
        dropped_origins={t: n for p in panels for t, n in p.dropped_origins.items()},
        window=first.window,
        horizons=first.horizons,
        mask_value=first.mask_value,
        min_history=first.min_history,
        sessions={t: c for p in panels for t, c in p.sessions.items()},
        **cat,
    )


def _calendars(
    frames: Mapping[str, pd.DataFrame],
    names: list[str],
    default: str,
    overrides: Mapping[str, str],
) -> dict[str, TradingCalendar]:
    """Each ticker's calendar; ``observed`` is the union of every frame's dates."""
    specs = {t: calendar_spec(overrides.get(t, default)) for t in names}
    observed = None
    if OBSERVED in specs.values():
        days = [as_days(frames[t]["date"]) for t in names if len(frames[t])]
        observed = np.unique(np.concatenate(days)) if days else None
    out: dict[str, TradingCalendar] = {}
    for t, spec in specs.items():
        out[t] = trading_calendar(spec, observed)
    return out


def ticker_groups(panel: Panel, rows: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """``(ticker id, its rows in their given order)`` per ticker id present in ``rows``, ascending.

    One stable sort instead of a mask per ticker (which is quadratic in the ticker count).
    """
    rows = np.asarray(rows)
    if rows.size == 0:
        return []
    tid = panel.ticker_id[rows]
    order = np.argsort(tid, kind="stable")
    ids, starts = np.unique(tid[order], return_index=True)
    parts = np.split(rows[order], starts[1:])
    return [(int(t), part) for t, part in zip(ids, parts, strict=True)]


def target_dates(panel: Panel, rows: np.ndarray) -> np.ndarray:
    """Date of the session ``h`` sessions after each origin row, shape ``[len(rows), H]``.

    Inside a ticker's history this is the row's own date (rows are sessions); past its last
    bar it is the next session of the ticker's calendar.
    """
    rows = np.asarray(rows, dtype=np.int64)
    steps = np.arange(1, panel.horizons + 1)
    idx = rows[:, None] + steps[None, :]
    block_end = panel.offsets[panel.ticker_id[rows] + 1][:, None]
    inside = idx < block_end
    out = np.empty(idx.shape, dtype="datetime64[D]")
    out[inside] = panel.dates[idx[inside]]
    if inside.all():
        return out
    # Past a ticker's last bar: count sessions on its calendar from that bar's date.
    last = np.broadcast_to(block_end - 1, idx.shape)[~inside]
    extra = idx[~inside] - last
    beyond = np.empty(last.shape, dtype="datetime64[D]")
    owner = panel.ticker_id[last]
    # Panel dates are sessions of their ticker's calendar (``align_calendar``); tickers on
    # equal calendars count on one together (each date's count is its own).
    shared: dict[Any, list[int]] = {}
    for t in np.unique(owner).tolist():
        shared.setdefault(panel.sessions[panel.tickers[t]], []).append(t)
    for calendar, tickers in shared.items():
        sel = np.isin(owner, tickers)
        beyond[sel] = calendar.add_sessions(panel.dates[last[sel]], extra[sel])
    out[~inside] = beyond
    return out
