"""The mid-promotion fault's pieces that need no pipeline: the agreement check over the four
places a production version lives, the metrics line of the cleaner, and the fault giving up
(skipped, saying why) when no promotion comes. The kill itself runs in the soak
(tests/test_soak.py, docs/soak/)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from deepclean.services.soak.faults import Event, Fault
from deepclean.services.soak.promotion import consistent, inject, served_everywhere


def test_agreement_needs_every_place_to_name_the_same_version() -> None:
    answers = iter(
        [
            {"disk": 3, "triton": None, "exporter": 3, "cleaner": 2},  # Triton reloading
            {"disk": 3, "triton": 3, "exporter": 3, "cleaner": 2},  # the cleaner not told yet
            {"disk": 3, "triton": 3, "exporter": 3, "cleaner": 3},
        ]
    )
    agreed, found, _ = consistent(lambda: next(answers), timeout=10)
    assert agreed and found == {"disk": 3, "triton": 3, "exporter": 3, "cleaner": 3}
    agreed, found, waited = consistent(lambda: {"disk": 3, "triton": 2}, timeout=1.5)
    assert not agreed and found == {"disk": 3, "triton": 2} and waited >= 1.5


def test_the_four_places_are_read_from_their_own_answers(tmp_path: Path) -> None:
    metrics = 'x 1\ndeepclean_cleaner_version{role="canary"} 4.0\n'
    metrics += 'deepclean_cleaner_version{role="production"} 3.0\n'
    found = served_everywhere(
        tmp_path / "model_repo", "127.0.0.1:1", {"production": {"version": 3}}, metrics
    )
    assert found == {"disk": None, "triton": None, "exporter": 3, "cleaner": 3}


def test_no_promotion_in_time_skips_the_fault_and_kills_nothing(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        up_log = tmp_path / "up.log"
        up_log.write_text(f"exporter started (pid={sleeper.pid})\n")
        event = Event(0.0, Fault.KILL_EXPORTER_PROMOTING)
        inject(event, up_log, tmp_path, wait=0.5, probe=lambda: {})
        assert event.skipped and "no promotion within 0 s" in event.detail, event.detail
        assert sleeper.poll() is None
    finally:
        sleeper.send_signal(signal.SIGKILL)
        sleeper.wait()
