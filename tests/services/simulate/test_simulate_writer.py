"""FrameSink: atomic frames, dropped frames, partial (non-atomic) writes that complete."""

import time
from pathlib import Path

import numpy as np
import pytest

from deepclean.services.simulate.faults import NOT_READY, FaultPlan
from deepclean.services.simulate.settings import Stream
from deepclean.services.simulate.writer import FrameSink
from deepclean.utils.errors import FrameError
from deepclean.utils.frames.gwf import check_frame, list_channels, read_frame
from deepclean.utils.simulation.detector import DetectorConfig, SimulatedDetector

GPS = 1_400_000_000


@pytest.fixture(scope="module")
def seconds():
    det = SimulatedDetector(DetectorConfig(), GPS)
    return [det.next() for _ in range(3)]


def test_writes_both_frames_with_state_and_truth(tmp_path: Path, seconds) -> None:
    plan = FaultPlan(not_ready_spans=((GPS + 0.25, GPS + 0.5),))
    with FrameSink(tmp_path, "H1", plan) as sink:
        outcome = sink.write(seconds[0])
    assert outcome.written == (Stream.STRAIN, Stream.WITNESS) and not outcome.ready
    strain = read_frame(
        sink.path(Stream.STRAIN, GPS),
        ["H1:GDS-CALIB_STRAIN", "H1:GDS-CALIB_STATE_VECTOR", "H1:SIM-BACKGROUND"],
        expected_t0=GPS,
        expected_duration=1,
        expected_rates={
            "H1:GDS-CALIB_STRAIN": 16384,
            "H1:GDS-CALIB_STATE_VECTOR": 16,
            "H1:SIM-BACKGROUND": 16384,
        },
    )
    np.testing.assert_array_equal(strain["H1:GDS-CALIB_STRAIN"].data, seconds[0].strain)
    np.testing.assert_array_equal(strain["H1:SIM-BACKGROUND"].data, seconds[0].background)
    assert strain["H1:GDS-CALIB_STATE_VECTOR"].data.tolist() == [3] * 4 + [NOT_READY] * 4 + [3] * 8
    names = list(seconds[0].witnesses)
    witness = read_frame(
        sink.path(Stream.WITNESS, GPS),
        names,
        expected_t0=GPS,
        expected_duration=1,
        expected_rates=seconds[0].rates,
    )
    for name in names:
        np.testing.assert_array_equal(witness[name].data, seconds[0].witnesses[name])


def test_no_truth_channel_without_truth(tmp_path: Path, seconds) -> None:
    with FrameSink(tmp_path, "H1", FaultPlan(), truth=False) as sink:
        sink.write(seconds[0])
    assert sorted(list_channels(sink.path(Stream.STRAIN, GPS))) == [
        "H1:GDS-CALIB_STATE_VECTOR",
        "H1:GDS-CALIB_STRAIN",
    ]


def test_dropped_frames_are_never_written(tmp_path: Path, seconds) -> None:
    plan = FaultPlan(drop_gps=frozenset({GPS + 1}), drop_streams=frozenset({Stream.WITNESS}))
    with FrameSink(tmp_path, "H1", plan) as sink:
        outcomes = [sink.write(s) for s in seconds]
    assert outcomes[1].dropped == (Stream.WITNESS,)
    assert not sink.path(Stream.WITNESS, GPS + 1).exists()
    assert (
        sink.path(Stream.STRAIN, GPS + 1).exists() and sink.path(Stream.WITNESS, GPS + 2).exists()
    )


def test_partial_write_appears_truncated_then_completes(tmp_path: Path, seconds) -> None:
    sink = FrameSink(
        tmp_path, "H1", FaultPlan(partial_rate=1.0), partial_pieces=3, partial_delay_s=0.6
    )
    try:
        outcome = sink.write(seconds[0])
        assert outcome.partial == (Stream.STRAIN, Stream.WITNESS)
        path = sink.path(Stream.STRAIN, GPS)
        assert path.exists()
        with pytest.raises(FrameError):
            check_frame(path)  # truncated: a reader must retry
        deadline = time.monotonic() + 30
        while sink.pending() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sink.pending() == 0
    finally:
        sink.close()
    strain = read_frame(path, ["H1:GDS-CALIB_STRAIN"], expected_t0=GPS, expected_duration=1)
    np.testing.assert_array_equal(strain["H1:GDS-CALIB_STRAIN"].data, seconds[0].strain)
    check_frame(sink.path(Stream.WITNESS, GPS))


def test_close_completes_pending_partial_files_at_once(tmp_path: Path, seconds) -> None:
    sink = FrameSink(
        tmp_path, "H1", FaultPlan(partial_rate=1.0), partial_pieces=4, partial_delay_s=60.0
    )
    for second in seconds:
        sink.write(second)
    assert sink.pending() == 6
    t0 = time.monotonic()
    sink.close()
    assert time.monotonic() - t0 < 30  # far less than the 60 s the pieces would have taken
    for second in seconds:
        for stream in Stream:
            check_frame(sink.path(stream, second.gps))
    assert not list(tmp_path.rglob("*.tmp"))
