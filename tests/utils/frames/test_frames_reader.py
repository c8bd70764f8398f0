"""Paired strain + witness reads: every bad input becomes a logged DroppedFrame, never an
exception."""

import logging
import re
import time
from pathlib import Path

import numpy as np
import pytest

from deepclean.utils.channels import parse_channels
from deepclean.utils.errors import DroppedFrameError
from deepclean.utils.frames.gwf import Channel, write_frame
from deepclean.utils.frames.naming import FrameKind, frame_path
from deepclean.utils.frames.reader import DroppedFrame, FrameData, FramePairReader, FrameStream

from .frame_fixtures import (
    BACKGROUND,
    CHANNELS,
    IFO_,
    STRAIN,
    T0,
    WITNESS_RATES,
    WITNESSES,
    LiveWriter,
    strain_channels,
    strain_path,
    tone,
    witness_channels,
    write_pair,
)


def test_good_second(data_dir: Path) -> None:
    write_pair(data_dir, T0, background=True)
    reader = FramePairReader(
        data_dir, IFO_, parse_channels(CHANNELS, IFO_), extra_strain_channels=[BACKGROUND]
    )
    item = reader.read(T0)
    assert isinstance(item, FrameData) and item.gps == T0 and item.ready
    assert list(item.channels) == CHANNELS  # strain first, witnesses sorted
    assert item.sample_rates == [16384.0, *(WITNESS_RATES[w] for w in WITNESSES)]
    np.testing.assert_array_equal(item.arrays[0], 1e-21 * tone(STRAIN, 16384, T0))
    np.testing.assert_array_equal(item.extras[BACKGROUND].data, 1e-22 * tone(BACKGROUND, 16384, T0))
    assert item.state.tolist() == [3] * 16


def _witness(data_dir: Path, gps: int, channels: list[Channel]) -> None:
    write_frame(frame_path(data_dir, FrameKind.WITNESS, IFO_, gps), channels)


def _strain(data_dir: Path, gps: int, channels: list[Channel]) -> None:
    write_frame(
        strain_path(data_dir, gps), channels, allow_nonfinite=True
    )  # some cases are NaN on purpose


def _nan_strain(data_dir: Path, gps: int) -> None:
    channels = strain_channels(gps)
    data = channels[0].data.copy()
    data[100] = np.nan
    _strain(data_dir, gps, [Channel(STRAIN, data, 16384.0, float(gps)), channels[1]])


def _wrong_gps(data_dir: Path, gps: int) -> None:  # the file named gps holds the data of gps + 7
    _strain(data_dir, gps, strain_channels(gps + 7))


def _missing_witness(data_dir: Path, gps: int) -> None:
    _witness(data_dir, gps, witness_channels(gps)[1:])


def _wrong_rate(data_dir: Path, gps: int) -> None:
    channels = witness_channels(gps)
    first = channels[0]
    _witness(data_dir, gps, [Channel(first.name, np.zeros(128), 128.0, float(gps)), *channels[1:]])


def _short_strain(data_dir: Path, gps: int) -> None:
    strain, state = strain_channels(gps)
    _strain(data_dir, gps, [Channel(STRAIN, strain.data[:8192], 16384.0, float(gps)), state])


def _corrupt_witness(data_dir: Path, gps: int) -> None:
    path = frame_path(data_dir, FrameKind.WITNESS, IFO_, gps)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 1
    path.write_bytes(bytes(raw))


def _missing_state(data_dir: Path, gps: int) -> None:
    _strain(data_dir, gps, strain_channels(gps)[:1])


def _fractional_state(data_dir: Path, gps: int) -> None:
    strain, _ = strain_channels(gps)
    _strain(
        data_dir,
        gps,
        [strain, Channel("H1:GDS-CALIB_STATE_VECTOR", np.full(16, 2.5), 16.0, float(gps))],
    )


def _no_witness_file(data_dir: Path, gps: int) -> None:
    frame_path(data_dir, FrameKind.WITNESS, IFO_, gps).unlink()


FAULTS = {
    "nan": (_nan_strain, r"H1:GDS-CALIB_STRAIN has 1 NaN/Inf sample"),
    "wrong-gps": (
        _wrong_gps,
        r"H1:GDS-CALIB_STRAIN starts at GPS 1250000008.0, expected 1250000001",
    ),
    "missing-channel": (_missing_witness, r"channel\(s\) H1:ASC-CSOFT_P_OUT_DQ not found"),
    "wrong-rate": (
        _wrong_rate,
        r"H1:ASC-CSOFT_P_OUT_DQ has sample rate 128.0 Hz, expected 256.0 Hz",
    ),
    "wrong-length": (_short_strain, r"holds 8192 samples \(0.5 s\), expected 1.0 s"),
    "corrupt": (_corrupt_witness, "checksum does not match"),
    "no-state-vector": (_missing_state, r"H1:GDS-CALIB_STATE_VECTOR not found"),
    "no-witness-file": (_no_witness_file, "does not exist"),
    "undecodable-state": (
        _fractional_state,
        r"GDS-CALIB_STATE_VECTOR: state vector holds non-integer",
    ),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_bad_second_is_dropped_with_logged_reason(
    data_dir: Path, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    make, reason = FAULTS[fault]
    for gps in (T0, T0 + 1):
        write_pair(data_dir, gps)
    reader = FramePairReader(data_dir, IFO_, CHANNELS)
    assert isinstance(reader.read(T0), FrameData)  # learns the witness rates
    make(data_dir, T0 + 1)
    with caplog.at_level(logging.WARNING, logger="deepclean.utils.frames.reader"):
        item = reader.read(T0 + 1)
    assert isinstance(item, DroppedFrame) and item.gps == T0 + 1
    assert re.search(reason, item.reason), item.reason
    assert "GPS 1250000001: frame dropped" in caplog.text


def test_not_ready_second_is_data_flagged_not_ready(data_dir: Path) -> None:
    write_pair(data_dir, T0, state=1)
    item = FramePairReader(data_dir, IFO_, CHANNELS).read(T0)
    assert isinstance(item, FrameData) and not item.ready


def test_stream_follows_a_live_writer_with_drops_and_lagging_witnesses(data_dir: Path) -> None:
    """Witness frames are written 30 ms after strain frames; GPS T0+2 is never written, T0+4 is
    corrupt."""

    def action(gps: int) -> None:
        if gps == T0 + 2:
            return
        _strain(data_dir, gps, strain_channels(gps))
        time.sleep(0.03)
        _witness(data_dir, gps, witness_channels(gps))
        if gps == T0 + 4:
            _corrupt_witness(data_dir, gps)

    with (
        FrameStream(data_dir, IFO_, CHANNELS, start=T0, timeout=0.5) as stream,
        LiveWriter(action, T0, 7),
    ):
        items = [next(stream) for _ in range(7)]
    assert [i.gps for i in items] == list(range(T0, T0 + 7))
    kinds = [type(i).__name__ for i in items]
    assert (
        kinds
        == ["FrameData"] * 2
        + ["DroppedFrame"]
        + ["FrameData"]
        + ["DroppedFrame"]
        + ["FrameData"] * 2
    )
    assert items[2].reason.startswith("strain: file H-H1_llhoft-1250000002-1.gwf did not appear")
    assert items[4].reason.startswith(
        "witness: file H-H1_lldetchar-1250000004-1.gwf still unreadable"
    )


def test_stream_raises_after_too_many_consecutive_drops(data_dir: Path) -> None:
    write_pair(data_dir, T0)
    write_pair(data_dir, T0 + 1, state=3)
    _nan_strain(data_dir, T0 + 1)  # present but invalid: counts as a drop too
    with FrameStream(
        data_dir, IFO_, CHANNELS, start=T0, timeout=0.05, max_consecutive_drops=2
    ) as stream:
        assert isinstance(next(stream), FrameData)
        assert isinstance(next(stream), DroppedFrame)
        assert isinstance(next(stream), DroppedFrame)
        with pytest.raises(
            DroppedFrameError, match="3 consecutive seconds dropped up to GPS 1250000003"
        ):
            next(stream)


def test_stream_starts_now_and_closes(data_dir: Path) -> None:
    for gps in (T0, T0 + 3):
        write_pair(data_dir, gps)
    stream = FrameStream(data_dir, IFO_, CHANNELS, timeout=0.05)
    assert stream.gps == T0 + 3 and next(stream).gps == T0 + 3
    stream.close()
    assert list(stream) == []
