"""Where each service of ``deepclean up`` listens on 127.0.0.1.

Each service's own settings say where it listens (:data:`PORT_SETTINGS`), so one ``.env``
drives both the service and its clients: :func:`read_ports` reads them through every layer
(environment, ``.env``, pyproject), and a :class:`Ports` made without a port takes the default
of that service's settings class (the default lives there once).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import partial

HOST = "127.0.0.1"

#: service -> (settings module, class, {settings field: Ports field})
PORT_SETTINGS = {
    "triton": (
        "deepclean.services.triton.settings",
        "TritonSettings",
        {"http_port": "triton_http", "grpc_port": "triton_grpc", "metrics_port": "triton_metrics"},
    ),
    "exporter": ("deepclean.services.exporter.settings", "ExporterSettings", {"port": "exporter"}),
    "cleaner": (
        "deepclean.services.cleaner.settings",
        "CleanerSettings",
        {"metrics_port": "cleaner_metrics"},
    ),
    "monitor": ("deepclean.services.monitor.settings", "MonitorSettings", {"port": "monitor"}),
}


def _settings_class(service: str) -> type:
    """The settings class of ``service``; DeepCleanError when it is not installed."""
    from deepclean.utils.errors import DeepCleanError

    module_name, class_name, _ = PORT_SETTINGS[service]
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise DeepCleanError(
            f"the {service} service is not installed ({module_name}.{class_name}: {exc})"
        ) from exc


def _default_port(port: str) -> int:
    """The code default of the setting that gives the :class:`Ports` field ``port``."""
    for service, (_, _, fields) in PORT_SETTINGS.items():
        for setting, target in fields.items():
            if target == port:
                return _settings_class(service).model_fields[setting].default
    raise KeyError(port)


def _port(name: str):
    return field(default_factory=partial(_default_port, name))


def _url(port: str, scheme: str = "http://", path: str = "") -> property:
    """``<scheme>127.0.0.1:<the port field port><path>``, as a property of :class:`Ports`."""
    return property(lambda ports: f"{scheme}{HOST}:{getattr(ports, port)}{path}")


@dataclass(frozen=True)
class Ports:
    """Where each service listens on 127.0.0.1 (by default: its settings' defaults)."""

    triton_http: int = _port("triton_http")
    triton_grpc: int = _port("triton_grpc")
    exporter: int = _port("exporter")
    monitor: int = _port("monitor")
    cleaner_metrics: int = _port("cleaner_metrics")
    triton_metrics: int = _port("triton_metrics")  #: 0: Triton serves no metrics

    triton_ready = _url("triton_http", path="/v2/health/ready")
    triton_url = _url("triton_grpc", scheme="")  #: Triton's gRPC address, host:port
    exporter_url = _url("exporter")
    monitor_url = _url("monitor", path="/")


def read_ports() -> Ports:
    """Where each service listens, from its own settings (environment, .env, pyproject)."""
    from deepclean.utils.config import load_settings

    values = {}
    for service, (_, _, fields) in PORT_SETTINGS.items():
        settings = load_settings(_settings_class(service))
        values.update({target: getattr(settings, setting) for setting, target in fields.items()})
    return Ports(**values)
