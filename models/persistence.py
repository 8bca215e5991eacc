"""Save and load a model directory: ``model.keras`` + ``meta.json``.

The saved model carries architecture and weights only: the optimizer (and its gradient-norm
accumulators) is left out, because a loaded model is used to forecast, and ``train`` compiles
afresh anyway. Loading is always ``safe_mode=True`` (no lambdas, no pickles); stackcast's own
layer (``MaskedAttentionPooling``) is registered for it.

The files are written straight into the directory given (the one file I/O ``models`` does,
and only when asked): callers that publish a version write it into a staging directory and
rename that into place (``stackcast.pipeline.results``), so a crash never leaves a torn one.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import keras
import stackcast.models.network  # noqa: F401  (registers MaskedAttentionPooling for safe-mode loading)
from stackcast.models.initial_weights import clone_with_weights

from stackcast.jsonable import json_default
from stackcast.versions import library_versions

MODEL_FILE = "model.keras"
META_FILE = "meta.json"


class ModelMismatchError(ValueError):
    """A saved model does not match what the caller expects (features, versions, config)."""


class DamagedModelError(ModelMismatchError):
    """A saved model's files are unreadable: ``meta.json`` not JSON, ``model.keras`` no archive.

    Atomic saves never leave such files; they come from changes behind stackcast's back (a
    hand edit, a truncated copy, disk damage). A ``ModelMismatchError``, so callers that turn
    mismatches into a clear message do the same here.
    """


def _inference_copy(model: keras.Model) -> keras.Model:
    """The same architecture and weights, uncompiled (no optimizer state)."""
    if not model.compiled:
        return model
    return clone_with_weights(model)


def save_model(model: keras.Model, directory: str | Path, meta: dict[str, Any]) -> Path:
    """Write ``directory/model.keras`` and ``directory/meta.json`` (versions added).

    Args:
        model: The trained model.
        directory: Created if missing.
        meta: JSON-able facts from the caller (config, features, scaler params, data range,
            history summary, ...). ``meta["versions"]`` is set here.

    Returns:
        The directory.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    meta = dict(meta)
    meta["versions"] = {**library_versions(), "backend": keras.backend.backend()}
    text = json.dumps(meta, indent=2, sort_keys=True, default=json_default, allow_nan=False)
    # Keras insists on the .keras suffix. Model first, meta last: a meta.json always
    # describes the model.keras beside it.
    _inference_copy(model).save(directory / MODEL_FILE)
    (directory / META_FILE).write_text(text + "\n", encoding="utf-8")
    return directory


def _diff(expected: Any, actual: Any, path: str) -> list[str]:
    if isinstance(expected, dict) and isinstance(actual, dict):
        out: list[str] = []
        for key in sorted(set(expected) | set(actual), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in actual:
                out.append(f"{sub}: expected {expected[key]!r}, saved model has none")
            elif key not in expected:
                continue
            else:
                out += _diff(expected[key], actual[key], sub)
        return out
    if isinstance(expected, list | tuple) and isinstance(actual, list | tuple):
        expected, actual = list(expected), list(actual)
    if expected != actual:
        return [f"{path}: expected {expected!r}, saved {actual!r}"]
    return []


def feature_diff(expected: list[str], saved: list[str]) -> str:
    """What differs between the input features a caller feeds and those a model was saved with."""
    missing = [f for f in expected if f not in saved]
    extra = [f for f in saved if f not in expected]
    parts = []
    if missing:
        parts.append(f"missing from the saved model: {missing}")
    if extra:
        parts.append(f"only in the saved model: {extra}")
    if not parts:
        parts.append(f"same names in a different order: expected {expected}, saved {saved}")
    return "; ".join(parts)


def load_model(
    directory: str | Path,
    expected_features: list[str] | tuple[str, ...] | None = None,
    expected: dict[str, Any] | None = None,
    *,
    check_version: bool = True,
) -> tuple[keras.Model, dict[str, Any]]:
    """Load ``directory/model.keras`` (safe mode) and its ``meta.json``, checking they fit.

    Args:
        directory: A directory written by ``save_model``.
        expected_features: The input features the caller will feed, in order; must equal
            ``meta["features"]``.
        expected: Other meta entries that must match (nested dicts compared key by key; keys
            absent from ``expected`` are not checked), e.g. ``{"config": {"model": ...}}``.
        check_version: Refuse a model saved by a different keras major.minor.

    Returns:
        ``(model, meta)``.

    Raises:
        FileNotFoundError: a file is missing.
        ModelMismatchError: features, keras version or expected entries differ; the message
            names each difference.
        DamagedModelError: ``meta.json`` or ``model.keras`` is unreadable.
    """
    directory = Path(directory)
    meta_path, model_path = directory / META_FILE, directory / MODEL_FILE
    for path in (meta_path, model_path):
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist (not a saved stackcast model)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise DamagedModelError(
            f"model in {directory} is damaged: meta.json is not valid JSON ({exc})"
        ) from None
    if not isinstance(meta, dict):
        raise DamagedModelError(f"model in {directory} is damaged: meta.json is not an object")
    problems: list[str] = []
    if expected_features is not None:
        saved = meta.get("features")
        if saved is None:
            problems.append("features: meta.json records no feature list")
        elif list(saved) != list(expected_features):
            problems.append(f"features differ: {feature_diff(list(expected_features), saved)}")
    if check_version:
        saved_keras = str(meta.get("versions", {}).get("keras", ""))
        if saved_keras.split(".")[:2] != keras.__version__.split(".")[:2]:
            problems.append(
                f"keras version: saved with {saved_keras or 'unknown'}, running "
                f"{keras.__version__} (major.minor must match)"
            )
    if expected:
        problems += _diff(expected, meta, "")
    if problems:
        raise ModelMismatchError(f"model in {directory} does not match: " + "; ".join(problems))
    if not zipfile.is_zipfile(model_path):
        raise DamagedModelError(
            f"model in {directory} is damaged: {MODEL_FILE} is not a .keras archive "
            "(truncated or overwritten)"
        )
    try:
        model = keras.saving.load_model(model_path, compile=False, safe_mode=True)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise DamagedModelError(
            f"model in {directory} is damaged: {MODEL_FILE} cannot be read ({exc})"
        ) from None
    return model, meta
