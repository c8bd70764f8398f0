"""GWF read/write: bit-exact round trips, interoperability with gwpy, and every kind of bad file."""

from pathlib import Path

import numpy as np
import pytest

from deepclean.utils.errors import FrameError
from deepclean.utils.frames.gwf import Channel, check_frame, list_channels, read_frame, write_frame

from .frame_fixtures import T0

DTYPES = [
    "int16",
    "int32",
    "int64",
    "uint16",
    "uint32",
    "uint64",
    "float32",
    "float64",
    "complex64",
    "complex128",
]
RATES = [16, 256, 2048, 16384]


def _samples(dtype: str, n: int, rng: np.random.Generator) -> np.ndarray:
    kind = np.dtype(dtype).kind
    if kind == "c":
        return (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(dtype)
    if kind == "f":  # extreme magnitudes: strain is ~1e-21
        return (rng.standard_normal(n) * 10.0 ** rng.integers(-25, 25, n)).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "compressed"])
@pytest.mark.parametrize("rate", RATES, ids=[f"{r}Hz" for r in RATES])
@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trip_is_bit_exact(tmp_path: Path, dtype: str, rate: int, compress: bool) -> None:
    rng = np.random.default_rng(rate)
    channel = Channel("H1:TEST-X", _samples(dtype, rate, rng), float(rate), float(T0))
    path = write_frame(tmp_path / "H-H1_test-1250000000-1.gwf", [channel], compress=compress)
    got = read_frame(
        path,
        ["H1:TEST-X"],
        expected_t0=T0,
        expected_duration=1.0,
        expected_rates={"H1:TEST-X": rate},
    )
    out = got["H1:TEST-X"]
    assert out.data.dtype == np.dtype(dtype)
    assert np.array_equal(out.data, channel.data)
    assert (out.sample_rate, out.t0, out.duration) == (rate, T0, 1.0)


def test_mixed_channels_offsets_and_gwpy_reads_them(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    channels = [
        Channel("H1:A", rng.standard_normal(32768) * 1e-21, 16384.0, float(T0)),
        Channel("H1:B", np.arange(16, dtype=np.uint32), 16.0, float(T0) + 1.0),
        Channel("H1:C", rng.standard_normal(512).astype(np.float32), 256.0, float(T0)),
    ]
    path = write_frame(tmp_path / "H-H1_test-1250000000-2.gwf", channels)
    got = read_frame(path, ["H1:C", "H1:A", "H1:B"])
    assert list(got) == ["H1:C", "H1:A", "H1:B"]
    for channel in channels:
        assert got[channel.name].t0 == channel.t0
        assert np.array_equal(got[channel.name].data, channel.data)
    assert list_channels(path) == ["H1:A", "H1:B", "H1:C"]

    from gwpy.timeseries import TimeSeriesDict  # an independent reader of the same files

    gw = TimeSeriesDict.read(str(path), ["H1:A", "H1:C"], format="gwf", backend="lalframe")
    assert np.array_equal(gw["H1:A"].value, channels[0].data)
    assert np.array_equal(gw["H1:C"].value, channels[2].data)


def test_write_is_atomic_and_leaves_nothing_on_failure(tmp_path: Path) -> None:
    good = Channel("H1:A", np.zeros(16), 16.0, float(T0))
    write_frame(tmp_path / "a.gwf", [good])
    with pytest.raises(FrameError, match=r"dtype bool cannot be written to GWF; allowed: int16"):
        write_frame(
            tmp_path / "b.gwf", [good, Channel("H1:B", np.zeros(16, bool), 16.0, float(T0))]
        )
    with pytest.raises(FrameError, match="duplicate channel names"):
        write_frame(tmp_path / "c.gwf", [good, good])
    with pytest.raises(FrameError, match="no channels"):
        write_frame(tmp_path / "d.gwf", [])
    with pytest.raises(FrameError, match="non-empty 1-D array"):
        write_frame(tmp_path / "e.gwf", [Channel("H1:A", np.zeros((2, 8)), 16.0, float(T0))])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.gwf"]


@pytest.fixture
def frame(tmp_path: Path) -> Path:
    rng = np.random.default_rng(2)
    return write_frame(
        tmp_path / "H-H1_llhoft-1250000000-1.gwf",
        [
            Channel("H1:A", rng.standard_normal(4096), 4096.0, float(T0)),
            Channel("H1:S", np.full(16, 3, np.uint32), 16.0, float(T0)),
        ],
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"names": ["H1:A", "H1:NOPE", "H1:ALSO"]}, r"channel\(s\) H1:NOPE, H1:ALSO not found"),
        ({"expected_t0": T0 + 1}, r"channel H1:A starts at GPS 1250000000.0, expected 1250000001"),
        (
            {"expected_rates": {"H1:A": 16384.0}},
            r"H1:A has sample rate 4096.0 Hz, expected 16384.0 Hz",
        ),
        ({"expected_duration": 2.0}, r"H1:A holds 4096 samples \(1.0 s\), expected 2.0 s"),
    ],
    ids=["missing-channels", "wrong-gps", "wrong-rate", "wrong-length"],
)
def test_read_validation_errors(frame: Path, kwargs: dict, message: str) -> None:
    names = kwargs.pop("names", ["H1:A"])
    with pytest.raises(FrameError, match=message):
        read_frame(frame, names, **kwargs)


def test_nan_and_inf_samples_are_errors(tmp_path: Path) -> None:
    data = np.ones(16)
    data[[3, 9]] = [np.nan, np.inf]
    with pytest.raises(FrameError, match="channel H1:A: 2 of 16 samples are NaN or infinite"):
        write_frame(tmp_path / "refused.gwf", [Channel("H1:A", data, 16.0, float(T0))])
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary file left
    path = write_frame(
        tmp_path / "x.gwf", [Channel("H1:A", data, 16.0, float(T0))], allow_nonfinite=True
    )
    with pytest.raises(FrameError, match="channel H1:A has 2 NaN/Inf sample"):
        read_frame(path, ["H1:A"])


def _corrupt(frame: Path, how: str) -> Path:
    raw = bytearray(frame.read_bytes())
    if how == "truncated-half":
        raw = raw[: len(raw) // 2]
    elif how == "truncated-tail":
        raw = raw[:-3]
    elif how == "empty":
        raw = bytearray()
    elif how == "garbage":
        raw = bytearray(b"not a frame " * 100)
    elif how == "flipped-bit":
        raw[len(raw) // 2] ^= 0x04
    elif how == "zeroed-tail":
        raw[len(raw) // 2 :] = bytes(len(raw) - len(raw) // 2)
    frame.write_bytes(bytes(raw))
    return frame


BAD = {
    "truncated-half": "checksum does not match",
    "truncated-tail": "checksum does not match",
    "empty": "not a GWF file",
    "garbage": "not a GWF file",
    "flipped-bit": "corrupt or incomplete",
    "zeroed-tail": "checksum does not match",
}


@pytest.mark.parametrize("how", list(BAD))
def test_bad_files_are_frame_errors_never_crashes(
    frame: Path, how: str, capfd: pytest.CaptureFixture
) -> None:
    bad = _corrupt(frame, how)
    for call in (check_frame, list_channels, lambda p: read_frame(p, ["H1:A"])):
        with pytest.raises(FrameError, match=BAD[how]):
            call(bad)
    assert "XLAL" not in capfd.readouterr().err  # LALFrame's own messages are silenced


def test_missing_file_is_a_frame_error(tmp_path: Path) -> None:
    with pytest.raises(FrameError, match="does not exist"):
        read_frame(tmp_path / "nope.gwf", ["H1:A"])
    with pytest.raises(FrameError, match="does not exist"):
        check_frame(tmp_path / "nope.gwf")


def test_frames_are_readable_by_others_like_plainly_written_files(tmp_path: Path) -> None:
    path = write_frame(tmp_path / "x.gwf", [Channel("H1:A", np.ones(16), 16.0, float(T0))])
    plain = tmp_path / "plain"
    plain.write_text("x")
    assert path.stat().st_mode & 0o777 == plain.stat().st_mode & 0o777
