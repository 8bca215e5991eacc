"""The run files' indented JSON is the standard library's text, byte for byte."""

from __future__ import annotations

import datetime
import enum
import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from stackcast.pipeline.results import jsontext, runs

from stackcast.jsonable import json_default


class _Side(enum.StrEnum):
    """A str subclass (an enum member): the C and the Python encoder take its text."""

    BUY = "buy"


class _Level(enum.IntEnum):
    """An int subclass: both encoders spell it as ``int.__repr__`` does."""

    HIGH = 3


class _Price(float):
    """A float subclass: both encoders spell it as ``float.__repr__`` does."""


LEAVES = [
    _Side.BUY,
    _Level.HIGH,
    _Price(2.5),
    None,
    True,
    False,
    0,
    -3,
    2**70,
    1.5,
    -0.0,
    1e-300,
    float("nan"),
    float("inf"),
    -float("inf"),
    'a"b\\n\n\u00e9\u4e2d',
    "",
    np.float64(0.1),
    np.int64(7),
    np.float32(0.25),
    np.bool_(True),
    datetime.date(2020, 1, 2),
    pd.Timestamp("2021-03-04"),
    Path("x/y"),
    (1, "two"),
    np.arange(3),
]
KEYS = ["k", "\u00e9", "x\ty", 1, 2.5, True, False, None, float("nan"), _Side.BUY, _Level.HIGH]


def _document(rng: random.Random, depth: int = 0) -> object:
    r = rng.random()
    if depth > 4 or r < 0.5:
        return rng.choice(LEAVES)
    if r < 0.75:
        return [_document(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {
        (rng.choice(KEYS) if rng.random() < 0.3 else f"k{i}"): _document(rng, depth + 1)
        for i in range(rng.randint(0, 4))
    }


def _stdlib(obj: object) -> str:
    return json.dumps(obj, indent=2, default=json_default)


def test_random_documents_encode_as_the_standard_library_does():
    rng = random.Random(20261207)
    for _ in range(3000):
        doc = _document(rng)
        assert jsontext.dumps(doc) == _stdlib(doc), doc


def test_a_metrics_like_document_encodes_as_the_standard_library_does():
    rng = np.random.default_rng(3)
    rows = [
        {"ticker": f"T{k:04d}", "horizon": h, "n": 63, "mae": float(rng.random()), "p": None}
        for k in range(50)
        for h in range(1, 6)
    ]
    doc = {"n": 3, "horizons": [1, 2, 3], "model": {"overall": rows[0], "by_ticker": rows}}
    assert jsontext.dumps(doc) == _stdlib(doc)


def test_keys_the_standard_library_refuses_are_refused():
    with pytest.raises(TypeError, match="keys must be str"):
        jsontext.dumps({(1, 2): 1})


def test_published_run_files_hold_the_atomic_writers_bytes(tmp_path):
    from stackcast.pipeline.atomic import atomic_write_json, atomic_write_parquet

    frame = pd.DataFrame({"ticker": ["A", "B"], "y_pred": [0.1, np.nan]})
    frame.attrs["baselines"] = ["drift"]
    metrics = {"model": {"mae": 0.25, "by_ticker": [{"ticker": "A", "mae": np.float64(0.5)}]}}
    files = {"metrics.json": metrics, "forecasts.parquet": frame, "tickers/A.html": "<p>A</p>"}
    out = runs.publish_run(tmp_path / "home", "r1", files, {"kind": "backtest"}, out=tmp_path / "o")
    atomic_write_json(tmp_path / "m.json", metrics)
    atomic_write_parquet(frame, tmp_path / "f.parquet")
    assert (out / "metrics.json").read_bytes() == (tmp_path / "m.json").read_bytes()
    assert (out / "forecasts.parquet").read_bytes() == (tmp_path / "f.parquet").read_bytes()
    assert (out / "tickers" / "A.html").read_text() == "<p>A</p>"
    assert json.loads((out / "summary.json").read_text()) == {"kind": "backtest"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.parquet", "m.json", "o"]
