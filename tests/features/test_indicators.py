"""Calendar and technical inputs: definitions, configuration, and no look-ahead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from stackcast.features.config import FeatureConfig
from stackcast.features.indicators import (
    INDICATORS,
    column_names,
    ma_distance,
    momentum,
    realised_volatility,
    rsi,
    step_returns,
)
from stackcast.features.panel import build_panel
from stackcast.features.returns import align_calendar

from tests.features.frames import random_frame

BASE = ("log_return", "range", "volume_z", "observed")
ALL_INPUTS = (*BASE, *INDICATORS)
CFG = FeatureConfig(
    window=10,
    horizons=3,
    min_history=4,
    volume_window=5,
    inputs=ALL_INPUTS,
    volatility_window=6,
    momentum_windows=(2, 7),
    rsi_window=5,
    ma_window=8,
)


def test_default_inputs_are_unchanged() -> None:
    cfg = FeatureConfig()
    assert cfg.inputs == BASE and cfg.covariates == ()
    assert cfg.lookback == cfg.volume_window
    p = build_panel({"AAA": random_frame(1, 60)}, cfg.model_copy(update={"window": 10}))
    assert p.feature_names == BASE


def test_every_input_expands_to_named_columns() -> None:
    p = build_panel({"AAA": random_frame(2, 80)}, CFG)
    assert p.feature_names == (
        *BASE,
        "day_of_week_sin",
        "day_of_week_cos",
        "month_sin",
        "month_cos",
        "volatility",
        "momentum_2",
        "momentum_7",
        "rsi",
        "ma_distance",
    )
    assert p.X.shape[1] == len(p.feature_names) and np.isfinite(p.X).all()
    assert column_names("momentum", CFG) == ("momentum_2", "momentum_7")
    assert CFG.lookback == 8


def test_definitions_match_direct_formulas() -> None:
    frame = random_frame(3, 90)
    a = align_calendar(frame, "XNYS")
    close, obs = a["close"].to_numpy(), a["observed"].to_numpy()
    p = build_panel({"AAA": frame}, CFG)
    col = {n: p.X[:, j] for j, n in enumerate(p.feature_names)}
    dates = pd.DatetimeIndex(a["date"])[1:]
    np.testing.assert_allclose(col["day_of_week_sin"], np.sin(2 * np.pi * dates.day_of_week / 7))
    np.testing.assert_allclose(col["month_cos"], np.cos(2 * np.pi * (dates.month - 1) / 12))
    t = 50  # an aligned row with a full history behind every window
    r = np.log(close[1:] / close[:-1])
    r[~obs[1:]] = 0.0
    assert col["momentum_7"][t - 1] == pytest.approx(np.log(close[t] / close[t - 7]))
    assert col["ma_distance"][t - 1] == pytest.approx(
        np.log(close[t] / close[t - 7 : t + 1].mean())
    )
    last = r[t - 5 : t]  # the 5 returns ending at row t
    gains, losses = last[last > 0].sum(), -last[last < 0].sum()
    assert col["rsi"][t - 1] == pytest.approx((gains - losses) / (gains + losses))
    win = r[t - 6 : t][obs[t - 5 : t + 1]]
    assert col["volatility"][t - 1] == pytest.approx(np.sqrt(np.mean(win**2)))


def test_edge_values() -> None:
    close = np.array([10.0, 10.0, 10.0, 11.0, 12.0])
    obs = np.ones(5, dtype=bool)
    r = step_returns(close, obs)
    np.testing.assert_allclose(momentum(close, 3), [0, 0, 0, np.log(1.1), np.log(1.2)])
    assert rsi(r, 3)[:3].tolist() == [0.0, 0.0, 0.0]  # nothing moved: neutral
    assert rsi(r, 3)[-1] == 1.0  # only gains
    assert realised_volatility(r, obs, 4)[:2].tolist() == [0.0, 0.0]  # < 2 returns
    assert ma_distance(close, 2)[0] == 0.0


@pytest.mark.parametrize(
    "update, match",
    [
        ({"momentum_windows": ()}, "at least 1"),
        ({"momentum_windows": (5, 5)}, "repeat"),
        ({"momentum_windows": (0,)}, "1 to 1000"),
        ({"rsi_window": 1}, "greater than or equal"),
        ({"inputs": ("rsi", "rsi")}, "repeat"),
        ({"inputs": ("macd",)}, "Input should be"),
    ],
)
def test_bad_settings_are_refused(update: dict, match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        FeatureConfig(**update)


def test_a_recent_tail_gives_the_latest_window_exactly_with_indicators() -> None:
    """The daily run builds its panel from the last window + lookback + 2 bars."""
    frame = random_frame(5, 400)
    full = build_panel({"AAA": frame}, CFG)
    tail = frame.tail(CFG.window + CFG.lookback + 2).reset_index(drop=True)
    cut = build_panel({"AAA": tail}, CFG)
    np.testing.assert_array_equal(full.X[-CFG.window :], cut.X[-CFG.window :])


def test_close_only_frames_keep_calendar_inputs_and_drop_range() -> None:
    frame = random_frame(6, 60, columns=("close",))
    p = build_panel({"AAA": frame}, CFG)
    assert p.dropped_features == ("range", "volume_z")
    assert "rsi" in p.feature_names and "day_of_week_sin" in p.feature_names
