"""The GWF file checksum against the POSIX ``cksum`` command, and on real frame files."""

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from deepclean.utils.errors import FrameError
from deepclean.utils.frames.checksum import posix_cksum, verify_gwf_bytes
from deepclean.utils.frames.gwf import Channel, write_frame

from .frame_fixtures import T0

INPUTS = {
    "empty": b"",
    "one-byte": b"\x00",
    "text": b"hello world\n",
    "all-bytes": bytes(range(256)) * 3,
    "random-100k": np.random.default_rng(0).bytes(100_003),
}


@pytest.mark.skipif(shutil.which("cksum") is None, reason="coreutils cksum not installed")
@pytest.mark.parametrize("data", list(INPUTS.values()), ids=list(INPUTS))
def test_posix_cksum_matches_the_cksum_command(data: bytes) -> None:
    expected = int(
        subprocess.run(["cksum"], input=data, capture_output=True, check=True).stdout.split()[0]
    )
    assert posix_cksum(data) == expected


def test_verify_frame_bytes(tmp_path: Path) -> None:
    path = write_frame(tmp_path / "f.gwf", [Channel("H1:A", np.arange(64.0), 64.0, float(T0))])
    raw = path.read_bytes()
    assert verify_gwf_bytes(raw, "f.gwf") is True
    for i in (45, len(raw) // 2, len(raw) - 5):  # a flipped bit anywhere is caught
        bad = bytearray(raw)
        bad[i] ^= 0x80
        with pytest.raises(
            FrameError, match=r"frame file f.gwf is corrupt or incomplete \(\d+ bytes\)"
        ):
            verify_gwf_bytes(bytes(bad), "f.gwf")
    unflagged = bytearray(raw)
    unflagged[39] = 0  # checksum flag off: nothing to verify
    assert verify_gwf_bytes(bytes(unflagged), "f.gwf") is False
    with pytest.raises(FrameError, match="not a GWF file"):
        verify_gwf_bytes(b"IGWD", "f.gwf")
