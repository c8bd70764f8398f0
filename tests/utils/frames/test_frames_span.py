"""Offline span loader against a direct computation from the written samples."""

from pathlib import Path

import numpy as np
import pytest

from deepclean.utils.errors import FrameError
from deepclean.utils.frames.resample import resample
from deepclean.utils.frames.span import gps_ranges, read_span
from deepclean.utils.frames.taper import fill_gaps

from .frame_fixtures import BACKGROUND, CHANNELS, IFO_, STRAIN, T0, WITNESS_RATES, tone, write_pair

RATES = {STRAIN: 16384, BACKGROUND: 16384, **WITNESS_RATES}
SCALE = {STRAIN: 1e-21, BACKGROUND: 1e-22}
MISSING = T0 + 10
NOT_READY = T0 + 15
LAST = T0 + 22  # frames exist for [T0, LAST)


@pytest.fixture(scope="module")
def stream_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("span") / "data"
    for gps in range(T0, LAST):
        if gps != MISSING:
            write_pair(data_dir, gps, background=True, state=1 if gps == NOT_READY else 3)
    return data_dir


def _expected(name: str, first: int, last: int) -> np.ndarray:
    """Samples of ``name`` at 4096 Hz for [first, last) (padded frames exist), from the written
    signal."""
    rate = RATES[name]
    seconds = range(first - 1, last + 1)
    pieces = [None if s == MISSING else SCALE.get(name, 1.0) * tone(name, rate, s) for s in seconds]
    joined, _ = fill_gaps(pieces, rate, rate)
    return resample(joined, rate, 4096)[4096:-4096]


def test_span_matches_direct_computation(stream_dir: Path) -> None:
    start, duration = T0 + 1, 20
    span = read_span(
        stream_dir,
        IFO_,
        CHANNELS,
        start,
        duration,
        extra_strain_channels=[BACKGROUND],
        chunk_seconds=7,
    )
    assert span.channels == tuple(CHANNELS) and span.t0 == start and span.sample_rate == 4096.0
    assert span.data.shape == (len(CHANNELS), duration * 4096) and span.data.dtype == np.float64
    assert span.missing == (MISSING,)
    for row, name in enumerate(CHANNELS):
        expected = _expected(name, start, start + duration)
        np.testing.assert_allclose(
            span.data[row], expected, rtol=0, atol=1e-12 * SCALE.get(name, 1.0)
        )
    np.testing.assert_allclose(
        span.extras[BACKGROUND], _expected(BACKGROUND, start, start + duration), rtol=0, atol=1e-34
    )
    # missing (filled), tapered in after it, state not ready; the second before a missing one
    # keeps its data (the fill fades out inside the gap) and its readiness
    not_ready = {MISSING, MISSING + 1, NOT_READY}
    assert span.ready_seconds.tolist() == [
        s not in not_ready for s in range(start, start + duration)
    ]
    assert span.ready.shape == (duration * 4096,)
    assert span.times()[4096] == start + 1


def test_result_does_not_depend_on_chunking(stream_dir: Path) -> None:
    one = read_span(stream_dir, IFO_, CHANNELS, T0 + 3, 12, chunk_seconds=1)
    other = read_span(stream_dir, IFO_, CHANNELS, T0 + 3, 12, chunk_seconds=64)
    np.testing.assert_array_equal(one.data, other.data)
    np.testing.assert_array_equal(one.ready, other.ready)


def test_unpadded_edges_are_zero_padded_and_not_ready(
    stream_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("WARNING"):
        span = read_span(
            stream_dir, IFO_, CHANNELS, T0, LAST - T0
        )  # no frame at T0 - 1 nor at LAST
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1, warnings  # one summary line, and absent padding is no dropped frame
    assert warnings[0].startswith(
        f"span {T0}+{LAST - T0} s: 1 second(s) missing or invalid, zero-filled: "
        f"GPS {MISSING} (first: frame file "
    )
    assert warnings[0].endswith(f"-{MISSING}-1.gwf does not exist)")
    for row, name in enumerate(CHANNELS):
        rate = RATES[name]
        pieces = (
            [np.zeros(rate)]
            + [
                None if s == MISSING else SCALE.get(name, 1.0) * tone(name, rate, s)
                for s in range(T0, LAST)
            ]
            + [np.zeros(rate)]
        )
        joined, _ = fill_gaps(pieces, rate, rate)
        expected = resample(joined, rate, 4096)[4096:-4096]
        np.testing.assert_allclose(
            span.data[row], expected, rtol=0, atol=1e-12 * SCALE.get(name, 1.0)
        )
    ready = span.ready_seconds
    assert not ready[0] and not ready[-1] and ready[1] and ready[-2]


def test_errors(stream_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(
        FrameError, match=r"no usable frames for GPS 1250000000-1250000005 under .*empty"
    ):
        read_span(tmp_path / "empty", IFO_, CHANNELS, T0, 5)
    with pytest.raises(ValueError, match="duration 0 s must be at least 1"):
        read_span(stream_dir, IFO_, CHANNELS, T0, 0)


def test_gps_ranges() -> None:
    assert gps_ranges((5, 6, 7, 9, 11, 12)) == "5-7, 9, 11-12"
    assert gps_ranges(tuple(range(0, 40, 2)), limit=3) == "0, 2, 4 and 17 more range(s)"
