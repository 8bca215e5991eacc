"""Tiny configs and grids for the fold-parallel and sweep tests (bundled sample, 2 epochs)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from stackcast.pipeline.config import RunConfig, builtin_config, to_toml

# configs/demo.toml, shrunk: ~600 bars per ticker, one small GRU layer, 2 epochs, 3 folds.
SHRINK: dict[str, Any] = {
    "name": "tiny",
    "data": {"start": "2006-06-01", "end": "2008-10-14"},
    "features": {"window": 16, "horizons": 2, "min_history": 16},
    "model": {"layers": [{"cell": "gru", "units": 4, "bidirectional": False}], "dropout": 0.0},
    "train": {
        "epochs": 2,
        "batch_size": 128,
        "mc_samples": 0,
        "patience": 1,
        "warm_start": False,
    },
    "backtest": {"folds": 2, "test_size": 20, "train_size": 200},
    "sweep": {"validation_folds": 1},
    "report": {"title": "tiny sweep test"},
}


def tiny_config(home: Path | None = None, **sections: Any) -> RunConfig:
    """The demo config shrunk for tests; ``home`` pins ``[paths] home``; ``sections`` merge in."""
    raw = tomllib.loads(builtin_config("demo").read_text(encoding="utf-8"))
    for layer in (SHRINK, sections):
        for key, value in layer.items():
            raw[key] = raw.get(key, {}) | value if isinstance(value, dict) else value
    if home is not None:
        raw["paths"] = {"home": str(home)}
    return RunConfig.model_validate(raw)


def write_config(path: Path, cfg: RunConfig) -> Path:
    """Write ``cfg`` as TOML to ``path``."""
    path.write_text(to_toml(cfg), encoding="utf-8")
    return path


def task_names(state: Any, expected: set[str], timeout: float = 30.0) -> set[str]:
    """The flow run's task run names, polled until ``expected`` show (the API records them late).

    The test harness records task runs from client events; when its events service drops
    them (it logs "EventsWorker failed to process item"), none show: callers then rely on
    ``mapped_steps``.
    """
    import time

    from tests.pipeline.flow_support import task_states

    deadline = time.monotonic() + timeout
    while True:
        names = set(task_states(state))
        if expected <= names or time.monotonic() > deadline:
            return names
        time.sleep(0.5)


def mapped_steps(monkeypatch: Any) -> list[tuple[str, list[str]]]:
    """Record every ``PrefectSteps.map`` call as ``(step name, keys)``."""
    from stackcast.pipeline.orchestration.tasks import PrefectSteps

    calls: list[tuple[str, list[str]]] = []
    original = PrefectSteps.map

    def spy(self: Any, name: str, fn: Any, keys: Any, key_param: str, /, **params: Any) -> Any:
        keys = list(keys)
        calls.append((name, keys))
        return original(self, name, fn, keys, key_param, **params)

    monkeypatch.setattr(PrefectSteps, "map", spy)
    return calls
