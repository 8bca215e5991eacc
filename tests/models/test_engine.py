"""The walk-forward engine runs any forecasters over the splits; a new one needs no report edit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from stackcast.features.config import FeatureConfig
from stackcast.features.panel import build_panel
from stackcast.features.splits import walk_forward
from stackcast.models import base, engine
from stackcast.models.base import FitInfo, Forecaster, Prediction, make_forecaster
from stackcast.models.baselines import Drift, RandomWalk, Ridge
from stackcast.reports.config import ReportConfig
from stackcast.reports.metrics import evaluate

from tests.conftest import sessions

FC = FeatureConfig(window=10, horizons=3, min_history=5, inputs=("log_return", "observed"))


class LastReturn(Forecaster):
    """Tomorrow's return is today's (a test forecaster: a module and one registry line)."""

    name = "last_return"

    def fit(self, panel, rows, *, fold=0, progress=None) -> FitInfo:
        self.fitted_on = rows.train.copy()
        return FitInfo(warnings=[f"fit on {len(rows.train)} origins"])

    def predict(self, panel, rows) -> Prediction:
        last = panel.X[rows, 0]
        return Prediction.point(np.repeat(last[:, None], panel.horizons, axis=1))


def panel_and_splits():
    rng = np.random.default_rng(0)
    dates = sessions("2015-01-01", periods=400)
    frames = {
        t: pd.DataFrame({"date": dates, "close": 50 * np.exp(np.cumsum(rng.normal(0, 0.01, 400)))})
        for t in ("AAA", "BBB")
    }
    panel = build_panel(frames, FC)
    splits = walk_forward(
        panel.calendar(), folds=3, test_size=20, embargo=3, horizons=3, mode="rolling",
        train_size=150, min_train=50,
    )  # fmt: skip
    return panel, splits


def test_any_forecasters_give_one_long_frame_with_a_column_each(monkeypatch) -> None:
    monkeypatch.setitem(base.FORECASTERS, "last_return", f"{__name__}:LastReturn")
    panel, splits = panel_and_splits()
    model = make_forecaster("drift", features=FC)
    extra = [make_forecaster(n, features=FC) for n in ("random_walk", "ridge", "last_return")]
    assert isinstance(extra[0], RandomWalk) and isinstance(extra[1], Ridge)
    run = engine.backtest(panel, splits, model, extra)
    frame = run.predictions
    assert {"y_pred", "lo", "hi", "random_walk", "ridge", "last_return"} <= set(frame.columns)
    assert len(frame) == sum(len(s.rows(panel).test) for s in splits) * 3
    assert sorted(frame["fold"].unique()) == [1, 2, 3]  # numbered as the logs number them
    assert (frame["random_walk"] == 0).all()
    assert frame["lo"].isna().all()  # drift gives no interval
    # Each forecaster was fit on the last fold's training origins only.
    last = extra[2].fitted_on
    assert panel.dates[last].max() < splits[-1].cutoff
    assert run.warnings == [f"fold {k}: last_return: fit on {n} origins" for k, n in
                            zip((1, 2, 3), [len(engine.fold_rows(panel, s).train) for s in splits],
                                strict=True)]  # fmt: skip
    # Reports score whatever baselines the engine ran, with no report change.
    metrics = evaluate(frame, run.scale, ReportConfig())
    assert set(metrics["baselines"]) == {"random_walk", "ridge", "last_return"}
    assert metrics["baselines"]["last_return"]["overall"]["n"] == metrics["n"]


def test_drift_is_the_training_mean_return_per_ticker() -> None:
    panel, splits = panel_and_splits()
    rows = engine.fold_rows(panel, splits[0])
    drift = Drift(FC)
    drift.fit(panel, rows)
    pred = drift.predict(panel, rows.test).mean
    for k, t in enumerate(panel.tickers):
        r = rows.train[panel.ticker_id[rows.train] == k]
        mean = np.log(panel.close[r.max()] / panel.close[r.min()]) / (r.max() - r.min())
        mine = pred[panel.ticker_id[rows.test] == k]
        np.testing.assert_allclose(mine, np.tile(mean * np.arange(1, 4), (len(mine), 1)))
        assert drift.by_ticker[t] == pytest.approx(mean)


def test_unknown_forecaster_and_empty_fold_are_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"unknown forecaster 'nope'.*random_walk"):
        make_forecaster("nope", features=FC)
    panel, splits = panel_and_splits()
    late = splits[-1]
    empty = type(late)(**{**late.__dict__, "test_start": np.datetime64("2030-01-01"),
                          "test_end": np.datetime64("2030-02-01")})  # fmt: skip
    with pytest.raises(base.FoldError, match=r"fold 3: .* and 0 test origins"):
        engine.run_fold(panel, empty, RandomWalk(FC))


class SlowModel(LastReturn):
    """A model whose fit waits for a concurrent baseline to have started (or times out)."""

    name = "slow_model"

    def __init__(self, *args, started=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.started = started
        self.saw_baseline = []

    def fit(self, panel, rows, *, fold=0, progress=None) -> FitInfo:
        self.saw_baseline.append(self.started.wait(10))
        return super().fit(panel, rows, fold=fold, progress=progress)


class Flagging(Ridge):
    """Ridge that says when its fit starts, and fails in fold ``fail_fold`` when asked."""

    def __init__(self, *args, started=None, fail_fold=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.started, self.fail_fold = started, fail_fold

    def fit(self, panel, rows, *, fold=0, progress=None) -> FitInfo:
        self.started.set()
        if fold == self.fail_fold:
            raise ValueError(f"ridge broke in fold {fold + 1}")
        return super().fit(panel, rows, fold=fold, progress=progress)


def test_numpy_baselines_fit_while_the_model_trains_with_the_same_frame_and_warnings() -> None:
    """Baselines marked ``concurrent`` run beside the model's fit; the frame (columns in the
    lineup's order), warnings and values are those of the sequential run; a learned peer is
    never run beside the model; a failing baseline's error reaches the caller."""
    import threading

    panel, splits = panel_and_splits()
    assert RandomWalk.concurrent and Drift.concurrent and Ridge.concurrent
    assert not Forecaster.concurrent and not LastReturn.concurrent
    started = threading.Event()
    model = SlowModel(FC, started=started)
    lineup = [Flagging(FC, started=started), RandomWalk(FC), LastReturn(FC), Drift(FC)]
    run = engine.backtest(panel, splits, model, lineup)
    assert model.saw_baseline == [True, True, True]  # the ridge started during the fit

    class Sequential(Flagging):
        concurrent = False

    alone = SlowModel(FC, started=threading.Event())
    alone.started.set()
    lineup = [Sequential(FC, started=threading.Event()), RandomWalk(FC), LastReturn(FC), Drift(FC)]
    expected = engine.backtest(panel, splits, alone, lineup)
    pd.testing.assert_frame_equal(run.predictions, expected.predictions)
    assert list(run.predictions.columns[-4:]) == ["ridge", "random_walk", "last_return", "drift"]
    assert run.warnings == expected.warnings and run.warnings

    started = threading.Event()
    failing = [Flagging(FC, started=started, fail_fold=1)]
    with pytest.raises(ValueError, match="ridge broke in fold 2"):
        engine.backtest(panel, splits, SlowModel(FC, started=started), failing)
    # Learned forecasters (Keras, global random state) run alone.
    assert not any(base.forecaster_class(n).concurrent for n in ("rnn", "rnn_own_inputs"))


def test_after_fold_sees_each_fold_as_it_finishes() -> None:
    panel, splits = panel_and_splits()
    seen: list[tuple[int, int]] = []
    model = make_forecaster("drift", features=FC)
    run = engine.backtest(
        panel, splits, model, after_fold=lambda out: seen.append((out.split.fold, len(seen)))
    )
    assert seen == [(0, 0), (1, 1), (2, 2)]
    assert [f.split.fold for f in run.folds] == [0, 1, 2]
