"""Shared benchmark plumbing: environment, machine info, JSON-line records, medians.

Every benchmark reports through :class:`Recorder`: each measurement is one JSON object,
printed on its own line to stdout and appended to ``bench/results.jsonl`` together with the
machine it ran on (CPU count, platform, Python, Keras/backend/TensorFlow versions, device, git
commit) and the run's id and timestamp. Machine info is gathered without importing TensorFlow,
so a benchmark that does not need it starts fast.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results.jsonl"
SAMPLE = REPO / "data" / "sample"
PACKAGES = ("stackcast", "pipeline", "features", "models", "reports", "bench")

# What `stackcast` sets before TensorFlow is imported (pipeline.environment.quiet_tensorflow):
# benchmarks run the same numerics and stay quiet.
BENCH_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "KERAS_BACKEND": "tensorflow",
    "PYTHONHASHSEED": "0",
}


def configure_environment() -> None:
    """Apply ``BENCH_ENV`` (without overriding the caller's values), put the repo on the path
    and byte-compile it (``compile_sources``).

    Call before anything imports TensorFlow or Keras, and before any clock starts.
    """
    for key, value in BENCH_ENV.items():
        os.environ.setdefault(key, value)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    compile_sources()


def compile_sources() -> None:
    """Byte-compile the repo's packages where their ``__pycache__`` is missing or stale.

    ``pip install`` byte-compiles an installed package, and Python reads ``__pycache__`` even
    where it may not write it (``PYTHONDONTWRITEBYTECODE``, set on some machines). Without
    this, a bench there compiles each stackcast module from source when the run first imports
    it, inside the clock, while its peers load theirs from their installed bytecode.
    """
    import compileall

    for package in PACKAGES:
        compileall.compile_dir(REPO / package, quiet=1)


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for benchmark subprocesses: this one, ``BENCH_ENV`` defaults, ``extra``."""
    env = dict(os.environ)
    for key, value in BENCH_ENV.items():
        env.setdefault(key, value)
    env.update(extra or {})
    return env


def median(values: Iterable[float]) -> float:
    """Median of ``values`` (NaN when empty)."""
    values = list(values)
    return statistics.median(values) if values else float("nan")


def ratio(numerator: float, denominator: float, digits: int = 3) -> float | None:
    """``numerator / denominator`` rounded, or None when undefined."""
    if not denominator or denominator != denominator or numerator != numerator:
        return None
    return round(numerator / denominator, digits)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``(fn(), wall seconds)``."""
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def interleaved(names: Sequence[str], reps: int) -> list[tuple[int, str]]:
    """``(rep, name)`` in the order to run them: every rep runs every name, rotated per rep.

    Rotation keeps a systematic position effect (first run after another, warmer caches) from
    always favouring the same variant.
    """
    order: list[tuple[int, str]] = []
    for rep in range(reps):
        k = rep % max(len(names), 1)
        order += [(rep, name) for name in [*names[k:], *names[:k]]]
    return order


def _version(*dists: str) -> str | None:
    for dist in dists:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def _git_commit() -> str | None:
    from stackcast.pipeline.results.runs import git_commit

    return git_commit()


def _gpus() -> list[str]:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run(
            [smi, "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def keras_backend() -> str:
    """The Keras backend in use (or that ``import keras`` would pick), without importing it."""
    if "keras" in sys.modules:
        try:
            return str(sys.modules["keras"].backend.backend())
        except AttributeError:
            pass
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    config = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
    try:
        return str(json.loads(config.read_text()).get("backend", "tensorflow"))
    except (OSError, ValueError):
        return "tensorflow"


def machine_info() -> dict[str, Any]:
    """Where the benchmarks run (no TensorFlow import)."""
    gpus = _gpus()
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "keras": _version("keras"),
        "backend": keras_backend(),
        "tensorflow": _version("tensorflow", "tensorflow-cpu"),
        "numpy": _version("numpy"),
        "device": f"gpu: {', '.join(gpus)}" if gpus else f"cpu x{os.cpu_count()}",
        "git_commit": _git_commit(),
    }


@dataclass
class Recorder:
    """Prints each record as a JSON line and appends it, with machine info, to a results file.

    Attributes:
        results: The JSON-lines file appended to; ``None`` prints only.
        quick: Marks every record of a ``--quick`` run.
        run_id: Shared by every record of one ``python -m bench`` run.
        records: Everything emitted so far (full records, machine info included).
    """

    results: Path | None = RESULTS
    quick: bool = False
    run_id: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    )
    records: list[dict[str, Any]] = field(default_factory=list)
    _machine: dict[str, Any] | None = None

    @property
    def machine(self) -> dict[str, Any]:
        """Machine info, gathered once."""
        if self._machine is None:
            self._machine = machine_info()
        return self._machine

    def emit(self, bench: str, record: dict[str, Any]) -> dict[str, Any]:
        """Print and store one measurement; returns the full record."""
        full = {
            "bench": bench,
            **record,
            "quick": self.quick,
            "run_id": self.run_id,
            "timestamp": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
            "machine": self.machine,
        }
        line = json.dumps(full, default=_json_default, allow_nan=False)
        print(line, flush=True)
        if self.results is not None:
            self.results.parent.mkdir(parents=True, exist_ok=True)
            with self.results.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        self.records.append(full)
        return full


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON-serializable")


def clean(value: Any, digits: int = 4) -> Any:
    """Round floats (recursively) and turn NaN/inf into None, for strict JSON."""
    if isinstance(value, float):
        return round(value, digits) if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {k: clean(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v, digits) for v in value]
    return value


def run_child(
    args: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path = REPO, timeout: float
) -> tuple[dict[str, Any], float]:
    """Run a Python child that prints one JSON object as its last stdout line.

    Returns:
        ``(that object, wall seconds of the child)``.

    Raises:
        RuntimeError: The child failed or printed no JSON (its stderr tail is in the message).
    """
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env or child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    seconds = time.perf_counter() - t0
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout)[-1500:]
        raise RuntimeError(f"child {' '.join(args[:3])} exited {proc.returncode}: {tail}")
    return json.loads(lines[-1]), seconds
