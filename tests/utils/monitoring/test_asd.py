"""ASD ratios against a direct periodogram loop, exactly known ratios, and their scatter."""

import numpy as np
import pytest
from scipy import signal

from deepclean.utils.monitoring.asd import Average, asd, asd_ratio, welch_segments

FS = 4096.0


def direct_asd(x, fs, fftlength):
    """Welch by hand: Hann segments at half overlap, one-sided density, mean of periodograms."""
    n = int(fftlength * fs)
    step = n // 2
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)  # periodic Hann, as scipy's "hann"
    scale = 1.0 / (fs * np.sum(window**2))
    periodograms = []
    for start in range(0, len(x) - n + 1, step):
        seg = x[start : start + n]
        seg = seg - seg.mean()  # scipy's default detrend="constant"
        power = np.abs(np.fft.rfft(seg * window)) ** 2 * scale
        power[1:-1] *= 2  # one-sided: fold negative frequencies (not DC, not Nyquist)
        periodograms.append(power)
    return np.fft.rfftfreq(n, 1 / fs), np.sqrt(np.mean(periodograms, axis=0))


@pytest.mark.parametrize(
    "duration,fftlength", [(8.0, 2.0), (10.0, 8.0), (12.5, 1.0)], ids=["8s-2s", "10s-8s", "odd"]
)
def test_asd_matches_direct_loop(duration, fftlength):
    x = np.random.default_rng(1).standard_normal(int(duration * FS))
    freqs, got = asd(x, FS, fftlength)
    want_freqs, want = direct_asd(x, FS, fftlength)
    np.testing.assert_allclose(freqs, want_freqs)
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_ratio_matches_direct_band_mean():
    rng = np.random.default_rng(2)
    raw = rng.standard_normal(int(16 * FS)) + np.sin(2 * np.pi * 60 * np.arange(int(16 * FS)) / FS)
    cleaned = raw - 0.8 * np.sin(2 * np.pi * 60 * np.arange(raw.size) / FS)
    freqs, a = direct_asd(cleaned, FS, 2.0)
    _, b = direct_asd(raw, FS, 2.0)
    inband = (freqs >= 58) & (freqs <= 62)
    assert inband.sum() == 9
    assert asd_ratio(
        cleaned, raw, FS, [(58, 62)], fftlength=2.0, average=Average.MEAN
    ) == pytest.approx(np.mean(a[inband] / b[inband]), rel=1e-10)


@pytest.mark.parametrize("average", list(Average), ids=lambda a: a.value)
@pytest.mark.parametrize("scale", [0.25, 1.0, 3.0])
def test_scaled_copy_has_exact_ratio(average, scale):
    raw = np.random.default_rng(3).standard_normal(int(16 * FS))
    assert asd_ratio(
        scale * raw, raw, FS, [(58, 62), (118, 122)], fftlength=2.0, average=average
    ) == pytest.approx(scale, rel=1e-12)


def test_segment_count_matches_scipy():
    for duration, fftlength, want in [(64, 2, 63), (10, 8, 1), (64, 4, 31), (8, 2, 7), (1, 2, 0)]:
        assert welch_segments(duration, fftlength) == want
        if want:
            _, _, spec = signal.spectrogram(
                np.zeros(int(duration * 64)), fs=64, nperseg=fftlength * 64, noverlap=fftlength * 32
            )
            assert spec.shape[-1] == want


@pytest.mark.parametrize(
    "call,match",
    [
        (
            lambda: asd(np.zeros(100), FS, 2.0),
            "Number of samples 100 is insufficient for an ASD with fftlength 2.0 s",
        ),
        (
            lambda: asd_ratio(np.ones(8192), np.ones(4096), FS, [(58, 62)]),
            "cannot be compared; need equal lengths",
        ),
        (
            lambda: asd_ratio(np.ones(8192), np.ones(8192), FS, [(60.1, 60.2)]),
            r"no frequency bin \(resolution 0.5 Hz\)",
        ),
    ],
    ids=["short", "lengths", "band"],
)
def test_errors_name_the_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def _draw(rng, seconds, sos):
    """Background plus a band-limited coupled noise ~20x above it; canary and production each
    leave an independent 30 % residual (the worst case for comparing them)."""
    n = int(seconds * FS)

    def band_noise():
        w = signal.sosfilt(sos, rng.standard_normal(n + 8192))[8192:]
        return w / np.std(w)

    bg = rng.standard_normal(n)
    level = 20 * np.sqrt(6 / (FS / 2))  # band power 20x (in ASD) the unit white background
    raw = bg + level * band_noise()
    return raw, bg + 0.3 * level * band_noise(), bg + 0.3 * level * band_noise()


def test_ratio_scatter():
    """The figures of the asd module docstring: 64 s with 2 s FFTs decides on a ~2 % scatter
    with the mean, ~2x that with the median, at the same ratio (the median's bias correction
    holds for Gaussian noise); 10 s with one 8 s FFT is biased and ~10x noisier."""
    rng = np.random.default_rng(4)
    sos = signal.butter(8, [57, 63], btype="bandpass", fs=FS, output="sos")
    figures = {}
    for seconds, fftlength in [(64, 2.0), (10, 8.0)]:
        ratios = {a: [] for a in Average}
        diffs = {a: [] for a in Average}
        for _ in range(24):
            raw, canary, production = _draw(rng, seconds, sos)
            for a in Average:
                rc = asd_ratio(canary, raw, FS, [(58, 62)], fftlength=fftlength, average=a)
                ratios[a].append(rc)
                diffs[a].append(
                    rc / asd_ratio(production, raw, FS, [(58, 62)], fftlength=fftlength, average=a)
                    - 1
                )
        for a in Average:
            r = np.array(ratios[a])
            figures[seconds, a] = (r.mean(), r.std() / r.mean(), np.std(diffs[a]), r)
    mean, rel, diff, by_mean = figures[64, Average.MEAN]
    assert mean == pytest.approx(0.30, abs=0.015)
    assert rel < 0.035 and diff < 0.035
    median, rel_median, diff_median, by_median = figures[64, Average.MEDIAN]
    assert median == pytest.approx(0.30, abs=0.015)
    assert rel < rel_median < 0.06 and diff_median < 0.05
    # Gaussian noise: the same ratio from either average, within the paired statistics
    paired = by_median - by_mean
    assert abs(paired.mean()) < 3 * paired.std() / np.sqrt(paired.size)
    mean10, rel10, diff10, _ = figures[10, Average.MEAN]
    assert mean10 > 0.36  # biased upwards
    assert rel10 > 4 * rel and diff10 > 4 * diff
