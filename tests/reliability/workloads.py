"""Small write workloads for crash tests (called through ``crashrun``; no TensorFlow)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path


def publish_run(home: str, out: str, tag: str) -> None:
    """A staged run of three files published to ``out`` (replacing it if it exists)."""
    from stackcast.pipeline.results.runs import staged_run

    with staged_run(Path(home), "test", out=Path(out)) as run:
        for name in ("a.txt", "b.txt", "summary.json"):
            (run.staging / name).write_text(json.dumps({"tag": tag, "file": name}))


def publish_version(home: str, name: str) -> None:
    """A model version with placeholder files, then promoted to champion."""
    from stackcast.pipeline.results import registry

    with registry.new_version(Path(home), name) as (version, staging):
        with zipfile.ZipFile(staging / "model.keras", "w") as archive:  # .keras files are zips
            archive.writestr("config.json", json.dumps({"placeholder": True}))
        (staging / "meta.json").write_text(json.dumps({"version": version}))
    registry.promote(Path(home), name, version, "test", {})


def append_ledger(home: str, day: str) -> None:
    """Publish 2 tickers x 2 horizons for ``day``."""
    import pandas as pd
    from stackcast.pipeline.results import ledger

    origin = pd.Timestamp(day)
    rows = pd.DataFrame(
        {
            "ticker": ["AAA", "AAA", "BBB", "BBB"],
            "origin": origin,
            "horizon": [1, 2, 1, 2],
            "target_date": [origin + pd.offsets.BDay(h) for h in (1, 2, 1, 2)],
            "y_pred": [0.01, 0.02, -0.01, 0.0],
            "origin_close": [100.0, 100.0, 50.0, 50.0],
            "model_name": "tiny",
            "model_version": "v0001",
            "run_id": f"run-{day}",
        }
    )
    ledger.append(Path(home), rows)
