"""Names the streaming models, their tensors and the DeepClean roles go by (no heavy imports)."""

from enum import StrEnum

ENSEMBLE = "deepclean-stream"  #: the ensemble clients stream through
SNAPSHOTTER = "snapshotter"
DEEPCLEAN = "deepclean"  #: the network, one version per training run
STREAMING_VERSION = 1  #: the only version of the snapshotter, the aggregators and the ensemble
UPDATE = "update"  #: ensemble input: one update (1, W, stride*batch)
UPDATE_INDEX = "update_index"  #: ensemble output: the snapshotter's count of the sequence's updates
STREAM_MODE = "stream_mode"  #: ensemble parameter: the stream mode (absent: windowed, older repos)


class Role(StrEnum):
    """Which DeepClean version a noise stream comes from."""

    PRODUCTION = "production"
    CANARY = "canary"


def prediction_tensor(role: Role) -> str:
    """The ensemble tensor carrying DeepClean's predictions ``(batch, kernel)`` for ``role``."""
    return f"prediction_{Role(role)}"
