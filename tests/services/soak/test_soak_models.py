"""The soak's check that OUT_DQ was never cleaned by a model that made it worse, on cleaned
frames written here with OUT_DQ = scale * raw: the measured in-band ratio is the scale."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepclean.services.soak.models import monitor_bands, version_ratios
from deepclean.utils.products import StateBit
from tests.services.monitor.helpers import GOOD, GPS, IFO, Second, write_cleaned


def test_each_version_s_ratio_is_measured_from_its_cleaned_seconds(tmp_path: Path) -> None:
    for i in range(36):  # version 2 halves the noise; 2 s whose OUT_DQ is raw do not count
        state = GOOD & ~StateBit.OUT_DQ_CLEANED if i in (16, 17) else GOOD
        write_cleaned(tmp_path, GPS + i, Second(production_scale=0.5, production=2, state=state))
    for i in range(36, 56):  # version 3 makes it worse: one 16 s stretch
        write_cleaned(tmp_path, GPS + i, Second(production_scale=1.3, production=3))
    for i in range(56, 66):  # version 4: 10 s, too few to measure
        write_cleaned(tmp_path, GPS + i, Second(production_scale=0.2, production=4))
    found = version_ratios(tmp_path, IFO, [(58.0, 62.0), (118.0, 122.0)])
    assert [(r.version, r.cleaned_seconds, r.stretches) for r in found] == [
        (2, 34, 2),  # 0-15 and 18-33
        (3, 20, 1),
        (4, 10, 0),
    ]
    assert found[0].ratio == pytest.approx(0.5, rel=1e-6) and found[0].ok
    assert found[1].ratio == pytest.approx(1.3, rel=1e-6) and not found[1].ok
    assert found[2].ratio is None and found[2].ok


def test_seconds_cleaned_in_some_bands_only_count_too(tmp_path: Path) -> None:
    """A second whose OUT_DQ is cleaned in some bands (bit OUT_DQ_PARTIAL, the others' gates
    closed) was cleaned by that version: it is measured with the fully cleaned ones."""
    partial = (GOOD & ~StateBit.OUT_DQ_CLEANED) | StateBit.OUT_DQ_PARTIAL
    for i in range(32):
        state = partial if i % 2 else GOOD
        write_cleaned(tmp_path, GPS + i, Second(production_scale=1.2, production=2, state=state))
    found = version_ratios(tmp_path, IFO, [(58.0, 62.0)])
    assert [(r.version, r.cleaned_seconds, r.stretches) for r in found] == [(2, 32, 2)]
    assert found[0].ratio == pytest.approx(1.2, rel=1e-6) and not found[0].ok


def test_the_bands_come_from_the_monitor_s_command_line(tmp_path: Path) -> None:
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        "cleaner: deepclean clean --freq-low 58\n"
        "monitor: deepclean monitor --ifo H1 --freq-low 58 118 --freq-high 62 122 --passes 2\n"
    )
    assert monitor_bands(procfile) == [(58.0, 62.0), (118.0, 122.0)]
