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


def test_jax_on_the_cpu_compiles_at_llvm_level_one_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The level is added once; the user's level, an accelerator or started backends win."""
    import types

    monkeypatch.delitem(sys.modules, "jax._src.xla_bridge", raising=False)
    monkeypatch.delenv("JAX_PLATFORMS", raising=False)
    monkeypatch.setattr(environment, "_accelerator_plugin", lambda: False)
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
    environment._xla_cpu_flags()
    environment._xla_cpu_flags()
    flags = "--xla_cpu_enable_fast_math=false " + environment.XLA_CPU_OPT_LEVEL
    assert os.environ["XLA_FLAGS"] == flags
    monkeypatch.setenv("XLA_FLAGS", "--xla_backend_optimization_level=3")
    environment._xla_cpu_flags()
    assert os.environ["XLA_FLAGS"] == "--xla_backend_optimization_level=3"
    monkeypatch.setenv("XLA_FLAGS", "--flagfile=/etc/xla.flags")  # may set one: left to it
    environment._xla_cpu_flags()
    assert os.environ["XLA_FLAGS"] == "--flagfile=/etc/xla.flags"

    monkeypatch.delenv("XLA_FLAGS")
    monkeypatch.setattr(environment, "_accelerator_plugin", lambda: True)
    environment._xla_cpu_flags()  # a GPU or TPU plugin: its programs keep XLA's default
    assert "XLA_FLAGS" not in os.environ
    monkeypatch.setenv("JAX_PLATFORMS", "cpu")
    environment._xla_cpu_flags()  # ... unless jax is told to use the CPU only
    assert os.environ["XLA_FLAGS"] == environment.XLA_CPU_OPT_LEVEL

    monkeypatch.delenv("XLA_FLAGS")
    started = types.SimpleNamespace(_backends={"cpu": object()})
    monkeypatch.setitem(sys.modules, "jax._src.xla_bridge", started)
    environment._xla_cpu_flags()  # XLA has read its flags already: nothing to change
    assert "XLA_FLAGS" not in os.environ


SAME_BITS = textwrap.dedent(
    """
    import hashlib, os, sys
    from stackcast.pipeline.environment import use_backend
    assert use_backend("jax") == "jax"
    print(os.environ.get("XLA_FLAGS", ""))
    import numpy as np
    from stackcast.models.config import LayerConfig, ModelConfig, TrainConfig
    from stackcast.models.network import build_model
    from stackcast.models.predict import predict
    from stackcast.models.training import train
    from tests.models.helpers import FEATURES, HORIZONS, MASK, WINDOW, make_data

    x, y = make_data(72)
    layers = (LayerConfig(cell="lstm", units=6, backward_cell="gru", bidirectional=True),
              LayerConfig(cell="gru", units=4))
    model = build_model(ModelConfig(layers=layers), FEATURES, WINDOW, HORIZONS, MASK, seed=1)
    result = train(model, (x[:56], y[:56]), (x[56:], y[56:]), TrainConfig(epochs=2, seed=1))
    arrays = [*model.get_weights(), np.asarray(result.history["val_loss"]),
              *predict(model, x, mc_samples=4, interval=0.8, seed=1)]
    print(hashlib.sha256(b"".join(a.tobytes() for a in arrays)).hexdigest())
    """
)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_llvm_level_one_gives_the_same_bits_as_xla_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A trained model's weights, validation loss and MC-dropout forecasts: bit for bit."""
    from tests.conftest import run_on_jax

    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.delenv("JAX_PLATFORMS", raising=False)
    outputs = []
    for flags in (None, "--xla_backend_optimization_level=2"):  # ours, then XLA's default
        env_flags = {} if flags is None else {"XLA_FLAGS": flags}
        proc = run_on_jax(SAME_BITS, cold=True, env=env_flags)
        assert proc.returncode == 0, proc.stderr[-4000:]
        outputs.append(proc.stdout.split())
    assert outputs[0][0] == environment.XLA_CPU_OPT_LEVEL
    assert outputs[1][0] == "--xla_backend_optimization_level=2"
    assert outputs[0][-1] == outputs[1][-1]


_FAULTS = """
import resource, sys
import numpy as np
from stackcast.pipeline.environment import keep_freed_memory

applied = keep_freed_memory() if sys.argv[1] == "keep" else False

def faults():  # minor page faults of allocating, filling and freeing 16 MiB
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    block = np.ones(1 << 21)
    del block
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

faults()
print(applied, faults())
"""


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None,
    reason="glibc's allocator",
)
def test_freed_memory_is_reused_by_the_next_array_and_the_users_settings_win() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}

    def run(mode: str, **extra: str) -> tuple[str, int]:
        out = subprocess.run(
            [sys.executable, "-c", _FAULTS, mode], env=env | extra, cwd=REPO,
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        return out[0], int(out[1])

    pages = (1 << 24) // os.sysconf("SC_PAGE_SIZE")
    applied, kept = run("keep")
    assert applied == "True" and kept <= pages // 100  # the second array reuses the first's
    assert run("default")[1] > kept  # glibc's default: fresh pages (folios) for each one
    assert run("keep", MALLOC_TRIM_THRESHOLD_="131072")[0] == "False"


def test_a_runs_process_set_up_keeps_freed_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[bool] = []
    monkeypatch.setattr(environment, "keep_freed_memory", lambda: calls.append(True) or True)
    monkeypatch.delenv(environment.BACKEND_ENV, raising=False)
    environment.use_runtime(None)
    assert calls == [True]
