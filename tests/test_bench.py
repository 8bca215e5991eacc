"""The benchmark runner works: `python -m bench --quick --only windowing`, selection, skips.

Fast on purpose: only the windowing benchmark runs (no TensorFlow, no training).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import BENCHMARKS
from bench.common import Recorder, interleaved
from tests.conftest import REPO


def test_quick_windowing_run_prints_and_appends_records(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "windowing", "--results", results],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    printed = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    saved = [json.loads(line) for line in results.read_text().splitlines()]
    assert printed == saved
    assert {r["measure"] for r in printed} == {"peak_memory", "time_all_windows"}
    memory = next(r for r in printed if r["measure"] == "peak_memory")
    timing = next(r for r in printed if r["measure"] == "time_all_windows")
    assert memory["same_windows"] is True
    assert memory["window"] == 60 and memory["features"] == 4 and memory["ticker"] == "MSFT"
    assert memory["naive_over_lazy"] > 1  # the full float64 array dwarfs one batch at a time
    assert len(timing["lazy_s"]) == len(timing["naive_s"]) == timing["reps"] >= 3
    for record in printed:
        assert record["bench"] == "windowing" and record["quick"] is True
        assert record["run_id"] == printed[0]["run_id"] and record["timestamp"]
        machine = record["machine"]
        for key in ("cpu_count", "platform", "python", "keras", "backend", "device"):
            assert machine[key], key
        assert "git_commit" in machine


def test_unknown_benchmark_is_refused_and_list_names_all() -> None:
    bad = subprocess.run(
        [sys.executable, "-m", "bench", "--only", "nope"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode != 0 and "unknown benchmark" in bad.stderr
    listed = subprocess.run(
        [sys.executable, "-m", "bench", "--list"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert [line.split()[0] for line in listed.splitlines()] == list(BENCHMARKS)


def test_gpu_benchmark_skips_cleanly_without_torch_or_jax(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    from bench import gpu_keras_vs_torch

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a, **k: None)
    rec = Recorder(results=None)
    gpu_keras_vs_torch.run(rec)
    assert len(rec.records) == 1
    record = rec.records[0]
    assert record["status"] == "skipped" and "not installed" in record["reason"]
    assert json.loads(capsys.readouterr().out.strip())["status"] == "skipped"


def test_interleaving_runs_every_variant_every_rep_in_rotated_order() -> None:
    order = interleaved(["a", "b", "c"], 3)
    assert [n for _, n in order] == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert [r for r, _ in order] == [0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_peer_sizes_darts_to_the_parameter_count_and_scores_the_same_pairs() -> None:
    """bench.peer imports without darts; its sizing and MAE tables are plain arithmetic."""
    import numpy as np

    from bench import peer

    hidden, count = peer.lstm_hidden_for(17669, inputs=4, outputs=1)
    # torch LSTM: 4 gates x (input + recurrent weights + two biases); darts' head Linear(h, 1).
    assert (hidden, count) == (63, 4 * (63 * 4 + 63 * 63 + 2 * 63) + 63 + 1)
    y = np.array([0.01, -0.02, np.nan, 0.03])
    table = peer._mae_table(y, np.zeros(4), np.array([1, 2, 1, 2]))
    assert table["mae"] == table["mae_random_walk"] == [0.01, 0.025]
    assert table["n"] == [1, 2]


def test_peer_ratios_per_backend_from_the_medians() -> None:
    """summarise: every side's median, import time and MAE; the goal ratios per backend."""
    from bench import peer

    def side(seconds: list[float], rw: list[float]) -> list[dict]:
        mae = {"mae": [0.1], "mae_random_walk": rw}
        return [{"seconds": s, "import_s": 1.0, "mae": mae} for s in seconds]

    runs = {
        "torch_same_network": side([10.0, 12.0, 11.0], [0.2]),
        "darts": side([4.0, 5.0, 6.0], [0.2]),
        "stackcast": side([20.0, 22.0, 21.0], [0.2]),
        "stackcast_darts_net": side([7.0, 8.0, 9.0], [0.2]),
        "stackcast_jax_cached": side([9.0, 9.5, 11.0], [0.2]),
    }
    record = peer.summarise(runs, 3)
    assert record["stackcast_over_torch_same_network"] == {
        "tensorflow": pytest.approx(21.0 / 11.0, abs=0.01),
        "jax_cached": pytest.approx(9.5 / 11.0, abs=0.01),
    }
    assert record["stackcast_darts_network_over_darts"] == {
        "tensorflow": pytest.approx(8.0 / 5.0, abs=0.01)
    }
    assert record["stackcast_import_s"] == 1.0
    assert record["same_origins_and_horizons"] is True
    runs["darts"] = side([5.0], [0.3])
    assert peer.summarise(runs, 3)["same_origins_and_horizons"] is False


def test_peer_torch_sees_stackcasts_windows_and_darts_network_config() -> None:
    """The torch side's windows are the forecaster's; darts' network as a stackcast config."""
    import numpy as np
    from stackcast.models.engine import fold_rows
    from stackcast.models.rnn import held_out_masks

    from bench.peer_children import layout
    from bench.peer_torch import darts_network_config, fold_windows

    cfg, panel, splits = layout()
    rows = fold_rows(panel, splits[0])
    w = fold_windows(panel, rows, cfg, 0)
    fit = held_out_masks(panel.dates[rows.train], cfg.train, cfg.features.horizons)[0]
    L, F, H = cfg.features.window, len(panel.feature_names), cfg.features.horizons
    assert w["x_train"].shape == (fit.sum(), L, F) and w["y_train"].shape == (fit.sum(), H)
    assert w["x_test"].shape == (len(rows.test), L, F)
    assert w["mask_test"].shape == (len(rows.test), L) and w["mask_train"].any(axis=1).all()
    assert np.isfinite(w["x_train"]).all()
    back = w["inverse"](np.zeros((len(rows.test), H)))
    assert back.shape == (len(rows.test), H) and np.isfinite(back).all()

    darts_cfg = darts_network_config(cfg, 63)
    (layer,) = darts_cfg.model.layers
    assert (layer.cell, layer.units, layer.bidirectional) == ("lstm", 63, False)
    assert darts_cfg.model.head == "last" and darts_cfg.model.dropout == 0.0
    assert darts_cfg.train == cfg.train and darts_cfg.backtest == cfg.backtest


def test_peer_runs_stackcasts_sides_without_darts_or_torch() -> None:
    """Without the peer extra only stackcast's sides are listed (darts/torch need it)."""
    import importlib.util

    from bench import peer

    kinds = peer.available_kinds(jax=False)
    assert kinds[-2:] == ["stackcast", "stackcast_darts_net"]
    assert ("darts" in kinds) == (importlib.util.find_spec("darts") is not None)
    assert set(kinds) <= set(peer.KINDS)
