"""The cleaner pipeline with two cleaning bands, one noise estimate right and one wrong.

Strain: white background plus mains lines at 60 and 180 Hz. The stand-in for Triton answers
with the 60 Hz line exactly and the 180 Hz line 2.5 times too strong, so subtracting the
180 Hz band makes it worse (1.5 times the line). OUT_DQ must hold the raw strain minus the
60 Hz band's noise only, checked against scipy's ``sosfiltfilt`` of the whole noise record
per band and scipy's Welch ASDs; the state bits, the log line, the metrics and the kill
switch say the same.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from deepclean.services.cleaner.metrics import CleanerMetrics
from deepclean.services.cleaner.output import written_line
from deepclean.services.cleaner.pipeline import Answer, Budget, CleanerPipeline
from deepclean.services.cleaner.switch import switched_off
from deepclean.utils.frames.gwf import Channel
from deepclean.utils.frames.reader import FrameData
from deepclean.utils.products import StateBit, VersionInfo
from deepclean.utils.triton.names import Role

from .test_cleaner_pipeline import FS, G0, RATES, STRAIN, WITNESSES, N, served

SECONDS = 30
BANDS = [[58.0, 62.0], [178.0, 182.0]]
FILTER_BANDS = [[57.0, 63.0], [177.0, 183.0]]
LINES = {60.0: 0.05, 180.0: 0.03}  #: Hz: amplitude in strain
WRONG = {60.0: 1.0, 180.0: 2.5}  #: the estimate's factor per line
START = 10  #: first second judged: warm-up, the gates' first decisions and the A taper over


def lines(t: np.ndarray, factor: dict[float, float] | None = None) -> np.ndarray:
    factor = factor or dict.fromkeys(LINES, 1.0)
    return sum(a * factor[f] * np.sin(2 * np.pi * f * t) for f, a in LINES.items())


def frames():
    rng = np.random.default_rng(5)
    for i in range(SECONDS):
        t = i + np.arange(16384) / 16384
        strain = 2e-2 * rng.normal(size=16384) + lines(t)
        channels = {STRAIN: Channel(STRAIN, strain, 16384.0, float(G0 + i))}
        for name, rate in zip(WITNESSES, RATES):
            channels[name] = Channel(name, rng.normal(size=int(rate)), rate, float(G0 + i))
        yield FrameData(gps=G0 + i, channels=channels, state=np.full(16, 3, dtype=np.uint32))


def estimate(first: int, samples: int) -> np.ndarray:
    """The noise estimate at absolute samples ``first ...`` (4096 Hz)."""
    return lines((first - G0 * N + np.arange(samples)) / FS, WRONG)


@pytest.fixture(scope="module")
def out() -> dict:
    info = VersionInfo(trained=True, bands=BANDS, filter_bands=FILTER_BANDS)
    pipeline = CleanerPipeline(FS, Budget(), tuple(map(tuple, BANDS)))
    pipeline.configure(served(info={1: info, 2: info}))
    lag, start = pipeline.served.geometry.lag_samples, []

    def infer(witnesses: np.ndarray, first: int) -> Answer:
        start.append(first)
        noise = estimate(first - lag, N)
        return Answer({Role.PRODUCTION: noise, Role.CANARY: noise}, start[0])

    result = {}
    for item in frames():
        result.update({s.gps: s for s in pipeline.push(item, infer)})
    return result


def band_ratio(x: np.ndarray, y: np.ndarray, band) -> float:
    f, px = signal.welch(x, FS, nperseg=2 * N, average="median")
    _, py = signal.welch(y, FS, nperseg=2 * N, average="median")
    m = (f >= band[0]) & (f <= band[1])
    return float(np.mean(np.sqrt(px[m] / py[m])))


def test_out_dq_is_raw_minus_the_right_band_only(out) -> None:
    judged = range(G0 + START, max(out) + 1)
    raw, out_dq, production = (
        np.concatenate([getattr(out[g], name) for g in judged])
        for name in ("raw", "out_dq", "production")
    )
    # independent: the whole noise record band-passed per band with scipy
    whole = estimate((G0 - 4) * N, (SECONDS + 8) * N)
    sos = signal.butter(8, FILTER_BANDS[0], btype="bandpass", fs=FS, output="sos")
    noise_a = signal.sosfiltfilt(sos, whole)[(START + 4) * N : (START + 4) * N + raw.size]
    removed = raw - out_dq
    assert np.sqrt(np.mean((removed - noise_a) ** 2) / np.mean(noise_a**2)) < 1e-2
    assert band_ratio(out_dq, raw, BANDS[0]) < 0.8  # the line's bins: 3 of the band's 9
    assert band_ratio(out_dq, raw, BANDS[1]) == pytest.approx(1.0, abs=1e-3)  # left raw
    assert band_ratio(production, raw, BANDS[1]) > 1.1  # what subtracting it would have done
    for g in judged:
        assert [b.fraction for b in out[g].bands] == [1.0, 0.0], g
        assert out[g].cleaned_fraction == 0.5
        assert np.all(out[g].bits & StateBit.OUT_DQ_PARTIAL), g
        assert not np.any(out[g].bits & StateBit.OUT_DQ_CLEANED), g
        assert out[g].bands[1].ratio > 1 > out[g].bands[0].ratio
        assert out[g].ratio == out[g].bands[1].ratio  # the worst band's


def test_log_line_metrics_and_kill_switch_say_which_band_is_open(out) -> None:
    second = out[max(out)]
    a, b = second.bands
    line = written_line(second, "f.gwf", "1.000 s", {"filter": 0.01})
    assert (
        f"OUT_DQ cleaned 50% (58-62 Hz 100% ratio {a.ratio:.3f}, "
        f"178-182 Hz 0% ratio {b.ratio:.3f}); " in line
    )
    metrics = CleanerMetrics()
    metrics.set_bands(second.bands)
    value = metrics.registry.get_sample_value
    name = "deepclean_cleaner_outdq_band_cleaned_fraction"
    assert value(name, {"band": "58-62 Hz"}) == 1.0
    assert value(name, {"band": "178-182 Hz"}) == 0.0
    assert value("deepclean_cleaner_outdq_band_ratio", {"band": "178-182 Hz"}) == b.ratio
    metrics.set_bands(second.bands[:1])  # a version with one band: the other label goes
    assert value(name, {"band": "178-182 Hz"}) is None
    off = switched_off(second)
    np.testing.assert_array_equal(off.out_dq, off.raw)
    assert [x.fraction for x in off.bands] == [0.0, 0.0]
    assert not np.any(off.bits & (StateBit.OUT_DQ_PARTIAL | StateBit.OUT_DQ_CLEANED))
