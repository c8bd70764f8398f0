"""The injection plan: deterministic per GPS second, sized to the target SNR, strain only."""

import numpy as np
import pytest

from deepclean.utils.signal.snr import design_optimal_snr
from deepclean.utils.simulation.injections import (
    SNR_F_HIGH_HZ,
    SNR_F_LOW_HZ,
    InjectionConfig,
    InjectionPlan,
)
from deepclean.utils.simulation.spectra import background_asd
from deepclean.utils.simulation.waveforms import InjectionKind

GPS = 1_400_000_000


def test_random_injections_depend_on_the_gps_second_not_on_the_start():
    config = InjectionConfig(
        seed=3, every_s=30, kinds=(InjectionKind.BBH, InjectionKind.SINE_GAUSSIAN)
    )
    one = InjectionPlan(config).strain(GPS + 40, 40)
    other = InjectionPlan(config)
    two = np.concatenate([other.strain(GPS + 40 + i) for i in range(40)])  # second by second
    assert np.array_equal(one, two)
    assert np.any(one)
    elsewhere = InjectionPlan(InjectionConfig(seed=4, every_s=30)).strain(GPS + 40, 40)
    assert not np.array_equal(one, elsewhere)


def test_every_interval_holds_one_injection_of_the_cycled_kind():
    plan = InjectionPlan(InjectionConfig(every_s=60, f_lower_hz=40.0))
    found = plan.signals(GPS, GPS + 600)
    peaks = [inj for inj, _ in found if GPS <= inj.gps < GPS + 600]
    assert len(peaks) == 10
    for inj in peaks:
        k = int(inj.gps // 60)
        assert 0.25 <= inj.gps / 60 - k <= 0.75
        assert inj.kind is list(InjectionKind)[k % 3]


@pytest.mark.parametrize("kind", list(InjectionKind), ids=str)
def test_injections_have_the_target_optimal_snr(kind):
    plan = InjectionPlan(InjectionConfig(gps_times=(GPS + 70.5,), kinds=(kind,), snr=12.0))
    [(inj, sig)] = plan.signals(GPS, GPS + 100)
    assert inj.optimal_snr == pytest.approx(12.0, rel=1e-9)
    # recomputed independently from the summed strain the simulator adds
    start, end = int(np.floor(sig.start_gps)), int(np.ceil(sig.end_gps))
    strain = plan.strain(start, end - start)
    rho = design_optimal_snr(strain, 16384.0, background_asd, SNR_F_LOW_HZ, SNR_F_HIGH_HZ)
    assert rho == pytest.approx(12.0, rel=1e-3)


def test_sized_by_distance_when_no_snr():
    near = InjectionPlan(
        InjectionConfig(
            gps_times=(GPS + 10.0,), kinds=(InjectionKind.BBH,), snr=None, distance_mpc=100
        )
    ).signals(GPS, GPS + 20)[0]
    far = InjectionPlan(
        InjectionConfig(
            gps_times=(GPS + 10.0,), kinds=(InjectionKind.BBH,), snr=None, distance_mpc=200
        )
    ).signals(GPS, GPS + 20)[0]
    assert near[0].distance_mpc == 100
    assert near[0].optimal_snr == pytest.approx(2 * far[0].optimal_snr, rel=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"every_s": 4}, "interval 4 s must be at least 8 s"),
        ({"snr": -1.0}, "SNR -1.0 must be > 0"),
        ({"f_lower_hz": 5.0}, "f_lower 5.0 Hz >= 10 Hz"),
        ({"kinds": ()}, "kinds is empty"),
    ],
    ids=["interval", "snr", "f_lower", "kinds"],
)
def test_bad_config_names_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        InjectionConfig(**kwargs)
