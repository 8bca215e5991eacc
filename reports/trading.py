"""A tradable simulation of the 1-step forecast, against buy-and-hold.

Conventions (one bar = one row of horizon-1 predictions, in origin order):

- At the close of origin ``t`` the rule reads ``y_pred`` for horizon 1 and decides the position
  ``p_t``: ``long_flat`` is 1 if ``y_pred > 0`` else 0, ``long_short`` is ``sign(y_pred)`` (0
  when exactly 0), ``buy_hold`` is always 1. A missing prediction means flat.
- A job that runs after the close cannot trade at that close: ``p_t`` is filled at the next bar
  (the bar whose close realises origin ``t``'s return). ``fill = "next_open"`` (the default)
  trades at that bar's open, so bar ``t`` earns ``p_{t-1}`` over the night (close ``t`` to the
  next open) and ``p_t`` over the session (open to close):
  ``gross_t = (1 + p_{t-1} * R_night)(1 + p_t * R_day) - 1``. Where the source has no open for
  that bar (a close-only source), or with ``fill = "next_close"``, ``p_t`` is filled at the next
  close, so bar ``t`` earns ``p_{t-1}`` throughout: ``gross_t = p_{t-1} * R_t``. Either way no
  position is entered at a price at or before the close that produced its signal; the first
  bar starts flat (``p_{-1} = 0``).
- The realised return of a bar is ``y_true`` at horizon 1. When the next calendar bar is
  unobserved (a holiday on a business-day calendar), the horizon-1 target is NaN and the
  return to the next origin is read from the horizon whose target date is that origin, so the
  holding period is still covered; bars with no known return are dropped.
- ``y_true`` is a log return; it is converted to the simple return ``R_t = exp(y_true) - 1``
  before anything is compounded; the night leg is ``log(open / close_t)`` from the prices and
  the session leg the rest of ``y_true``. A short earns ``-R`` (re-balanced every bar).
- Turnover ``|p_t - p_{t-1}|`` is charged at ``cost_bps / 1e4`` per unit on the bar whose open
  or close the trade happens at: ``net_t = gross_t - cost * turnover_t``. The last position is
  marked to market, not closed.
- Equity starts at 1 and is ``prod(1 + net)``; it is indexed by the date on which each return
  is realised (``target_date``), with the first origin as the starting point.
- Metrics: CAGR ``equity_end ** (periods_per_year / n) - 1``; annualised volatility
  ``std(net, ddof=1) * sqrt(ppy)``; Sharpe ``mean(net - rf) / std(net) * sqrt(ppy)`` with the
  per-bar risk-free ``(1 + risk_free) ** (1 / ppy) - 1``; Sortino uses the downside deviation
  ``sqrt(mean(min(net - rf, 0) ** 2))``; max drawdown is the most negative
  ``equity / running_max - 1`` (a negative number, running max including the starting 1);
  Calmar ``CAGR / |max drawdown|``; turnover ``mean(turnover) * ppy`` (position units per
  year); hit rate is the share of bars in the market whose gross P&L is positive; exposure is
  ``mean(|held|)``, ``held`` being the position through the bar's session (``p_t`` with an open
  fill, ``p_{t-1}`` with a close fill).
- The equal-weight ``portfolio`` averages the per-ticker net returns over the tickers trading
  on each date (daily re-balancing to equal weights, whose own costs are ignored).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from stackcast.reports.config import ReportConfig
from stackcast.reports.trading_stats import drawdown as drawdown
from stackcast.reports.trading_stats import equity_curve, group_performance, performance

STRATEGIES: tuple[str, ...] = ("long_flat", "long_short", "buy_hold")
LABELS = {"long_flat": "long/flat", "long_short": "long/short", "buy_hold": "buy & hold"}
PORTFOLIO = "portfolio"


def positions(y_pred: np.ndarray, rule: str) -> np.ndarray:
    """Positions in {-1, 0, 1} per bar for a rule in ``STRATEGIES`` (NaN forecast -> flat)."""
    y_pred = np.nan_to_num(np.asarray(y_pred, dtype=float), nan=0.0)
    if rule == "long_flat":
        return (y_pred > 0).astype(float)
    if rule == "long_short":
        return np.sign(y_pred)
    if rule == "buy_hold":
        return np.ones_like(y_pred)
    raise ValueError(f"unknown rule {rule!r}; expected one of {STRATEGIES}")


def strategy_returns(
    position: np.ndarray,
    previous: np.ndarray,
    log_return: np.ndarray,
    night: np.ndarray | None,
    cost_bps: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Net simple returns per bar when each bar's decision is filled at the next bar.

    Args:
        position: ``p_t``, decided at the close of each origin.
        previous: ``p_{t-1}``, the position decided at the previous origin (0 for the first).
        log_return: realised log return from the origin's close to the next close.
        night: log return from the origin's close to the next open; NaN (or ``None`` for
            all bars) fills that bar at the next close instead.
        cost_bps: cost per unit of turnover.

    Returns:
        ``(net, gross, turnover, held)`` per bar; ``net = gross - cost_bps / 1e4 * turnover``
        and ``held`` is the position through the bar's session.
    """
    position = np.asarray(position, dtype=float)
    previous = np.asarray(previous, dtype=float)
    log_return = np.asarray(log_return, dtype=float)
    night = np.full_like(log_return, np.nan) if night is None else np.asarray(night, float)
    at_open = np.isfinite(night)
    g = np.where(at_open, night, 0.0)
    gross_open = (1.0 + previous * np.expm1(g)) * (1.0 + position * np.expm1(log_return - g)) - 1
    gross = np.where(at_open, gross_open, previous * np.expm1(log_return))
    turnover = np.abs(position - previous)
    held = np.where(at_open, position, previous)
    return gross - cost_bps / 1e4 * turnover, gross, turnover, held


FILLS: tuple[str, ...] = ("next_open", "next_close")
FILL_LABELS = {"next_open": "next open", "next_close": "next close"}


@dataclass
class TradingResult:
    """Outcome of ``simulate``.

    Attributes:
        cost_bps: cost per unit of turnover used.
        periods_per_year: bars per year used for annualising.
        fill: the fill asked for (``ReportConfig.fill``).
        fills: bars filled at each price, ``{"next_open": n, "next_close": n}``.
        fallback: with ``fill = "next_open"``, ticker -> bars filled at the next close because
            the source had no open for them (empty when every bar had its open).
        rows: one record per (name, strategy): ``name`` (a ticker or ``"portfolio"``),
            ``strategy`` and the ``performance`` fields.
        curves: per name, a frame indexed by date with ``<strategy>`` equity and
            ``<strategy>_dd`` drawdown columns for every strategy.
    """

    cost_bps: float
    periods_per_year: int
    fill: str = "next_open"
    fills: dict[str, int] = field(default_factory=dict)
    fallback: dict[str, int] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    curves: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def fill_note(self) -> str:
        """One sentence on how positions were filled (shown in the report)."""
        if self.fill == "next_close":
            return (
                "Fill: next close (the position decided at a close is traded at the next bar's "
                "close)."
            )
        note = "Fill: next open (the position decided at a close is traded at the next bar's open)."
        if self.fallback:
            total = sum(self.fills.values())
            which = ", ".join(f"{t} ({n})" for t, n in self.fallback.items())
            note += (
                f" The source had no open for {sum(self.fallback.values())} of {total} bars, "
                f"so those fell back to the next close: {which}."
            )
        return note

    def to_json(self) -> dict[str, Any]:
        """The JSON-able part (no curves)."""
        return {
            "cost_bps": self.cost_bps,
            "periods_per_year": self.periods_per_year,
            "fill": self.fill,
            "fills": self.fills,
            "fallback": self.fallback,
            "fill_note": self.fill_note,
            "rows": self.rows,
        }


@functools.cache
def _curve_columns(names: tuple[str, ...]) -> pd.Index:
    """``<name>, <name>_dd`` per name: one column index shared by every curve frame."""
    return pd.Index([c for name in names for c in (name, f"{name}_dd")])


def _curve_frame(
    start: pd.Timestamp, dates: pd.Index, curves: dict[str, tuple[np.ndarray, np.ndarray]]
) -> pd.DataFrame:
    """Each strategy's ``(equity, drawdown)`` as a frame indexed by ``start`` and ``dates``."""
    stamps = np.asarray(dates, dtype="datetime64[ns]")
    index = pd.DatetimeIndex(np.concatenate([[np.datetime64(start, "ns")], stamps]))
    # One [columns, rows] block (the layout a frame of these columns consolidates to).
    values = np.concatenate([np.stack(pair) for pair in curves.values()])
    return pd.DataFrame(values.T, index=index, columns=_curve_columns(tuple(curves)))


def _night(bars: pd.DataFrame, prices: pd.DataFrame | None) -> np.ndarray:
    """Log return from each bar's origin close to the open of the bar that realises it."""
    out = np.full(len(bars), np.nan)
    if prices is None or prices.empty or not {"open", "close"} <= set(prices.columns):
        return out
    if bars.empty:
        return out
    # Only the bars' dates are looked up: the rest of the price history is left out first,
    # on the raw stamps (a superset of the days in range), then exactly on their days.
    first, last = bars["origin"].min(), bars["end"].max()
    raw = pd.to_datetime(prices["date"])
    keep = ((raw >= first.normalize()) & (raw < last.normalize() + pd.Timedelta(days=1))).to_numpy()
    prices, dates = prices.loc[keep], raw.loc[keep].dt.normalize()
    near = ((dates >= first) & (dates <= last)).to_numpy()
    prices = prices.loc[near]
    px = pd.DataFrame(
        {
            "ticker": prices["ticker"].astype(str).to_numpy(),
            "date": dates.loc[near].to_numpy(),
            "open": pd.to_numeric(prices["open"], errors="coerce").to_numpy(float),
            "close": pd.to_numeric(prices["close"], errors="coerce").to_numpy(float),
        }
    ).drop_duplicates(["ticker", "date"], keep="last")
    px = px.set_index(["ticker", "date"])
    tickers = bars["ticker"].astype(str).to_numpy()
    close = px["close"].reindex(pd.MultiIndex.from_arrays([tickers, bars["origin"]]))
    opened = px["open"].reindex(pd.MultiIndex.from_arrays([tickers, bars["end"]]))
    c, o = close.to_numpy(float), opened.to_numpy(float)
    ok = np.isfinite(c) & np.isfinite(o) & (c > 0) & (o > 0)
    out[ok] = np.log(o[ok]) - np.log(c[ok])
    return out


def trading_bars(predictions: pd.DataFrame, prices: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (ticker, origin) with a known holding-period return.

    Args:
        predictions: backtest frame (``ticker, origin, horizon, target_date, y_true, y_pred``).
        prices: optional long ``ticker, date, close, open`` frame for the night leg.

    Returns:
        Columns ``ticker, origin, end`` (date the return is realised), ``y_pred`` (horizon 1),
        ``prev_pred`` (the previous origin's, NaN for a ticker's first), ``first`` (no previous
        origin), ``ret`` (log return from the origin's close to ``end``'s) and ``night`` (log
        return from the origin's close to ``end``'s open; NaN without an open), sorted by
        ticker and origin.
    """
    cols = ["ticker", "origin", "horizon", "target_date", "y_true", "y_pred"]
    df = predictions[cols]  # a new frame: the columns set below leave ``predictions`` as is
    df["origin"] = pd.to_datetime(df["origin"])
    df["target_date"] = pd.to_datetime(df["target_date"])
    h1 = df.loc[df["horizon"] == 1].sort_values(["ticker", "origin"], kind="stable")
    h1 = h1.drop_duplicates(["ticker", "origin"])
    by = h1.groupby("ticker")
    h1["next"] = by["origin"].shift(-1)
    # The decision in force before this origin's: taken before unknown bars are dropped.
    h1["prev_pred"] = by["y_pred"].shift(1)
    h1["first"] = by["origin"].shift(1).isna()
    bars = h1.reset_index(drop=True)
    # Prefer the horizon-1 target; where it is unobserved, the return to the next origin from
    # whichever horizon targets that date (looked up for those bars only).
    known = np.isfinite(bars["y_true"].to_numpy(float))
    to_next = np.full(len(bars), np.nan)
    if not known.all():
        need = bars.loc[~known, ["ticker", "origin", "next"]]
        ok = np.isfinite(df["y_true"].to_numpy(float)) & df["target_date"].notna().to_numpy()
        ok &= df["origin"].isin(need["origin"]).to_numpy()
        link = df.loc[ok, ["ticker", "origin", "target_date", "y_true"]]
        link = link.rename(columns={"target_date": "next", "y_true": "to_next"})
        link = link.drop_duplicates(["ticker", "origin", "next"])
        found = need.merge(link, on=["ticker", "origin", "next"], how="left")
        to_next[~known] = found["to_next"].to_numpy(float)
    bars["ret"] = np.where(known, bars["y_true"], to_next)
    bars["end"] = bars["target_date"].where(known, bars["next"])
    bars = bars.loc[np.isfinite(bars["ret"].to_numpy(float))].reset_index(drop=True)
    bars["night"] = _night(bars, prices)
    keep = ["ticker", "origin", "end", "y_pred", "prev_pred", "first", "ret", "night"]
    return bars[keep]


def simulate(
    predictions: pd.DataFrame,
    cfg: ReportConfig | None = None,
    prices: pd.DataFrame | None = None,
) -> TradingResult:
    """Trade every ticker's horizon-1 forecast with each rule, plus an equal-weight portfolio.

    Args:
        predictions: backtest frame with ``ticker, origin, horizon, target_date, y_true,
            y_pred`` (see ``trading_bars`` for which rows are used).
        cfg: ``cost_bps``, ``periods_per_year``, ``risk_free`` and ``fill``; defaults to
            ``ReportConfig()``.
        prices: long ``ticker, date, close`` frame with ``open`` where the source has opens;
            without opens (or with ``fill = "next_close"``) every bar fills at the next close.

    Returns:
        A ``TradingResult``; the portfolio comes first, then tickers in sorted order (the
        portfolio is omitted when there is a single ticker).
    """
    cfg = cfg or ReportConfig()
    kw = {"periods_per_year": cfg.periods_per_year, "risk_free": cfg.risk_free}
    result = TradingResult(
        cost_bps=cfg.cost_bps, periods_per_year=cfg.periods_per_year, fill=cfg.fill
    )
    rows: list[dict[str, Any]] = []
    # Per rule: per ticker, arrays of net, gross, turnover and |position| by realisation date.
    panel: dict[str, dict[str, list[np.ndarray]]] = {
        s: {c: [] for c in ("net", "gross", "turnover", "pos")} for s in STRATEGIES
    }
    panel_dates: list[np.ndarray] = []
    starts: list[pd.Timestamp] = []
    bars = trading_bars(predictions, prices if cfg.fill == "next_open" else None)
    at_open = np.isfinite(bars["night"].to_numpy(float))
    result.fills = {"next_open": int(at_open.sum()), "next_close": int((~at_open).sum())}
    if cfg.fill == "next_open":
        missing = bars.loc[~at_open].groupby("ticker", sort=True).size()
        result.fallback = {str(t): int(n) for t, n in missing.items()}
    # One grouping, then numpy slices per ticker (column lookups per group cost more).
    cols = {c: bars[c].to_numpy(float) for c in ("y_pred", "prev_pred", "ret", "night")}
    end, origin, is_first = bars["end"].to_numpy(), bars["origin"].to_numpy(), bars["first"]
    is_first = is_first.to_numpy(bool)
    # Every bar's returns per rule at once (elementwise, so each ticker's are its own).
    traded = {}
    for rule in STRATEGIES:
        pos = positions(cols["y_pred"], rule)
        prev = np.where(is_first, 0.0, positions(cols["prev_pred"], rule))
        traded[rule] = strategy_returns(pos, prev, cols["ret"], cols["night"], cfg.cost_bps)
    groups = sorted(bars.groupby("ticker", sort=False).indices.items())
    # Every ticker's statistics per rule at once, from its bars side by side in their order.
    order = np.concatenate([idx for _, idx in groups]) if groups else np.zeros(0, np.int64)
    sizes = np.array([len(idx) for _, idx in groups], dtype=np.int64)
    bounds = np.stack([np.cumsum(sizes) - sizes, np.cumsum(sizes)], axis=1)
    summaries = {
        rule: group_performance(*(a[order] for a in traded[rule]), bounds, **kw)
        for rule in STRATEGIES
    }
    for k, (ticker, idx) in enumerate(groups):
        dates = pd.DatetimeIndex(end[idx], name="end")
        for rule in STRATEGIES:
            net, gross, turnover, held = (a[idx] for a in traded[rule])
            rows.append({"name": str(ticker), "strategy": rule, **summaries[rule][0][k]})
            for c, v in (("net", net), ("gross", gross), ("turnover", turnover)):
                panel[rule][c].append(v)
            panel[rule]["pos"].append(np.abs(held))
        panel_dates.append(end[idx])
        starts.append(pd.Timestamp(origin[idx[0]]))
        curves = {rule: summaries[rule][1][k] for rule in STRATEGIES}
        result.curves[str(ticker)] = _curve_frame(starts[-1], dates, curves)
    if len(result.curves) > 1:
        port_rows: list[dict[str, Any]] = []
        nets = {}
        index = pd.DatetimeIndex(np.concatenate(panel_dates), name="end")
        for rule in STRATEGIES:
            # Equal weight over the tickers trading on each date.
            frame = pd.DataFrame({c: np.concatenate(v) for c, v in panel[rule].items()}, index)
            mean = frame.groupby(level=0).mean().sort_index()
            nets[rule] = mean["net"].to_numpy()
            stats = performance(
                *(mean[c].to_numpy() for c in ("net", "gross", "turnover", "pos")), **kw
            )
            port_rows.append({"name": PORTFOLIO, "strategy": rule, **stats})
        rows = port_rows + rows
        curves = {rule: (eq := equity_curve(net), drawdown(eq)) for rule, net in nets.items()}
        result.curves = {PORTFOLIO: _curve_frame(min(starts), mean.index, curves), **result.curves}
    result.rows = rows
    return result
