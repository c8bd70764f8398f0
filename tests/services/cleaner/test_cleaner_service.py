"""The cleaner service without a Triton server: raw pass-through, resume without rewriting,
settings, served configs."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from deepclean.services.cleaner.output import newest_written
from deepclean.utils.products import StateBit
from deepclean.utils.triton.names import Role
from deepclean.utils.triton.served import ServedConfigError, parse_served
from deepclean.utils.triton.server import free_port

from .cleaner_helpers import (
    LIVE_GPS,
    ServiceThread,
    cleaned_files,
    read_cleaned,
    run_cli,
    simulate_backfill,
)

G0 = LIVE_GPS


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> Path:
    data = tmp_path_factory.mktemp("frames") / "data"
    simulate_backfill(data, G0, 24)
    return data


def run_to(data: Path, project: Path, start: int | None, duration: int) -> ServiceThread:
    """Run the service over backfilled frames until it stops by itself (``duration``), Triton
    unreachable."""
    cleaner = ServiceThread(
        data, project, f"127.0.0.1:{free_port()}", start, duration=duration, frame_timeout=0.5
    )
    cleaner.thread.start()
    cleaner.thread.join(120)
    assert not cleaner.thread.is_alive()
    if cleaner.error:
        raise cleaner.error
    return cleaner


def test_without_triton_every_second_is_passed_through_raw(frames: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    cleaner = run_to(frames, project, G0, 12)
    files = cleaned_files(project)
    assert sorted(files) == list(range(G0, G0 + 12))
    for gps, path in files.items():
        frame = read_cleaned(path)
        for name in (
            "GDS-CALIB_STRAIN_DEEPCLEAN_PRODUCTION_OUT_DQ",
            "GDS-CALIB_STRAIN_DEEPCLEAN_PRODUCTION",
            "GDS-CALIB_STRAIN_DEEPCLEAN_CANARY",
        ):
            np.testing.assert_array_equal(frame[name], frame["DEEPCLEAN-RAW_STRAIN"])
        tapered = StateBit.TAPERED if gps == G0 else 0
        np.testing.assert_array_equal(
            frame["DEEPCLEAN-STATE_VECTOR"], StateBit.INPUT_READY | tapered
        )
        assert set(frame["DEEPCLEAN-PRODUCTION_VERSION"]) == {0}
    assert cleaner.service.metrics.raw_seconds._value.get() == 12
    assert cleaner.service.written == 12


def test_restart_resumes_after_the_newest_frame_without_rewriting(
    frames: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    run_to(frames, project, G0, 6)
    before = {g: p.stat().st_mtime_ns for g, p in cleaned_files(project).items()}
    assert newest_written(project, "H1") == G0 + 5
    second = run_to(frames, project, None, 6)  # no --start: after the newest frame
    assert second.service.first == G0 + 6
    files = cleaned_files(project)
    assert sorted(files) == list(range(G0, G0 + 12))
    assert all(files[g].stat().st_mtime_ns == t for g, t in before.items())
    # the resumed seconds read context before them: not tapered like a stream's first second
    assert not np.any(read_cleaned(files[G0 + 6])["DEEPCLEAN-STATE_VECTOR"] & StateBit.TAPERED)
    third = run_to(
        frames, project, G0 + 2, 3
    )  # an explicit start inside what exists: still no rewrite
    assert third.service.first == G0 + 12


def test_health_and_metrics_are_served(frames: Path, tmp_path: Path) -> None:
    with ServiceThread(
        frames, tmp_path / "project", f"127.0.0.1:{free_port()}", G0, frame_timeout=0.5
    ) as cleaner:
        from .cleaner_helpers import wait_for

        wait_for(lambda: cleaner.service.written >= 3, 60, "three frames")
        port = cleaner.service.server.port
        health = json.loads(
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5).read()
        )
        metrics = (
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        )
    assert (
        health["status"] == "ok" and health["triton"] == "disconnected" and health["gps"] >= G0 + 2
    )
    assert (
        "deepclean_cleaner_frames_written_total" in metrics
        and "deepclean_cleaner_triton_connected 0.0" in metrics
    )


def test_bad_settings_are_one_line_errors(capsys) -> None:
    assert run_cli(["cleaner", "--drop-taper", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "drop_taper" in err[0] and "2" in err[0]
    assert (
        run_cli(["cleaner", "--start", "99999999999"]) == 2
    )  # after the last second a GWF frame can hold
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 1 and "start" in err[0] and "99999999999" in err[0] and "2147483647" in err[0]
    )


def test_a_start_far_after_the_stream_is_logged(frames: Path, tmp_path: Path, caplog) -> None:
    start = G0 + 24 + 3600  # an hour after the newest frame: waits, and says so
    cleaner = ServiceThread(
        frames, tmp_path / "project", f"127.0.0.1:{free_port()}", start, frame_timeout=0.5
    )
    with caplog.at_level("WARNING"):
        cleaner.service.plan()
    assert (
        f"start GPS {start} is 3601 s after the newest strain frame (GPS {G0 + 23}); waiting for it"
        in caplog.text
    )


def _ensemble(**params) -> dict:
    base = {
        "channels": '["H1:S", "H1:A", "H1:B"]',
        "sample_rate": "4096",
        "kernel_length": "1.0",
        "stride_length": "0.03125",
        "batch_size": "8",
        "max_latencies": "[0.5]",
        "lag_samples": "[2048]",
    }
    base.update(params)
    steps = [
        {"model_name": "snapshotter", "model_version": "1"},
        {
            "model_name": "deepclean",
            "model_version": "3",
            "output_map": {"noise": "prediction_production"},
        },
        {
            "model_name": "deepclean",
            "model_version": "4",
            "output_map": {"noise": "prediction_canary"},
        },
    ]
    return {
        "config": {
            "name": "deepclean-stream",
            "ensemble_scheduling": {"step": steps},
            "parameters": {k: {"string_value": v} for k, v in base.items() if v is not None},
        }
    }


def test_served_configs_are_parsed_as_tritonclient_returns_them() -> None:
    info = {
        "config": {
            "parameters": {
                "version_info": {
                    "string_value": json.dumps(
                        {
                            "3": {"trained": False},
                            "4": {"trained": True, "filter_bands": [[57, 63]]},
                        }
                    )
                }
            }
        }
    }
    served = parse_served(_ensemble(), info)
    assert served.channels == ("H1:S", "H1:A", "H1:B") and served.witnesses == ("H1:A", "H1:B")
    assert served.geometry.update_size == 1024 and served.geometry.lag_samples == 2048
    assert served.versions == {Role.PRODUCTION: 3, Role.CANARY: 4}
    assert not served.version_info(Role.PRODUCTION).trained and served.version_info(
        Role.CANARY
    ).filter_bands == [[57, 63]]
    assert served.same_stream(parse_served(_ensemble(), None))
    with pytest.raises(ServedConfigError, match=r"parameters lack \['batch_size'\]"):
        parse_served(_ensemble(batch_size=None), None)
    with pytest.raises(
        ServedConfigError, match="lag_samples 4096 differs from the geometry's 2048"
    ):
        parse_served(_ensemble(lag_samples="[4096]"), None)
