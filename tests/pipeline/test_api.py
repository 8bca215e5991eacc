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


def clean_env() -> dict[str, str]:
    """This environment without PYTHONPATH: imports resolve as a user's script sees them."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def test_readme_from_python_example_runs(tmp_path: Path, home: Path) -> None:
    """As written, from a directory that is not the clone's and that holds the clone's folder
    (``~/stackcast`` beside ``~/example.py``): no relative data path, no shadowing."""
    blocks = readme_blocks("From Python")
    assert len(blocks) == 2
    assert "data/sample" not in blocks[0]  # the bundled prices come from the package
    (tmp_path / "stackcast").symlink_to(REPO, target_is_directory=True)
    script = tmp_path / "example.py"
    script.write_text("\n".join(blocks), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=clean_env(),
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


@pytest.mark.parametrize("how", ["script", "-c"])
def test_the_clone_folder_beside_a_script_does_not_shadow_the_package(
    tmp_path: Path, how: str
) -> None:
    """``~/stackcast`` (the clone, no ``__init__.py`` at its root) next to the user's script
    would be imported as an empty namespace package; ``make setup`` puts a path entry holding
    only the real package before it wins."""
    (tmp_path / "stackcast").symlink_to(REPO, target_is_directory=True)
    code = (
        "import stackcast\n"
        "cfg = stackcast.RunConfig.model_validate({'backtest': {'folds': 2}})\n"
        "print(cfg.backtest.folds, len(stackcast.sample_prices('GOOG')))\n"
    )
    script = tmp_path / "try.py"
    script.write_text(code, encoding="utf-8")
    args = [str(script)] if how == "script" else ["-c", code]
    proc = subprocess.run(
        [sys.executable, *args], cwd=tmp_path, env=clean_env(), capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:] + "\n(make setup creates the path entry)"
    assert proc.stdout.split() == ["2", "1047"]


def test_sample_prices_are_the_bundled_files() -> None:
    frame = stackcast.sample_prices()
    assert set(frame["ticker"]) == {"GOOG", "MSFT"}
    both = stackcast.sample_prices(["MSFT", "GOOG"])
    pd.testing.assert_frame_equal(both, prices().reset_index(drop=True))
    with pytest.raises(stackcast.StackcastError, match="not in the bundled sample: AAPL"):
        stackcast.sample_prices(["msft", "AAPL"])


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: stackcast.RunConfig(train={"epoch": 3}),
            "config: unknown key 'train.epoch' (did you mean 'train.epochs'?)",
        ),
        (
            lambda: stackcast.RunConfig.model_validate({"data": {"tickers": "MSFT"}}),
            "config: key 'data.tickers': tickers is a list: tickers = [\"MSFT\"]",
        ),
        (
            lambda: stackcast.backtest({"model": {"layer": []}}, prices=prices()),
            "config: unknown key 'model.layer' (did you mean 'model.layers'?)",
        ),
        (
            lambda: stackcast.train({"train": {"epochs": "ten"}}, prices()),
            "config: key 'train.epochs': expected a number, got the string 'ten' (an integer)",
        ),
        (
            lambda: stackcast.backtest(3, prices=prices()),
            "config must be a RunConfig, a dict of sections or a TOML path, got int",
        ),
    ],
)
def test_bad_config_through_the_api_raises_stackcast_error(build, message: str) -> None:
    with pytest.raises(stackcast.StackcastError) as info:
        build()
    assert str(info.value) == message


def test_load_config_names_the_file_and_guesses_the_key(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("[data]\ntickers = 'MSFT'\n[backtest]\nfold = 2\n", encoding="utf-8")
    with pytest.raises(stackcast.StackcastError) as info:
        stackcast.load_config(path)
    assert (
        str(info.value)
        == f"{path}: key 'data.tickers': tickers is a list: tickers = [\"MSFT\"] (and 1 more)"
    )
    path.write_text("[backtest]\nfold = 2\n", encoding="utf-8")
    with pytest.raises(stackcast.StackcastError) as info:
        stackcast.load_config(path)
    assert str(info.value).endswith("unknown key 'backtest.fold' (did you mean 'backtest.folds'?)")
