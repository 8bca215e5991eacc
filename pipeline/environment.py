"""Process set-up shared by every entry point (CLI, flows, workers): logs, backend, allocator."""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import os
import platform
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from stackcast.pipeline.errors import ConfigError

if TYPE_CHECKING:
    from stackcast.pipeline.config import RunConfig

BACKENDS = ("tensorflow", "jax")
# Overrides ``[runtime] backend`` for one process (e.g. ``STACKCAST_BACKEND=jax stackcast demo``).
BACKEND_ENV = "STACKCAST_BACKEND"
# Size at which jax's compilation cache (``[runtime] compile_cache``) evicts its oldest entries.
COMPILE_CACHE_BYTES = 1 << 30
# LLVM optimisation level of the programs XLA compiles for the CPU under jax (XLA's default is
# 2). At 1 the demo's cold run compiles about 1.7 s faster and its steady epochs run about 10%
# faster, with the same bits in our tests (the demo's forecasts, initial weights, and a trained
# model's weights, validation loss and MC forecasts compared); 0 changes the numbers.
XLA_CPU_OPT_LEVEL = "--xla_backend_optimization_level=1"
# glibc's malloc for a run (``keep_freed_memory``): blocks up to MALLOC_MMAP_THRESHOLD come from
# the heap (not a mapping of their own), and up to MALLOC_TRIM_THRESHOLD of freed heap is kept.
MALLOC_MMAP_THRESHOLD = 32 << 20
MALLOC_TRIM_THRESHOLD = 128 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)
_MALLOC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")


def quiet_tensorflow() -> None:
    """Keep TensorFlow's start-up chatter (oneDNN banners, retracing notes) off the terminal.

    oneDNN's custom ops are also switched off by default: CPU results are then bitwise
    reproducible (oneDNN picks its kernels by the CPU's instruction set). The demo's network
    does not gain from them; a 63-unit LSTM's steady epochs run about 28% faster with them
    (``TF_ENABLE_ONEDNN_OPTS=1`` in the environment keeps them on).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)


def keep_freed_memory() -> bool:
    """Let glibc's malloc reuse the memory a run frees instead of handing it back at once.

    A run allocates and frees many arrays of a few MiB (the panel's blocks, NumPy's temporaries
    while scoring, the pages' text). By default glibc gives each such block a mapping of its own
    or trims it off the heap when freed, and the next array faults fresh zeroed pages in, which
    costs several microseconds a page on a virtual machine. Here blocks up to
    ``MALLOC_MMAP_THRESHOLD`` (32 MiB, the top of glibc's own adaptive threshold) come from the
    heap and up to ``MALLOC_TRIM_THRESHOLD`` (128 MiB) of freed heap is kept for reuse. At 100
    tickers this took the work outside training from about 0.86 s to 0.80 s (``bench.scale``);
    the process may hold that much freed memory until it ends. Results are unchanged.

    Nothing is changed off glibc, or where the environment sets ``MALLOC_MMAP_THRESHOLD_``,
    ``MALLOC_TRIM_THRESHOLD_`` or ``MALLOC_TOP_PAD_`` (the user's settings win; glibc's
    defaults are ``MALLOC_TRIM_THRESHOLD_=131072``).

    Returns:
        Whether the settings were applied.
    """
    if platform.libc_ver()[0] != "glibc" or any(k in os.environ for k in _MALLOC_ENV):
        return False
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is None:
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(
        mallopt(_M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD)
        and mallopt(_M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD)
    )


def use_runtime(cfg: RunConfig | None) -> str:
    """A run's process set-up: ``keep_freed_memory``, then ``use_backend`` for ``[runtime]``.

    ``cfg`` None keeps the backend the process uses.
    """
    keep_freed_memory()
    if cfg is None:
        return use_backend(None)
    return use_backend(cfg.runtime.backend, cache_dir=cfg.compile_cache_dir())


def use_backend(backend: str | None, *, cache_dir: Path | None = None) -> str:
    """Make ``backend`` (``[runtime] backend``) the Keras backend of this process.

    ``STACKCAST_BACKEND`` in the environment overrides ``backend``; ``None`` keeps what the
    process already uses (``KERAS_BACKEND``, else TensorFlow). Keras reads its backend once, at
    its first import, so this must run before anything imports Keras; once Keras is loaded, a
    request for the backend it runs on is accepted and any other is refused.

    On jax, ``cache_dir`` turns on XLA's persistent compilation cache there (unless
    ``JAX_COMPILATION_CACHE_DIR`` is set already): a later process compiling the same step for
    the same shapes loads it instead, which is most of a run's first fold. Cached entries are
    keyed by the program, the jax version and the device, so they never change a result.

    Returns:
        The backend in use.

    Raises:
        ConfigError: an unknown backend, ``jax`` without jax installed, or a backend other
            than the one Keras was already imported with.
    """
    quiet_tensorflow()
    wanted = os.environ.get(BACKEND_ENV) or backend or os.environ["KERAS_BACKEND"]
    where = f"{BACKEND_ENV}={wanted}" if os.environ.get(BACKEND_ENV) else f"backend = {wanted!r}"
    if wanted not in BACKENDS:
        raise ConfigError(f"[runtime] {where}: choose one of {', '.join(BACKENDS)}")
    keras = sys.modules.get("keras")
    if keras is not None:
        current = keras.backend.backend()
        if current != wanted:
            raise ConfigError(
                f"[runtime] {where}, but Keras is already running on {current} in this "
                f"process: start a new process (or set KERAS_BACKEND={wanted} before importing "
                "keras)"
            )
        if current == "jax":
            _prepare_jax(cache_dir)
        return current
    if importlib.util.find_spec(wanted) is None:
        extra = "jax" if wanted == "jax" else "gpu"
        raise ConfigError(
            f"[runtime] {where}, but {wanted} is not installed: pip install 'stackcast[{extra}]'"
        )
    os.environ["KERAS_BACKEND"] = wanted
    if wanted == "jax":
        _prepare_jax(cache_dir)
    return wanted


def _prepare_jax(cache_dir: Path | None) -> None:
    """XLA's CPU options and, with ``cache_dir``, the persistent compilation cache there."""
    _xla_cpu_flags()
    if cache_dir is not None:
        _compile_cache(cache_dir)


def _xla_cpu_flags() -> None:
    """Add ``XLA_CPU_OPT_LEVEL`` to ``XLA_FLAGS`` where jax will compile for the CPU only.

    Left out when ``XLA_FLAGS`` sets an optimisation level already (or reads a flag file),
    when an accelerator plugin is installed (unless ``JAX_PLATFORMS=cpu``: the flag would
    apply to its programs too), or when jax has started its backends (XLA reads its flags
    once, at that start).
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_backend_optimization_level" in flags or "--flagfile" in flags:
        return
    bridge = sys.modules.get("jax._src.xla_bridge")
    if bridge is not None and getattr(bridge, "_backends", None):
        return
    if os.environ.get("JAX_PLATFORMS", "").strip().lower() != "cpu" and _accelerator_plugin():
        return
    os.environ["XLA_FLAGS"] = f"{flags} {XLA_CPU_OPT_LEVEL}".strip()


def _accelerator_plugin() -> bool:
    """Whether a jax plugin for a GPU or TPU is installed (jax would find it at start)."""
    if any(importlib.util.find_spec(m) is not None for m in ("jax_plugins", "libtpu")):
        return True
    from importlib.metadata import entry_points

    return bool(entry_points(group="jax_plugins"))


def _env_number(name: str, kind: type[float] | type[int]) -> float | int:
    """The environment variable ``name`` read as ``kind`` (not a number: exit 2)."""
    value = os.environ[name]
    try:
        return kind(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r}: expected a number") from None


def _compile_cache(cache_dir: Path) -> None:
    """Point jax's persistent compilation cache at ``cache_dir`` (an explicit setting wins)."""
    # Keep every compile, not only those of a second or more (jax's default): a model's weight
    # creation alone is dozens of sub-second programs, seconds per process when not kept.
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
    jax = sys.modules.get("jax")
    if jax is not None:
        jax.config.update(
            "jax_persistent_cache_min_compile_time_secs",
            _env_number("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", float),
        )
    if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return
    os.environ["JAX_COMPILATION_CACHE_DIR"] = str(cache_dir)
    # Least recently used entries go once the directory passes COMPILE_CACHE_BYTES (jax's own
    # default is no limit).
    os.environ.setdefault("JAX_COMPILATION_CACHE_MAX_SIZE", str(COMPILE_CACHE_BYTES))
    if jax is not None:  # imported already: its config read the environment at import
        jax.config.update("jax_compilation_cache_dir", str(cache_dir))
        jax.config.update(
            "jax_compilation_cache_max_size", _env_number("JAX_COMPILATION_CACHE_MAX_SIZE", int)
        )
