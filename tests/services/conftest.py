"""A trained two-witness model shared by the services' integration tests (the cleaner's and the
monitor pipeline's): one ~1-3 min training run per session instead of one per test module."""

from pathlib import Path

import pytest

from .cleaner.cleaner_helpers import train


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(model directory, channels.txt)``; the training frames (GPS 1400000000 + 136 s) are in
    channels.txt's folder. Read-only: a test that changes the model works on a copy."""
    root = tmp_path_factory.mktemp("trained-model")
    model = train(root / "data", root / "model")
    return model, root / "data" / "channels.txt"
