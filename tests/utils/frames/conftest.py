"""Fixtures of the frame-stream tests (helpers live in frame_fixtures.py)."""

from pathlib import Path

import pytest


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """``$DATA_DIR`` of one test (created by the first frame written)."""
    return tmp_path / "data"
