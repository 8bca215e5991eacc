"""reports.html: one self-contained, escaped page with every section; the index of runs."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from stackcast.reports.config import ReportConfig
from stackcast.reports.histories import training_diagnostics
from stackcast.reports.html import ReportData, render_report
from stackcast.reports.metrics import evaluate
from stackcast.reports.run_index import index_entry, render_index
from stackcast.reports.trading import simulate

from tests.reports import synth

SECTIONS = ("headline", "forecasts", "errors", "trading", "training", "leakage", "metadata")
EVIL = "<script>alert(1)</script>"
EVIL_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def assert_self_contained(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    for bad in ("http://", "https://", 'src="//', 'href="//', "<link", "<script", "@import"):
        assert bad not in html, bad
    assert 'name="viewport"' in html
    assert "Content-Security-Policy" in html
    for src in re.findall(r'src="([^"]*)"', html):
        assert src.startswith(("data:image/png;base64,", "data:image/svg+xml;base64,"))
    own_page = r"#[\w-]+|(\.\./|runs/[\w.%-]+/|tickers/)?[\w.-]+\.html(#[\w-]+)?"
    for href in re.findall(r'href="([^"]*)"', html):  # sections or the run's own pages
        assert re.fullmatch(own_page, href), href


def sample_data(ticker: str = "AAA", **overrides) -> ReportData:
    cfg = ReportConfig(title=overrides.pop("title", "stackcast sample"), plot_last=120)
    px = synth.prices(tickers=(ticker, "BBB"), n=260)
    pr = synth.predictions(px, folds=2, test_size=40, skill=0.6)
    h5 = pr["horizon"] == 5
    pr.loc[h5, "y_pred"] = -pr.loc[h5, "y_true"].fillna(0.0)  # wrong way round at h = 5
    hist = [synth.history(seed=i) for i in range(2)]
    hist[1]["grad_norm/rnn_0"]["max"][2] = 5e4
    fields = {
        "title": cfg.title,
        "run_id": "20240102-030405-backtest",
        "created": "2024-01-02T03:04:05+00:00",
        "headline": evaluate(pr, synth.scale(px), cfg, nominal_coverage=0.8),
        "trading": simulate(pr, cfg),
        "predictions": pr,
        "prices": px,
        "audit": synth.audit(2),
        "histories": hist,
        "config_text": 'name = "demo"\n[report]\ncost_bps = 5.0\n',
        "data_ranges": [
            {"ticker": ticker, "start": "2020-01-01", "end": "2020-12-31", "bars": 260}
        ],
        "versions": {"numpy": "2", "keras": "3.15"},
        "git_commit": "abc1234",
        "device": "CPU",
        "warnings": ["volume_z left out: the file has no volume column"],
        "config": cfg,
    }
    return ReportData(**(fields | overrides))


@pytest.fixture(scope="module")
def data() -> ReportData:
    return sample_data()


@pytest.fixture(scope="module")
def report(data: ReportData) -> str:
    return render_report(data)


def test_report_has_every_section_and_is_self_contained(report):
    assert_self_contained(report)
    for section in SECTIONS:
        assert f'<section id="{section}">' in report
        assert f'href="#{section}"' in report
    # Every figure SVG: forecasts (2 tickers), errors, predicted vs realised, squared-error
    # difference, equity (portfolio + 2 tickers), training (2 tickers: per-ticker figures
    # inline, and the cross-section is a table of every ticker, no histogram)
    assert "data:image/png;base64," not in report
    assert report.count("data:image/svg+xml;base64,") == 2 + 1 + 1 + 1 + 3 + 1
    cross = report.split('id="cross-section"')[1].split("</section>")[0]
    assert "<table" in cross and "quantiles over tickers" not in cross
    assert cross.count('<a href="tickers/') == 2


def test_report_headline_sentences_and_table(report):
    assert "the model beats a random walk at horizon 1, holm p" in report.lower()
    assert re.search(r"does not beat a random walk at horizon \d, Holm p", report)
    assert "Holm-adjusted across 5 horizons" in report
    headline = report.split('id="headline"')[1].split("</section>")[0]
    for column in ("MAE", "RMSE", "MASE", "dir. acc.", "DM p"):
        assert column in headline
    for name in ("random walk", "drift", "ridge"):
        assert name in headline


def test_report_training_warnings_and_audit(report):
    training = report.split('id="training"')[1].split("</section>")[0]
    assert "exploding gradients in rnn_0" in training
    leakage = report.split('id="leakage"')[1].split("</section>")[0]
    assert leakage.count('class="ok"') == 2
    assert "volume_z left out" in report


def test_leaky_fold_is_flagged():
    audit = synth.audit(1)
    audit[0]["scaler_fit_end"] = "2020-12-31"  # scaler saw the test period
    html = render_report(ReportData(title="t", run_id="r", created="2024-01-01", audit=audit))
    assert "LEAK?" in html


def test_user_strings_are_escaped():
    html = render_report(
        sample_data(
            ticker=EVIL,
            title=EVIL,
            run_id=EVIL,
            warnings=[EVIL],
            config_text=f'title = "{EVIL}"',
            git_commit=EVIL,
            versions={EVIL: EVIL},
        )
    )
    assert EVIL not in html
    assert "<script" not in html
    assert html.count(EVIL_ESCAPED) >= 8
    assert_self_contained(html)


def test_minimal_report_renders_every_section():
    html = render_report(ReportData(title="empty", run_id="r1", created="2024-01-01T00:00:00"))
    assert_self_contained(html)
    for section in SECTIONS:
        assert f'<section id="{section}">' in html
    assert "No scored forecasts" in html


def test_prerendered_plots_only_accept_data_images():
    plots = {"training": "https://example.com/x.png", "errors": "data:image/png;base64,AAAA"}
    html = render_report(ReportData(title="t", run_id="r", created="c", plots=plots))
    assert "example.com" not in html
    assert 'src="data:image/png;base64,AAAA"' in html


def test_index_newest_first_linked_and_escaped(data):
    headline = data.headline
    runs = [
        index_entry("run-old", "2024-01-01T10:00:00", "backtest", headline, title="old"),
        index_entry("run-new", "2024-03-01T10:00:00+00:00", "daily", headline),
        index_entry("run-mid", "2024-02-01T10:00:00", "backtest", headline),
        {"run_id": EVIL, "created": "not a date", "kind": EVIL, "tickers": [EVIL]},
    ]
    html = render_index(runs)
    assert_self_contained(html)
    order = [html.index(f">{r}</a>") for r in ("run-new", "run-mid", "run-old")]
    assert order == sorted(order)
    assert 'href="runs/run-new/report.html"' in html
    assert EVIL not in html and EVIL_ESCAPED in html
    assert 'href="runs/%3Cscript%3Ealert%281%29%3C%2Fscript%3E/report.html"' in html
    assert "the model beats a random walk at horizon 1" in html


def test_index_entry_reads_h1_numbers(data):
    headline = data.headline
    e = index_entry("r", "2024-01-01", "backtest", headline)
    assert e["mae_model"] == headline["model"]["by_horizon"][0]["mae"]
    assert e["mae_rw"] == headline["baselines"]["random_walk"]["by_horizon"][0]["mae"]
    assert e["tickers"] == headline["tickers"]
    assert e["verdict"].startswith("the model")
    assert "No runs yet" in render_index([])


def test_training_diagnostics():
    hist = {
        "loss": [1.0, float("nan")],
        "val_loss": [0.9, 0.8],
        "grad_norm/rnn_0": {"mean": [1e-9, 1e-9], "max": [2e-9, 3e-9]},
        "grad_norm/dense": {"mean": [1.0, 2e4], "max": [3.0, float("inf")]},
    }
    rows, notes = training_diagnostics([hist], explode_threshold=1e3, vanish_threshold=1e-7)
    assert rows[0]["best_val_loss"] == 0.8 and rows[0]["best_epoch"] == 2
    assert rows[0]["max_grad_layer"] == "dense"
    text = " | ".join(notes)
    assert "non-finite loss" in text
    assert "exploding gradients in dense" in text
    assert "vanishing gradients in rnn_0" in text
    assert "exploding gradients in rnn_0" not in text


def _tables_without_heading(html: str) -> list[int]:
    """Positions of tables whose nearest preceding heading is further back than a figure or
    another table (each table must be introduced by its own h2/h3)."""
    missing = []
    for m in re.finditer(r"<table", html):
        before = html[: m.start()]
        heading = max(before.rfind("<h2"), before.rfind("<h3"))
        if heading < 0 or max(before.rfind("</table>"), before.rfind("<figure")) > heading:
            missing.append(m.start())
    return missing


def test_every_table_has_a_heading(report):
    # + the cross-section's table of every ticker, the coverage by fold and by ticker
    assert report.count("<table") == 7 + 1 + 2
    assert _tables_without_heading(report) == []
    index = render_index([index_entry("r", "2024-01-01T00:00:00", "backtest", None)])
    assert _tables_without_heading(index) == [] and "<h2>Runs</h2>" in index


def test_report_states_the_fill(report, data):
    trading = report.split('id="trading"')[1].split("</section>")[0]
    # The synthetic prices have no opens: next open was asked, every bar fell back.
    assert data.trading.fill == "next_open" and data.trading.fallback
    assert 'id="fill"' in trading and "fallback" in trading
    assert "Fill: next open" in trading and "fell back to the next close" in trading
    closed = sample_data(trading=simulate(data.predictions, ReportConfig(fill="next_close")))
    html = render_report(closed)
    assert "Fill: next close" in html and "fell back" not in html


def test_folds_are_numbered_from_one(report):
    from stackcast.features.splits import walk_forward

    days = pd.bdate_range("2020-01-01", periods=400).to_numpy().astype("datetime64[D]")
    splits = walk_forward(days, folds=3, test_size=40, embargo=5, horizons=5, mode="rolling",
                          train_size=200, min_train=100)  # fmt: skip
    html = render_report(
        ReportData(title="t", run_id="r", created="c", audit=[s.audit() for s in splits])
    )
    leakage = html.split('id="leakage"')[1].split("</section>")[0]
    firsts = re.findall(r"<tr>\s*<td class=\"\">(\d+)</td>", leakage)
    assert firsts == ["1", "2", "3"]
    training = report.split('id="training"')[1].split("</section>")[0]
    assert re.findall(r"<tr>\s*<td>(\d+)</td>", training) == ["1", "2"]
    assert "fold 2: exploding gradients" in training  # the second history's blow-up
    # The heatmap's rows are the forecasts' fold column, as the engine numbers it.
    assert {r["fold"] for r in sample_data().headline["by_fold"]} == {1, 2}


def test_index_counts_are_integers(data):
    entry = index_entry("r", "2024-01-01T00:00:00", "daily", None)
    entry["verdict"] = "published 1-step forecasts beat the random walk so far (n = 14.0)"
    html = render_index([entry])
    assert "n = 14)" in html and "14.0" not in html
    assert "2024-01-01 00:00:00" in html  # wraps at the space
