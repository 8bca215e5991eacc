"""The report's figures: PNG or SVG data URIs, tolerant of missing data, no figure leaks."""

from __future__ import annotations

import base64
import subprocess
import sys
import xml.etree.ElementTree as ET

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from stackcast.reports import histories, plots, skill_plots, training_plot
from stackcast.reports.metrics import error_by_fold

from tests.reports import synth

PNG = b"\x89PNG\r\n\x1a\n"


def png(uri: str | None) -> bytes:
    assert uri is not None and uri.startswith("data:image/png;base64,")
    data = base64.b64decode(uri.split(",", 1)[1], validate=True)
    assert data.startswith(PNG)
    return data


def svg(uri: str | None) -> ET.Element:
    """The parsed standalone SVG document of a data URI (well formed, loads nothing)."""
    assert uri is not None and uri.startswith("data:image/svg+xml;base64,")
    text = base64.b64decode(uri.split(",", 1)[1], validate=True).decode("utf-8")
    root = ET.fromstring(text)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "href" not in text and "url(http" not in text
    return root


def count(root: ET.Element, tag: str) -> int:
    return len(root.findall(f".//{{http://www.w3.org/2000/svg}}{tag}"))


@pytest.fixture(scope="module")
def data():
    px = synth.prices(n=200)
    return px, synth.predictions(px, folds=2, test_size=30)


def test_error_plot(data):
    _, pr = data
    by_fold = error_by_fold(pr)
    root = svg(plots.error_plot(by_fold))
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    cells = pd.DataFrame(by_fold).pivot_table(
        index=["fold", "horizon"], columns="predictor", values="mae"
    )
    ratios = cells["model"] / cells["random_walk"]
    assert {f"{v:.2f}" for v in ratios} <= set(texts)  # every cell's ratio written in it
    assert "model / RW MAE" in texts and "mean MAE over folds" in texts
    assert plots.error_plot([]) is None
    assert plots.diverging(np.array([0.0, 0.5, 1.0])) == ["#053061", "#f7f7f7", "#67001f"]


def test_report_figures_do_not_load_matplotlib():
    code = (
        "import sys\n"
        "from stackcast.reports import html, plots, skill_plots, training_plot\n"
        "from stackcast.reports.metrics import error_by_fold\n"
        "from tests.reports import synth\n"
        "pr = synth.predictions(synth.prices(n=120), folds=2, test_size=20)\n"
        "assert plots.error_plot(error_by_fold(pr))\n"
        "assert skill_plots.predicted_vs_realised_plot(pr)\n"
        "assert training_plot.training_plot([synth.history()])\n"
        "assert 'matplotlib' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_training_plot_tolerates_missing_keys():
    full = [synth.history(seed=i) for i in range(3)]
    root = svg(training_plot.training_plot(full, explode_threshold=1e3, vanish_threshold=1e-7))
    texts = "".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "fold 1" in texts and "fold 3" in texts and "gradient norm" in texts
    svg(training_plot.training_plot({0: {"loss": [1.0, 0.5]}, 1: {}}))  # mapping, gaps
    svg(training_plot.training_plot([{"grad_norm/rnn_0": [0.1, 0.2]}]))  # a plain list of norms
    svg(training_plot.training_plot([{"loss": [1.0, np.nan, np.inf]}]))  # a blown-up fold
    odd = svg(training_plot.training_plot({"<b>&": {"loss": [1.0, 0.5]}}))  # escaped fold name
    assert any(t.text == "fold <b>&" for t in odd.iter("{http://www.w3.org/2000/svg}text"))
    assert training_plot.training_plot(None) is None
    assert training_plot.training_plot([{}, {"val_loss": []}]) is None
    layers = histories.grad_layers(
        {"grad_norm/a": {"mean": [1.0], "max": [2.0]}, "grad_norm/b": "x"}
    )
    assert list(layers) == ["a"]
    assert layers["a"]["max"].tolist() == [2.0]


def test_no_pyplot_figures_leak(data):
    _, pr = data
    before = plt.get_fignums()
    plots.error_plot(error_by_fold(pr))
    training_plot.training_plot([synth.history()])
    assert plt.get_fignums() == before


def test_fold_histories_forms():
    one = synth.history()
    assert [k for k, _ in histories.fold_histories(one)] == ["1"]  # a single history
    assert [k for k, _ in histories.fold_histories({3: one, 4: one})] == ["3", "4"]
    assert [k for k, _ in histories.fold_histories([one, None, one])] == ["1", "3"]  # from fold 1


def test_grad_layers_reads_flat_keras_history_keys():
    hist = {"grad_norm/rnn_0/mean": [0.1, 0.2], "grad_norm/rnn_0/max": [0.3, 0.4], "loss": [1.0]}
    layers = histories.grad_layers(hist)
    assert list(layers) == ["rnn_0"]
    assert layers["rnn_0"]["max"].tolist() == [0.3, 0.4]


def test_predicted_vs_realised_and_error_difference(data):
    _, pr = data
    big = svg(skill_plots.predicted_vs_realised_plot(pr))
    scored = int(pr.loc[pr["horizon"] == 1, ["y_true", "y_pred"]].notna().all(axis=1).sum())
    assert scored > 50
    thin = svg(skill_plots.predicted_vs_realised_plot(pr, horizons=[1], max_points=50))
    assert count(thin, "circle") == 50  # thinned to max_points; the fit uses every row
    assert (
        f"n = {scored:,}"
        in base64.b64decode(
            skill_plots.predicted_vs_realised_plot(pr, horizons=[1], max_points=50).split(",")[1]
        ).decode()
    )
    svg(skill_plots.error_difference_plot(pr))
    svg(skill_plots.error_difference_plot(pr.drop(columns=["random_walk"])))  # RW forecasts 0
    assert skill_plots.predicted_vs_realised_plot(pr.assign(y_true=np.nan)) is None
    assert skill_plots.error_difference_plot(None) is None
    assert skill_plots.error_difference_plot(pr, horizons=[99]) is None
    assert len(ET.tostring(big)) < 400_000  # modest: one portfolio-level figure


def test_headline_horizons_and_series_styles():
    from stackcast.reports.figures import headline_horizons, series_style

    assert headline_horizons([3, 1, 2]) == [1, 2, 3]
    assert headline_horizons(range(1, 21), most=4) == [1, 7, 14, 20]
    styles = {(s["color"], str(s["ls"])) for s in map(series_style, range(6))}
    assert len({c for c, _ in styles}) == 6 and len({ls for _, ls in styles}) == 6


def test_skill_histogram_counts_the_better_tickers():
    from stackcast.reports.cross_section import skill_histogram

    rng = np.random.default_rng(0)
    ratios = 1 + 0.05 * rng.standard_normal((12, 2))
    table = [{"ratios": {1: a, 2: b}} for a, b in ratios]
    root = svg(skill_histogram(table, [1, 2]))
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    for i, h in enumerate((1, 2)):
        assert f"h = {h}" in texts
        assert f"{int((ratios[:, i] < 1).sum())}/12 better" in texts
    assert skill_histogram([{"ratios": {1: float("nan")}}], [1]) is None


def test_svg_ticks():
    from stackcast.reports.svg_plot import dash_of, ticks

    assert [label for _, label in ticks(0.0, 1.0)] == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]
    assert [v for v, _ in ticks(0.0015, 0.3, "log")] == [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2]
    assert dash_of("--") == "5,3" and dash_of("-") == "" and dash_of((0, (8, 2))) == "8,2"
