"""The OUT_DQ gate against an independent computation (scipy.signal.csd-free direct Welch + a plain
loop)."""

import numpy as np
import pytest

from deepclean.utils.signal.outdq import OutDqGate, median_asd_ratio

FS = 512
BANDS = [(58.0, 62.0)]


def direct_ratio(clean: np.ndarray, raw: np.ndarray, fftlength: float = 2.0) -> float:
    """Median Welch by hand: Hann segments, half overlap, |FFT|^2, median over segments."""
    n = int(fftlength * FS)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)  # periodic Hann (scipy's default)

    def psd(x):
        segs = [x[i : i + n] for i in range(0, len(x) - n + 1, n // 2)]
        spectra = [np.abs(np.fft.rfft((s - s.mean()) * window)) ** 2 for s in segs]
        return np.median(spectra, axis=0)  # the common median bias cancels in the ratio

    freqs = np.fft.rfftfreq(n, 1 / FS)
    mask = (freqs >= 58) & (freqs <= 62)
    return float(np.mean(np.sqrt(psd(clean)[mask] / psd(raw)[mask])))


def seconds(seed: int, n: int, line: float) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    t = np.arange(n * FS) / FS
    background = rng.normal(size=n * FS)
    noise = line * np.sin(2 * np.pi * 60 * t)
    raw = background + noise
    return [(raw[i * FS : (i + 1) * FS], background[i * FS : (i + 1) * FS]) for i in range(n)]


def test_ratio_matches_a_direct_median_welch() -> None:
    rng = np.random.default_rng(0)
    raw, clean = rng.normal(size=8 * FS), 0.5 * rng.normal(size=8 * FS)
    assert median_asd_ratio(clean, raw, FS, BANDS, 2.0) == pytest.approx(
        direct_ratio(clean, raw), rel=1e-9
    )


def test_gate_follows_a_direct_loop_through_good_and_bad_cleaning() -> None:
    """Good cleaning for 10 s, then 'cleaning' that adds noise for 10 s, an invalid second, good
    again, then 9 invalid seconds (more than the buffer: it is emptied) and good again."""
    good = seconds(1, 10, line=5.0)  # clean = background: ratio << 1
    bad = [
        (raw, raw + 3 * np.random.default_rng(i).normal(size=FS))
        for i, (raw, _) in enumerate(seconds(2, 10, 5.0))
    ]
    plan = (
        [(r, c, True) for r, c in good]
        + [(r, c, True) for r, c in bad]
        + [(good[0][0], good[0][0], False)]
    )
    plan += [(r, c, True) for r, c in seconds(3, 6, line=5.0)]
    plan += [(good[0][0], good[0][0], False)] * 9 + [
        (r, c, True) for r, c in seconds(4, 6, line=5.0)
    ]
    gate = OutDqGate(FS, BANDS, buffer_seconds=8, min_seconds=4)
    rising = np.hanning(2 * FS)[:FS]
    in_spec, buffer, invalid = False, [], 0
    for i, (raw, clean, valid) in enumerate(plan):
        out = gate.push(raw, clean, valid)
        if not valid:  # direct loop: out of spec, buffer kept unless stale
            invalid += 1
            in_spec, expected, ratio = False, np.zeros(FS), None
            if invalid > 8:
                buffer = []
        else:
            invalid = 0
            buffer = (buffer + [(raw, clean)])[-8:]
            if len(buffer) < 4:
                expected, ratio = np.zeros(FS), None
            else:
                ratio = direct_ratio(
                    np.concatenate([c for _, c in buffer]), np.concatenate([r for r, _ in buffer])
                )
                if in_spec and ratio > 1:
                    in_spec, expected = False, rising[::-1]
                elif not in_spec and ratio < 1:
                    in_spec, expected = True, rising
                else:
                    expected = np.full(FS, float(in_spec))
        np.testing.assert_allclose(out.gate, expected, atol=1e-12, err_msg=f"second {i}")
        assert out.in_spec == in_spec
        if ratio is None:
            assert out.ratio is None
        else:
            assert out.ratio == pytest.approx(ratio, rel=1e-9)
    # the story: out of spec for 3 s, tapered in at the 4th, out again during the bad stretch, back
    # after 4 s
    assert gate.in_spec


def test_gate_starts_out_of_spec_and_validates_its_arguments() -> None:
    gate = OutDqGate(FS, BANDS)
    raw, clean = seconds(0, 1, 5.0)[0]
    assert not gate.push(raw, clean).gate.any()
    with pytest.raises(ValueError, match="must both hold one second"):
        gate.push(raw[:10], clean)
    with pytest.raises(ValueError, match="min_seconds 9 must be in"):
        OutDqGate(FS, BANDS, buffer_seconds=8, min_seconds=9)
    with pytest.raises(ValueError, match="fftlength 4.0 s must be positive and <= min_seconds 2"):
        OutDqGate(FS, BANDS, min_seconds=2, fftlength=4.0)
