"""One soak: ``deepclean up`` on the demo detector with faults, a watcher, then the verification.

The pipeline runs on a short schedule (the one ``tests/test_up.py`` uses: 160 s of history, a
short training run, 16 s monitor checks) so that a canary can be trained and promoted within
minutes, on free ports, in its own work directory. During the run a watcher lists the
cleaned frames every 0.5 s (a second whose file is replaced was written twice; the file's
modification time against its GPS is the latency) and, when Prometheus runs, the firing
alerts are polled every 5 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from deepclean.services.soak import alerts, disk, promotion
from deepclean.services.soak.faults import Event, Fault, inject, wait_restarted
from deepclean.services.soak.http import get_json, get_text
from deepclean.services.up.sandbox import free_ports, sandbox_env, start_up, stop_up
from deepclean.utils.frames.naming import FrameName

IFO = "H1"
#: s: a service counts as alive at the end when its health endpoint answers within this (one
#: restarting after a fault just before the end, or Triton loading a new version, is alive)
ALIVE_WITHIN_S = 30.0
#: the schedule of tests/test_up.py: a model trained and promoted within minutes
SHORT = {
    "DEEPCLEAN_SIMULATE_NUM_WITNESSES": "2",
    "DEEPCLEAN_SIMULATE_COUPLED_WITNESSES": "ASC-DHARD_P_OUT_DQ",
    "DEEPCLEAN_SIMULATE_COUPLING_WEIGHTS": "1.0",
    "DEEPCLEAN_SIMULATE_SEED": "3",
    "DEEPCLEAN_TRAINER_TRAIN_DURATION": "160",
    "DEEPCLEAN_TRAINER_RETRAIN_CADENCE": "100000",
    "DEEPCLEAN_TRAINER_KERNEL_LENGTH": "2",
    "DEEPCLEAN_TRAINER_BATCH_SIZE": "16",
    "DEEPCLEAN_TRAINER_MAX_EPOCHS": "8",
    "DEEPCLEAN_TRAINER_MAX_STEPS": "16",
    "DEEPCLEAN_TRAINER_EARLY_STOP": "8",
    "DEEPCLEAN_TRAINER_VALID_FRAC": "0.2",
    "DEEPCLEAN_MONITOR_MONITOR_PERIOD": "16",
    "DEEPCLEAN_MONITOR_ASD_SEGMENT_LENGTH": "16",
    "DEEPCLEAN_MONITOR_PASSES": "2",
}


@dataclass
class Watch:
    """What the watcher saw: first (inode, mtime) and latency per cleaned second, rewrites,
    alert states over time."""

    seen: dict[int, tuple[int, int]] = field(default_factory=dict)
    latency: dict[int, float] = field(default_factory=dict)  #: GPS -> seconds after its end
    rewritten: set[int] = field(default_factory=set)
    alerts: list[tuple[float, str, str]] = field(default_factory=list)  #: (t, alert, state)
    polled_until: float | None = None  #: time of the last answered poll of the alerts
    alert_source: str = "Prometheus's /api/v1/alerts, polled every 5 s"
    restarts: list[tuple[float, str]] = field(default_factory=list)  #: (GPS, service) from up


class Soak:
    """``deepclean up`` in ``workdir`` with ``events`` injected over ``duration`` seconds."""

    def __init__(
        self,
        workdir: Path,
        duration: float,
        events: list[Event],
        *,
        drop_rate: float,
        partial_rate: float,
        prometheus: bool,
        disk_full_seconds: float = disk.DISK_FULL_S,
        promotion_timeout: float = 1200.0,
        retrain_cadence: float | None = None,
        log=print,
    ) -> None:
        self.workdir = Path(workdir)
        self.data, self.project = self.workdir / "data", self.workdir / "project"
        self.duration, self.events = duration, events
        self.log = log
        self.ports = free_ports()
        self.prometheus = prometheus
        self.disk_full_seconds, self.promotion_timeout = disk_full_seconds, promotion_timeout
        self.tmpfs: str | None = None  #: "mounted", or why the disk-full fault is skipped
        self.env = {
            **sandbox_env(self.workdir, self.ports, prometheus=prometheus),
            **SHORT,
            "DEEPCLEAN_SIMULATE_DROP_RATE": str(drop_rate),
            "DEEPCLEAN_SIMULATE_PARTIAL_RATE": str(partial_rate),
        }
        if retrain_cadence is not None:
            self.env["DEEPCLEAN_TRAINER_RETRAIN_CADENCE"] = f"{retrain_cadence:g}"
        self.watch = Watch()
        self.stop_event = threading.Event()
        self.up: subprocess.Popen | None = None
        self.t0 = 0.0
        self.marks: dict[str, float] = {}
        self.faults_begun = 0.0  #: monotonic time the fault schedule started
        from deepclean.services.monitor.served import unix_to_gps

        self.gps_offset = unix_to_gps(time.time()) - time.time()  #: GPS - Unix, s

    @property
    def up_log(self) -> Path:
        return self.project / "logs" / "up.log"

    @property
    def cleaned_dir(self) -> Path:
        return self.project / "cleaned" / IFO

    def _watcher(self) -> None:
        offset = self.gps_offset
        polled = 0.0
        while not self.stop_event.is_set():
            for entry in os.scandir(self.cleaned_dir) if self.cleaned_dir.is_dir() else []:
                try:
                    gps = FrameName.parse(entry.name).gps
                    st = entry.stat()
                except (ValueError, OSError):
                    continue
                key = (st.st_ino, st.st_mtime_ns)
                first = self.watch.seen.setdefault(gps, key)
                if first != key:
                    self.watch.rewritten.add(gps)
                self.watch.latency.setdefault(gps, st.st_mtime + offset - (gps + 1))
            if self.prometheus and time.monotonic() - polled >= 5:
                polled = time.monotonic()
                answer = get_json(f"http://127.0.0.1:{self.ports['prometheus']}/api/v1/alerts")
                if answer is not None:
                    self.watch.polled_until = self.elapsed()
                for alert in ((answer or {}).get("data") or {}).get("alerts", []):
                    name = alerts.alert_name(alert["labels"])
                    self.watch.alerts.append((self.elapsed(), name, alert.get("state", "?")))
            self.stop_event.wait(0.5)

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def alert_history(self) -> None:
        """Replace the polled alerts by Prometheus's ``ALERTS`` series over the whole run (with
        the service each names), and read when ``up`` restarted what, if Prometheus answers."""
        if self.prometheus:
            samples, restarts = alerts.history(self.ports["prometheus"], self.elapsed())
            if samples is not None:
                self.watch.alerts, self.watch.polled_until = samples, self.elapsed()
                self.watch.alert_source = f"Prometheus's ALERTS series, every {alerts.STEP} s"
            self.watch.restarts = [(unix + self.gps_offset, name) for unix, name in restarts]

    def start(self, timeout: float = 900.0) -> None:
        """Start ``deepclean up``; return once the first cleaned frame is there."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        if any(e.fault is Fault.DISK_FULL for e in self.events):
            reason = disk.mount_tmpfs(self.project)
            self.tmpfs = "mounted" if reason is None else reason
            self.log(f"soak: project directory on a tmpfs: {self.tmpfs}")
        self.up = start_up(
            self.workdir,
            self.env,
            *["--data-dir", str(self.data), "--project-dir", str(self.project), "--ifo", IFO],
        )
        self.t0 = time.monotonic()
        threading.Thread(target=self._watcher, daemon=True).start()
        while not self.watch.seen:
            if self.up.poll() is not None or self.elapsed() > timeout:
                raise RuntimeError(
                    f"no cleaned frame after {self.elapsed():.0f} s; see {self.workdir}/up.out"
                )
            time.sleep(1)
        self.marks["first cleaned frame"] = self.elapsed()
        self.log(f"soak: first cleaned frame after {self.elapsed():.0f} s")

    def run_faults(self, witnesses: list[str]) -> None:
        """Inject the events at their times (from the first cleaned frame) over ``duration``."""
        begun = self.faults_begun = time.monotonic()
        armed: list[threading.Thread] = []
        for event in self.events:
            while time.monotonic() - begun < event.at:
                time.sleep(0.2)
            event.done = self.elapsed()
            event.gps_at = time.time() + self.gps_offset
            if event.fault is Fault.DISK_FULL:
                self._disk_full(event)
            elif event.fault is Fault.KILL_EXPORTER_PROMOTING:  # waits: the others go on
                armed.append(threading.Thread(target=self._kill_promoting, args=(event,)))
                armed[-1].start()
                self.log(f"soak: {event.done:.0f} s: {event.fault.value}: armed")
                continue
            else:
                pid = inject(event, self.up_log, self.data, IFO, witnesses)
                if pid is not None:
                    event.recovered = wait_restarted(self.up_log, event.fault.service, pid, 120)
            self.log(f"soak: {event.done:.0f} s: {event.fault.value}: {event.detail}")
        while time.monotonic() - begun < self.duration:
            time.sleep(0.5)
            if self.up.poll() is not None:
                raise RuntimeError(f"deepclean up exited with {self.up.returncode}")
        for thread in armed:  # a kill near the end still checks the versions (up to 5 min)
            thread.join(timeout=360)

    def _disk_full(self, event: Event) -> None:
        if self.tmpfs != "mounted":
            event.skipped, event.detail = True, f"skipped: {self.tmpfs}"
            return
        event.detail = disk.fill(self.project, self.disk_full_seconds, self.stop_event)
        event.gps_until = time.time() + self.gps_offset

    def _kill_promoting(self, event: Event) -> None:
        """Kill the exporter during the next promotion, then wait for one production version
        (in a thread of its own: the other faults keep their times)."""
        remaining = self.duration - (time.monotonic() - self.faults_begun)
        ports, armed = self.ports, event.done

        def killed() -> None:
            event.done, event.gps_at = self.elapsed(), time.time() + self.gps_offset

        promotion.inject(
            event,
            self.up_log,
            self.project,
            min(self.promotion_timeout, max(remaining, 60.0)),
            lambda: promotion.served_everywhere(
                self.project / "model_repo",
                f"127.0.0.1:{ports['triton_grpc']}",
                get_json(f"http://127.0.0.1:{ports['exporter']}/versions"),
                get_text(f"http://127.0.0.1:{ports['cleaner']}/metrics"),
            ),
            self.stop_event,
            killed,
        )
        event.detail = f"armed at {armed:.0f} s; {event.detail}"
        self.log(f"soak: {self.elapsed():.0f} s: {event.fault.value}: {event.detail}")

    def unmount(self) -> None:
        """Keep the logs (``<workdir>/project-logs``), then unmount the project's tmpfs."""
        if self.tmpfs == "mounted":
            shutil.copytree(
                self.project / "logs", self.workdir / "project-logs", dirs_exist_ok=True
            )
            failed = disk.unmount(self.project)
            self.tmpfs = failed or "unmounted"

    def services_alive(self) -> dict[str, bool]:
        """Each service's health at the end (up's running gauge, and the health endpoints)."""
        text = get_text(f"http://127.0.0.1:{self.ports['up']}/metrics") or ""
        running = {}
        for line in text.splitlines():
            if line.startswith("deepclean_up_service_running{"):
                name = line.split('service="', 1)[1].split('"', 1)[0]
                running[name] = line.rsplit(" ", 1)[1].startswith("1")
        urls = {  # Triton live, not ready: it is not ready while it loads a new version
            "triton": f"http://127.0.0.1:{self.ports['triton_http']}/v2/health/live",
            "exporter": f"http://127.0.0.1:{self.ports['exporter']}/health",
            "monitor": f"http://127.0.0.1:{self.ports['monitor']}/health",
            "cleaner": f"http://127.0.0.1:{self.ports['cleaner']}/health",
        }
        for name, url in urls.items():
            running[name] = running.get(name, False) and _answers(url, ALIVE_WITHIN_S)
        return running

    def stop(self) -> int:
        """Ctrl-C to ``up``; its exit status (130 when everything stopped)."""
        self.stop_event.set()
        return 0 if self.up is None else stop_up(self.up)


def _answers(url: str, within: float, interval: float = 1.0) -> bool:
    """Whether ``url`` answers (HTTP 200) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        if get_text(url) is not None:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
