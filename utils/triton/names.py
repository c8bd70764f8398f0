"""Names the streaming models, their tensors and the DeepClean roles go by (no heavy imports)."""

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

ENSEMBLE = "deepclean-stream"  #: the ensemble clients stream through
SNAPSHOTTER = "snapshotter"
DEEPCLEAN = "deepclean"  #: the network, one version per training run
STREAMING_VERSION = 1  #: the only version of the snapshotter, the aggregators and the ensemble
UPDATE = "update"  #: ensemble input: one update (1, W, stride*batch)
UPDATE_INDEX = "update_index"  #: ensemble output: the snapshotter's count of the sequence's updates
STREAM_MODE = "stream_mode"  #: ensemble parameter: the stream mode (absent: windowed, older repos)
#: ensemble parameters holding the geometry a client streams with
GEOMETRY_PARAMETERS = (
    "channels",
    "sample_rate",
    "kernel_length",
    "stride_length",
    "batch_size",
    "max_latencies",
)


class Role(StrEnum):
    """Which DeepClean version a noise stream comes from."""

    PRODUCTION = "production"
    CANARY = "canary"


def prediction_tensor(role: Role) -> str:
    """The ensemble tensor carrying DeepClean's predictions ``(batch, kernel)`` for ``role``."""
    return f"prediction_{Role(role)}"


def pinned_versions(config: Mapping[str, Any]) -> dict[Role, int]:
    """The DeepClean version each role's step pins in the ensemble config ``config`` (Triton's
    JSON form, as ``get_model_config(..., as_json=True)["config"]`` returns it); roles whose
    step is missing are left out (-1 for a step without ``model_version``)."""
    pins: dict[Role, int] = {}
    for step in (config.get("ensemble_scheduling") or {}).get("step", []):
        for role in Role:
            if prediction_tensor(role) in (step.get("output_map") or {}).values():
                pins[role] = int(step.get("model_version", -1))
    return pins
