"""End to end: `deepclean up` (what ./run.sh up runs) on a short schedule, stopped by SIGINT.

simulator -> trainer -> exporter -> Triton -> cleaner -> monitor promotes the first trained
model -> OUT_DQ is cleaned; then every process is gone. The schedule comes from the
environment, as a user would shorten it in .env: 160 s of history with 2 witnesses, a
training run of 4 short epochs (a minute or two), monitor checks every 16 s of data, 2 passes to
promote.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly, welch

from deepclean.utils.audit import read_audit
from deepclean.utils.frames.gwf import read_frame
from deepclean.utils.frames.naming import FrameKind, frame_path
from deepclean.utils.products import Flag, Product, StateBit
from deepclean.utils.triton.server import free_port

pytestmark = pytest.mark.slow

IFO = "H1"
BAND = (58.0, 62.0)
RATE = 4096
#: seconds of consecutive OUT_DQ-cleaned frames measured
MEASURED = 16
#: OUT_DQ / raw in-band ASD ratio must be below this; measured with 4 training epochs: 0.34, 0.48
# and : once 0.67 (the live data differ with the GPS time), so 8 epochs now: 0.19 (idle machine)
MAX_RATIO_RAW = 0.7
#: OUT_DQ / the simulator's background (what perfect cleaning reaches: 1), in band; raw strain is
#: 21-25x the background; measured here with 4 epochs: 8.2, 9.9, 15.6; with 8: 4.8
MAX_RATIO_TRUTH = 15.0

SHORT = {
    # the demo detector: 2 witnesses, the mains and the one that modulates it
    "DEEPCLEAN_SIMULATE_NUM_WITNESSES": "2",
    "DEEPCLEAN_SIMULATE_COUPLED_WITNESSES": "ASC-DHARD_P_OUT_DQ",
    "DEEPCLEAN_SIMULATE_COUPLING_WEIGHTS": "1.0",
    "DEEPCLEAN_SIMULATE_SEED": "3",
    # one short training run of 8 epochs (history = train_duration), no retraining during the test
    "DEEPCLEAN_TRAINER_TRAIN_DURATION": "160",
    "DEEPCLEAN_TRAINER_RETRAIN_CADENCE": "100000",
    "DEEPCLEAN_TRAINER_KERNEL_LENGTH": "2",
    "DEEPCLEAN_TRAINER_BATCH_SIZE": "16",
    "DEEPCLEAN_TRAINER_MAX_EPOCHS": "8",
    "DEEPCLEAN_TRAINER_MAX_STEPS": "16",
    "DEEPCLEAN_TRAINER_EARLY_STOP": "8",
    "DEEPCLEAN_TRAINER_VALID_FRAC": "0.2",
    # canary checks every 16 s of data, promoted after 2 passes
    "DEEPCLEAN_MONITOR_MONITOR_PERIOD": "16",
    "DEEPCLEAN_MONITOR_ASD_SEGMENT_LENGTH": "16",
    "DEEPCLEAN_MONITOR_PASSES": "2",
}


def _get(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


def _our_processes(marker: str) -> list[str]:
    """Command lines of live processes mentioning ``marker`` (our temporary directory)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(f"{proc.name}: {cmdline[:200]}")
    return found


def _cleaned_bits(path: Path) -> int:
    """The DEEPCLEAN-STATE_VECTOR bits set throughout a cleaned frame (AND over its 16 samples)."""
    state = read_frame(path, [Flag.STATE.channel(IFO)])[Flag.STATE.channel(IFO)].data
    return int(np.bitwise_and.reduce(state.astype(np.int64)))


def _in_band(x: np.ndarray) -> float:
    freqs, psd = welch(x, fs=RATE, nperseg=2 * RATE)
    mask = (freqs >= BAND[0]) & (freqs <= BAND[1])
    return float(np.mean(np.sqrt(psd[mask])))


def test_up_promotes_the_first_model_and_cleans_then_stops_everything(tmp_path: Path) -> None:
    data, project = tmp_path / "data", tmp_path / "project"
    ports = {
        name: free_port()
        for name in ("triton_http", "triton_grpc", "exporter", "monitor", "cleaner", "up")
    }
    (tmp_path / "empty.env").write_text("")  # no .env of the developer's
    env = {
        **os.environ,
        **SHORT,
        "DEEPCLEAN_ENV_FILE": str(tmp_path / "empty.env"),
        "DEEPCLEAN_TRITON_HTTP_PORT": str(ports["triton_http"]),
        "DEEPCLEAN_TRITON_GRPC_PORT": str(ports["triton_grpc"]),
        "DEEPCLEAN_TRITON_METRICS_PORT": "0",
        "DEEPCLEAN_EXPORTER_PORT": str(ports["exporter"]),
        "DEEPCLEAN_MONITOR_PORT": str(ports["monitor"]),
        "DEEPCLEAN_CLEANER_METRICS_PORT": str(ports["cleaner"]),
        "DEEPCLEAN_UP_METRICS_PORT": str(ports["up"]),
        "DEEPCLEAN_UP_PROMETHEUS_PORT": "0",  # not started here (tests/deploy cover it)
    }
    env.setdefault(
        "DEEPCLEAN_TRITON_VENV", str(Path(__file__).resolve().parents[1] / ".triton" / "venv")
    )
    log = tmp_path / "up.out"
    begun = time.monotonic()
    with open(log, "w") as out:
        up = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "deepclean"),
                "up",
                "--data-dir",
                str(data),
                "--project-dir",
                str(project),
                "--ifo",
                IFO,
            ],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    cleaned_dir = project / "cleaned" / IFO
    marks: dict[str, float] = {}
    try:
        deadline = begun + 600
        while time.monotonic() < deadline:
            assert up.poll() is None, (
                f"deepclean up exited with {up.returncode}:\n{log.read_text()[-6000:]}"
            )
            frames = sorted(cleaned_dir.glob("*.gwf")) if cleaned_dir.is_dir() else []
            if frames and "raw frames" not in marks:
                marks["raw frames"] = time.monotonic() - begun
            versions = _get(f"http://127.0.0.1:{ports['exporter']}/versions") or {}
            if (versions.get("canary") or {}).get("trained") and "canary" not in marks:
                marks["canary"] = time.monotonic() - begun
            if (versions.get("production") or {}).get("trained") and "promotion" not in marks:
                marks["promotion"] = time.monotonic() - begun
            if "promotion" in marks:
                recent = frames[
                    -MEASURED - 2 : -1
                ]  # the newest may still be written by the monitor's carousel
                if len(recent) > MEASURED and all(
                    _cleaned_bits(p) & StateBit.OUT_DQ_CLEANED for p in recent
                ):
                    marks.setdefault("OUT_DQ cleaned", time.monotonic() - begun)
                    break
            time.sleep(2)
        else:
            pytest.fail(f"not cleaned within 600 s (reached: {marks}):\n{log.read_text()[-8000:]}")
        print("seconds from start:", json.dumps({k: round(v) for k, v in marks.items()}))

        # OUT_DQ against the raw strain it was cleaned from, and against the simulator's truth
        recent = recent[-MEASURED:]
        names = [Product.OUT_DQ.channel(IFO), Product.RAW.channel(IFO)]
        series = [read_frame(p, names) for p in recent]
        gps = [int(s[names[0]].t0) for s in series]
        assert gps == list(range(gps[0], gps[0] + MEASURED)), "consecutive seconds"
        out_dq, raw = (np.concatenate([s[n].data for s in series]) for n in names)
        truth_name = f"{IFO}:SIM-BACKGROUND"
        truth = np.concatenate(
            [
                read_frame(frame_path(data, FrameKind.STRAIN, IFO, g), [truth_name])[
                    truth_name
                ].data
                for g in gps
            ]
        )
        truth = resample_poly(truth, 1, 4)
        ratio_raw = _in_band(out_dq) / _in_band(raw)
        ratio_truth = _in_band(out_dq) / _in_band(truth)
        print(
            f"in-band ASD ratio over {MEASURED} s: OUT_DQ/raw {ratio_raw:.3f}, "
            f"OUT_DQ/truth {ratio_truth:.2f}, "
            f"raw/truth {_in_band(raw) / _in_band(truth):.1f}"
        )
        assert _in_band(raw) / _in_band(truth) > 10  # the coupled noise is there to be removed
        assert ratio_raw < MAX_RATIO_RAW
        assert ratio_truth < MAX_RATIO_TRUTH

        # what the README tells downstream users to do
        from gwpy.timeseries import TimeSeries

        frame = TimeSeries.read(str(recent[-1]), Product.OUT_DQ.channel(IFO))
        assert frame.sample_rate.value == RATE and frame.duration.value == 1
        assert _get(f"http://127.0.0.1:{ports['monitor']}/health") is not None

        # closed by default: up made a token readable by its owner only and gave it to the
        # services it started (the trainer's export and the monitor's promotion went through)
        token_file = project / "token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert len(token_file.read_text().strip()) >= 40
        promote = urllib.request.Request(
            f"http://127.0.0.1:{ports['exporter']}/promote",
            data=b'{"version": 2}',
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError, match="401"):
            urllib.request.urlopen(promote, timeout=10)
        audit = [(e.action, e.who) for e in read_audit(project)]
        assert ("export", "trainer") in audit and ("promote", "monitor") in audit, audit
    finally:
        if up.poll() is None:
            up.send_signal(signal.SIGINT)  # what Ctrl-C does
        try:
            up.wait(timeout=90)
        finally:
            if up.poll() is None:
                os.killpg(up.pid, signal.SIGKILL)
    assert up.returncode == 130, log.read_text()[-4000:]
    deadline = time.monotonic() + 15
    while _our_processes(str(tmp_path)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _our_processes(str(tmp_path)), "processes left behind"
    for name in ("simulator", "triton", "exporter", "trainer", "cleaner", "monitor", "up"):
        assert (project / "logs" / f"{name}.log").stat().st_size > 0, name
