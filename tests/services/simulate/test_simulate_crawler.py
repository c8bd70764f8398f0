"""Integration: the frame crawler following the simulator live (real time at 10x speed),
with dropped frames and partial writes: every GPS second comes out exactly once, the
dropped ones as dropped, the partially written ones as whole frames."""

import threading
from pathlib import Path

from deepclean.services.simulate.faults import FaultPlan
from deepclean.services.simulate.loop import run_simulation
from deepclean.services.simulate.settings import SimulateSettings, Stream
from deepclean.utils.config import load_settings
from deepclean.utils.frames.crawler import FrameCrawler, FrameStatus
from deepclean.utils.frames.gwf import read_frame
from deepclean.utils.frames.naming import FrameKind

GPS = 1_400_000_000
DURATION = 20
KINDS = {Stream.STRAIN: FrameKind.STRAIN, Stream.WITNESS: FrameKind.WITNESS}


def test_crawler_on_a_live_writer(tmp_path: Path) -> None:
    settings = load_settings(
        SimulateSettings,
        {
            "data_dir": tmp_path,
            "start": GPS,
            "duration": DURATION,
            "speed": 10.0,
            "seed": 3,
            "drop_rate": 0.1,
            "partial_rate": 0.3,
            "partial_pieces": 3,
            "partial_delay": 0.3,
        },
        environ={},
        pyproject=None,
        env_file=None,
    )
    plan = FaultPlan.from_settings(settings)
    seconds = range(GPS, GPS + DURATION)
    for stream in Stream:  # the seed gives this test something to find in both streams
        assert plan.dropped_seconds(stream, seconds) and any(
            plan.partial(stream, g) for g in seconds
        )

    events: dict[Stream, list] = {}
    crawlers = {
        stream: FrameCrawler(
            tmp_path, KINDS[stream], "H1", start=GPS, timeout=2.0, max_consecutive_drops=None
        )
        for stream in Stream
    }

    def follow(stream: Stream) -> None:
        with crawlers[stream] as crawler:
            events[stream] = [next(crawler) for _ in seconds]

    threads = [threading.Thread(target=follow, args=(s,)) for s in Stream]
    for thread in threads:
        thread.start()
    summary = run_simulation(settings)
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert summary.frames == DURATION

    for stream in Stream:
        got = events[stream]
        assert [e.gps for e in got] == list(seconds)  # every second once, in order
        dropped = [e.gps for e in got if e.status is FrameStatus.DROPPED]
        assert dropped == plan.dropped_seconds(stream, seconds)
        channel = (
            "H1:GDS-CALIB_STRAIN" if stream is Stream.STRAIN else "H1:PEM-CS_MAINSMON_EBAY_1_DQ"
        )
        for event in got:
            if event.ok and plan.partial(stream, event.gps):  # written in pieces, yielded whole
                read_frame(event.path, [channel], expected_t0=event.gps, expected_duration=1)
