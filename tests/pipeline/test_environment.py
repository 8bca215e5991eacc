"""``[runtime] backend``: chosen before Keras is imported, refused clearly when it cannot be."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap

import pytest
from stackcast.pipeline import environment
from stackcast.pipeline.config import RunConfig
from stackcast.pipeline.errors import ConfigError

from tests.conftest import REPO


def test_backend_defaults_to_tensorflow_and_is_validated() -> None:
    assert RunConfig().runtime.backend == "tensorflow"
    assert RunConfig.model_validate({"runtime": {"backend": "jax"}}).runtime.backend == "jax"
    with pytest.raises(ConfigError, match="backend"):
        RunConfig.model_validate({"runtime": {"backend": "torch"}})


def test_loaded_keras_accepts_its_own_backend_and_refuses_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import keras

    monkeypatch.delenv(environment.BACKEND_ENV, raising=False)
    current = keras.backend.backend()
    assert environment.use_backend(current) == current
    assert environment.use_backend(None) == current
    other = "jax" if current == "tensorflow" else "tensorflow"
    with pytest.raises(ConfigError, match=f"already running on {current}"):
        environment.use_backend(other)
    monkeypatch.setenv(environment.BACKEND_ENV, "torch")
    with pytest.raises(ConfigError, match="STACKCAST_BACKEND=torch: choose one of"):
        environment.use_backend(current)


def test_missing_jax_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(environment.BACKEND_ENV, raising=False)
    monkeypatch.delitem(sys.modules, "keras", raising=False)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        environment.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "jax" else real(name, *a),
    )
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    with pytest.raises(ConfigError, match=r"jax is not installed: pip install 'stackcast\[jax\]'"):
        environment.use_backend("jax")
    assert os.environ["KERAS_BACKEND"] == "tensorflow"


def test_cli_applies_the_config_backend_before_keras(tmp_path) -> None:
    """A fresh process: ``use_backend`` from the config sets KERAS_BACKEND for Keras' import."""
    code = textwrap.dedent(
        """
        import os, sys
        from stackcast.pipeline.config import RunConfig
        from stackcast.pipeline.environment import use_backend
        assert "keras" not in sys.modules
        cfg = RunConfig.model_validate({"runtime": {"backend": "tensorflow"}})
        print(use_backend(cfg.runtime.backend))
        import keras
        print(keras.backend.backend())
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "STACKCAST_BACKEND")}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["tensorflow", "tensorflow"]


def test_cli_refuses_an_unknown_backend_override_with_one_error_line(home) -> None:
    env = {**os.environ, "STACKCAST_BACKEND": "torch", "STACKCAST_HOME": str(home)}
    proc = subprocess.run(
        [sys.executable, "-m", "stackcast", "backtest", "--config", "configs/demo.toml"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: [runtime] STACKCAST_BACKEND=torch: choose one of tensorflow, jax"
    ]
    assert not any(home.iterdir())


def test_compile_cache_lives_under_home_and_is_only_set_for_jax(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    from stackcast.pipeline.config import RunConfig

    cfg = RunConfig.model_validate({"paths": {"home": str(tmp_path)}})
    assert cfg.compile_cache_dir() == tmp_path.resolve() / "cache" / "xla"
    off = RunConfig.model_validate({"runtime": {"compile_cache": False}})
    assert off.compile_cache_dir() is None
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    monkeypatch.delenv(environment.BACKEND_ENV, raising=False)
    current = environment.use_runtime(None)
    assert environment.use_runtime(cfg) == current == "tensorflow"
    assert "JAX_COMPILATION_CACHE_DIR" not in os.environ  # TensorFlow has no such cache


def test_compile_cache_settings_for_jax(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """The jax cache goes to the given directory with a size cap; an explicit one wins."""
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    monkeypatch.delenv("JAX_COMPILATION_CACHE_MAX_SIZE", raising=False)
    monkeypatch.delitem(sys.modules, "jax", raising=False)
    environment._compile_cache(tmp_path / "xla")
    assert os.environ["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "xla")
    assert os.environ["JAX_COMPILATION_CACHE_MAX_SIZE"] == str(environment.COMPILE_CACHE_BYTES)
    environment._compile_cache(tmp_path / "other")  # already set: left alone
    assert os.environ["JAX_COMPILATION_CACHE_DIR"] == str(tmp_path / "xla")


def test_a_bad_jax_cache_setting_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """With jax imported, a non-numeric cache setting in the environment is exit 2, no trace."""
    import types

    fake = types.SimpleNamespace(config=types.SimpleNamespace(update=lambda *a: None))
    monkeypatch.setitem(sys.modules, "jax", fake)
    monkeypatch.setenv("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "soon")
    with pytest.raises(ConfigError, match="JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS='soon'"):
        environment._compile_cache(tmp_path / "xla")
