"""Self-contained HTML: the run report.

``render_report(ReportData(...))`` renders every section of one run's page. Templates load
through ``stackcast.reports.templating`` with autoescaping on, so every string from a user
(tickers, titles, config values, warnings) is escaped. Pages carry their CSS inline and their
images as ``data:`` URIs; a Content Security Policy forbids loading anything else. The index of
runs is ``stackcast.reports.run_index``.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from stackcast.reports import plots, skill_plots, svg_chart
from stackcast.reports.config import ReportConfig
from stackcast.reports.coverage import coverage_view
from stackcast.reports.cross_section import cross_section, skill_histogram, skill_table
from stackcast.reports.error_table import error_table
from stackcast.reports.histories import training_diagnostics
from stackcast.reports.templating import _env
from stackcast.reports.ticker_pages import (
    FORECAST_COLUMNS,
    INLINE_MAX,
    PRICE_COLUMNS,
    _groups,
    error_rows,
    page_path,
    render_ticker_pages,
    ticker_charts,
)
from stackcast.reports.trading import LABELS, PORTFOLIO, TradingResult
from stackcast.reports.training_plot import training_plot

#: Runs with fewer scored tickers show the cross-section as one table of every ticker: the
#: histogram and quantiles of a handful of ratios say nothing a table does not.
CROSS_SECTION_MIN = 10

AUDIT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("fold", "fold"),
    ("train_start", "train start"),
    ("train_end", "train end"),
    ("scaler_fit_start", "scaler fit start"),
    ("scaler_fit_end", "scaler fit end"),
    ("embargo", "embargo (bars)"),
    ("first_test_origin", "first test origin"),
    ("test_end", "test end"),
)


@dataclass
class ReportData:
    """Everything a run report shows; only ``title``, ``run_id`` and ``created`` are required.

    Attributes:
        title: page title (usually ``ReportConfig.title``).
        run_id: run identifier.
        created: ISO timestamp of the run.
        kind: ``backtest`` or ``daily``.
        headline: ``stackcast.reports.metrics.evaluate`` output (verdicts are read from it).
        trading: ``stackcast.reports.trading.simulate`` output.
        predictions: the backtest predictions frame (forecast plots).
        prices: long ``ticker, date, close`` frame (forecast plots).
        audit: per-fold leakage audit rows with the keys of ``AUDIT_COLUMNS``.
        histories: per-fold training histories (list, or mapping fold -> history).
        config_text: the run's configuration as TOML text.
        data_ranges: rows ``{ticker, start, end, bars}`` (any keys are shown as columns).
        versions: library name -> version.
        git_commit: source revision, if known.
        device: what the model ran on.
        warnings: run warnings, shown at the top.
        config: report settings (``plot_last``); defaults to ``ReportConfig()``.
        explode_threshold: gradient norm flagged as exploding (``TrainConfig``).
        vanish_threshold: gradient norm flagged as vanishing (``TrainConfig``).
        plots: pre-rendered images (data URIs) to use instead of drawing: keys
            ``forecast/<ticker>``, ``errors``, ``scatter`` (predicted vs realised), ``sqerr``
            (cumulative squared-error difference), ``equity/<name>``, ``training``, ``skill``
            (the cross-section's histogram).
    """

    title: str
    run_id: str
    created: str
    kind: str = "backtest"
    headline: Mapping[str, Any] | None = None
    trading: TradingResult | None = None
    predictions: pd.DataFrame | None = None
    prices: pd.DataFrame | None = None
    audit: Sequence[Mapping[str, Any]] = ()
    histories: Mapping[Any, Any] | Sequence[Any] | None = None
    config_text: str = ""
    data_ranges: Sequence[Mapping[str, Any]] = ()
    versions: Mapping[str, str] = field(default_factory=dict)
    git_commit: str | None = None
    device: str | None = None
    warnings: Sequence[str] = ()
    config: ReportConfig = field(default_factory=ReportConfig)
    explode_threshold: float | None = 1e3
    vanish_threshold: float | None = 1e-7
    plots: Mapping[str, str] | None = None


# ----------------------------------------------------------------------------- report parts


def _headline_rows(headline: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Table rows per horizon: the model (with DM p) then each baseline."""
    dm = {e["horizon"]: e for e in headline.get("dm", {}).get("pooled", [])}
    blocks = {"model": headline.get("model", {}), **headline.get("baselines", {})}
    per = {
        name: {r["horizon"]: r for r in block.get("by_horizon", [])}
        for name, block in blocks.items()
    }
    return error_rows(per, dm, headline.get("horizons", []))


def _ticker_rows(headline: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per ticker x horizon: model vs random walk MAE, MASE and the per-ticker DM test."""
    rw = {
        (r["ticker"], r["horizon"]): r
        for r in headline.get("baselines", {}).get("random_walk", {}).get("by_ticker", [])
    }
    dm = {(e["ticker"], e["horizon"]): e for e in headline.get("dm", {}).get("by_ticker", [])}
    rows = []
    for r in headline.get("model", {}).get("by_ticker", []):
        key = (r["ticker"], r["horizon"])
        rows.append({**r, "rw": rw.get(key, {}), "dm": dm.get(key, {})})
    return rows


def _audit_rows(audit: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Audit rows with a ``check`` verdict: scaler inside training, training before test."""
    out = []
    for r in audit:
        cells = {k: r.get(k) for k, _ in AUDIT_COLUMNS}
        try:
            ts = {k: pd.Timestamp(cells[k]) for k in cells if k not in ("fold", "embargo")}
            ok = (
                ts["scaler_fit_start"] >= ts["train_start"]
                and ts["scaler_fit_end"] <= ts["train_end"]
                and ts["train_end"] < ts["first_test_origin"] <= ts["test_end"]
            )
        except (TypeError, ValueError):
            ok = None
        out.append({"cells": [cells[k] for k, _ in AUDIT_COLUMNS], "ok": ok})
    return out


def _tickers(data: ReportData) -> list[str]:
    if data.headline and data.headline.get("tickers"):
        return [str(t) for t in data.headline["tickers"]]
    if data.predictions is not None and "ticker" in data.predictions:
        return sorted(data.predictions["ticker"].astype(str).unique().tolist())
    return []


def _inline(data: ReportData) -> bool:
    """Whether the main report also shows the per-ticker figures and tables (few tickers)."""
    return len(_tickers(data)) <= INLINE_MAX


def _figures(data: ReportData, table: list[dict[str, Any]]) -> dict[str, Any]:
    """Every image of the main report, from ``data.plots`` when given, else drawn here.

    ``table``: the run's ``skill_table``.

    Per-ticker figures (forecasts, a ticker's equity) only when ``_inline``; otherwise they
    are on the ticker pages.
    """
    given = dict(data.plots or {})
    inline = _inline(data)

    def get(key: str, draw: Any) -> str | None:
        if key in given:  # only images: anything else would be an external reference
            return given[key] if str(given[key]).startswith("data:image/") else None
        return draw()

    # Per-ticker figures as the ticker pages' SVG charts (milliseconds each, not a matplotlib
    # figure per ticker).
    forecasts = []
    if inline and data.predictions is not None and data.prices is not None:
        prices = _groups(data.prices, PRICE_COLUMNS)
        predictions = _groups(data.predictions, FORECAST_COLUMNS)
        for t in _tickers(data):
            uri = get(
                f"forecast/{t}",
                lambda t=t: svg_chart.data_uri(
                    ticker_charts(
                        prices.get(t), predictions.get(t), None, t, plot_last=data.config.plot_last
                    )
                    if t in prices and t in predictions
                    else []
                ),
            )
            if uri:
                forecasts.append({"ticker": t, "uri": uri})
    errors = get(
        "errors", lambda: plots.error_plot(data.headline["by_fold"]) if data.headline else None
    )
    scatter = get("scatter", lambda: skill_plots.predicted_vs_realised_plot(data.predictions))
    sqerr = get("sqerr", lambda: skill_plots.error_difference_plot(data.predictions))
    equity = []
    if data.trading is not None:
        for name, curves in data.trading.curves.items():
            if not inline and name != PORTFOLIO:
                continue
            uri = get(
                f"equity/{name}",
                lambda c=curves, n=name: svg_chart.data_uri(ticker_charts(None, None, c, n)),
            )
            if uri:
                equity.append({"name": name, "uri": uri})
    training = get(
        "training",
        lambda: training_plot(
            data.histories,
            explode_threshold=data.explode_threshold,
            vanish_threshold=data.vanish_threshold,
        ),
    )
    headline = data.headline or {}
    skill = None
    if len(table) >= CROSS_SECTION_MIN:
        skill = get("skill", lambda: skill_histogram(table, list(headline.get("horizons", []))))
    return {
        "forecasts": forecasts,
        "errors": errors,
        "scatter": scatter,
        "sqerr": sqerr,
        "equity": equity,
        "training": training,
        "skill": skill,
    }


def _cross(headline: Mapping[str, Any], table: list[dict[str, Any]]) -> dict[str, Any]:
    """The cross-section to show: ``cross_section``'s, or (``few``) every ticker's row."""
    cross = cross_section(headline, table=table)
    if cross["tickers"] >= CROSS_SECTION_MIN:
        return cross | {"few": False}
    ranked = [r for r in table if r["mean_ratio"] is not None]
    return cross | {"few": True, "best": ranked, "worst": [], "min_tickers": CROSS_SECTION_MIN}


def render_report(data: ReportData) -> str:
    """Render one run's self-contained HTML report.

    Sections (element ids): ``headline``, ``cross-section``, ``forecasts``, ``errors``,
    ``trading``, ``training``, ``leakage``, ``metadata``. A section without data says so.
    Per-ticker detail is on the ticker pages (``render_pages``); runs of at most
    ``INLINE_MAX`` tickers also show it here.
    """
    headline = data.headline or {}
    train_rows, train_notes = training_diagnostics(
        data.histories, data.explode_threshold, data.vanish_threshold
    )
    inline = _inline(data)
    table = skill_table(headline)  # every ticker's skill: the cross-section and its histogram
    trading_rows = []
    if data.trading is not None:
        trading_rows = [
            {**r, "label": LABELS.get(r["strategy"], r["strategy"])}
            for r in data.trading.rows
            if inline or r["name"] == PORTFOLIO
        ]
    context = {
        "d": data,
        "headline": headline,
        "verdicts": headline.get("verdicts", []),
        "headline_rows": _headline_rows(headline),
        "error_table": error_table,
        "ticker_rows": _ticker_rows(headline) if inline else [],
        "tickers": _tickers(data),
        "inline": inline,
        "ticker_links": [{"ticker": t, "href": page_path(t)} for t in _tickers(data)],
        "cross": _cross(headline, table),
        "cov": coverage_view(headline, data.audit, INLINE_MAX),
        "fig": _figures(data, table),
        "trading_rows": trading_rows,
        "train_rows": train_rows,
        "train_notes": train_notes,
        "audit_columns": [label for _, label in AUDIT_COLUMNS],
        "audit_rows": _audit_rows(data.audit),
        "data_range_columns": list(dict.fromkeys(k for r in data.data_ranges for k in r)),
    }
    return _env().get_template("report.html").render(**context)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (as it was before, afterwards).

    Drawing allocates hundreds of thousands of short-lived objects, which trigger full
    collections; with TensorFlow and Keras loaded each walks half a million long-lived objects
    (about 0.2 s). Reference counting still frees almost everything the pages allocate; the
    few cycles left wait for the next collection after rendering.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


#: The templates a run's pages render, with those they include (loaded at render time).
RUN_TEMPLATES = (
    "report.html",
    "ticker.html",
    "base.html",
    "style.css",
    "_coverage.html",
    "_cross_section.html",
)


def prepare() -> None:
    """Compile the run's page templates ahead of ``render_pages`` (the environment keeps them)."""
    for name in RUN_TEMPLATES:
        _env().get_template(name)


def render_pages(data: ReportData) -> dict[str, str]:
    """The run's pages: ``report.html`` and every ``tickers/<name>.html``, by relative path."""
    with gc_paused():
        return _render_pages(data)


def _render_pages(data: ReportData) -> dict[str, str]:
    pages = {"report.html": render_report(data)}
    pages |= render_ticker_pages(
        title=data.title,
        run_id=data.run_id,
        created=data.created,
        tickers=_tickers(data),
        headline=data.headline or {},
        predictions=data.predictions,
        prices=data.prices,
        trading=data.trading,
        data_ranges=data.data_ranges,
        plot_last=data.config.plot_last,
    )
    return pages
