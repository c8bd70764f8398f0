"""Early drop declaration (a later second complete) and optional witnesses, as the cleaner uses
them."""

import time
from pathlib import Path

from deepclean.utils.frames.crawler import FrameCrawler, FrameStatus
from deepclean.utils.frames.gwf import write_frame
from deepclean.utils.frames.naming import FrameKind, frame_path
from deepclean.utils.frames.reader import DroppedFrame, FrameData, FrameStream

from .frame_fixtures import (
    CHANNELS,
    IFO_,
    STRAIN,
    T0,
    LiveWriter,
    strain_channels,
    strain_path,
    write_pair,
)

LONG = 20.0  # s: a timeout the tests must never wait for


def test_crawler_drops_a_missing_second_once_a_later_one_is_whole(data_dir: Path) -> None:
    for gps in (T0, T0 + 2):
        write_frame(strain_path(data_dir, gps), strain_channels(gps))
    with FrameCrawler(
        data_dir, FrameKind.STRAIN, IFO_, start=T0, timeout=LONG, drop_early=True
    ) as crawler:
        begun = time.monotonic()
        events = [next(crawler) for _ in range(3)]
        assert time.monotonic() - begun < LONG / 4
    assert [e.status for e in events] == [FrameStatus.OK, FrameStatus.DROPPED, FrameStatus.OK]
    assert (
        events[1].reason
        == "file H-H1_llhoft-1250000001-1.gwf did not appear when the frames of GPS "
        "1250000002 were complete"
    )


def test_crawler_without_drop_early_waits_for_the_timeout(data_dir: Path) -> None:
    for gps in (T0, T0 + 2):
        write_frame(strain_path(data_dir, gps), strain_channels(gps))
    with FrameCrawler(data_dir, FrameKind.STRAIN, IFO_, start=T0 + 1, timeout=0.3) as crawler:
        begun = time.monotonic()
        event = next(crawler)
        assert time.monotonic() - begun >= 0.3
    assert "did not appear within 0.3 s" in event.reason


def test_crawler_drops_an_unreadable_second_once_a_later_one_is_whole(data_dir: Path) -> None:
    path = strain_path(data_dir, T0)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00" * 4096)
    write_frame(strain_path(data_dir, T0 + 1), strain_channels(T0 + 1))
    with FrameCrawler(
        data_dir, FrameKind.STRAIN, IFO_, start=T0, timeout=LONG, drop_early=True
    ) as crawler:
        event = next(crawler)
    assert (
        event.status is FrameStatus.DROPPED
        and "still unreadable (" in event.reason
        and "1250000001" in event.reason
    )


def test_live_stream_declares_a_drop_when_the_next_pair_is_complete(data_dir: Path) -> None:
    """Writer period 0.1 s, timeout 20 s: the dropped second costs one period, not the timeout."""

    def action(gps: int) -> None:
        if gps != T0 + 2:
            write_pair(data_dir, gps)

    with (
        FrameStream(data_dir, IFO_, CHANNELS, start=T0, timeout=LONG, drop_early=True) as stream,
        LiveWriter(action, T0, 5, period=0.1),
    ):
        begun = time.monotonic()
        items = [next(stream) for _ in range(5)]
        assert time.monotonic() - begun < 5.0
    assert [type(i).__name__ for i in items] == ["FrameData"] * 2 + ["DroppedFrame"] + [
        "FrameData"
    ] * 2
    assert items[2].reason.startswith(
        "strain: file H-H1_llhoft-1250000002-1.gwf did not appear when the frames of GPS 1250000003"
    )


def test_a_second_waits_while_only_the_later_strain_frame_is_complete(data_dir: Path) -> None:
    """The later second counts only once its witness frame is whole too."""
    write_pair(data_dir, T0)
    write_frame(strain_path(data_dir, T0 + 2), strain_channels(T0 + 2))  # no witness frame for T0+2
    with FrameStream(
        data_dir, IFO_, CHANNELS, start=T0 + 1, timeout=0.6, drop_early=True
    ) as stream:
        begun = time.monotonic()
        item = next(stream)
        assert time.monotonic() - begun >= 0.6  # had to wait for the timeout
    assert isinstance(item, DroppedFrame) and "did not appear within 0.6 s" in item.reason


def test_optional_witnesses_give_the_strain_alone(data_dir: Path) -> None:
    write_pair(data_dir, T0)
    write_pair(data_dir, T0 + 1)
    frame_path(data_dir, FrameKind.WITNESS, IFO_, T0).unlink()
    with FrameStream(
        data_dir, IFO_, CHANNELS, start=T0, timeout=LONG, drop_early=True, optional_witnesses=True
    ) as stream:
        first, second = next(stream), next(stream)
    assert (
        isinstance(first, FrameData)
        and not first.witnesses_present
        and list(first.channels) == [STRAIN]
    )
    assert first.witness_error.startswith(
        "witness: file H-H1_lldetchar-1250000000-1.gwf did not appear when"
    )
    assert (
        isinstance(second, FrameData)
        and second.witnesses_present
        and list(second.channels) == CHANNELS
    )


def test_corrupt_witness_file_is_optional_too_and_channels_can_change(data_dir: Path) -> None:
    write_pair(data_dir, T0)
    write_pair(data_dir, T0 + 1)
    frame_path(data_dir, FrameKind.WITNESS, IFO_, T0).write_bytes(b"\x00" * 100)
    with FrameStream(
        data_dir, IFO_, [STRAIN], start=T0, timeout=0.2, optional_witnesses=True
    ) as stream:
        first = next(stream)  # strain only asked for: the bad witness file does not matter
        stream.set_channels(CHANNELS)
        second = next(stream)
    assert (
        isinstance(first, FrameData)
        and first.witnesses_present
        and list(first.channels) == [STRAIN]
    )
    assert isinstance(second, FrameData) and list(second.channels) == CHANNELS
