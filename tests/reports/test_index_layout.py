"""The index of runs in headless Chromium: the verdict is in view, with no sideways scroll."""

from __future__ import annotations

import shutil

import pytest
from stackcast.reports.run_index import render_index

from tests.prefect_support import CHROMIUM_ARGS

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="playwright is not installed (pip install playwright; the browser is Debian's chromium)",
)
CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not on PATH")

WIDTHS = (390, 768, 1024, 1280, 1440, 1920, 2200)
VERDICT = (
    "the model does not beat a random walk at horizon 1, p = 0.41 (Diebold-Mariano, one-sided, "
    "pooled over 400 tickers and 378 origins; MAE 1.234% vs 1.229%)"
)


def runs() -> list[dict]:
    tickers = [f"TICK{i:03d}" for i in range(40)]
    return [
        {
            "run_id": f"20240{k}01-030405-backtest-with-a-long-name",
            "created": f"2024-0{k}-01T03:04:05+00:00",
            "kind": "backtest",
            "title": "stackcast backtest of a wide universe with a long title",
            "tickers": tickers,
            "mae_model": 0.01234,
            "mae_rw": 0.01229,
            "verdict": VERDICT,
        }
        for k in range(1, 4)
    ]


def test_verdict_visible_without_scrolling(tmp_path):
    page_file = tmp_path / "index.html"
    page_file.write_text(render_index(runs()), encoding="utf-8")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page()
            page.goto(page_file.as_uri())
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                got = page.evaluate(
                    """() => {
                      const wrap = document.querySelector('.table-wrap');
                      const cell = document.querySelector('tbody tr:first-child td:last-child');
                      const r = cell.getBoundingClientRect();
                      return {scroll: wrap.scrollWidth - wrap.clientWidth,
                              page: document.documentElement.scrollWidth - innerWidth,
                              left: r.left, right: r.right, width: r.width};
                    }"""
                )
                assert got["scroll"] <= 1 and got["page"] <= 1, (width, got)
                assert got["left"] >= 0 and got["right"] <= width, (width, got)
                assert got["width"] >= min(200, width - 40), (width, got)  # readable, not squeezed
        finally:
            browser.close()
