"""save_model / load_model: round trip, metadata, mismatches refused with the difference."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
from stackcast.models.persistence import ModelMismatchError, load_model, save_model

from tests.models.helpers import SHARED_MODEL, Trained

FEATURES = ["logret", "range", "observed"]


def _meta() -> dict:
    return {
        "features": FEATURES,
        "config": {"model": SHARED_MODEL.model_dump(mode="json")},
        "scaler": {"mean": np.array([0.1, 0.2]), "std": [1.0, 2.0]},
        "data_range": ["2020-01-01", "2020-12-31"],
    }


@pytest.fixture
def saved(trained: Trained, tmp_path: Path) -> Path:
    return save_model(trained.model, tmp_path / "m" / "1", _meta())


def test_round_trip_gives_identical_predictions(trained: Trained, saved: Path) -> None:
    assert sorted(p.name for p in saved.iterdir()) == ["meta.json", "model.keras"]
    model, meta = load_model(saved, expected_features=FEATURES)
    np.testing.assert_array_equal(
        model.predict(trained.x, verbose=0), trained.model.predict(trained.x, verbose=0)
    )
    assert [layer.name for layer in model.layers] == [layer.name for layer in trained.model.layers]
    assert meta["versions"]["keras"] == keras.__version__
    assert {"keras", "backend", "numpy", "python"} <= set(meta["versions"])
    assert meta["scaler"]["mean"] == [0.1, 0.2]
    assert not model.compiled  # no optimizer state in the file
    assert trained.model.compiled  # the trained model itself is untouched


def test_mismatched_features_are_refused_naming_the_difference(saved: Path) -> None:
    with pytest.raises(ModelMismatchError) as info:
        load_model(saved, expected_features=["logret", "volume_z", "observed"])
    message = str(info.value)
    assert "missing from the saved model: ['volume_z']" in message
    assert "only in the saved model: ['range']" in message
    with pytest.raises(ModelMismatchError, match="different order"):
        load_model(saved, expected_features=list(reversed(FEATURES)))


def test_expected_entries_and_version_are_checked(saved: Path) -> None:
    other = SHARED_MODEL.model_copy(update={"head": "last"}).model_dump(mode="json")
    with pytest.raises(ModelMismatchError, match=r"config\.model\.head: expected 'last'"):
        load_model(saved, expected={"config": {"model": other}})
    load_model(saved, expected={"config": {"model": SHARED_MODEL.model_dump(mode="json")}})
    meta_path = saved / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta["versions"]["keras"] = "2.15.0"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelMismatchError, match=r"keras version: saved with 2\.15\.0"):
        load_model(saved)
    load_model(saved, check_version=False)


def test_overwrite_is_atomic_and_leaves_no_temp_files(trained: Trained, saved: Path) -> None:
    save_model(trained.model, saved, {**_meta(), "note": "second"})
    assert sorted(p.name for p in saved.iterdir()) == ["meta.json", "model.keras"]
    assert load_model(saved)[1]["note"] == "second"


def test_missing_files_and_unserializable_meta(trained: Trained, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a saved stackcast model"):
        load_model(tmp_path)
    with pytest.raises(TypeError, match="not JSON-serializable"):
        save_model(trained.model, tmp_path / "x", {"features": FEATURES, "bad": object()})
