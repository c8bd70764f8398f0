"""Writing the streaming models and the deepclean-stream ensemble; changing versions on disk (no
server)."""

from pathlib import Path

import pytest

from deepclean.utils.errors import ExportError
from deepclean.utils.export import ModelRepository, Platform, get_parameters
from deepclean.utils.export.config import specific_versions
from deepclean.utils.triton.ensemble import (
    StreamSpec,
    aggregators,
    build_stream,
    write_ensemble,
    write_streaming_models,
)
from deepclean.utils.triton.names import ENSEMBLE, SNAPSHOTTER, Role
from deepclean.utils.triton.versions import read_versions, set_versions

W, RATE = 3, 256


def spec(**changes) -> StreamSpec:
    values = dict(
        channels=("H1:STRAIN", "H1:A", "H1:B", "H1:C"),
        sample_rate=RATE,
        kernel_length=1.0,
        stride_length=1 / 16,
        batch_size=4,
        max_latencies=(0.5,),
        streams=2,
    )
    values.update(changes)
    return StreamSpec(**values)


def add_deepclean(
    root: Path, versions: int = 2, *, max_batch_size: int = 16, dims=(W, RATE), out=(RATE,)
) -> None:
    """A python DeepClean whose model.py is a placeholder: only its config and versions matter
    here."""
    source = root.parent / "placeholder.py"
    source.write_text("# placeholder\n")
    model = ModelRepository(root).create_model("deepclean", Platform.PYTHON)
    model.config.max_batch_size = max_batch_size
    model.add_input("witness", list(dims))
    model.add_output("noise", list(out))
    for _ in range(versions):
        model.export_python(source)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "repo"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"channels": ("H1:STRAIN",)}, "strain and at least one witness"),
        ({"streams": 0}, "streams must be a whole number >= 1, got 0"),
        ({"max_latencies": ()}, "at least one value"),
        ({"max_latencies": (0.5, 0.5004)}, r"repeat a value"),
        ({"max_latencies": (1 / 32,)}, "shorter than one stride"),
        ({"max_latencies": (2.0,)}, "exceeds kernel_size"),
        ({"stride_length": 0.3}, "not a multiple of stride_length|not a positive whole number"),
        ({"sequence_idle_timeout": 0}, "sequence_idle_timeout must be > 0 s"),
        (
            {"stream_mode": "sliding"},
            r"stream_mode 'sliding' is not one of \['windowed', 'contiguous'\]",
        ),
        (
            {"stream_mode": "contiguous", "kernel_length": 0.25},
            "more than kernel_size 64 samples; allowed: a kernel",
        ),
    ],
    ids=[
        "no-witness",
        "no-stream",
        "no-latency",
        "same-latency",
        "latency<stride",
        "latency>kernel",
        "bad-stride",
        "idle",
        "bad-mode",
        "contiguous-lag>kernel",
    ],
)
def test_spec_errors(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        spec(**changes)


@pytest.mark.parametrize(
    "latencies, names",
    [
        (
            (0.5,),
            [("aggregator-production", "noise_production"), ("aggregator-canary", "noise_canary")],
        ),
        (
            (0.25, 0.5),
            [
                ("aggregator-production-250ms", "noise_production_250ms"),
                ("aggregator-canary-250ms", "noise_canary_250ms"),
                ("aggregator-production-500ms", "noise_production_500ms"),
                ("aggregator-canary-500ms", "noise_canary_500ms"),
            ],
        ),
    ],
    ids=["one-latency", "two-latencies"],
)
def test_aggregator_names(latencies: tuple, names: list) -> None:
    assert [(a.model, a.output) for a in aggregators(spec(max_latencies=latencies))] == names


def test_streaming_models_configs(root: Path) -> None:
    s = spec(max_latencies=(0.25, 0.5))
    write_streaming_models(root, s)
    repo = ModelRepository(root)
    snap = repo[SNAPSHOTTER]
    assert snap.versions == [1]
    assert sorted(p.name for p in (snap.path / "1").iterdir()) == [
        "__pycache__",
        "deepclean_sequences.py",
        "deepclean_stream_geometry.py",
        "deepclean_streaming.py",
        "model.py",
    ]
    assert snap.config.max_batch_size == 0 and snap.config.instance_group[0].count == 2
    assert [c.name for c in snap.config.sequence_batching.control_input] == [
        "START",
        "END",
        "CORRID",
    ]
    assert {t.name: list(t.dims) for t in snap.config.input} == {"update": [1, W, 64]}
    assert {t.name: list(t.dims) for t in snap.config.output} == {
        "windows": [4, W, RATE],
        "update_index": [1],
    }
    assert snap.parameters == {
        "num_channels": W,
        "kernel_size": RATE,
        "stride": 16,
        "batch_size": 4,
        "num_updates": 1,
        "mode": "windowed",
    }
    for name, num_updates in (("aggregator-canary-250ms", 4), ("aggregator-production-500ms", 8)):
        agg = repo[name]
        assert agg.parameters["num_updates"] == num_updates
        assert {t.name: list(t.dims) for t in agg.config.output} == {"noise": [1, 64]}


def test_streaming_models_are_idempotent_and_refuse_silent_changes(root: Path) -> None:
    write_streaming_models(root, spec())
    before = (root / SNAPSHOTTER / "config.pbtxt").stat().st_mtime_ns
    write_streaming_models(root, spec())
    assert (root / SNAPSHOTTER / "config.pbtxt").stat().st_mtime_ns == before
    with pytest.raises(
        ExportError, match="model snapshotter already exists .* pass force to replace it"
    ):
        write_streaming_models(root, spec(batch_size=8))
    assert ModelRepository(root)[SNAPSHOTTER].parameters["batch_size"] == 4  # nothing half-written
    write_streaming_models(root, spec(batch_size=8), force=True)
    assert ModelRepository(root)[SNAPSHOTTER].parameters["batch_size"] == 8
    assert sorted(p.name for p in root.iterdir()) == [
        "aggregator-canary",
        "aggregator-production",
        "snapshotter",
    ]


def test_ensemble_pins_versions_and_carries_parameters(root: Path) -> None:
    add_deepclean(root, versions=3)
    build_stream(root, spec(parameters={"training_span": [1000, 5096]}), production=1, canary=3)
    repo = ModelRepository(root)
    ensemble = repo[ENSEMBLE]
    assert ensemble.versions == [1]
    steps = [(s.model_name, s.model_version) for s in ensemble.config.ensemble_scheduling.step]
    assert steps == [
        ("snapshotter", 1),
        ("deepclean", 1),
        ("deepclean", 3),
        ("aggregator-production", 1),
        ("aggregator-canary", 1),
    ]
    assert specific_versions(repo["deepclean"].config) == [1, 3]
    assert {t.name: list(t.dims) for t in ensemble.config.input} == {"update": [1, W, 64]}
    assert [t.name for t in ensemble.config.output] == [
        "noise_production",
        "noise_canary",
        "update_index",
    ]
    params = get_parameters(ensemble.config)
    assert params["channels"] == ["H1:STRAIN", "H1:A", "H1:B", "H1:C"]
    assert (
        params["sample_rate"] == RATE
        and params["stride_length"] == 1 / 16
        and params["kernel_length"] == 1.0
    )
    assert params["lag_samples"] == [128] and params["training_span"] == [1000, 5096]
    assert read_versions(root) == {Role.PRODUCTION: 1, Role.CANARY: 3}


@pytest.mark.parametrize(
    "deepclean, message",
    [
        (
            {"max_batch_size": 2},
            r"max_batch_size 2 is smaller than the batch of 4 inputs per update \(windowed mode\)",
        ),
        (
            {"dims": (W + 1, RATE)},
            r"input witness has dims \[4, 256\], which do not fit \[3, 256\]",
        ),
        ({"out": (RATE // 2,)}, r"output noise has dims \[128\]"),
        (
            {"max_batch_size": 0, "dims": (-1, W, RATE), "out": (5, RATE)},
            r"output noise has dims \[5, 256\], which do not fit \[4, 256\]",
        ),
    ],
    ids=["small-batch", "witness-count", "kernel", "unbatched-wrong-batch"],
)
def test_ensemble_refuses_a_deepclean_that_does_not_fit(
    root: Path, deepclean: dict, message: str
) -> None:
    add_deepclean(root, **deepclean)
    write_streaming_models(root, spec())
    with pytest.raises(ExportError, match=message):
        write_ensemble(root, spec(), production=1, canary=2)
    assert not (root / ENSEMBLE).exists()


def test_unbatched_deepclean_is_accepted(root: Path) -> None:
    add_deepclean(root, max_batch_size=0, dims=(-1, W, RATE), out=(-1, RATE))
    build_stream(root, spec(), production=2, canary=2)
    assert specific_versions(ModelRepository(root)["deepclean"].config) == [2]


def test_ensemble_needs_deepclean_and_existing_versions(root: Path) -> None:
    write_streaming_models(root, spec())
    with pytest.raises(ExportError, match="no model deepclean .* export DeepClean first"):
        write_ensemble(root, spec(), production=1, canary=1)
    add_deepclean(root, versions=2)
    with pytest.raises(ExportError, match=r"deepclean has no version 7 .* versions: \[1, 2\]"):
        write_ensemble(root, spec(), production=1, canary=7)


def test_set_versions_offline_rewrites_steps_and_policy(root: Path) -> None:
    add_deepclean(root, versions=3)
    build_stream(root, spec(), production=1, canary=2)
    previous = set_versions(root, production=2, canary=3)
    assert previous == {Role.PRODUCTION: 1, Role.CANARY: 2}
    assert read_versions(root) == {Role.PRODUCTION: 2, Role.CANARY: 3}
    assert specific_versions(ModelRepository(root)["deepclean"].config) == [2, 3]
    with pytest.raises(ExportError, match=r"deepclean has no version 9"):
        set_versions(root, production=9, canary=3)
    assert read_versions(root) == {Role.PRODUCTION: 2, Role.CANARY: 3}


def test_rebuilding_the_ensemble_replaces_it_in_place(root: Path) -> None:
    add_deepclean(root, versions=2)
    build_stream(root, spec(), production=1, canary=1)
    build_stream(root, spec(), production=2, canary=1)
    assert read_versions(root) == {Role.PRODUCTION: 2, Role.CANARY: 1}
    assert ModelRepository(root)[ENSEMBLE].versions == [1]


def test_python_model_files_import_only_what_the_server_has(root: Path) -> None:
    """The server's Python has numpy and Triton's utils but no deepclean package."""
    import ast
    import sys

    write_streaming_models(root, spec())
    version = root / SNAPSHOTTER / "1"
    local = {p.stem for p in version.glob("*.py")}
    allowed = set(sys.stdlib_module_names) | {"numpy", "triton_python_backend_utils"} | local
    for source in version.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else ([node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            )
            for name in names:
                assert name.split(".")[0] in allowed, f"{source.name} imports {name}"
    assert (version / "__pycache__").is_file()


def test_contiguous_mode_models_and_parameters(root: Path) -> None:
    """Contiguous: DeepClean takes one stretch per phase; the ensemble's max_latencies hold the
    lag."""
    s = spec(
        stride_length=1 / 32, max_latencies=(0.5, 0.25), stream_mode="contiguous"
    )  # stride 8, update 32
    assert s.max_latencies == (104 / RATE,) and [a.model for a in aggregators(s)] == [
        "aggregator-production",
        "aggregator-canary",
    ]
    add_deepclean(root, dims=(W, 224), out=(224,))  # 32 + 104 + 81 rounded up to 16
    build_stream(root, s, production=1, canary=2)
    repo = ModelRepository(root)
    snap = repo[SNAPSHOTTER]
    assert {t.name: list(t.dims) for t in snap.config.output} == {
        "windows": [2, W, 224],
        "update_index": [1],
    }
    assert snap.parameters["mode"] == "contiguous" and snap.parameters["num_updates"] == 13
    agg = repo["aggregator-production"]
    assert {t.name: list(t.dims) for t in agg.config.input} == {
        "prediction": [2, 224],
        "update_index": [1],
    }
    assert {t.name: list(t.dims) for t in agg.config.output} == {"noise": [1, 32]}
    params = get_parameters(repo[ENSEMBLE].config)
    assert params["stream_mode"] == "contiguous" and params["lag_samples"] == [104]
    assert params["max_latencies"] == [104 / RATE]


def test_contiguous_mode_refuses_a_windowed_deepclean(root: Path) -> None:
    add_deepclean(root)
    with pytest.raises(
        ExportError,
        match=r"do not fit \[3, 224\] .*contiguous mode: export DeepClean with the same",
    ):
        build_stream(
            root, spec(stride_length=1 / 32, stream_mode="contiguous"), production=1, canary=2
        )
