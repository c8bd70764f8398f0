"""Fixtures of the training tests."""

import pytest

from synthetic_span import make_span
from deepclean.utils.training.pipeline import SpanArrays


@pytest.fixture(scope="session")
def tiny_span() -> SpanArrays:
    return make_span()
