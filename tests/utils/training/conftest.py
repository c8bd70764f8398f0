"""Fixtures of the training tests."""

import pytest

from .synthetic_span import make_span
from deepclean.utils.frames.span import Span


@pytest.fixture(scope="session")
def tiny_span() -> Span:
    return make_span()
