"""Helpers for the Prefect flow tests: the shrunk demo config and the flow run's artifacts/tasks."""

from __future__ import annotations

import json
import time
import tomllib
from pathlib import Path
from typing import Any

from stackcast.pipeline.config import RunConfig, builtin_config

# configs/demo.toml, shrunk: ~600 bars per ticker, one small GRU layer, 2 epochs.
SHRINK: dict[str, Any] = {
    "name": "tiny",
    "data": {"start": "2006-06-01", "end": "2008-10-14"},
    "features": {"window": 16, "horizons": 2, "min_history": 16},
    "model": {"layers": [{"cell": "gru", "units": 8, "bidirectional": False}]},
    "train": {"epochs": 2, "warm_epochs": 1, "batch_size": 128, "mc_samples": 3, "patience": 1},
    "backtest": {"folds": 1, "test_size": 20, "train_size": 300},
    "report": {"title": "tiny flow test"},
}


def tiny_config(home: Path | None = None, **data: Any) -> RunConfig:
    """The demo config shrunk for tests; ``home`` pins ``[paths] home``; ``data`` overrides."""
    raw = tomllib.loads(builtin_config("demo").read_text(encoding="utf-8"))
    for key, value in SHRINK.items():
        raw[key] = raw.get(key, {}) | value if isinstance(value, dict) else value
    raw["data"] |= data
    if home is not None:
        raw["paths"] = {"home": str(home)}
    return RunConfig.model_validate(raw)


def artifacts(state: Any) -> dict[str, Any]:
    """The flow run's artifacts by key."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    run_id = state.state_details.flow_run_id
    flt = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
    with get_client(sync_client=True) as client:
        return {a.key: a for a in client.read_artifacts(artifact_filter=flt)}


def task_states(state: Any, expect: tuple[str, ...] = (), timeout: float = 20.0) -> dict[str, str]:
    """Task run name -> final state type of the flow run.

    The harness stores task runs from client events, shortly after the flow returns: poll
    until every name in ``expect`` is there in a final state (or ``timeout``).
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    flt = FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            runs = client.read_task_runs(flow_run_filter=flt)
            got = {t.name: t.state.type.value for t in runs if t.state is not None}
            final = all(got.get(n) in ("COMPLETED", "FAILED", "CRASHED") for n in expect)
            if final or time.monotonic() > deadline:
                return got
            time.sleep(0.25)


def table(artifact: Any) -> list[dict[str, Any]]:
    data = artifact.data
    return json.loads(data) if isinstance(data, str) else data
