"""Fixtures of the training tests."""

import pytest

from deepclean.utils.frames.span import Span

from .synthetic_span import make_span


@pytest.fixture(scope="session")
def tiny_span() -> Span:
    return make_span()
