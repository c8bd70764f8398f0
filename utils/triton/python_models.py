"""The stateful python-backend models of the stream (the snapshotter and the aggregators) in a
model repository: each version holds ``model.py`` with the modules it imports copied beside it
(``deepclean_streaming.py`` is :mod:`deepclean.utils.streaming`, ``deepclean_stream_geometry.py``
is :mod:`deepclean.utils.stream_geometry`, ``deepclean_sequences.py`` is
``backend/sequences.py``) and a ``__pycache__`` placeholder file. Part of
:mod:`deepclean.utils.triton.ensemble`, which re-exports :func:`write_streaming_models`."""

from __future__ import annotations

import dataclasses
import logging
import re
import tempfile
from importlib import resources
from pathlib import Path
from types import ModuleType

from tritonclient.grpc import model_config_pb2 as mc

from deepclean.utils import stream_geometry, streaming
from deepclean.utils.errors import ExportError
from deepclean.utils.export import Model, ModelRepository, Platform
from deepclean.utils.triton import configs
from deepclean.utils.triton.names import SNAPSHOTTER, STREAMING_VERSION
from deepclean.utils.triton.spec import StreamSpec, aggregators

logger = logging.getLogger(__name__)

_BACKEND = "deepclean.utils.triton.backend"
#: a plain file where Python would create its bytecode folder: Python then writes no bytecode here,
#: so the folder never changes while Triton serves it (see deepclean.utils.triton.versions)
PYCACHE_BLOCKER = "__pycache__"
PYCACHE_BLOCKER_TEXT = (
    "Placeholder file, not a folder: it keeps Python from writing bytecode into this model "
    "version.\n"
    "Triton reloads a model whose folder changed when an ensemble using it is loaded again, and a\n"
    "reloaded streaming model loses the state of every stream. See "
    "deepclean.utils.triton.versions.\n"
)


#: the project's modules the python-backend models import, under the names they import them by
STANDALONE = {"deepclean_streaming": streaming, "deepclean_stream_geometry": stream_geometry}


def _standalone(module: ModuleType) -> str:
    """``module``'s source, its imports of the other :data:`STANDALONE` modules renamed to
    their copies' names (the Triton server's Python has no ``deepclean`` package)."""
    text = Path(module.__file__).read_text()
    for name, other in STANDALONE.items():
        text = text.replace(f"from {other.__name__} import", f"from {name} import")
    left = re.findall(r"^(?:from|import) deepclean\b.*$", text, flags=re.MULTILINE)
    if left:
        raise ExportError(
            f"{module.__name__} has {left[0]!r}, which the Triton server's Python cannot import; "
            f"allowed: numpy, the standard library and {sorted(STANDALONE)}"
        )
    return text


def _sources(staging: Path, model_file: str) -> tuple[Path, list[Path]]:
    """Copy model.py and the modules it imports into ``staging`` under the names model.py
    imports."""
    backend = resources.files(_BACKEND)
    sources = {
        "model.py": backend.joinpath(model_file).read_text(),
        "deepclean_sequences.py": backend.joinpath("sequences.py").read_text(),
        **{f"{name}.py": _standalone(module) for name, module in STANDALONE.items()},
    }
    sources[PYCACHE_BLOCKER] = PYCACHE_BLOCKER_TEXT
    for name, text in sources.items():
        (staging / name).write_text(text)
    return staging / "model.py", [staging / name for name in sources if name != "model.py"]


def _same_model(model: Model, config: mc.ModelConfig, staging: Path) -> bool:
    version = model.path / str(STREAMING_VERSION)
    if model.versions != [STREAMING_VERSION] or model.config != config:
        return False
    return all(
        (version / p.name).is_file() and (version / p.name).read_bytes() == p.read_bytes()
        for p in staging.iterdir()
    )


def _write_python_model(
    repo: ModelRepository, config: mc.ModelConfig, model_file: str, *, force: bool
) -> Path:
    with tempfile.TemporaryDirectory(prefix="deepclean-triton-") as tmp:
        source, files = _sources(Path(tmp), model_file)
        if config.name in repo:
            if _same_model(repo[config.name], config, Path(tmp)):
                return repo[config.name].path
            if not force:
                raise ExportError(
                    f"model {config.name} already exists in {repo.path} with other "
                    "settings or code; "
                    "pass force to replace it"
                )
            repo.remove_model(config.name)
        model = repo.create_model(config.name, Platform.PYTHON)
        model.config.CopyFrom(config)
        model.export_python(source, version=STREAMING_VERSION, files=files)
    logger.info("wrote %s", model.path)
    return model.path


def write_streaming_models(
    repository: Path | str, spec: StreamSpec, *, force: bool = False
) -> list[Path]:
    """Write the snapshotter and the aggregators (idempotent; ``force`` replaces differing ones)."""
    repo = ModelRepository(repository)
    g = spec.geometry()
    idle = spec.sequence_idle_timeout
    if g.mode is streaming.StreamMode.WINDOWED:  # its windows do not depend on the averaging
        g = dataclasses.replace(g, num_updates=1)
    snapshotter = configs.snapshotter_config(
        SNAPSHOTTER,
        num_channels=spec.num_witnesses,
        geometry=g,
        streams=spec.streams,
        idle_seconds=idle,
    )
    with repo.transaction():
        paths = [_write_python_model(repo, snapshotter, "snapshotter.py", force=force)]
        for agg in aggregators(spec):
            config = configs.aggregator_config(
                agg.model,
                geometry=spec.geometry(agg.max_latency),
                streams=spec.streams,
                idle_seconds=idle,
            )
            paths.append(_write_python_model(repo, config, "aggregator.py", force=force))
    return paths
