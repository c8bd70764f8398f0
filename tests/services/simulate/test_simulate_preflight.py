"""simulate never writes over existing frames: refusal, continuation with the same seed and
settings, --overwrite."""

import hashlib
from pathlib import Path

import numpy as np
import pytest

from deepclean.services.simulate.loop import run_simulation
from deepclean.services.simulate.settings import SimulateSettings
from deepclean.utils.config import load_settings
from deepclean.utils.errors import ConfigError, OutputExistsError, ResourceError
from deepclean.utils.frames.gwf import list_channels, read_frame
from deepclean.utils.frames.naming import FrameKind, frame_path

GPS = 1_400_000_000
FEW = {
    "num_witnesses": 2,
    "coupled_witnesses": ["ASC-DHARD_P_OUT_DQ"],
    "coupling_weights": [1.0],
    "backfill": True,
}


def settings(data: Path, **values) -> SimulateSettings:
    return load_settings(
        SimulateSettings,
        {"data_dir": data, "start": GPS, **FEW, **values},
        environ={},
        pyproject=None,
        env_file=None,
    )


def digests(data: Path) -> dict[str, str]:
    return {
        str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(data.rglob("*"))
        if p.is_file()
    }


def samples(data: Path, kind: FrameKind, gps: int) -> dict[str, np.ndarray]:
    path = frame_path(data, kind, "H1", gps)
    return {name: c.data for name, c in read_frame(path, list_channels(path)).items()}


def test_other_seed_is_refused_and_nothing_changes(tmp_path):
    run_simulation(settings(tmp_path, duration=3, seed=1))
    before = digests(tmp_path)
    with pytest.raises(OutputExistsError, match="already holds 6 frame file"):
        run_simulation(settings(tmp_path, duration=3, seed=2))
    with pytest.raises(OutputExistsError, match="channels.txt"):  # other channels, later span
        run_simulation(settings(tmp_path, start=GPS + 10, duration=2, seed=1, num_witnesses=3))
    assert digests(tmp_path) == before


def test_same_seed_and_settings_continue(tmp_path, caplog):
    run_simulation(settings(tmp_path, duration=3, seed=4))
    kept = frame_path(tmp_path, FrameKind.STRAIN, "H1", GPS)
    kept_digest = hashlib.sha256(kept.read_bytes()).hexdigest()
    frame_path(tmp_path, FrameKind.STRAIN, "H1", GPS + 1).unlink()  # an interrupted run's leftovers
    cut = frame_path(tmp_path, FrameKind.WITNESS, "H1", GPS + 2)
    cut.write_bytes(cut.read_bytes()[:500])
    caplog.set_level("INFO", logger="deepclean.services.simulate")
    summary = run_simulation(settings(tmp_path, duration=5, seed=4))
    assert summary.kept == 1 and summary.frames == 4
    assert "same seed and settings" in caplog.text
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == kept_digest  # left as it was
    fresh = tmp_path / "fresh"
    run_simulation(settings(fresh, duration=5, seed=4))
    for gps in range(GPS, GPS + 5):  # the continued run holds exactly what one run writes
        for kind in (FrameKind.STRAIN, FrameKind.WITNESS):
            a, b = samples(tmp_path, kind, gps), samples(fresh, kind, gps)
            assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_overwrite_replaces(tmp_path):
    run_simulation(settings(tmp_path, duration=2, seed=1))
    summary = run_simulation(settings(tmp_path, duration=2, seed=2), overwrite=True)
    assert summary.frames == 2 and summary.kept == 0


def test_span_checked_before_writing(tmp_path):
    with pytest.raises(ConfigError, match="2147483647"):
        run_simulation(settings(tmp_path, start="now", duration=10), clock=lambda: 2**31 - 5)
    with pytest.raises(ResourceError, match="free"):
        run_simulation(settings(tmp_path, duration=2_000_000_000, start=0))
    assert not tmp_path.joinpath("channels.txt").exists() and not any(tmp_path.iterdir())
