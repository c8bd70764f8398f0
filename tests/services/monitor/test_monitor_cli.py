"""``deepclean monitor`` as a process: flags, token, status page, one log line per cycle,
SIGTERM."""

import os
import re
import signal
import subprocess
import sys
import time

import requests

from deepclean.utils.triton.server import free_port

from .helpers import GPS, FakeExporter, Second, version_entry, wait_for, write_cleaned


def test_cli_serves_promotes_and_stops_on_sigterm(tmp_path):
    port = free_port()
    with FakeExporter(version_entry(1), version_entry(2)) as exporter:
        argv = [
            sys.executable,
            "-m",
            "deepclean.services.cli",
            "monitor",
            "--project-dir",
            str(tmp_path),
            "--data-dir",
            str(tmp_path / "data"),
            "--ifo",
            "H1",
            "--exporter-url",
            exporter.url,
            "--triton-url",
            "127.0.0.1:1",
            "--port",
            str(port),
            "--monitor-period",
            "8",
            "--asd-segment-length",
            "8",
            "--passes",
            "2",
            "--failures",
            "2",
            "--max-files",
            "40",
            "--carousel-headroom",
            "4",
            "--write-cadence",
            "16",
            "--frame-timeout",
            "0.2",
        ]
        env = {
            **os.environ,
            "DEEPCLEAN_TOKEN": "tok3n",
            "DEEPCLEAN_CONFIG": str(tmp_path / "none.toml"),
        }
        (tmp_path / "none.toml").write_text("[tool.deepclean]\n")
        process = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE, text=True)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(lambda: _up(url), 60, "the status page")
            for gps in range(GPS, GPS + 26):
                write_cleaned(tmp_path, gps, Second(0.5, 0.3))
                time.sleep(0.05)
            wait_for(lambda: exporter.promotions(), 30, "a promotion")
            ((headers, body),) = exporter.promotions()
            assert headers["Authorization"] == "Bearer tok3n" and body["version"] == 2
            assert requests.get(url + "/health", timeout=5).status_code == 200
            wait_for(
                lambda: requests.get(url + "/status", timeout=5).json()["archive"]["files"] == 1,
                10,
                "archive",
            )
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 0, stderr
    assert "status page on http://127.0.0.1:" in stderr
    assert re.search(
        rf"GPS {GPS + 25}: \d+ new frame\(s\), latency -?\d+\.\d\d s, carousel \d+, "
        rf"archive to GPS {GPS + 16}",
        stderr,
    )
    assert "pass (canary/raw 0.3000, production/raw 0.5000" in stderr
    assert "promoted canary 2 to production" in stderr
    assert "monitor stopped at GPS" in stderr


def _up(url):
    try:
        return requests.get(url + "/health", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_bad_settings_one_line(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "deepclean.services.cli",
            "monitor",
            "--project-dir",
            str(tmp_path),
            "--max-files",
            "100",
            "--asd-fftlength",
            "128",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "deepclean monitor: error: settings: asd_segment_length 64 s is shorter than "
        "asd_fftlength 128.0 s; "
        "need at least one FFT per segment",
    ]
