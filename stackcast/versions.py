"""Installed versions of the libraries a result depends on (stamped into runs and models)."""

from __future__ import annotations

import platform
from importlib import metadata

PACKAGES = (
    "stackcast",
    "keras",
    "tensorflow-cpu",
    "tensorflow",
    "jax",
    "numpy",
    "pandas",
    "scikit-learn",
    "prefect",
    "yfinance",
    "matplotlib",
)


def library_versions() -> dict[str, str]:
    """``{"python": ..., package: version}`` for each installed package of ``PACKAGES``."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
