"""Prometheus under ``deepclean up``: its scrape configuration and command line (pure: text out).

``deepclean up`` starts Prometheus when its binary is on PATH (Debian's ``prometheus``
package) and ``--prometheus-port`` is not 0, over ``$PROJECT_DIR/prometheus/``: this
configuration (``prometheus.yml``, written on every start), its database (``data/``). It
scrapes every service's ``/metrics`` on 127.0.0.1 with the job names of
``deploy/prometheus/prometheus.yml`` (the compose version), plus ``up`` (restarts), and
evaluates the same alert rules, ``deploy/prometheus/alerts.yml``.
"""

from __future__ import annotations

from pathlib import Path

from deepclean.services.up.ports import HOST, Ports

#: the repository's alert rules (absent from an installed wheel: then none are loaded)
RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"
SCRAPE_INTERVAL_S = 15  #: seconds between scrapes and rule evaluations (the rules' tests use it)


def scrape_targets(ports: Ports, up_metrics_port: int) -> dict[str, str]:
    """Job name -> ``host:port`` of its ``/metrics`` (a port of 0: not scraped)."""
    targets = {
        "triton": ports.triton_metrics,
        "exporter": ports.exporter,
        "cleaner": ports.cleaner_metrics,
        "monitor": ports.monitor,
        "up": up_metrics_port,
    }
    return {job: f"{HOST}:{port}" for job, port in targets.items() if port}


def prometheus_config(ports: Ports, up_metrics_port: int, rules: Path | None = RULES) -> str:
    """The text of ``prometheus.yml`` for the services on ``ports``; ``rules``: the alert rules
    file (None or missing: none)."""
    lines = [
        "# Written by `deepclean up` on every start (services/up/prometheus.py); do not edit.",
        "global:",
        f"  scrape_interval: {SCRAPE_INTERVAL_S}s",
        f"  evaluation_interval: {SCRAPE_INTERVAL_S}s",
    ]
    if rules is not None and Path(rules).is_file():
        lines += ["rule_files:", f"  - {str(rules)!r}"]
    lines.append("scrape_configs:")
    for job, target in scrape_targets(ports, up_metrics_port).items():
        lines += [
            f"  - job_name: {job}",
            "    static_configs:",
            f"      - targets: [{target!r}]",
        ]
    return "\n".join(lines) + "\n"


def prometheus_command(config: Path, data: Path, port: int) -> list[str]:
    """The command line of Prometheus over ``config``, keeping its database in ``data``."""
    return [
        "prometheus",
        f"--config.file={config}",
        f"--storage.tsdb.path={data}",
        f"--web.listen-address={HOST}:{port}",
        "--storage.tsdb.retention.time=15d",
    ]
