"""Fixtures for the models tests."""

from __future__ import annotations

import pytest

from tests.models.helpers import Trained, train_shared


@pytest.fixture(scope="session")
def trained() -> Trained:
    """One small model trained for 2 epochs with validation, shared by several tests."""
    return train_shared()


def pytest_configure(config: pytest.Config) -> None:
    # Keras' own ReduceLROnPlateau calls np.array() on a TF variable, which NumPy 2 flags.
    config.addinivalue_line(
        "filterwarnings",
        "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning",
    )
