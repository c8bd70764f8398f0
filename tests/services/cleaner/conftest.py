"""A trained two-witness model shared by the cleaner's integration tests (one ~1 min training run
per session)."""

from pathlib import Path

import pytest

from .cleaner_helpers import train


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``(model directory, channels.txt)``."""
    root = tmp_path_factory.mktemp("cleaner-model")
    model = train(root / "data", root / "model")
    return model, root / "data" / "channels.txt"
