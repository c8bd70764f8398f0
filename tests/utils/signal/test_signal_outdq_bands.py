"""The per-band OUT_DQ gates against independent computations: per-band noise from scipy's
``butter``/``sosfiltfilt`` over the whole record, ASD ratios from scipy's ``welch``, and the
single gate of :mod:`deepclean.utils.signal.outdq` with the cleaner's former formula."""

import numpy as np
import pytest
from scipy import signal

from deepclean.utils.signal.outdq import OutDqGate
from deepclean.utils.signal.outdq_bands import BandGates, assign_bands, band_label

FS = 1024
A, B = (58.0, 62.0), (178.0, 182.0)  #: cleaning bands, Hz
FA, FB = (57.0, 63.0), (177.0, 183.0)  #: their filter bands (1 Hz margin)
SECONDS = 24


def bandpassed(x: np.ndarray, band: tuple[float, float]) -> np.ndarray:
    sos = signal.butter(8, band, btype="bandpass", fs=FS, output="sos")
    return signal.sosfiltfilt(sos, x)


def asd_ratio(x: np.ndarray, y: np.ndarray, band: tuple[float, float]) -> float:
    """Mean over ``band``'s bins of ASD(x)/ASD(y) (scipy Welch, 2 s Hann, median)."""
    f, px = signal.welch(x, FS, nperseg=2 * FS, average="median")
    _, py = signal.welch(y, FS, nperseg=2 * FS, average="median")
    m = (f >= band[0]) & (f <= band[1])
    return float(np.mean(np.sqrt(px[m] / py[m])))


@pytest.fixture(scope="module")
def record() -> dict:
    """White background + coupled noise in A and B; the estimate is right in A, 2.5x in B."""
    rng = np.random.default_rng(3)
    coupled = 40 * rng.normal(size=SECONDS * FS)
    noise_a, noise_b = bandpassed(coupled, FA), bandpassed(coupled, FB)
    raw = rng.normal(size=SECONDS * FS) + noise_a + noise_b
    return {"raw": raw, "a": noise_a, "b": 2.5 * noise_b}


def second(x: np.ndarray, k: int) -> np.ndarray:
    return x[k * FS : (k + 1) * FS]


def test_a_right_band_is_cleaned_and_a_wrong_one_left_raw(record) -> None:
    gates = BandGates(FS, [FA, FB], [A, B])
    raw, a, b = record["raw"], record["a"], record["b"]
    out, fractions = [], []
    for k in range(SECONDS):
        g = gates.push(second(raw, k), [second(a, k), second(b, k)])
        out.append(g.out_dq(second(raw, k), [second(a, k), second(b, k)]))
        fractions.append([band.fraction for band in g.bands])
        assert [band.label for band in g.bands] == ["58-62 Hz", "178-182 Hz"]
    out_dq = np.concatenate(out)
    # min_seconds 4: raw for 3 s, A tapered in over the 4th, then open; B never opens
    assert fractions[:3] == [[0.0, 0.0]] * 3 and 0 < fractions[3][0] < 1
    assert fractions[4:] == [[1.0, 0.0]] * (SECONDS - 4)
    np.testing.assert_array_equal(out_dq[: 3 * FS], raw[: 3 * FS])
    expected = raw - a  # OUT_DQ = raw - noise_A band-passed: A cleaned, B raw
    np.testing.assert_allclose(out_dq[4 * FS :], expected[4 * FS :], rtol=0, atol=1e-12)
    later = slice(4 * FS, None)
    assert asd_ratio(out_dq[later], raw[later], A) < 0.1
    assert asd_ratio(out_dq[later], raw[later], B) == pytest.approx(1.0, abs=1e-6)
    # the single gate over both bands would have switched both in: B 1.5x worse in OUT_DQ
    single = OutDqGate(FS, [A, B])
    for k in range(SECONDS):
        single.push(second(raw, k), second(raw - a - b, k))
    assert single.in_spec
    assert asd_ratio((raw - a - b)[later], raw[later], B) > 1.4


def test_one_band_is_the_single_gate_bit_for_bit() -> None:
    """Random raw and noise, a readiness ramp and invalid seconds: the former gate and formula
    (``raw - gate * ready * noise``) against BandGates with one band."""
    rng = np.random.default_rng(7)
    old = OutDqGate(FS, [A, (118.0, 122.0)])
    new = BandGates(FS, [FA], [A, (118.0, 122.0)])
    ready = np.clip(np.linspace(-1, 2, FS), 0, 1)
    for k in range(30):
        raw = rng.normal(size=FS) + 5 * np.sin(2 * np.pi * 60 * (np.arange(FS) / FS + k))
        noise = bandpassed(raw, FA) * (0.9 if k < 18 else -2.0)  # good, then bad: taper out
        valid = k not in (11, 12)
        decision = old.push(raw, raw - ready * noise, valid=valid)
        gate = decision.gate * ready if valid else np.zeros(FS)
        expected = raw - gate * noise if valid else raw.copy()
        g = new.push(raw, [noise] if valid else None, valid=valid, ready=ready)
        got = g.out_dq(raw, [noise]) if valid else raw.copy()
        np.testing.assert_array_equal(got, expected)
        np.testing.assert_array_equal(g.bands[0].gate, gate)
        np.testing.assert_array_equal(g.fully, gate >= 1.0)
        assert not g.partly.any()
        assert g.ratio == decision.ratio and g.cleaned_fraction == float(gate.mean())


@pytest.mark.parametrize(
    ("filter_bands", "bands", "expected"),
    [
        ([FA], [A], [[A]]),
        ([FA], [A, B], [[A, B]]),  # one filter band judges every cleaning band, as before
        ([FA, FB], [B, A], [[A], [B]]),
        ([FA, FB], [A], [[A], [FB]]),  # a filter band without a cleaning band: itself
    ],
    ids=["one", "one-filter-two-bands", "nearest", "unmatched"],
)
def test_assign_bands(filter_bands, bands, expected) -> None:
    assert assign_bands(filter_bands, bands) == expected


def test_set_bands_keeps_state_unless_the_band_count_changes(record) -> None:
    gates = BandGates(FS, [FA, FB], [A, B])
    for k in range(6):
        gates.push(second(record["raw"], k), [second(record["a"], k), second(record["b"], k)])
    assert [g.in_spec for g in gates.gates] == [True, False]
    gates.set_bands([FA, FB], [(57.5, 62.5), B])
    assert [g.in_spec for g in gates.gates] == [True, False]
    assert band_label(gates.gates[0].bands) == "57.5-62.5 Hz"
    gates.set_bands([FA], [A])
    assert [g.in_spec for g in gates.gates] == [False]  # new gates: out of spec


def test_noise_must_come_per_band() -> None:
    gates = BandGates(FS, [FA, FB], [A, B])
    with pytest.raises(ValueError, match="1 noise series for 2 gated bands"):
        gates.push(np.zeros(FS), [np.zeros(FS)])
    with pytest.raises(ValueError, match="no noise series for 2 gated bands"):
        gates.push(np.zeros(FS), None)
    gates.push(np.zeros(FS), None, valid=False)  # no estimate: nothing to subtract
