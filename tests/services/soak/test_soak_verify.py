"""The soak's verification on frames made here: real strain frames from the simulator, cleaned
frames and an archive file written with the project's frame writer; each kind of damage is
found and named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deepclean.services.soak.faults import Fault, corrupt_next_strain, schedule
from deepclean.services.soak.verify import verify
from deepclean.utils.frames.gwf import write_frame
from deepclean.utils.frames.naming import FrameKind, frame_path
from tests.services.monitor.helpers import Second, cleaned_channels
from tests.services.trainer.sim_helpers import GPS, IFO, simulate


def _cleaned(project: Path, gps: int) -> Path:
    path = frame_path(project, FrameKind.CLEANED, IFO, gps)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_frame(path, cleaned_channels(gps, Second()), allow_nonfinite=True)
    return path


def _archive(project: Path, start: int, seconds: int, nan_at: int | None = None) -> None:
    per_second = [cleaned_channels(g, Second()) for g in range(start, start + seconds)]
    joined = []
    for i, channel in enumerate(per_second[0]):
        data = np.concatenate([s[i].data for s in per_second])
        if nan_at is not None and i == 0:  # OUT_DQ first
            data = data.copy()
            data[(nan_at - start) * 4096 + 7] = np.nan
        joined.append(type(channel)(channel.name, data, channel.sample_rate, start))
    directory = project / "archive" / IFO
    directory.mkdir(parents=True, exist_ok=True)
    name = f"H-{IFO}_llhoft_deepclean-{start}-{seconds}.gwf"
    write_frame(directory / name, joined, allow_nonfinite=True)


#: GPS - Unix seconds the tests pretend (verify reads frame arrival from modification times)
OFFSET = -315_964_782.0


def _arrive(data: Path, gps: int, after_end: float) -> None:
    """Set the strain frame of ``gps`` as completed ``after_end`` s after its second ended."""
    import os

    unix = gps + 1 + after_end - OFFSET
    os.utime(frame_path(data, FrameKind.STRAIN, IFO, gps), (unix, unix))


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    out = simulate(tmp_path_factory.mktemp("soak") / "data", 12)
    for gps in range(GPS, GPS + 12):
        _arrive(out, gps, 0.1)  # a live stream: each frame just after its second
    return out


def test_a_clean_run_passes(data: Path, tmp_path: Path) -> None:
    _archive(tmp_path, GPS, 8)
    for gps in range(GPS + 6, GPS + 12):  # the carousel overlaps the archive
        _cleaned(tmp_path, gps)
    result = verify(data, tmp_path, IFO, GPS, GPS + 12, gps_offset=OFFSET)
    assert result.ok and (result.expected, result.cleaned) == (12, 12), result.summary()


def test_every_kind_of_damage_is_found(data: Path, tmp_path: Path) -> None:
    _archive(tmp_path, GPS, 6, nan_at=GPS + 2)
    for gps in (GPS + 6, GPS + 7, GPS + 9, GPS + 10, GPS + 11):  # GPS + 8 lost
        _cleaned(tmp_path, gps)
    _cleaned(tmp_path, GPS + 5)  # also in the archive: the same samples, fine
    result = verify(data, tmp_path, IFO, GPS, GPS + 12, rewritten={GPS + 9}, gps_offset=OFFSET)
    assert result.lost == [GPS + g for g in range(5)] + [GPS + 8]  # GPS+0..4: the refused file
    assert result.nan == [GPS + g for g in range(6)]  # the reader refuses the file whole
    assert result.rewritten == [GPS + 9]
    assert not result.ok
    assert result.summary().startswith(f"GPS {GPS}-{GPS + 12}: 12 s of input, 6 cleaned, 6 lost")


def test_a_second_without_readable_strain_is_not_expected(data: Path, tmp_path: Path) -> None:
    broken = tmp_path / "data"
    import shutil

    shutil.copytree(data, broken)
    frame_path(broken, FrameKind.STRAIN, IFO, GPS + 3).write_bytes(b"IGWD\0garbage")
    frame_path(broken, FrameKind.STRAIN, IFO, GPS + 4).unlink()
    for gps in set(range(GPS, GPS + 12)) - {GPS + 3, GPS + 4}:
        _cleaned(tmp_path, gps)
    result = verify(broken, tmp_path, IFO, GPS, GPS + 12, gps_offset=OFFSET)
    assert result.ok and result.dropped_input == [GPS + 3, GPS + 4], result.summary()


def test_schedule_spreads_faults_and_names_services() -> None:
    events = schedule(100.0, [Fault.KILL_TRITON, Fault.CORRUPT, Fault.RESTART_MONITOR])
    assert [round(e.at) for e in events] == [15, 48, 80]
    assert [e.fault.service for e in events] == ["triton", None, "monitor"]
    assert corrupt_next_strain(Path("/nonexistent"), IFO) == []


def test_a_frame_that_came_after_the_cleaners_wait_is_late_not_lost(
    data: Path, tmp_path: Path
) -> None:
    import shutil

    late = tmp_path / "data"
    shutil.copytree(data, late)
    for g in range(GPS, GPS + 12):
        _arrive(late, g, 0.1)  # copytree keeps times; set them again to be sure
    _arrive(late, GPS + 4, 2.5)  # the simulator fell behind: after the cleaner's 2 s wait
    _arrive(late, GPS + 8, 1.2)  # written in pieces: completed after GPS + 9's frame
    for gps in set(range(GPS, GPS + 12)) - {GPS + 4, GPS + 8}:
        _cleaned(tmp_path, gps)
    result = verify(late, tmp_path, IFO, GPS, GPS + 12, gps_offset=OFFSET)
    assert result.ok and result.late == [GPS + 4, GPS + 8], result.summary()
    _arrive(late, GPS + 4, 0.8)  # in time (before GPS + 5), yet no output: lost
    assert verify(late, tmp_path, IFO, GPS, GPS + 12, gps_offset=OFFSET).lost == [GPS + 4]


def test_a_second_due_while_the_disk_was_full_is_unwritable_not_lost(
    data: Path, tmp_path: Path
) -> None:
    for gps in set(range(GPS, GPS + 12)) - {GPS + 2, GPS + 3, GPS + 11}:
        _cleaned(tmp_path, gps)
    full = [(GPS + 3.5, GPS + 4.5)]  # GPS times the disk was full; latency up to FULL_LATENCY
    result = verify(data, tmp_path, IFO, GPS, GPS + 12, gps_offset=OFFSET, full=full)
    assert result.unwritable == [GPS + 2, GPS + 3], result.summary()
    assert result.lost == [GPS + 11]  # more than 2 s after space came back: no excuse
    assert "2 s not writable (disk full)" in result.summary()
    result = verify(data, tmp_path, IFO, GPS, GPS + 12, gps_offset=OFFSET)
    assert result.lost == [GPS + 2, GPS + 3, GPS + 11] and not result.ok


def test_fault_names_their_service() -> None:
    assert Fault.KILL_EXPORTER_PROMOTING.service == "exporter"
    assert Fault.DISK_FULL.service is None and Fault.NAN.service is None
