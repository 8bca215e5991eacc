"""Per-ticker pages of a run: ``tickers/<name>.html``, one self-contained page per ticker.

The main report shows the portfolio and the cross-section (``stackcast.reports.cross_section``);
each ticker's detail (forecasts over prices, equity and drawdown, its error table per horizon
and predictor, its trading rows, its data range) lives on its own page, which links back to the
report and to its neighbours. Ticker names become file names through ``safe_name`` (an
injective escape: ``BRK.B`` -> ``BRK_2EB``), so any ticker is a valid, distinct file name.

The page's charts are inline SVG (``stackcast.reports.svg_chart``): a few milliseconds and a
few KB per ticker, where a matplotlib figure costs about 0.2 s, so hundreds of pages stay cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup
from stackcast.reports.error_table import error_table
from stackcast.reports.figures import COLORS, NAMES
from stackcast.reports.svg_chart import Band, Line, line_chart
from stackcast.reports.templating import _env
from stackcast.reports.trading import LABELS, STRATEGIES

TICKER_DIR = "tickers"
#: Runs with at most this many tickers also show the per-ticker figures in the main report.
INLINE_MAX = 3
#: One ticker's columns as NumPy arrays (``_groups``): what the charts read.
Columns = Mapping[str, np.ndarray]
#: The columns the forecast chart reads from the prices and from the predictions, with the
#: dtype each is read as (None: as stored).
PRICE_COLUMNS = {"date": "datetime64[ns]", "close": float}
FORECAST_COLUMNS = {
    "origin": "datetime64[ns]",
    "target_date": "datetime64[ns]",
    "horizon": None,
    "y_pred": float,
    "lo": float,
    "hi": float,
}


def safe_name(ticker: str) -> str:
    """A file-name-safe, injective spelling of ``ticker``.

    ASCII letters, digits and ``-`` stay; every other byte of its UTF-8 becomes ``_XX`` (hex),
    ``_`` included, so two tickers never share a name (``BRK.B`` -> ``BRK_2EB``, ``^GSPC`` ->
    ``_5EGSPC``, ``EURUSD=X`` -> ``EURUSD_3DX``).
    """
    out = []
    for ch in str(ticker):
        if ch.isascii() and (ch.isalnum() or ch == "-"):
            out.append(ch)
        else:
            out.extend(f"_{b:02X}" for b in ch.encode("utf-8"))
    return "".join(out) or "_"


def page_path(ticker: str) -> str:
    """The ticker's page, relative to the run directory: ``tickers/<safe_name>.html``."""
    return f"{TICKER_DIR}/{safe_name(ticker)}.html"


def ticker_charts(
    prices: Columns | None,
    predictions: Columns | None,
    curves: pd.DataFrame | None,
    ticker: str,
    *,
    plot_last: int = 250,
) -> list[Markup]:
    """One ticker's inline SVG charts: forecasts over prices, equity, drawdown.

    Args:
        prices: that ticker's ``date, close`` columns (``_groups(prices, PRICE_COLUMNS)``,
            or None).
        predictions: that ticker's prediction columns (``FORECAST_COLUMNS``, or None).
        curves: its ``TradingResult.curves`` frame (or None).
        ticker: the name (titles).
        plot_last: recent bars of prices shown.
    """
    charts: list[Markup | None] = []
    if prices is not None and len(prices["date"]) and predictions is not None:
        charts.append(_forecast_chart(prices, predictions, ticker, plot_last))
    if curves is not None and not curves.empty:
        x = curves.index.to_numpy()
        # Every column at once (one block of floats), not a pandas lookup per line.
        values = dict(zip(curves.columns, curves.to_numpy(float).T, strict=True))
        strategies = [s for s in STRATEGIES if s in values]
        lines = [Line(x, values[s], COLORS[s], LABELS[s]) for s in strategies]
        charts.append(
            line_chart(
                lines, title=f"{ticker}: equity after costs", ylabel="equity (start = 1)", hline=1.0
            )
        )
        dd = [Line(x, values[f"{s}_dd"] * 100, COLORS[s]) for s in strategies]
        charts.append(line_chart(dd, title="drawdown", height=140, percent=True, hline=0.0))
    return [c for c in charts if c is not None]


def _forecast_chart(rows: Columns, pr: Columns, ticker: str, plot_last: int) -> Markup | None:
    """Closes of the last ``plot_last`` bars with the 1-step and H-step forecasts as prices.

    Forecast price ``close[origin] * exp(y_pred)`` at the target date, interval bands and the
    latest origin's path, computed on numpy arrays: pandas indexing per ticker costs more than
    the chart itself.
    """
    dates = np.asarray(rows["date"], dtype="datetime64[ns]")
    close = np.asarray(rows["close"], dtype=float)
    order = np.argsort(dates, kind="stable")
    dates, close = dates[order], close[order]
    last_of_day = np.r_[dates[1:] != dates[:-1], True]  # a repeated date keeps its last bar
    dates, close = dates[last_of_day], close[last_of_day]
    shown = slice(max(len(dates) - plot_last, 0), None)
    lines = [Line(dates[shown], close[shown], COLORS["actual"], "close", 1.1)]
    bands: list[Band] = []
    origin = np.asarray(pr["origin"], dtype="datetime64[ns]")
    target = np.asarray(pr["target_date"], dtype="datetime64[ns]")
    pos = np.minimum(np.searchsorted(dates, origin), len(dates) - 1)
    base = np.where(dates[pos] == origin, close[pos], np.nan)
    keep = (target >= dates[shown][0]) & np.isfinite(base)
    if keep.any():
        horizon = np.asarray(pr["horizon"])[keep]
        origin, target, base = origin[keep], target[keep], base[keep]
        cols = {c: np.asarray(pr[c], dtype=float)[keep] for c in ("y_pred", "lo", "hi") if c in pr}
        has_band = "lo" in cols and "hi" in cols
        has_band = has_band and np.isfinite(cols["lo"]).any() and np.isfinite(cols["hi"]).any()
        H = int(horizon.max())
        for h, color in [(1, COLORS["model"])] + ([(H, COLORS["model_h"])] if H > 1 else []):
            at = np.flatnonzero(horizon == h)
            at = at[np.argsort(target[at], kind="stable")]
            if not len(at):
                continue
            lines.append(Line(target[at], base[at] * np.exp(cols["y_pred"][at]), color, f"h={h}"))
            if has_band:
                lo, hi = base[at] * np.exp(cols["lo"][at]), base[at] * np.exp(cols["hi"][at])
                bands.append(Band(target[at], lo, hi, color, f"interval h={h}"))
        at = np.flatnonzero(origin == origin.max())
        at = at[np.argsort(horizon[at], kind="stable")]
        xs = np.concatenate([origin[at[:1]], target[at]])
        ys = base[at[0]] * np.exp(np.concatenate([[0.0], cols["y_pred"][at]]))
        lines.append(Line(xs, ys, COLORS["latest"], "latest", 1.2, dash=True, markers=True))
    return line_chart(
        lines, bands, title=f"{ticker}: close and forecasts", ylabel="price", height=260
    )


def _by_ticker(headline: Mapping[str, Any]) -> dict[str, dict[str, dict[int, Any]]]:
    """``{ticker: {predictor: {horizon: metrics}}}`` from ``evaluate()``'s blocks."""
    blocks = {"model": headline.get("model", {}), **headline.get("baselines", {})}
    out: dict[str, dict[str, dict[int, Any]]] = {}
    for name, block in blocks.items():
        for r in block.get("by_ticker", []):
            out.setdefault(str(r["ticker"]), {}).setdefault(name, {})[int(r["horizon"])] = r
    return out


def error_rows(
    per: Mapping[str, Mapping[int, Any]], dm: Mapping[int, Any], horizons: Sequence[int]
) -> list[dict[str, Any]]:
    """Error table rows: per horizon the model (with its DM test) and then each baseline.

    Args:
        per: predictor -> horizon -> metrics (``point_metrics`` fields, the model's coverage).
        dm: horizon -> the model's DM test against the random walk.
        horizons: the horizons, in table order.
    """
    rows = []
    for h in horizons:
        present = [name for name in per if h in per[name]]
        maes = [per[n][h]["mae"] for n in present if per[n][h].get("mae") is not None]
        best = min(maes) if maes else None
        for i, name in enumerate(present):
            r = per[name][h]
            rows.append(
                {
                    **r,
                    "horizon": h,
                    "first": i == 0,
                    "span": len(present),
                    "predictor": NAMES.get(name, name.replace("_", " ")),
                    "is_model": name == "model",
                    "best": r.get("mae") is not None and r["mae"] == best,
                    "dm": dm.get(h) if name == "model" else None,
                }
            )
    return rows


def render_ticker_pages(
    *,
    title: str,
    run_id: str,
    created: str,
    tickers: Sequence[str],
    headline: Mapping[str, Any],
    predictions: pd.DataFrame | None,
    prices: pd.DataFrame | None,
    trading: Any,
    data_ranges: Sequence[Mapping[str, Any]],
    plot_last: int = 250,
) -> dict[str, str]:
    """Every ticker's page: ``{page_path(ticker): html}``.

    Args:
        title: the report's title (each page's header shows it).
        run_id: the run's id.
        created: when the run was made.
        tickers: the run's tickers, in report order (neighbour links follow it).
        headline: ``evaluate()`` output (per-ticker blocks, DM tests and their
            ``ticker_family``).
        predictions: the backtest predictions frame.
        prices: long ``ticker, date, close`` frame.
        trading: a ``TradingResult`` (rows and curves per ticker) or None.
        data_ranges: rows with a ``ticker`` key (the run's data table).
        plot_last: recent bars of prices in the figure.
    """
    per_ticker = _by_ticker(headline)
    dm = {
        (str(e["ticker"]), int(e["horizon"])): e
        for e in headline.get("dm", {}).get("by_ticker", [])
    }
    family = headline.get("dm", {}).get("ticker_family")
    horizons = [int(h) for h in headline.get("horizons", [])]
    price_groups = _groups(prices, PRICE_COLUMNS)
    pred_groups = _groups(predictions, FORECAST_COLUMNS)
    curves = trading.curves if trading is not None else {}
    trade_rows = [
        {**r, "label": LABELS.get(r["strategy"], r["strategy"])}
        for r in (trading.rows if trading is not None else [])
    ]
    trade_by_name: dict[str, list[dict[str, Any]]] = {}
    for r in trade_rows:
        trade_by_name.setdefault(str(r.get("name")), []).append(r)
    ranges = {str(r.get("ticker")): r for r in data_ranges}
    template = _env().get_template("ticker.html")
    pages: dict[str, str] = {}
    for k, t in enumerate(tickers):
        charts = ticker_charts(
            price_groups.get(t), pred_groups.get(t), curves.get(t), t, plot_last=plot_last
        )
        ticker_dm = {h: dm[(t, h)] for h in horizons if (t, h) in dm}
        pages[page_path(t)] = template.render(
            title=title,
            run_id=run_id,
            created=created,
            ticker=t,
            charts=charts,
            error_rows=error_rows(per_ticker.get(t, {}), ticker_dm, horizons),
            error_table=error_table,
            family=family,
            trading_rows=trade_by_name.get(t, []),
            data_range=ranges.get(t),
            prev=_neighbour(tickers, k - 1),
            next=_neighbour(tickers, k + 1),
        )
    return pages


def _neighbour(tickers: Sequence[str], k: int) -> dict[str, str] | None:
    if not 0 <= k < len(tickers):
        return None
    # Pages sit side by side in tickers/: a neighbour's link is its bare file name.
    return {"ticker": tickers[k], "href": page_path(tickers[k]).split("/", 1)[1]}


def _groups(
    frame: pd.DataFrame | None, columns: Mapping[str, Any]
) -> dict[str, dict[str, np.ndarray]]:
    """A long frame's ``columns`` (name -> dtype) as NumPy arrays per ``ticker``.

    One pass: each column is read once and sliced per ticker (rows in frame order), not a
    frame per ticker whose every column lookup costs more than the chart. Tickers in order of
    appearance; rows without a ticker are left out.
    """
    if frame is None or frame.empty or "ticker" not in frame.columns:
        return {}
    codes, names = pd.factorize(frame["ticker"].astype(str))
    order = np.argsort(codes, kind="stable")
    edges = np.searchsorted(codes[order], np.arange(len(names) + 1))
    arrays = {
        c: frame[c].to_numpy(dtype)[order] for c, dtype in columns.items() if c in frame.columns
    }
    return {
        str(t): {c: a[edges[i] : edges[i + 1]] for c, a in arrays.items()}
        for i, t in enumerate(names)
    }
