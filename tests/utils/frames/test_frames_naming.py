"""Frame file names: LIGO's low-latency layout and clear errors for names that do not fit it."""

from pathlib import Path

import pytest

from deepclean.utils.frames.naming import (
    FrameKind,
    FrameName,
    frame_path,
    state_channel,
    strain_channel,
)
from deepclean.utils.ifo import IFO


def test_layout_of_strain_and_witness_frames() -> None:
    root = Path("/data")
    assert frame_path(root, FrameKind.STRAIN, "H1", 1250921168) == Path(
        "/data/kafka/H1/H-H1_llhoft-1250921168-1.gwf"
    )
    assert frame_path(root, FrameKind.WITNESS, IFO.L1, 5) == Path(
        "/data/lldetchar/L1/L-L1_lldetchar-5-1.gwf"
    )
    assert (strain_channel("H1"), state_channel("L1")) == (
        "H1:GDS-CALIB_STRAIN",
        "L1:GDS-CALIB_STATE_VECTOR",
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("H-H1_llhoft-1250921168-1.gwf", FrameName(IFO.H1, "llhoft", 1250921168, 1)),
        ("/some/dir/L-L1_lldetchar-7-4.gwf", FrameName(IFO.L1, "lldetchar", 7, 4)),
    ],
    ids=["strain", "witness-with-dir"],
)
def test_parse_round_trip(name: str, expected: FrameName) -> None:
    parsed = FrameName.parse(name)
    assert parsed == expected
    assert parsed.filename == Path(name).name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("H-H1_llhoft-1250921168-1.txt", "does not match <site>-<IFO>_<tag>-<GPS>-<duration>.gwf"),
        ("H1_llhoft-1250921168-1.gwf", "does not match"),
        ("H-H1_llhoft-12509x1168-1.gwf", "does not match"),
        (".H-H1_llhoft-1250921168-1.gwf.abc.tmp", "does not match"),
        ("L-H1_llhoft-1250921168-1.gwf", "site L does not match H1"),
        ("X-X1_llhoft-1250921168-1.gwf", "'X1' is not a valid IFO"),
    ],
    ids=["extension", "no-site", "bad-gps", "temporary-file", "site-mismatch", "unknown-ifo"],
)
def test_parse_errors_name_the_file(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FrameName.parse(name)
