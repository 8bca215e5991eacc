"""Every kind of page stackcast writes, in headless Chromium at a phone's and a desktop's width.

One module fixture makes real runs of the shrunk demo config in a fresh STACKCAST_HOME
(backtest, train, the daily forecast, a two-candidate sweep: about half a minute on two cores)
and renders a twelve-ticker report from synthetic data (the cross-section's histogram and the
per-ticker pages' layout). Each page, at 390 and 1,400 px (and 360 and 2,560 px for the
page-level check):

- never scrolls sideways as a whole (``scrollWidth <= innerWidth``); wide tables scroll in
  their own box;
- shows its verdict (the report's and sweep's verdict lines, the index's verdict column)
  entirely in view;
- scales every figure to its column: nothing drawn is wider than its box, and on a desktop a
  figure takes the column's width and every table shows whole;
- at 390 px, shows the newest forecast without scrolling sideways: the forecast figures whole,
  the ticker page's price chart up to its last drawn point, the daily table's forecast and
  interval columns.

Needs ``pip install playwright`` and a ``chromium`` on PATH (``apt-get install chromium``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pipeline.sweep_support import tiny_config
from tests.prefect_support import CHROMIUM_ARGS

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="playwright is not installed (pip install playwright; the browser is Debian's chromium)",
)
CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="chromium is not on PATH (apt-get install chromium)"
    ),
]

PHONE, DESKTOP = 390, 1400
SCROLL_WIDTHS = (360, PHONE, DESKTOP, 2560)

# Measures one page as laid out now; every rectangle is in viewport pixels.
PROBE = """() => {
  const r = (e) => { const b = e.getBoundingClientRect(); return {left: b.left, right: b.right}; };
  // the visible part of an element inside its nearest sideways-scrolling box, if any
  const clip = (e) => {
    const box = e.closest('.table-wrap, figure .scroll');
    return box ? r(box) : {left: 0, right: innerWidth};
  };
  const seen = (e) => {
    const b = r(e), c = clip(e);
    return {...b, inside: b.left >= Math.max(0, c.left) - 1
                          && b.right <= Math.min(innerWidth, c.right) + 1};
  };
  const main = document.querySelector('main');
  const pad = parseFloat(getComputedStyle(main).paddingLeft)
            + parseFloat(getComputedStyle(main).paddingRight);
  const figures = [...document.querySelectorAll('figure img, figure svg.chart')].map((e) => ({
    ...seen(e), width: e.getBoundingClientRect().width,
    box: e.parentElement.clientWidth,
  }));
  // the rightmost point drawn in the first chart (the latest forecast path ends there)
  let lastPoint = null;
  const chart = document.querySelector('svg.chart');
  if (chart) {
    const m = chart.getScreenCTM();
    for (const line of chart.querySelectorAll('polyline')) {
      for (const p of line.points) {
        const x = p.matrixTransform(m).x;
        if (lastPoint === null || x > lastPoint) lastPoint = x;
      }
    }
  }
  const cells = (name) => {
    const th = [...document.querySelectorAll('th')].find((e) => e.textContent.trim() === name);
    if (!th) return [];
    const k = th.cellIndex, table = th.closest('table');
    return [th, ...[...table.tBodies[0].rows].map((row) => row.cells[k])].map(seen);
  };
  return {
    page: document.documentElement.scrollWidth - innerWidth,
    tables: document.querySelectorAll('table').length,
    wrapped: document.querySelectorAll('.table-wrap > table').length,
    tableScroll: Math.max(0, ...[...document.querySelectorAll('.table-wrap')]
                                 .map((e) => e.scrollWidth - e.clientWidth)),
    verdicts: [...document.querySelectorAll('.verdicts li, td.verdict')].map(seen),
    column: main.clientWidth - pad,
    figures,
    forecastImages: [...document.querySelectorAll('img[alt^="forecasts for"]')].map(seen),
    lastPoint, chartBox: chart ? clip(chart) : null,
    forecastCells: cells('forecast'), intervalCells: cells('interval'),
  };
}"""


def make_pages(home: Path) -> dict[str, Path]:
    """Real runs in ``home`` and a synthetic many-ticker report; page kind -> file."""
    from stackcast.pipeline.environment import use_runtime
    from stackcast.pipeline.workflows.backtest import run_backtest
    from stackcast.pipeline.workflows.daily import daily_forecast
    from stackcast.pipeline.workflows.steps import Steps
    from stackcast.pipeline.workflows.sweep import run_sweep
    from stackcast.pipeline.workflows.training import retrain

    from tests.reports.test_ticker_pages import pages_for, universe

    cfg = tiny_config(home, train={"mc_samples": 3})  # intervals on: the widest daily table
    use_runtime(cfg)
    _, backtest = run_backtest(cfg, steps=Steps())
    trained = retrain(cfg, steps=Steps())
    daily = daily_forecast(cfg, None, steps=Steps())
    _, sweep = run_sweep(cfg, {"model.dropout": [0.0, 0.1]}, steps=Steps())
    many = home / "many"
    for name, html in pages_for(universe(12)).items():
        (many / name).parent.mkdir(parents=True, exist_ok=True)
        (many / name).write_text(html, encoding="utf-8")
    return {
        "index": home / "index.html",
        "backtest": backtest / "report.html",
        "ticker": backtest / "tickers" / "GOOG.html",
        "train": trained.run_dir / "report.html",
        "daily": Path(daily.report),
        "sweep": sweep / "report.html",
        "many tickers": many / "report.html",
        "many tickers, a ticker page": many / "tickers" / "T000.html",
    }


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    home = tmp_path_factory.mktemp("pages-home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("STACKCAST_HOME", str(home))
        pages = make_pages(home)
    for kind, path in pages.items():
        assert path.is_file(), (kind, path)
    return pages


@pytest.fixture(scope="module")
def browser_page() -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            yield browser.new_page()
        finally:
            browser.close()


def measure(page: Any, path: Path, width: int) -> dict[str, Any]:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(path.as_uri())
    return page.evaluate(PROBE)


def assert_fits(kind: str, width: int, got: dict[str, Any]) -> None:
    """No sideways page scroll, tables in their boxes, verdicts in view, figures scaled."""
    where = (kind, width)
    assert got["page"] <= 0, (*where, "the page scrolls sideways by", got["page"])
    assert got["tables"] == got["wrapped"], (*where, "a table outside a scrolling box")
    for verdict in got["verdicts"]:
        assert verdict["inside"], (*where, "verdict out of view", verdict)
    for fig in got["figures"]:
        assert fig["inside"] and fig["width"] <= fig["box"] + 1, (*where, "figure too wide", fig)
        if width == DESKTOP:  # a desktop's column, used: no fixed cap below it
            assert fig["width"] >= got["column"] - 2, (*where, got["column"], fig)
    if width == DESKTOP:  # and every table whole: none clipped in its box
        assert got["tableScroll"] <= 1, (*where, "a table scrolls in its box", got["tableScroll"])


@pytest.mark.timeout(300)
def test_every_page_kind_fits_a_phone_and_a_desktop(pages, browser_page) -> None:
    verdict_pages = {"index", "backtest", "train", "sweep", "many tickers"}
    for kind, path in pages.items():
        for width in SCROLL_WIDTHS:
            got = measure(browser_page, path, width)
            if width not in (PHONE, DESKTOP):
                assert got["page"] <= 0, (kind, width, "the page scrolls sideways", got["page"])
                continue
            assert_fits(kind, width, got)
            if kind in verdict_pages:
                assert got["verdicts"], (kind, width, "no verdict on the page")
            if kind in {"backtest", "train", "ticker", "many tickers"}:
                assert got["figures"], (kind, width, "no figure on the page")


def test_newest_forecast_is_in_view_on_a_phone(pages, browser_page) -> None:
    # the backtest report of two tickers draws each ticker's forecasts inline, whole
    got = measure(browser_page, pages["backtest"], PHONE)
    assert len(got["forecastImages"]) == 2
    assert all(img["inside"] for img in got["forecastImages"]), got["forecastImages"]

    # a ticker page: the price chart's last point (the latest forecast path's end)
    for kind in ("ticker", "many tickers, a ticker page"):
        got = measure(browser_page, pages[kind], PHONE)
        box = got["chartBox"]
        assert got["lastPoint"] is not None, kind
        assert max(0, box["left"]) <= got["lastPoint"] <= min(PHONE, box["right"]), (kind, got)

    # the daily report: every row's forecast and interval, without scrolling the table
    got = measure(browser_page, pages["daily"], PHONE)
    for column in ("forecastCells", "intervalCells"):
        cells = got[column]
        assert len(cells) == 1 + 2 * 2, (column, cells)  # the header, 2 tickers x 2 horizons
        assert all(c["inside"] for c in cells), (column, cells)
