"""Per-ticker pages and the cross-section: many tickers without a report that grows per ticker.

The report layer is called directly with synthetic predictions (no training).
"""

from __future__ import annotations

import re

import pytest
from stackcast.reports.config import ReportConfig
from stackcast.reports.html import ReportData, render_pages
from stackcast.reports.metrics import evaluate
from stackcast.reports.ticker_pages import INLINE_MAX, page_path, safe_name
from stackcast.reports.trading import simulate

from tests.reports import synth
from tests.reports.test_html import assert_self_contained

ODD = ("BRK.B", "^GSPC", "EURUSD=X")


def universe(n: int) -> tuple[str, ...]:
    return (*ODD, *(f"T{k:03d}" for k in range(n - len(ODD))))


def pages_for(tickers: tuple[str, ...]) -> dict[str, str]:
    cfg = ReportConfig(title="many tickers", plot_last=120)
    px = synth.prices(tickers=tickers, n=220)
    pr = synth.predictions(px, folds=2, test_size=30, skill=0.4, horizons=3)
    data = ReportData(
        title=cfg.title,
        run_id="20240102-030405-backtest",
        created="2024-01-02T03:04:05+00:00",
        headline=evaluate(pr, synth.scale(px), cfg, nominal_coverage=0.8),
        trading=simulate(pr, cfg),
        predictions=pr,
        prices=px,
        audit=synth.audit(2),
        histories=[synth.history(seed=i) for i in range(2)],
        data_ranges=[{"ticker": t, "start": "2020-01-01", "bars": 220} for t in tickers],
        config=cfg,
    )
    return render_pages(data)


@pytest.fixture(scope="module")
def many() -> dict[str, str]:
    return pages_for(universe(30))


def test_safe_names_are_file_safe_and_distinct():
    names = ["BRK.B", "BRK-B", "BRK_B", "BRK_2EB", "^GSPC", "EURUSD=X", "a/b", "..", "MSFT"]
    safe = [safe_name(t) for t in names]
    assert len(set(safe)) == len(names)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+", s) for s in safe)
    assert safe_name("BRK.B") == "BRK_2EB" and safe_name("MSFT") == "MSFT"
    assert page_path("^GSPC") == "tickers/_5EGSPC.html"


def test_every_ticker_has_a_self_contained_page_linked_both_ways(many):
    tickers = universe(30)
    report = many["report.html"]
    assert set(many) == {"report.html", *(page_path(t) for t in tickers)}
    for t in tickers:
        page = many[page_path(t)]
        assert_self_contained(page)
        assert f'href="{page_path(t)}"' in report
        assert 'href="../report.html"' in page
        assert re.search(r"<h1>\s*" + re.escape(t.replace("&", "&amp;")), page)
        assert page.count('<svg class="chart"') == 3  # forecasts, equity, drawdown
        assert "Errors by horizon" in page and "random walk" in page
    for href in re.findall(r'href="([^"#]+)', many[page_path("T000")]):
        # neighbours and the report: every link resolves to a page of this run
        target = "report.html" if href == "../report.html" else f"tickers/{href}"
        assert target in many, href


def test_main_report_has_the_cross_section_and_best_and_worst_tables(many):
    report = many["report.html"]
    assert_self_contained(report)
    assert '<section id="cross-section">' in report and 'href="#cross-section"' in report
    for table in ("best-tickers", "worst-tickers"):
        body = report.split(f'<table class="{table}">', 1)[1].split("</table>", 1)[0]
        assert body.count('<a href="tickers/') == 10
    assert "MAE ratio model / random walk" in report
    # per-ticker detail is on the pages, not inline: no per-ticker figures or table rows
    assert "forecasts for T000" not in report
    assert "equity and drawdown: T000" not in report


def test_report_size_does_not_grow_with_embedded_images_per_ticker(many):
    few = pages_for(universe(12))["report.html"]
    report = many["report.html"]
    assert few.count("data:image/png") == report.count("data:image/png")
    per_ticker = (len(report) - len(few)) / (30 - 12)
    assert per_ticker < 1500, per_ticker  # a link and a data-range row, no images


def test_small_runs_keep_the_per_ticker_figures_inline_and_still_get_pages():
    tickers = ("AAA", "BBB")
    assert len(tickers) <= INLINE_MAX
    pages = pages_for(tickers)
    report = pages["report.html"]
    assert "forecasts for AAA" in report and "forecasts for BBB" in report
    assert set(pages) == {"report.html", "tickers/AAA.html", "tickers/BBB.html"}


def test_flags_are_adjusted_across_tickers_and_the_cross_section_says_what_chance_gives(many):
    report = many["report.html"]
    section = report.split('<section id="cross-section">', 1)[1].split("</section>", 1)[0]
    section = " ".join(section.split())
    # 30 tickers x 3 horizons: one Holm family, and what chance alone would flag unadjusted.
    assert "Holm-adjusted across all 90 ticker x horizon tests" in section
    assert "about 4.5 raw p-values below 0.05 by chance" in section
    assert "Lowest ratios" in section and "Best tickers" not in section
    assert "not evidence of skill" in section
    page = " ".join(many[page_path("T000")].split())
    assert "every ticker at every horizon of the run (90 tests)" in page
