"""deploy/prometheus: the configuration and alert rules pass promtool (check + the rules' unit
tests in alerts.test.yml), every deepclean_* metric a rule names is one the services register,
and the configuration ``deepclean up`` writes is valid too.

promtool comes with Debian's ``prometheus`` package; ``.ci/run`` installs it. Without it these
tests skip here, but never in CI (``CI`` set): there a missing promtool fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from deepclean.services.up.plan import Ports
from deepclean.services.up.prometheus import RULES, prometheus_config, scrape_targets

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")
IN_CI = bool(os.environ.get("CI"))

needs_promtool = pytest.mark.skipif(
    PROMTOOL is None and not IN_CI,
    reason="promtool not installed (Debian: apt-get install prometheus; .ci/run installs it)",
)


def _promtool(*args: str, cwd: Path = DEPLOY) -> str:
    assert PROMTOOL is not None, "promtool missing in CI: .ci/run installs Debian's prometheus"
    result = subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@needs_promtool
def test_rules_pass_their_unit_tests() -> None:
    out = _promtool("test", "rules", "alerts.test.yml")
    assert "SUCCESS" in out


@needs_promtool
def test_config_and_rules_are_valid() -> None:
    assert "SUCCESS: 10 rules found" in _promtool("check", "rules", "alerts.yml")
    _promtool("check", "config", "prometheus.yml")


@needs_promtool
def test_the_config_up_writes_is_valid(tmp_path: Path) -> None:
    config = tmp_path / "prometheus.yml"
    config.write_text(prometheus_config(Ports(), 5003))
    out = _promtool("check", "config", str(config), cwd=tmp_path)
    assert "1 rule files found" in out and "10 rules found" in out


def test_up_scrapes_what_compose_scrapes() -> None:
    compose_jobs = re.findall(r"job_name: (\w+)", (DEPLOY / "prometheus.yml").read_text())
    up_jobs = scrape_targets(Ports(), 5003)
    assert set(up_jobs) == {*compose_jobs, "up"}
    assert up_jobs["triton"] == "127.0.0.1:8002" and up_jobs["cleaner"] == "127.0.0.1:5002"
    assert "triton" not in scrape_targets(Ports(triton_metrics=0), 0)  # metrics off
    assert "up" not in scrape_targets(Ports(), 0)
    assert RULES == DEPLOY / "alerts.yml"


def _registered() -> set[str]:
    """Every sample name the services' registries expose (counters with _total, histograms with
    _bucket/_sum/_count), built from the services' own metric classes."""
    from deepclean.services.cleaner.metrics import CleanerMetrics
    from deepclean.services.exporter.metrics import ExporterMetrics
    from deepclean.services.monitor.state import Metrics as MonitorMetrics
    from deepclean.services.up.metrics import UpMetrics
    from deepclean.utils.disk import watch_disk

    disk = CollectorRegistry()
    watch_disk(disk, [ROOT])
    registries = [
        CleanerMetrics().registry,
        ExporterMetrics.create().registry,
        MonitorMetrics().registry,
        UpMetrics().registry,
        disk,
    ]
    names = set()
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}
    for registry in registries:
        for family in registry.collect():
            names.add(family.name)
            names.update(family.name + s for s in suffixes.get(family.type, []))
    return names


def test_every_metric_a_rule_names_is_registered() -> None:
    used = set(re.findall(r"\bdeepclean_[a-z_]+", (DEPLOY / "alerts.yml").read_text()))
    used |= set(re.findall(r"\bdeepclean_[a-z_]+", (DEPLOY / "alerts.test.yml").read_text()))
    assert used, "no deepclean metric in the rules?"
    missing = sorted(used - _registered())
    assert not missing, f"rules name metrics no service registers: {missing}"
