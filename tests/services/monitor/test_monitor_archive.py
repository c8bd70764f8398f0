"""Carousel bound, archive files equal to the cleaned frames (read back with gwpy), gaps kept
as gaps, resuming from disk, retention."""

import numpy as np
import pytest

from deepclean.services.monitor.archive import Archive
from deepclean.services.monitor.service import MonitorService
from deepclean.utils.frames.naming import FrameKind, frame_path

from .helpers import GPS, IFO, FakeExporter, Running, Second, settings, version_entry


def archive_names(project):
    return sorted(p.name for p in (project / "archive" / IFO).glob("*.gwf"))


def cleaned_count(project):
    return len(list(frame_path(project, FrameKind.CLEANED, IFO, GPS).parent.glob("*.gwf")))


def assert_archive_equals_written(project, written, gps, duration):
    """Every channel of the archive file read back with gwpy equals the cleaned frames' samples."""
    from gwpy.timeseries import TimeSeries

    path = project / "archive" / IFO / f"H-H1_llhoft_deepclean-{gps}-{duration}.gwf"
    for index, channel in enumerate(written[gps]):
        series = TimeSeries.read(str(path), channel.name)
        want = np.concatenate([written[g][index].data for g in range(gps, gps + duration)])
        assert series.t0.value == gps and series.sample_rate.value == channel.sample_rate
        assert series.value.dtype == want.dtype
        np.testing.assert_array_equal(series.value, want)


def test_carousel_bounded_archive_equal_with_gaps_and_resume(tmp_path):
    with FakeExporter(version_entry(2), version_entry(2)) as exporter:
        # write_cadence 16, max_files 20; float64 archives: exactly the cleaned frames' samples
        # (float32, the default, in test_archive_precision.py)
        s = settings(tmp_path, exporter.url, archive_float64=True)
        service = MonitorService(s)
        with Running(service, tmp_path) as run:
            run.feed(
                GPS,
                70,
                Second(0.5, 0.5, production=2, canary=2),
                skip={GPS + 36, GPS + 37},
                corrupt={GPS + 50},
            )
            written, seen = dict(run.written), run.max_files_seen
        assert seen <= s.max_files
        assert service.carousel.max_seen <= s.max_files
        assert cleaned_count(tmp_path) <= s.max_files
        # spans [0,16), [16,32) whole; [32,48) split around the 2 missing s; [48,64) around the
        # corrupt one
        assert archive_names(tmp_path) == [
            f"H-H1_llhoft_deepclean-{GPS}-16.gwf",
            f"H-H1_llhoft_deepclean-{GPS + 16}-16.gwf",
            f"H-H1_llhoft_deepclean-{GPS + 32}-4.gwf",
            f"H-H1_llhoft_deepclean-{GPS + 38}-10.gwf",
            f"H-H1_llhoft_deepclean-{GPS + 48}-2.gwf",
            f"H-H1_llhoft_deepclean-{GPS + 51}-13.gwf",
        ]
        for gps, duration in [
            (GPS, 16),
            (GPS + 16, 16),
            (GPS + 32, 4),
            (GPS + 38, 10),
            (GPS + 51, 13),
        ]:
            assert_archive_equals_written(tmp_path, written, gps, duration)
        status = service.state.snapshot()
        assert status["archive"]["end"] == GPS + 64 and status["archive"]["lag"] == 6
        mtimes = {p: p.stat().st_mtime_ns for p in (tmp_path / "archive" / IFO).iterdir()}

        # restart: nothing is rewritten, the open span [64, 80) is completed and archived
        service = MonitorService(s)
        with Running(service, tmp_path) as run:
            run.settle(GPS + 69)
            run.feed(GPS + 70, 12, Second(0.5, 0.5, production=2, canary=2))
            written.update(run.written)
        assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
        assert archive_names(tmp_path)[-1] == f"H-H1_llhoft_deepclean-{GPS + 64}-16.gwf"
        assert_archive_equals_written(tmp_path, written, GPS + 64, 16)
        assert cleaned_count(tmp_path) <= s.max_files


def test_restart_remembers_rejected_canary(tmp_path):
    with FakeExporter(version_entry(1), version_entry(2)) as exporter:
        s = settings(tmp_path, exporter.url, write_cadence=128, max_files=300)
        service = MonitorService(s)
        with Running(service, tmp_path) as run:
            run.feed(GPS, 24, Second(0.5, 1.5))
        assert service.state.tracker.rejected == {2}
        service = MonitorService(s)
        assert service.state.tracker.rejected == {2}
        assert len(service.state.decisions) == 3
        with Running(service, tmp_path) as run:
            run.settle(GPS + 23)
            run.feed(GPS + 24, 16, Second(0.5, 1.5))
        assert len(service.state.decisions) == 3  # not checked again
        assert exporter.promotions() == []


@pytest.mark.parametrize(
    "max_age,max_bytes,kept",
    [(40, None, [32, 48]), (None, 2, [48]), (None, None, [0, 16, 32, 48])],
    ids=["age", "size", "none"],
)
def test_retention(tmp_path, max_age, max_bytes, kept):
    from deepclean.utils.frames.gwf import Channel, write_frame

    archive = Archive(tmp_path, IFO, max_age=max_age, max_bytes=max_bytes)
    for gps in (0, 16, 32, 48):
        write_frame(archive.path(GPS + gps, 16), [Channel("H1:X", np.zeros(16), 1.0, GPS + gps)])
    if max_bytes is not None:
        max_bytes = archive.files()[-1][2].stat().st_size * max_bytes - 1
        archive.max_bytes = max_bytes
    archive.enforce_retention(GPS + 80)
    assert [g - GPS for g, _, _ in archive.files()] == kept
