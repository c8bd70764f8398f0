"""The settings a real run uses: the repository's pyproject.toml (and its packaged copy) read
through every service's settings class, pinned value by value.

A default lives in code once; ``pyproject.toml`` overrides one only with a reason written
beside it (issue 20: ``[tool.deepclean.cleaner] filter_lead = 0.5`` silently overrode the
documented default in ``./run.sh up``, the images and the benchmarks, and no test loaded the
real file). When a pin here fails: if the change is deliberate, update the pin in the same
commit and say why; if a value was added to ``pyproject.toml``, it needs a reason there.
``tests/test_packaging.py`` checks that an installed package reads the same settings from its
``deepclean/utils/defaults.toml``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from deepclean.services.cleaner.settings import CleanerSettings
from deepclean.services.exporter.settings import ExporterSettings, ExportModelSettings
from deepclean.services.monitor.settings import MonitorSettings
from deepclean.services.offline.settings import OfflineSettings
from deepclean.services.simulate.settings import SimulateSettings
from deepclean.services.trainer.settings import TrainerSettings
from deepclean.services.triton.settings import TritonSettings
from deepclean.services.up.settings import UpSettings
from deepclean.utils.config import SharedSettings, load_settings
from deepclean.utils.training.settings import Profile, TrainingSettings, profile_overrides

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"

SETTINGS = {
    cls.service: cls
    for cls in (
        SimulateSettings,
        TrainingSettings,
        TrainerSettings,
        OfflineSettings,
        ExportModelSettings,
        ExporterSettings,
        TritonSettings,
        CleanerSettings,
        MonitorSettings,
        UpSettings,
    )
}
#: commands that take --profile (the profile sits between the pyproject tables and the environment)
PROFILED = ("train", "trainer", "clean-offline", "exporter")

SHARED = {
    "ifo": "H1",
    "sample_rate": 4096.0,
    "freq_low": [58.0],
    "freq_high": [62.0],
    "data_dir": "data",
    "project_dir": "project",
    "log_level": "INFO",
}
CODE_DEFAULTS = {
    "simulate": {
        "start": "now",
        "duration": None,
        "backfill": False,
        "speed": 1.0,
        "follow_clock": False,
        "seed": 0,
        "truth": True,
        "channels_file": None,
        "line_frequency": 60.0,
        "witnesses": None,
        "num_witnesses": None,
        "coupled_witnesses": [
            "ASC-DHARD_P_OUT_DQ",
            "ASC-CHARD_P_OUT_DQ",
            "ASC-DHARD_Y_OUT_DQ",
            "ASC-PRC2_P_OUT_DQ",
            "ASC-SRC1_Y_OUT_DQ",
        ],
        "coupling_weights": [1.0, 0.7, 0.5, 0.35, 0.25],
        "bilinear_asd_ratio": 20.0,
        "linear_amplitude": 50.0,
        "drop_rate": 0.0,
        "drop_streams": ["strain", "witness"],
        "drop_gps": [],
        "not_ready_rate": 0.0,
        "not_ready_length": 8,
        "not_ready_spans": [],
        "partial_rate": 0.0,
        "partial_pieces": 3,
        "partial_delay": 0.5,
        "inject_every": None,
        "inject_gps": [],
        "inject_kinds": ["bbh", "bns", "sine_gaussian"],
        "inject_snr": 20.0,
        "inject_distance": 400.0,
        "inject_f_lower": 30.0,
        "inject_hrss": 1e-22,
        "sine_gaussian_frequency": 60.0,
        "sine_gaussian_q": 9.0,
        "injection_file": None,
        "drift_depth": 0.0,
        "drift_period": 21600.0,
        "harmonics": True,
        "line_shift": 0.0,
        "line_shift_period": 14400.0,
        "sideband_weight": 0.5,
        "sideband_witness": None,
        "step_factor": 2.0,
        "step_gps": None,
        "step_witness": None,
    },
    "train": {
        "inference_kernel_length": 1.0,
        "inference_sampling_rate": 512.0,
        "inference_batch_size": 128,
        "max_latency": 0.5,
        "stream_mode": "contiguous",
        "channels": [],
        "start": None,
        "duration": None,
        "output_dir": None,
        "init_weights": None,
        "kernel_length": 8.0,
        "kernel_stride": 0.0625,
        "batch_size": 256,
        "lr": 0.001,
        "weight_decay": 1e-05,
        "max_epochs": 50,
        "max_steps": None,
        "lr_schedule": "plateau",
        "patience": 5,
        "factor": 0.1,
        "early_stop": 10,
        "valid_frac": 0.25,
        "band_margin": 0.0,
        "fftlength": 2.0,
        "overlap": 1.0,
        "alpha": 1.0,
        "fine_tune_decay": 0.1,
        "max_train_seconds": None,
        "checkpoint_every": 1,
        "seed": 0,
        "num_threads": 2,
        "max_valid_loss": 0.95,
        "max_valid_ratio": 1.0,
        "background_channel": None,
    },
    "trainer": {
        "inference_kernel_length": 1.0,
        "inference_sampling_rate": 512.0,
        "inference_batch_size": 128,
        "max_latency": 0.5,
        "stream_mode": "contiguous",
        "channels": [],
        "start": None,
        "duration": None,
        "output_dir": None,
        "init_weights": None,
        "kernel_length": 8.0,
        "kernel_stride": 0.0625,
        "batch_size": 256,
        "lr": 0.001,
        "weight_decay": 1e-05,
        "max_epochs": 50,
        "max_steps": None,
        "lr_schedule": "plateau",
        "patience": 5,
        "factor": 0.1,
        "early_stop": 10,
        "valid_frac": 0.25,
        "band_margin": 0.0,
        "fftlength": 2.0,
        "overlap": 1.0,
        "alpha": 1.0,
        "fine_tune_decay": 0.1,
        "max_train_seconds": None,
        "checkpoint_every": 1,
        "seed": 0,
        "num_threads": 2,
        "max_valid_loss": 0.95,
        "max_valid_ratio": 1.0,
        "background_channel": None,
        "train_duration": 4096,
        "retrain_cadence": 2048,
        "notify_url": "http://127.0.0.1:5000/models",
        "notify_retries": 4,
        "notify_backoff": 1.0,
        "notify_timeout": 5.0,
        "frame_timeout": 2.0,
        "max_runs": None,
        "early_retrain": True,
        "early_retrain_checks": 5,
        "early_retrain_tolerance": 0.1,
        "early_retrain_min_gap": 1024,
        "host": "127.0.0.1",
        "metrics_port": None,
    },
    "clean-offline": {
        "weights": None,
        "start": None,
        "duration": None,
        "output_dir": None,
        "inference_kernel_length": 1.0,
        "inference_sampling_rate": 512.0,
        "inference_batch_size": 128,
        "max_latency": 0.5,
        "stream_mode": "contiguous",
        "filter_pad": 2.0,
        "ready_taper": 1.0,
        "num_threads": 2,
        "background_channel": None,
        "max_in_band_ratio": 1.0,
    },
    "export-model": {
        "repository_directory": None,
        "channels": [],
        "weights": None,
        "kernel_length": 1.0,
        "stride_length": 0.001953125,
        "batch_size": 128,
        "max_latency": [0.5],
        "stream_mode": "contiguous",
        "streams_per_gpu": 1,
        "instances": None,
        "platform": "onnxruntime_onnx",
        "verbose": False,
    },
    "exporter": {
        "channels": [],
        "repository_directory": None,
        "inference_kernel_length": 1.0,
        "inference_sampling_rate": 512.0,
        "inference_batch_size": 128,
        "max_latency": 0.5,
        "stream_mode": "contiguous",
        "band_margin": 0.0,
        "streams_per_gpu": 1,
        "instances": None,
        "platform": "python",
        "keep_versions": 5,
        "triton_url": "127.0.0.1:8001",
        "triton_timeout": 120.0,
        "host": "127.0.0.1",
        "port": 5000,
        "max_body_bytes": 65536,
        "threads": 4,
        "insecure_no_token": False,
    },
    "triton": {
        "model_repository": None,
        "grpc_port": 8001,
        "http_port": 8000,
        "metrics_port": 8002,
        "startup_timeout": 120.0,
        "venv": None,
    },
    "cleaner": {
        "triton_url": "127.0.0.1:8001",
        "start": None,
        "duration": None,
        "host": "127.0.0.1",
        "metrics_port": 5002,
        "frame_timeout": 2.0,
        "grace": 1.0,
        "reconnect_backoff": 1.0,
        "reconnect_backoff_max": 8.0,
        "config_poll": 1.0,
        "drop_taper": 1.0,
        "filter_memory": 2.0,
        "filter_lead": None,
        "noise_settle": 0.5,
        "ready_taper": 1.0,
        "outdq_buffer": 8,
        "outdq_min": 4,
        "outdq_fftlength": 2.0,
        "outdq_taper": 1.0,
        "stall_deadline": 30.0,
        "context": 6,
    },
    "monitor": {
        "exporter_url": "http://127.0.0.1:5000",
        "triton_url": "127.0.0.1:8001",
        "host": "127.0.0.1",
        "port": 5001,
        "monitor_period": 64,
        "asd_segment_length": 64,
        "asd_fftlength": 2.0,
        "asd_average": "median",
        "min_coverage": 0.6,
        "passes": 10,
        "failures": 5,
        "max_ratio": 1.0,
        "tolerance": 0.02,
        "max_files": 300,
        "carousel_headroom": 32,
        "write_cadence": 128,
        "archive_max_age": 604800.0,
        "archive_max_bytes": 50000000000,
        "archive_float64": False,
        "plot_history": 3600.0,
        "frame_timeout": 5.0,
        "exporter_retries": 4,
        "exporter_backoff": 1.0,
        "exporter_timeout": 10.0,
        "refresh": 10,
        "check_deadline": 300.0,
        "archive_backoff_max": 60.0,
        "range_tolerance": 0.01,
    },
    "up": {
        "demo": True,
        "history": None,
        "demo_passes": 3,
        "demo_speed": 1.0,
        "profile": "cpu",
        "channels": None,
        "ready_timeout": 1800.0,
        "stop_timeout": 30.0,
        "restart_delay": 1.0,
        "restart_max_delay": 30.0,
        "log_max_bytes": 10485760,
        "log_backups": 5,
        "metrics_port": 5003,
        "prometheus_port": 9090,
        "demo_inject_every": 180,
    },
}
PROFILES = {
    "production": {
        "kernel_length": 8.0,
        "kernel_stride": 0.0625,
        "batch_size": 256,
        "lr": 0.001,
        "weight_decay": 1e-05,
        "max_epochs": 50,
        "patience": 5,
        "factor": 0.1,
        "valid_frac": 0.25,
        "fine_tune_decay": 0.1,
        "band_margin": 0.0,
        "train_duration": 4096,
        "retrain_cadence": 2048,
        "inference_kernel_length": 1.0,
        "inference_sampling_rate": 512.0,
        "inference_batch_size": 128,
        "max_latency": 0.5,
    },
    "cpu": {
        "kernel_length": 8.0,
        "kernel_stride": 1.0,
        "batch_size": 16,
        "max_steps": 16,
        "lr": 0.003,
        "weight_decay": 1e-05,
        # issue 24: at a constant lr the last epochs' weights were noisy (held-out
        # cleaned/background 1.1-1.5 from one epoch to the next); annealed over 14 epochs
        # (~5 min on 2 cores) 1.06-1.08 on four held-out cases (docs/quality.md)
        "lr_schedule": "cosine",
        "max_epochs": 14,
        "patience": 2,
        "factor": 0.3,
        "early_stop": 14,
        "max_train_seconds": 240,
        "valid_frac": 0.25,
        "fine_tune_decay": 0.1,
        "band_margin": 1.0,
        "train_duration": 1024,
        "retrain_cadence": 1024,
        "inference_kernel_length": 1.0,
        "inference_sampling_rate": 32.0,
        "inference_batch_size": 8,
        "max_latency": 0.5,
    },
}
#: what the repository's pyproject.toml sets on top of the code's defaults, per service
#: (each value there carries its reason): nothing today
PYPROJECT_OVERRIDES: dict[str, dict[str, object]] = {}


def effective(service: str, profile: Profile | None, pyproject: Path | None = PYPROJECT) -> dict:
    """The settings ``service`` runs with (no flags, no environment) as JSON-able values."""
    cls = SETTINGS[service]
    overrides = profile_overrides(profile, cls, pyproject) if profile else None
    settings = load_settings(
        cls, environ={}, pyproject=pyproject, env_file=None, overrides=overrides
    )
    return settings.model_dump(mode="json")


def pinned(service: str, profile: Profile | None) -> dict:
    profile_values = PROFILES[profile.value] if profile else {}
    own = {**CODE_DEFAULTS[service], **PYPROJECT_OVERRIDES.get(service, {})}
    return {**SHARED, **own, **{k: v for k, v in profile_values.items() if k in own}}


CASES = [(service, None) for service in SETTINGS if service not in PROFILED] + [
    (service, profile) for service in PROFILED for profile in Profile
]


def _differences(got: dict, want: dict) -> list[str]:
    return [
        f"{key}: effective {got.get(key, '<missing>')!r}, pinned {want.get(key, '<missing>')!r}"
        for key in sorted(set(got) | set(want))
        if got.get(key, object()) != want.get(key, object())
    ]


@pytest.mark.parametrize(
    ("service", "profile"), CASES, ids=[f"{s}-{p.value if p else 'plain'}" for s, p in CASES]
)
def test_the_effective_settings_of_every_service_are_pinned(
    service: str, profile: Profile | None
) -> None:
    got = effective(service, profile)
    assert not _differences(got, pinned(service, profile)), (
        f"{service} settings read through {PYPROJECT} drifted from the pins in {__file__}:\n"
        + "\n".join(_differences(got, pinned(service, profile)))
    )


@pytest.mark.parametrize("service", list(SETTINGS))
def test_the_code_defaults_are_pinned(service: str) -> None:
    """Without any pyproject.toml: the defaults in code (what the tables may override)."""
    got = effective(service, None, pyproject=None)
    want = {**SHARED, **CODE_DEFAULTS[service]}
    assert not _differences(got, want), "\n".join(_differences(got, want))


def test_pyproject_overrides_a_default_only_with_a_reason() -> None:
    """Every value in [tool.deepclean] and [tool.deepclean.<service>] differs from the code's
    default and has a comment on its line (profiles are named groups, not defaults)."""
    text = PYPROJECT.read_text()
    tables = tomllib.loads(text)["tool"]["deepclean"]
    found: dict[str, dict[str, object]] = {}
    base = {k: v for k, v in tables.items() if not isinstance(v, dict)}
    for key, value in base.items():
        assert value != SharedSettings.model_fields[key].default, (
            f"[tool.deepclean] {key} = {value!r} repeats the code's default"
        )
        found.setdefault("shared", {})[key] = value
    for service, table in tables.items():
        if not isinstance(table, dict) or service == "profiles":
            continue
        assert service in SETTINGS, f"[tool.deepclean.{service}] is no service's table"
        defaults = {**SHARED, **CODE_DEFAULTS[service]}
        for key, value in table.items():
            assert value != defaults.get(key), (
                f"[tool.deepclean.{service}] {key} = {value!r} repeats the code's default"
            )
            found.setdefault(service, {})[key] = value
    for values in found.values():
        for key in values:
            lines = [line for line in text.splitlines() if line.split("=")[0].strip() == key]
            assert lines and all("#" in line for line in lines), (
                f"{key} in {PYPROJECT} overrides a default without a reason (a comment on its line)"
            )
    assert found == PYPROJECT_OVERRIDES


def test_the_cleaner_runs_with_the_documented_filter_lead() -> None:
    """Issue 20: the lead is the code's default (what the budget leaves of one frame)."""
    assert effective("cleaner", None)["filter_lead"] is None
