"""Walk-forward backtest: honest verdicts, no leakage end to end, and the output contract."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from stackcast.pipeline.config import parse_config
from stackcast.pipeline.workflows.backtest import CONTRACT_COLUMNS, backtest, run_backtest
from stackcast.pipeline.workflows.steps import Steps
from stackcast.reports.metrics import evaluate

from tests.conftest import sessions

TINY = """
name = "tiny"
[data]
source = "sample"
tickers = ["AAA"]
[features]
window = 16
horizons = 2
min_history = 8
inputs = ["log_return", "observed"]
[model]
layers = [{cell = "gru", units = 8}]
dropout = 0.0
between_dropout = 0.0
[train]
epochs = 12
batch_size = 64
learning_rate = 0.005
patience = 4
mc_samples = 5
warm_epochs = 3
[backtest]
folds = 2
test_size = 120
mode = "rolling"
train_size = 900
"""


def series(returns: np.ndarray, ticker: str = "AAA", start: str = "2010-01-04") -> pd.DataFrame:
    dates = sessions(start, periods=len(returns) + 1)
    close = 100 * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))
    return pd.DataFrame({"date": dates, "ticker": ticker, "close": close})


def ar1(n: int, phi: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    eps = rng.normal(0, 0.01, n)
    r = np.zeros(n)
    for t in range(1, n):
        r[t] = phi * r[t - 1] + eps[t]
    return r


def run(frame: pd.DataFrame, text: str = TINY):
    cfg = parse_config(text)
    return cfg, backtest(cfg, frame).run


def test_model_beats_random_walk_on_ar1_signal():
    cfg, out = run(series(ar1(1400, 0.6, seed=1)))
    metrics = evaluate(out.predictions, out.scale, cfg.report)
    verdict = next(v for v in metrics["verdicts"] if v["horizon"] == 1)
    assert verdict["beats_random_walk"], verdict["sentence"]
    assert "does not" not in verdict["sentence"]


def test_model_does_not_beat_random_walk_on_noise():
    rng = np.random.default_rng(7)
    cfg, out = run(series(rng.normal(0, 0.01, 1400)))
    metrics = evaluate(out.predictions, out.scale, cfg.report)
    assert not any(v["beats_random_walk"] for v in metrics["verdicts"])
    assert all("does not beat a random walk" in v["sentence"] for v in metrics["verdicts"])


def test_perturbing_the_future_leaves_earlier_forecasts_unchanged():
    frame = series(ar1(1400, 0.3, seed=3))
    cfg, base = run(frame)
    cutoff_origin = base.predictions["origin"].sort_values().unique()[60]
    d = pd.Timestamp(cutoff_origin)
    changed = frame.copy()
    after = changed["date"] >= d
    changed.loc[after, "close"] *= np.exp(np.random.default_rng(0).normal(0, 0.05, after.sum()))
    _, other = run(changed)
    h = cfg.features.horizons
    limit = d - pd.offsets.BDay(h)
    keep = base.predictions["origin"] < limit
    assert keep.sum() > 100
    cols = ["y_pred", "lo", "hi", "drift", "ridge"]
    a = base.predictions.loc[keep, cols].to_numpy()
    b = other.predictions.loc[keep, cols].to_numpy()
    np.testing.assert_array_equal(a, b)
    # ...and the perturbation did reach the later forecasts.
    assert not np.allclose(
        base.predictions.loc[~keep, "y_pred"], other.predictions.loc[~keep, "y_pred"]
    )


def test_run_backtest_writes_the_contract(tmp_path, home):
    prices = series(ar1(1100, 0.3, seed=5), ticker="ACME")
    path = tmp_path / "acme.csv"
    prices.drop(columns="ticker").assign(date=prices["date"].dt.strftime("%Y-%m-%d")).to_csv(
        path, index=False
    )
    text = TINY.replace('source = "sample"', f'source = "{path}"').replace(
        'tickers = ["AAA"]', 'tickers = ["ACME"]'
    )
    cfg = parse_config(text.replace("train_size = 900", "train_size = 600"))
    lines: list[str] = []
    out = tmp_path / "out"
    _, run_dir = run_backtest(cfg, out=out, steps=Steps(lines.append))
    assert run_dir == out.resolve()
    forecasts = pd.read_parquet(out / "forecasts.parquet")
    assert list(forecasts.columns) == [*CONTRACT_COLUMNS, "lo", "hi"]
    assert set(forecasts["horizon"]) == {1, 2}
    assert (forecasts["ticker"] == "ACME").all()
    metrics = json.loads((out / "metrics.json").read_text())
    assert "model" in metrics and set(metrics["baselines"]) == {"random_walk", "drift", "ridge"}
    html = (out / "report.html").read_text()
    assert "ACME" in html and "Leakage audit" in html
    page = (out / "tickers" / "ACME.html").read_text()  # published with the rest of the run
    assert 'href="tickers/ACME.html"' in html and 'href="../report.html"' in page
    assert any(line.startswith("fold 2/2 done") for line in lines)
    # No staging directories are left behind.
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".staging")]


def test_default_run_dir_is_indexed(home, tmp_path):
    prices = series(ar1(1100, 0.3, seed=6), ticker="ACME")
    path = tmp_path / "ACME.parquet"
    prices.drop(columns="ticker").to_parquet(path)
    text = TINY.replace('source = "sample"', f'source = "{path}"').replace(
        'tickers = ["AAA"]', 'tickers = ["ACME"]'
    )
    cfg = parse_config(text.replace("epochs = 12", "epochs = 2"))
    _, run_dir = run_backtest(cfg)
    assert run_dir.parent == (home / "runs").resolve()
    index = (home / "index.html").read_text()
    assert run_dir.name in index


@pytest.mark.parametrize("n", [30])
def test_too_short_history_is_a_clear_data_error(n):
    from stackcast.pipeline.errors import DataError

    with pytest.raises(DataError, match="not enough history"):
        run(series(ar1(n, 0.1, seed=1)))


def test_a_price_frames_last_date_is_pandas_max() -> None:
    from stackcast.pipeline.workflows.backtest import last_date

    dates = pd.to_datetime(["2024-01-03", None, "2024-01-05", "2024-01-04"])
    frame = pd.DataFrame({"date": dates, "close": 1.0})
    assert pd.Timestamp(last_date(frame)) == frame["date"].max() == pd.Timestamp("2024-01-05")
    assert last_date(frame.iloc[:0]) is None and last_date(frame.iloc[1:2]) is None
    text = pd.DataFrame({"date": ["2024-01-02", "2024-01-09"], "close": 1.0})
    assert last_date(text) == "2024-01-09"
