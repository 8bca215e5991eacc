"""The Python API: the README's example runs as written, nothing touches STACKCAST_HOME,
bad input raises one exception type, and the namespace never shadows a user's modules."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import stackcast
from tests.conftest import REPO, SAMPLE

TINY = {
    "data": {"end": "2008-10-14"},
    "features": {"window": 16, "horizons": 2, "min_history": 8},
    "model": {"layers": [{"cell": "gru", "units": 4}], "dropout": 0.0, "between_dropout": 0.0},
    "train": {"epochs": 1, "warm_epochs": 1, "mc_samples": 3, "batch_size": 128},
    "backtest": {"folds": 2, "test_size": 15, "train_size": 250},
}


def prices() -> pd.DataFrame:
    return pd.concat(pd.read_csv(SAMPLE / f"{t}.csv") for t in ("MSFT", "GOOG"))


def readme_blocks(heading: str) -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


def test_readme_from_python_example_runs(tmp_path: Path, home: Path) -> None:
    blocks = readme_blocks("From Python")
    assert len(blocks) == 2
    (tmp_path / "data").symlink_to(REPO / "data")
    script = tmp_path / "example.py"
    script.write_text("\n".join(blocks), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "prices: missing column(s) close" in proc.stdout
    assert (tmp_path / "out/backtest/report.html").is_file()
    assert (tmp_path / "out/model/model.keras").is_file()
    assert files_under(home) == []  # given prices, nothing is read or written in the home


def test_backtest_with_prices_returns_contract_and_writes_nothing(home: Path) -> None:
    cfg = stackcast.RunConfig.model_validate(TINY)
    result = stackcast.backtest(cfg, prices=prices())
    cols = ["ticker", "origin", "horizon", "target_date", "y_pred", "y_true", "fold", "lo", "hi"]
    assert list(result.forecasts.columns) == cols
    assert set(result.forecasts["ticker"]) == {"MSFT", "GOOG"}
    assert set(result.forecasts["fold"]) == {1, 2}
    assert set(result.metrics["baselines"]) == {"random_walk", "drift", "ridge"}
    assert result.metrics["model"]["overall"]["n"] > 0
    assert files_under(home) == []


def test_train_forecast_save_load_round_trip(tmp_path: Path, home: Path) -> None:
    cfg = stackcast.RunConfig.model_validate(TINY)
    model = stackcast.train(cfg, prices())
    assert set(model.validation) == {"y_pred", "random_walk", "drift", "ridge"}
    ahead = model.forecast(prices())
    assert len(ahead) == 2 * cfg.features.horizons
    assert (ahead.groupby("ticker")["origin"].nunique() == 1).all()
    assert ahead["target_date"].gt(ahead["origin"]).all()
    saved = model.save(tmp_path / "model")
    again = stackcast.load_model(saved)
    pd.testing.assert_frame_equal(again.forecast(prices()), ahead)
    assert again.config == cfg
    with pytest.raises(stackcast.StackcastError, match="exists"):
        model.save(tmp_path / "model")
    assert files_under(home) == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns="close"), "prices: missing column(s) close"),
        (lambda f: f.assign(close=-1.0), "close"),
        (lambda f: f.assign(ticker="../x"), "invalid ticker"),
        (lambda f: f.iloc[:0], "prices: the frame has no rows"),
    ],
)
def test_bad_prices_raise_stackcast_error(change, message: str) -> None:
    cfg = stackcast.RunConfig.model_validate(TINY)
    with pytest.raises(stackcast.StackcastError) as info:
        stackcast.backtest(cfg, prices=change(prices()))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_load_model_errors_are_stackcast_errors(tmp_path: Path) -> None:
    with pytest.raises(stackcast.StackcastError, match="cannot load the model"):
        stackcast.load_model(tmp_path)
    with pytest.raises(stackcast.StackcastError, match="config file not found"):
        stackcast.load_config(tmp_path / "missing.toml")


def test_namespace_does_not_squat_generic_names(tmp_path: Path) -> None:
    """Outside the repository, `import models` is the user's business; `stackcast` works."""
    (tmp_path / "models.py").write_text("WHO = 'user'\n", encoding="utf-8")
    code = (
        "import models, stackcast, stackcast.models.base, stackcast.pipeline.cli\n"
        "assert models.WHO == 'user', models\n"
        "import importlib.util as u\n"
        "assert all(u.find_spec(n) is None for n in ('features', 'reports', 'pipeline'))\n"
        "print(stackcast.__version__)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == stackcast.__version__
