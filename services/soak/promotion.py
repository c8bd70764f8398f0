"""The soak's mid-promotion fault: kill -9 the exporter while a promotion is in flight, then check
that exactly one production version is served everywhere.

The soak does not promote anything itself (the monitor decides promotions after judging the
canary). From the fault's time on, it watches the ensemble config on disk: the exporter writes
it with the new production pin just before asking Triton to load the ensemble
(``utils/triton/versions.set_versions``), so the moment the pin changes a promotion is in
flight, and the exporter is killed there. Whether the kill landed before the exporter answered
is read from its log afterwards (its ``promoted ... to production`` line comes after the load).
After ``up`` restarts it, the exporter reconciles Triton with the config on disk
(``reconcile``) and the monitor retries a promotion that failed; :func:`consistent` then
waits for one production version on disk, in Triton, at the exporter and in the cleaner.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from deepclean.services.soak.faults import Event, signal_service, wait_restarted
from deepclean.utils.triton.names import ENSEMBLE, Role

PROMOTED = "to production (was"  #: in the exporter's log line of a finished switch


def production_pin(repository: Path) -> int | None:
    """The production version the ensemble config on disk pins (None: not readable now)."""
    from deepclean.utils.triton.versions import read_versions

    try:
        return read_versions(repository)[Role.PRODUCTION]
    except Exception:  # noqa: BLE001 - not built yet, or replaced while read: ask again
        return None


def kill_during_promotion(
    up_log: Path, repository: Path, timeout: float, stop=None
) -> tuple[int | None, str]:
    """Wait up to ``timeout`` s for the production pin to change, then SIGKILL the exporter;
    its pid (None: no promotion came) and what happened."""
    config = Path(repository) / ENSEMBLE / "config.pbtxt"
    before, seen = production_pin(repository), None
    begun = time.monotonic()
    while time.monotonic() - begun < timeout and not (stop is not None and stop.is_set()):
        try:
            mtime = config.stat().st_mtime_ns
        except OSError:
            mtime = None
        if mtime != seen:
            seen, now = mtime, production_pin(repository)
            if before is None:
                before = now
            elif now is not None and now != before:
                pid = signal_service(up_log, "exporter", signal.SIGKILL)
                return (
                    pid,
                    f"SIGKILL to exporter (pid {pid}) as production {before} -> {now} was written",
                )
        time.sleep(0.005)
    return None, f"no promotion within {timeout:.0f} s (production {before}): not injected"


def finished_before_kill(exporter_log: Path, lines_before: int) -> bool:
    """Whether the exporter logged a finished switch after ``lines_before`` lines of its log."""
    try:
        lines = exporter_log.read_text(errors="replace").splitlines()[lines_before:]
    except OSError:
        return False
    return any(PROMOTED in line for line in lines)


def served_everywhere(
    repository: Path, triton_grpc: str, exporter_versions: dict | None, cleaner_metrics: str | None
) -> dict[str, int | None]:
    """The production version on disk, in Triton, at the exporter and in the cleaner."""
    from tritonclient.grpc import InferenceServerClient

    from deepclean.utils.triton.versions import served_versions

    found: dict[str, int | None] = {"disk": production_pin(repository), "triton": None}
    try:
        client = InferenceServerClient(triton_grpc)
        try:
            served = served_versions(client)
            found["triton"] = None if served is None else served[Role.PRODUCTION]
        finally:
            client.close()
    except Exception:  # noqa: BLE001 - Triton restarting: not consistent yet
        pass
    production = (exporter_versions or {}).get("production") or {}
    found["exporter"] = production.get("version")
    found["cleaner"] = None
    for line in (cleaner_metrics or "").splitlines():
        if line.startswith('deepclean_cleaner_version{role="production"}'):
            found["cleaner"] = int(float(line.rsplit(" ", 1)[1]))
    return found


def consistent(probe, timeout: float) -> tuple[bool, dict[str, int | None], float]:
    """Call ``probe()`` (-> :func:`served_everywhere`'s answer) until every place names one
    version or ``timeout`` s passed; (agreed, the last answer, seconds waited)."""
    begun = time.monotonic()
    while True:
        found = probe()
        values = set(found.values())
        if len(values) == 1 and None not in values:
            return True, found, time.monotonic() - begun
        if time.monotonic() - begun > timeout:
            return False, found, time.monotonic() - begun
        time.sleep(1)


def inject(
    event: Event, up_log: Path, project: Path, wait: float, probe, stop=None, on_kill=None
) -> None:
    """The whole fault: kill during the next promotion within ``wait`` s, wait for ``up`` to
    restart the exporter, then for one production version (``probe``: see :func:`consistent`);
    fills ``event``. ``on_kill()`` is called right after the kill."""
    exporter_log = Path(project) / "logs" / "exporter.log"
    try:
        lines = len(exporter_log.read_text(errors="replace").splitlines())
    except OSError:
        lines = 0
    pid, event.detail = kill_during_promotion(up_log, Path(project) / "model_repo", wait, stop)
    if pid is None:
        event.skipped = True
        return
    if on_kill is not None:
        on_kill()
    event.recovered = wait_restarted(up_log, "exporter", pid, 120)
    time.sleep(1)  # the dead exporter's last lines reach its log
    late = finished_before_kill(exporter_log, lines)
    event.ok, found, waited = consistent(probe, timeout=180)
    event.detail += (
        f"; {'after' if late else 'before'} the exporter answered; "
        f"{'one' if event.ok else 'NOT one'} production version {found} {waited:.0f} s "
        "after the restart"
    )
