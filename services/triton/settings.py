"""Settings of ``deepclean triton`` (table ``[tool.deepclean.triton]``, env
``DEEPCLEAN_TRITON_*``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from pydantic import PositiveFloat

from deepclean.utils.config import Port, PortOrZero, SharedSettings


class TritonSettings(SharedSettings):
    """Where the model repository is and which 127.0.0.1 ports the server listens on."""

    service: ClassVar[str] = "triton"

    model_repository: Path | None = None
    """model repository to serve; none means <project_dir>/model_repo"""
    grpc_port: Port = 8001
    """gRPC port on 127.0.0.1"""
    http_port: Port = 8000
    """HTTP port on 127.0.0.1 (health: /v2/health/ready)"""
    metrics_port: PortOrZero = 8002
    """Prometheus metrics port on 127.0.0.1; 0 disables metrics"""
    startup_timeout: PositiveFloat = 120.0
    """seconds to wait for the server and every model to be ready"""
    venv: Path | None = None
    """the Triton server's virtual environment (env DEEPCLEAN_TRITON_VENV); none means
    <repo>/.triton/venv, made by ./run.sh setup"""

    @property
    def repository(self) -> Path:
        """The model repository to serve."""
        return (
            self.model_repository
            if self.model_repository is not None
            else self.project_dir / "model_repo"
        )
