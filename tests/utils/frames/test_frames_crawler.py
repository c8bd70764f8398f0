"""The crawler on live writer threads: drops, partial writes, corrupt files, catching up,
stopping."""

import threading
import time
from pathlib import Path

import pytest

from deepclean.utils.errors import DroppedFrameError
from deepclean.utils.frames.crawler import FrameCrawler, FrameStatus, resolve_start
from deepclean.utils.frames.gwf import write_frame
from deepclean.utils.frames.naming import FrameKind

from .frame_fixtures import IFO_, T0, LiveWriter, strain_channels, strain_path

TIMEOUT = 0.4  # seconds: well above the writer's 50 ms period, small enough to keep tests quick


def _crawler(data_dir: Path, **kwargs) -> FrameCrawler:
    kwargs.setdefault("start", T0)
    kwargs.setdefault("timeout", TIMEOUT)
    return FrameCrawler(data_dir, FrameKind.STRAIN, IFO_, **kwargs)


def _write(data_dir: Path, gps: int) -> None:
    write_frame(strain_path(data_dir, gps), strain_channels(gps))


def _take(crawler: FrameCrawler, count: int) -> list:
    return [next(crawler) for _ in range(count)]


def test_live_writer_with_a_dropped_frame(data_dir: Path) -> None:
    dropped = T0 + 3

    def action(gps: int) -> None:
        if gps != dropped:
            _write(data_dir, gps)

    (data_dir / "kafka" / "H1").mkdir(parents=True)
    with _crawler(data_dir) as crawler, LiveWriter(action, T0, 8):
        events = _take(crawler, 8)
    assert [e.gps for e in events] == list(range(T0, T0 + 8))  # every second exactly once, in order
    assert [e.status for e in events] == [
        FrameStatus.DROPPED if e.gps == dropped else FrameStatus.OK for e in events
    ]
    assert events[3].path is None and "did not appear within 0.4 s" in events[3].reason
    assert all(e.path == strain_path(data_dir, e.gps) for e in events if e.ok)


def test_new_files_wake_the_crawler_through_filesystem_events(data_dir: Path) -> None:
    """With the fallback re-check at 30 s, only a watchdog event can deliver the frames in time."""
    (data_dir / "kafka" / "H1").mkdir(parents=True)
    with (
        _crawler(data_dir, timeout=30.0, recheck_interval=30.0) as crawler,
        LiveWriter(lambda gps: _write(data_dir, gps), T0, 3, period=0.1),
    ):
        begun = time.monotonic()
        events = _take(crawler, 3)
        assert time.monotonic() - begun < 15.0
    assert all(e.ok for e in events)


def test_partial_write_is_retried_until_whole(data_dir: Path) -> None:
    """The file appears truncated (a non-atomic writer) and is completed 150 ms later."""
    path = strain_path(data_dir, T0)
    write_frame(data_dir / "scratch.gwf", strain_channels(T0))
    payload = (data_dir / "scratch.gwf").read_bytes()

    def slow_writer() -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(payload[: len(payload) // 3])
            handle.flush()
            time.sleep(0.15)
            handle.write(payload[len(payload) // 3 :])

    thread = threading.Thread(target=slow_writer)
    with _crawler(data_dir) as crawler:
        thread.start()
        event = next(crawler)
        thread.join()
    assert event.ok and event.path == path


def test_partial_write_never_completed_is_dropped_with_reason(data_dir: Path) -> None:
    write_frame(data_dir / "scratch.gwf", strain_channels(T0))
    path = strain_path(data_dir, T0)
    path.parent.mkdir(parents=True)
    path.write_bytes((data_dir / "scratch.gwf").read_bytes()[:5000])
    _write(data_dir, T0 + 1)
    with _crawler(data_dir) as crawler:
        first, second = _take(crawler, 2)
    assert first.status is FrameStatus.DROPPED and first.path == path
    assert (
        "still unreadable after 0.4 s" in first.reason and "checksum does not match" in first.reason
    )
    assert second.ok


def test_corrupt_file_is_dropped_with_reason(data_dir: Path) -> None:
    path = strain_path(data_dir, T0)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00" * 4096)
    _write(data_dir, T0 + 1)
    with _crawler(data_dir) as crawler:
        first, second = _take(crawler, 2)
    assert first.status is FrameStatus.DROPPED and "not a GWF file" in first.reason
    assert second.ok


def test_too_many_consecutive_drops_raise(data_dir: Path) -> None:
    _write(data_dir, T0)
    with _crawler(data_dir, timeout=0.05, max_consecutive_drops=2) as crawler:
        assert next(crawler).ok
        assert [next(crawler).status for _ in range(2)] == [FrameStatus.DROPPED] * 2
        with pytest.raises(
            DroppedFrameError, match=r"3 consecutive frames .* dropped up to GPS 1250000003"
        ):
            next(crawler)


def test_drop_counter_resets_after_a_good_frame(data_dir: Path) -> None:
    for gps in (T0, T0 + 2, T0 + 4):
        _write(data_dir, gps)
    with _crawler(data_dir, timeout=0.05, max_consecutive_drops=1) as crawler:
        statuses = [e.status for e in _take(crawler, 5)]
    assert statuses == [FrameStatus.OK, FrameStatus.DROPPED] * 2 + [FrameStatus.OK]


def test_the_timeout_counts_from_when_a_frame_is_due(data_dir: Path) -> None:
    """A frame is due one second after the previous one arrived: one that comes 1.3 s after it
    is 0.3 s late, inside a 0.6 s timeout (counted from the start of the wait, as before, it
    would have been dropped at 0.6 s); one that never comes is dropped when 0.6 s overdue."""
    _write(data_dir, T0)
    with _crawler(data_dir, timeout=0.6) as crawler:
        assert next(crawler).ok
        arrived = time.monotonic()
        timer = threading.Timer(1.3, _write, (data_dir, T0 + 1))
        timer.start()
        try:
            late = next(crawler)
        finally:
            timer.join()
        waited = time.monotonic() - arrived
        assert late.ok and late.gps == T0 + 1 and 1.3 <= waited < 1.6
        dropped = next(crawler)
        overdue = time.monotonic() - arrived
        assert dropped.status is FrameStatus.DROPPED and "within 0.6 s" in dropped.reason
        assert 1.3 + 1.0 + 0.6 <= overdue < 1.3 + 1.0 + 0.6 + 0.5


def test_behind_the_writer_catches_up_in_order_without_waiting(data_dir: Path) -> None:
    for gps in range(T0, T0 + 20):
        _write(data_dir, gps)
    with _crawler(data_dir, timeout=60.0) as crawler:
        begun = time.monotonic()
        events = _take(crawler, 20)
        assert time.monotonic() - begun < 30.0  # never waited for its 60 s timeout
    assert [e.gps for e in events] == list(range(T0, T0 + 20)) and all(e.ok for e in events)


def test_start_now_is_the_newest_file(data_dir: Path) -> None:
    for gps in (T0, T0 + 1, T0 + 5):
        _write(data_dir, gps)
    (data_dir / "kafka" / "H1" / "unrelated.txt").write_text("x")
    with _crawler(data_dir, start=None) as crawler:
        assert crawler.gps == T0 + 5 and next(crawler).gps == T0 + 5
    empty = data_dir / "elsewhere"
    from_clock = resolve_start(
        None, empty, FrameKind.STRAIN, IFO_
    )  # no files: the current GPS second
    import lal

    assert abs(from_clock - int(lal.GPSTimeNow())) <= 1


def test_directory_created_after_the_crawler_started(data_dir: Path) -> None:
    with (
        _crawler(data_dir, timeout=3.0) as crawler,
        LiveWriter(lambda gps: _write(data_dir, gps), T0, 2, period=0.2),
    ):
        events = _take(crawler, 2)
    assert [e.ok for e in events] == [True, True]


def test_close_from_another_thread_stops_iteration(data_dir: Path) -> None:
    crawler = _crawler(data_dir, timeout=30.0)
    timer = threading.Timer(0.2, crawler.close)
    timer.start()
    begun = time.monotonic()
    assert list(crawler) == []
    assert time.monotonic() - begun < 5.0
    crawler.close()  # idempotent


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="timeout 0 s must be positive"):
        FrameCrawler("/nonexistent", FrameKind.STRAIN, "H1", start=T0, timeout=0)
    with pytest.raises(ValueError, match="max_consecutive_drops -1 must be >= 0"):
        FrameCrawler("/nonexistent", FrameKind.STRAIN, "H1", start=T0, max_consecutive_drops=-1)
