"""Shared helpers of the reliability suite: tiny configs, synthetic prices, tree snapshots,
the real CLI, and the consistency check of a STACKCAST_HOME after faults and crashes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from tests.conftest import sessions

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()

# Hidden entries a crash may leave behind and every reader ignores (see pipeline.results.runs).
STAGING_PREFIX = ".staging-"


def synthetic_prices(
    tickers: tuple[str, ...] = ("AAA", "BBB"), n: int = 500, start: str = "2020-01-01"
) -> pd.DataFrame:
    """Long-format OHLCV random walks, one per ticker, on business days."""
    dates = sessions(start, periods=n)
    parts = []
    for k, t in enumerate(tickers):
        rng = np.random.default_rng(k)
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
        parts.append(
            pd.DataFrame(
                {
                    "date": dates.strftime("%Y-%m-%d"),
                    "ticker": t,
                    "open": close * (1 + rng.normal(0, 0.002, n)),
                    "high": close * 1.01,
                    "low": close * 0.99,
                    "close": close,
                    "volume": rng.integers(1_000, 5_000, n),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    """Write ``frame`` as a CSV price file; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def tiny_config(
    source: str | Path,
    tickers: tuple[str, ...] = ("AAA", "BBB"),
    *,
    name: str = "tiny",
    home: Path | None = None,
    extra: str = "",
    train: str = "",
) -> str:
    """TOML of the smallest config that trains (window 16, H=2, one GRU(8), 2 epochs)."""
    listed = ", ".join(f'"{t}"' for t in tickers)
    paths = f"\n[paths]\nhome = {json.dumps(str(home))}\n" if home is not None else ""
    return f"""name = "{name}"

[data]
source = {json.dumps(str(source))}
tickers = [{listed}]

[features]
window = 16
horizons = 2
min_history = 8

[model]
layers = [{{ cell = "gru", units = 8 }}]
dropout = 0.0
between_dropout = 0.0

[train]
epochs = 2
batch_size = 64
mc_samples = 3
{train}
[backtest]
folds = 1
test_size = 40
train_size = 300
{extra}{paths}"""


def snapshot(home: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``home`` except lock files.

    Lock files (zero bytes, ``*.lock``) are created by any command that takes a lock, even
    one that then fails; they hold no data.
    """
    out: dict[str, str] = {}
    if not home.exists():
        return out
    for path in sorted(home.rglob("*")):
        if path.is_file() and not path.name.endswith(".lock"):
            out[path.relative_to(home).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def digest(path: Path) -> str:
    """sha256 of one file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def error_lines(stderr: str) -> list[str]:
    """The ``error:`` lines of a command's stderr."""
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def assert_clean_error(stdout: str, stderr: str, *needles: str) -> str:
    """Exactly one ``error:`` line naming every needle (case-insensitive), no traceback."""
    errors = error_lines(stderr)
    assert len(errors) == 1, f"expected one error line:\n{stderr}"
    assert "Traceback" not in stdout + stderr, stdout + stderr
    assert not errors[0].startswith("error: unexpected "), errors[0]  # exit-1 crash text
    assert "STACKCAST_DEBUG" not in errors[0], errors[0]
    for needle in needles:
        assert needle.lower() in errors[0].lower(), f"{needle!r} not in {errors[0]!r}"
    return errors[0]


def cli(*args: str | Path) -> Any:
    """Run the CLI in-process (``typer.testing.CliRunner`` on ``pipeline.cli.app.app``)."""
    from stackcast.pipeline.cli.app import app

    return runner.invoke(app, [str(a) for a in args])


def cli_subprocess(
    *args: str | Path, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI, ``python -m pipeline ...``, in a fresh process."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    full_env.pop("STACKCAST_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "stackcast", *map(str, args)],
        cwd=REPO,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# ----------------------------------------------------------------------------- consistency


def check_home(home: Path) -> list[str]:
    """Assert every file stackcast keeps under ``home`` is readable and consistent.

    Prices: every ``prices/*.parquet`` reads back as a valid price frame. Models: every
    published version has ``model.keras`` (an intact zip) and ``meta.json``; ``champion.json``
    parses and names a published version. Ledger: readable, one row per key. Runs: every
    published run directory is complete. Index: readable.

    Returns:
        Hidden leftovers of interrupted writes (``.staging-*`` entries, ``*.tmp`` files),
        which every reader ignores.
    """
    from stackcast.pipeline.data.store import PriceStore
    from stackcast.pipeline.results import ledger, registry

    leftovers = [
        p.relative_to(home).as_posix()
        for p in home.rglob("*")
        if p.name.startswith(STAGING_PREFIX) or p.name.endswith(".tmp")
    ]
    store = PriceStore(home)
    for parquet in sorted((home / "prices").glob("*.parquet")):
        frame = store.read(parquet.stem)  # raises DataError on a damaged file
        assert len(frame) > 0, parquet

    for root in sorted((home / "models").glob("*")) if (home / "models").is_dir() else []:
        if not root.is_dir():
            continue
        for version in registry.versions(home, root.name):
            vdir = root / version
            assert (vdir / "meta.json").is_file(), f"{vdir} lacks meta.json"
            meta = json.loads((vdir / "meta.json").read_text(encoding="utf-8"))
            assert meta["version"] == version
            assert (vdir / "model.keras").is_file(), f"{vdir} lacks model.keras"
            with zipfile.ZipFile(vdir / "model.keras") as archive:
                assert archive.testzip() is None, f"{vdir}/model.keras is damaged"
        champ = root / "champion.json"
        if champ.exists():
            record = json.loads(champ.read_text(encoding="utf-8"))
            assert record["version"] in registry.versions(home, root.name), record

    book = ledger.read(home)
    assert not book.duplicated(list(ledger.KEY)).any(), "duplicate ledger rows"

    runs = home / "runs"
    for run in sorted(runs.iterdir()) if runs.is_dir() else []:
        if run.name.startswith(".") or not run.is_dir():
            continue
        for name in ("summary.json", "report.html", "forecasts.parquet", "metrics.json"):
            assert (run / name).is_file(), f"published run {run.name} lacks {name}"
        json.loads((run / "summary.json").read_text(encoding="utf-8"))
        json.loads((run / "metrics.json").read_text(encoding="utf-8"))
        pd.read_parquet(run / "forecasts.parquet")
    if (home / "index.html").exists():
        assert "</html>" in (home / "index.html").read_text(encoding="utf-8")
    return sorted(leftovers)
