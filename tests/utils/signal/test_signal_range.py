"""BNS range (gwpy's inspiral_range) against a hand computation from the Newtonian inspiral."""

import math

import numpy as np
import pytest

from deepclean.utils.signal.range import bns_range_mpc, range_gain
from deepclean.utils.simulation.spectra import background_asd

G, C, MSUN, MPC = 6.674e-11, 2.998e8, 1.989e30, 3.0857e22


def newtonian_range_mpc(freqs, psd, f_min=15.0):
    """Horizon of an optimally oriented 1.4+1.4 M_sun inspiral at SNR 8 (stationary phase,
    up to the last stable orbit), over 2.26 for the sky and orientation average."""
    mc = (1.4 * 1.4) ** 0.6 / 2.8**0.2 * MSUN
    f_isco = C**3 / (6**1.5 * math.pi * G * 2.8 * MSUN)
    keep = (freqs >= f_min) & (freqs <= f_isco)
    df = freqs[1] - freqs[0]
    amp2 = 5 / 24 * math.pi ** (-4 / 3) * (G * mc / C**3) ** (5 / 3) * C**2 / MPC**2
    rho_1mpc = math.sqrt(4 * df * np.sum(amp2 * freqs[keep] ** (-7 / 3) / psd[keep]))
    return rho_1mpc / 8 / 2.2627


def test_range_of_the_design_psd_matches_the_newtonian_estimate():
    freqs = np.arange(0, 2048.25, 0.25)
    psd = background_asd(freqs) ** 2
    got = bns_range_mpc(freqs, psd)
    assert got == pytest.approx(newtonian_range_mpc(freqs, psd), rel=0.05)  # PN, cosmology
    louder = bns_range_mpc(freqs, psd * 4)  # twice the ASD: half the range
    assert louder == pytest.approx(got / 2, rel=0.02)
    assert range_gain(got, louder) == pytest.approx(1.0, rel=0.05)


def test_a_line_lowers_the_range_and_zero_bins_are_skipped():
    freqs = np.arange(0, 2048.25, 0.25)
    psd = background_asd(freqs) ** 2
    lined = psd.copy()
    lined[(freqs > 58) & (freqs < 62)] *= 400
    assert bns_range_mpc(freqs, lined) < bns_range_mpc(freqs, psd)
    psd[0] = 0.0
    assert np.isfinite(bns_range_mpc(freqs, psd))


def test_no_usable_bin_is_an_error():
    with pytest.raises(ValueError, match="no positive finite bin above 15"):
        bns_range_mpc(np.arange(0, 10.0, 0.25), np.ones(40))
