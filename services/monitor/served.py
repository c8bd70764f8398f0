"""Small I/O helpers at the monitor's edges: which versions Triton serves, GPS from Unix time.

The status page is served by :class:`deepclean.utils.http_server.HttpServer`, as the exporter's
API."""

from __future__ import annotations

import logging
import time

from deepclean.utils.triton.names import ENSEMBLE, Role, pinned_versions

logger = logging.getLogger(__name__)


def unix_to_gps(unix: float) -> float:
    """GPS seconds of the Unix time ``unix`` (leap seconds from LAL's table)."""
    import lal

    return float(lal.UTCToGPS(time.gmtime(unix))) + unix % 1.0


def served_versions(triton_url: str, timeout: float = 1.0) -> dict[str, int] | None:
    """``{"production": N, "canary": M}`` pinned in the served ensemble, or None if Triton
    does not answer within ``timeout`` s (the status page then says nothing about it). Like
    ``utils/triton/versions.served_versions``, with one bounded request: a gRPC client without
    a deadline keeps retrying an unreachable server for ~20 s."""
    import tritonclient.grpc as grpcclient
    from tritonclient.utils import InferenceServerException

    try:
        client = grpcclient.InferenceServerClient(triton_url)
        try:
            config = client.get_model_config(ENSEMBLE, as_json=True, client_timeout=timeout)[
                "config"
            ]
        finally:
            client.close()
    except (InferenceServerException, OSError, ValueError) as exc:
        logger.debug("Triton %s did not say which versions it serves: %s", triton_url, exc)
        return None
    pins = pinned_versions(config)
    return {role.value: v for role, v in pins.items()} if len(pins) == len(Role) else None
