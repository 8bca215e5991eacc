"""configs/compare.toml, shrunk: the RNN with a covariate against itself without and LightGBM."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from stackcast.models.own_inputs import own_panel
from stackcast.pipeline.config import load_config
from stackcast.pipeline.workflows.backtest import backtest

REPO = Path(__file__).resolve().parents[2]

pytest.importorskip("lightgbm")


@pytest.mark.slow
def test_compare_config_tests_the_covariate_and_lightgbm(home: Path) -> None:
    cfg = load_config(REPO / "configs" / "compare.toml")
    assert cfg.features.covariates == ("MSFT",) and tuple(cfg.data.tickers) == ("GOOG",)
    small = cfg.model_dump()
    small["features"].update(window=16, horizons=2, min_history=8)
    small["model"].update(layers=[{"cell": "gru", "units": 4}], head="last")
    small["train"].update(epochs=1, warm_epochs=1, mc_samples=3)
    small["backtest"].update(folds=2, test_size=20, train_size=300)
    cfg = type(cfg).model_validate(small)
    prices = pd.concat(pd.read_csv(REPO / "data" / "sample" / f"{t}.csv") for t in ("GOOG", "MSFT"))
    result = backtest(cfg, prices=prices)
    assert result.panel.tickers == ("GOOG",)  # MSFT is an input, not forecast
    assert any(n.startswith("MSFT:") for n in result.panel.feature_names)
    assert not any(":" in n for n in own_panel(result.panel).feature_names)
    m = result.metrics
    assert m["tickers"] == ["GOOG"] and not m["unscored"]  # the covariate is an input only
    assert not any("MSFT" in w for w in result.warnings + m["scoring_warnings"])
    assert list(m["baselines"]) == ["random_walk", "drift", "ridge", "lightgbm", "rnn_own_inputs"]
    peers = m["peers"]
    assert set(peers) == {"lightgbm", "rnn_own_inputs"}
    for peer in peers.values():
        assert [e["horizon"] for e in peer["vs_model"]] == [1, 2]
        assert len(peer["sentences"]) == 4 and "Holm family" in peer["note"]
    frame = result.run.predictions
    assert not np.allclose(frame["rnn_own_inputs"], frame["y_pred"])  # two different networks
    assert not np.allclose(frame["rnn_own_inputs_lo"], frame["lo"])  # each its own band
    assert (
        np.isfinite(frame["lightgbm_lo"]).all()
        and m["baselines"]["lightgbm"]["overall"]["coverage"] is not None
    )
    html = next(iter(result.render("r", "2026-01-01", _meta()).values()))
    assert "RNN without covariates" in html and "LightGBM" in html


def _meta() -> dict:
    return {"versions": {}, "git_commit": None, "device": "cpu"}
