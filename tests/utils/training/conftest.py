"""Fixtures of the training tests."""

import pytest

from deepclean.utils.frames.span import Span
from deepclean.utils.nn import DeepCleanModel
from deepclean.utils.training.dataset import WindowSpec, prepare

from .synthetic_span import FS, make_span

BAND = [(58.0, 62.0)]  #: the cleaning band of the loop tests, Hz


@pytest.fixture(scope="session")
def tiny_span() -> Span:
    return make_span()


@pytest.fixture(scope="module")
def prepared(tiny_span):
    """A model with fitted scalers and the tiny span's windows (2 s every 1 s) in ``BAND``."""
    model = DeepCleanModel(3)
    data = prepare(
        model,
        tiny_span.data[0],
        tiny_span.data[1:],
        tiny_span.ready,
        sample_rate=FS,
        bands=BAND,
        window=WindowSpec.from_seconds(2.0, 1.0, FS),
        valid_frac=0.25,
    )
    return model, data
