"""Config sweeps: grid checks, honest selection, the published run, the CLI and the flow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from stackcast.pipeline.cli.app import app
from stackcast.pipeline.config import RuntimeConfig, load_config
from stackcast.pipeline.errors import ConfigError
from stackcast.pipeline.orchestration import flows
from stackcast.pipeline.workflows import sweep as sw
from stackcast.pipeline.workflows import sweep_grid as grids
from typer.testing import CliRunner

from tests.pipeline.sweep_support import mapped_steps, task_names, tiny_config, write_config

GRID = '"model.dropout" = [0.0, 0.3]\n'
cli = CliRunner()


def test_expand_builds_every_combination_in_grid_order() -> None:
    grid = grids.parse_grid('"features.window" = [16, 20]\nmodel = {dropout = [0.0, 0.2]}\n')
    assert grid == {"features.window": [16, 20], "model.dropout": [0.0, 0.2]}
    out = grids.expand(tiny_config(), grid)
    assert [c.label for c in out] == [
        "features.window=16, model.dropout=0.0",
        "features.window=16, model.dropout=0.2",
        "features.window=20, model.dropout=0.0",
        "features.window=20, model.dropout=0.2",
    ]
    assert [(c.config.features.window, c.config.model.dropout) for c in out] == [
        (16, 0.0), (16, 0.2), (20, 0.0), (20, 0.2)
    ]  # fmt: skip
    layers = grids.expand(tiny_config(), {"model.layers": [[{"cell": "lstm", "units": 3}]]})
    assert layers[0].config.model.layers[0].units == 3


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ("", "the grid is empty"),
        ('"model.nope" = [1]', "unknown key 'model.nope'"),
        ('"nope.dropout" = [1]', "unknown key 'nope.dropout'"),
        ('"model.dropout" = []', "key 'model.dropout': the list of values is empty"),
        ('"model.dropout" = 0.2', "key 'model.dropout': expected a list of values, got 0.2"),
        ('"model.dropout" = [0.1, 0.1]', "a value appears twice"),
        ('"model.dropout" = [0.1, 1.5]', "model.dropout=1.5: key 'model.dropout'"),
        ('"data.tickers" = [["MSFT"]]', "only [features], [model] and [train] keys"),
        ('"features.horizons" = [1, 2]', "changes the targets"),
        ('"train.epochs" = [1, 2, 3, 4, 5, 6]\n"model.dropout" = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]',
         "36 combinations exceed [sweep] max_combinations = 32"),
        ("model.dropout = [", "not valid TOML"),
    ],
)  # fmt: skip
def test_bad_grids_exit_2_with_one_line_before_anything_runs(
    tmp_path: Path, home: Path, grid: str, message: str
) -> None:
    config = write_config(tmp_path / "base.toml", tiny_config())
    (tmp_path / "grid.toml").write_text(grid, encoding="utf-8")
    result = cli.invoke(app, ["sweep", "-c", str(config), "-g", str(tmp_path / "grid.toml")])
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert not (home / "prices").exists() and not (home / "runs").exists()


def test_missing_grid_file_and_option(tmp_path: Path) -> None:
    for args in (["sweep"], ["sweep", "--grid", str(tmp_path / "nope.toml")]):
        result = cli.invoke(app, args)
        assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, result.output
    with pytest.raises(ConfigError, match="grid file not found"):
        grids.read_grid(tmp_path / "nope.toml")


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One CLI sweep of a 2x1 grid in a fresh home, the winner saved with --save-winner."""
    tmp = tmp_path_factory.mktemp("sweep")
    home = tmp / "home"
    config = write_config(tmp / "base.toml", tiny_config(home))
    (tmp / "grid.toml").write_text(GRID, encoding="utf-8")
    args = ["sweep", "-c", str(config), "-g", str(tmp / "grid.toml")]
    result = cli.invoke(app, [*args, "--save-winner", str(tmp / "best.toml")])
    assert result.exit_code == 0, result.output
    run_dir = next((home / "runs").glob("*-sweep-*"))
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {"tmp": tmp, "home": home, "run_dir": run_dir, "metrics": metrics, "out": result}


def test_sweep_chooses_on_validation_and_reports_every_candidate(swept: dict[str, Any]) -> None:
    metrics, run_dir = swept["metrics"], swept["run_dir"]
    rows = metrics["candidates"]
    assert [r["label"] for r in rows] == ["model.dropout=0.0", "model.dropout=0.3"]
    assert all(r["status"] == "ok" for r in rows)
    assert "(MAE: percent of price, averaged over horizons 1..2)" in swept["out"].stdout
    best = min(rows, key=lambda r: (r["validation_mae"], r["candidate"]))
    assert metrics["winner"] == {"candidate": best["candidate"], "label": best["label"]}
    for r in rows:  # every candidate's test result against the random walk, Holm-adjusted
        assert r["test_mae"] > 0 and r["test_rw_mae"] > 0 and r["test_n"] > 0
        assert [d["horizon"] for d in r["dm"]] == [1, 2]
        assert all(d["p_holm"] >= d["p"] for d in r["dm"])
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "Chosen on validation: " + best["label"] in html
    assert html.count("model.dropout=0.") >= 2 and "Holm" in html
    # The winner's config is ready for `stackcast train`: the base config plus its values.
    winner = load_config(run_dir / "winner.toml")
    assert winner.model.dropout == best["values"]["model.dropout"]
    assert (swept["tmp"] / "best.toml").read_text() == (run_dir / "winner.toml").read_text()
    out = swept["out"].stdout
    assert f"chosen on validation: {best['label']}" in out
    assert str(swept["tmp"] / "best.toml") in out
    # The run is listed in the runs index.
    index = (swept["home"] / "index.html").read_text(encoding="utf-8")
    assert run_dir.name in index and "sweep" in index


def test_one_selection_aware_verdict_in_the_report_index_runs_and_cli(
    swept: dict[str, Any],
) -> None:
    """The sweep's verdict is computed once (metrics.json) and every place prints it.

    It is the chosen candidate's entry of the Holm family over every candidate and horizon,
    never the winner's own horizons-only adjustment.
    """
    metrics, run_dir, home = swept["metrics"], swept["run_dir"], swept["home"]
    verdict = metrics["verdict"]
    winner = next(
        r for r in metrics["candidates"] if r["candidate"] == metrics["winner"]["candidate"]
    )
    h1 = next(d for d in winner["dm"] if d["horizon"] == verdict["horizon"])
    assert verdict["horizon"] == 1 and verdict["p_value"] == h1["p_holm"]
    assert verdict["p_raw"] == h1["p"] and verdict["beats_random_walk"] == h1["beats_random_walk"]
    assert verdict["sentence"].startswith("the chosen candidate ")
    assert verdict["sentence"].endswith("(adjusted over 2 candidates x 2 horizons)")
    # The winner's own test metrics carry the same verdicts and family p-values.
    assert metrics["winner_test"]["verdict"] == verdict
    assert metrics["winner_test"]["verdicts"] == metrics["verdicts"]
    pooled = {e["horizon"]: e for e in metrics["winner_test"]["dm"]["pooled"]}
    assert all(pooled[d["horizon"]]["p_holm"] == d["p_holm"] for d in winner["dm"])
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["verdict"] == verdict["sentence"]
    sentence = verdict["sentence"].replace("<", "&lt;")
    report = " ".join((run_dir / "report.html").read_text(encoding="utf-8").split())
    assert sentence[1:] in report  # the page capitalises its first letter
    assert sentence in (home / "index.html").read_text(encoding="utf-8")
    runs = cli.invoke(app, ["runs", "--kind", "sweep"], env={"STACKCAST_HOME": str(home)})
    assert runs.exit_code == 0 and verdict["sentence"] in runs.stdout, runs.output
    assert verdict["sentence"] in swept["out"].stdout
    assert metrics["verdict_note"] in swept["out"].stdout


def test_validation_origins_end_an_embargo_before_the_test(swept: dict[str, Any]) -> None:
    periods = swept["metrics"]["periods"]
    folds = periods["folds"]
    assert len(folds) == periods["validation_folds"] + periods["test_folds"] == 3
    assert periods["test_start"] == folds[1]["test_start"]
    assert periods["validation_end"] < periods["test_start"]
    # The winner's published forecasts are the test folds only, each after the test start.
    forecasts = pd.read_parquet(swept["run_dir"] / "forecasts.parquet")
    assert set(forecasts["fold"]) == {2, 3}  # numbered from 1: fold 1 is the validation fold
    assert (forecasts["origin"] >= pd.Timestamp(periods["test_start"])).all()


def test_validation_cutoff_leaves_the_embargo() -> None:
    cfg = tiny_config()  # horizons 2, embargo 2
    calendar = np.arange("2024-01-01", "2024-01-31", dtype="datetime64[D]")
    first_test = type("S", (), {"test_start": np.datetime64("2024-01-20")})()
    cutoff = sw.validation_cutoff(cfg, calendar, first_test)
    assert cutoff == np.datetime64("2024-01-17")  # targets reach 01-19 at most
    assert cutoff + cfg.features.horizons < first_test.test_start


@pytest.mark.usefixtures("prefect_harness")
def test_sweep_flow_runs_candidates_as_tasks_with_the_same_numbers(
    swept: dict[str, Any], home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = mapped_steps(monkeypatch)
    from tests.pipeline.flow_support import artifacts

    cfg = tiny_config(home).model_copy(
        update={"runtime": RuntimeConfig(task_runner="thread", max_workers=2)}
    )
    state = flows.sweep_flow(cfg, grids.parse_grid(GRID), return_state=True)
    assert state.is_completed(), state.message
    result = state.result()
    metrics = json.loads((Path(result["report"]).parent / "metrics.json").read_text())

    def numbers(m: dict[str, Any]) -> list[Any]:
        keys = ("label", "validation_mae", "test_mae", "test_rw_mae", "dm")
        return [{k: r[k] for k in keys} for r in m["candidates"]]

    assert numbers(metrics) == numbers(swept["metrics"])
    assert result["winner"] == swept["metrics"]["winner"]["label"]
    assert ("sweep-candidate", ["0", "1"]) in calls  # one Prefect task per candidate
    candidates = {"sweep-candidate-0", "sweep-candidate-1"}
    names = task_names(state, candidates)
    assert not names or candidates <= names  # when the API recorded them (see task_names)
    found = artifacts(state)
    assert {"sweep-summary", "sweep-candidates"} <= set(found)
    # The summary artifact carries the sweep's stored verdicts, the same as the published run.
    for v in metrics["verdicts"]:
        assert v["sentence"] in found["sweep-summary"].data
    assert result["verdicts"] == [v["sentence"] for v in metrics["verdicts"]]
