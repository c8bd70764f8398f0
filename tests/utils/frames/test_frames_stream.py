"""Streaming resampler: against scipy.signal.resample_poly on long records, its look-ahead is the
filter's reach and no more, drops without look-ahead, the 60 Hz criterion."""

import numpy as np
import pytest
from scipy import signal

from deepclean.utils.frames.resample import resample
from deepclean.utils.frames.stream import StreamingResampler, delay_samples
from deepclean.utils.frames.taper import fill_gaps

RATES = [16384, 4096, 2048, 1024, 512, 256, 16]
SECONDS = 10
GPS = 1_250_000_000
N = 4096  # output samples per second


def _channels(rng: np.random.Generator, rates=RATES, seconds=SECONDS) -> list[np.ndarray]:
    out = []
    for rate in rates:
        t = np.arange(seconds * rate) / rate
        line = 60.0 if rate >= 256 else 3.0
        out.append(np.sin(2 * np.pi * line * t + 0.2) + 0.1 * rng.standard_normal(t.size))
    return out


def _stream(channels, rates=RATES, drops=(), seconds=SECONDS, **kwargs):
    """Every block, and the streamed output joined from the first block's first sample."""
    resampler = StreamingResampler(rates, **kwargs)
    blocks = []
    for s in range(seconds):
        frame = None if s in drops else [c[s * r : (s + 1) * r] for c, r in zip(channels, rates)]
        blocks.append(resampler.push(GPS + s, frame, ready=s != 7))
    return resampler, blocks, np.concatenate([b.data for b in blocks], axis=1)


def _kaiser_taps(up: int, down: int) -> np.ndarray:
    """The documented anti-aliasing filter, built here from scipy: Kaiser (beta 8) windowed sinc,
    half-width 10 samples of the lower rate, cut-off at the lower Nyquist."""
    longest = max(up, down)
    return signal.firwin(20 * longest + 1, 1.0 / longest, window=("kaiser", 8.0))


@pytest.mark.parametrize(
    ("rate", "up", "down"),
    [(16384, 1, 4), (2048, 2, 1), (1024, 4, 1), (512, 8, 1), (256, 16, 1)],
    ids=["strain-16384", "2048", "1024", "512", "256"],
)
def test_long_record_equals_scipy_resample_poly(rate: int, up: int, down: int) -> None:
    """64 s streamed second by second vs scipy.signal.resample_poly of the whole record: <= 1e-6
    relative in the pass band (below 0.37 of the lower rate) away from the record's ends."""
    seconds = 64
    rng = np.random.default_rng(rate)
    low = min(rate, N)
    sos = signal.butter(8, 0.3 * low, fs=rate, output="sos")  # content inside the pass band
    x = signal.sosfilt(sos, rng.standard_normal(seconds * rate))
    x += np.sin(2 * np.pi * 60.0 * np.arange(x.size) / rate)
    reference = signal.resample_poly(x, up, down, window=_kaiser_taps(up, down))
    resampler, blocks, streamed = _stream([x], [rate], seconds=seconds)
    delay = resampler.delay_samples
    assert blocks[0].first_sample == GPS * N - delay
    streamed = streamed[0, delay:]  # from the record's first sample
    middle = slice(N, (seconds - 1) * N)  # away from the ends (the filter's zeros beyond them)
    error = np.abs(streamed[middle] - reference[middle]).max() / np.abs(reference[middle]).max()
    assert error <= 1e-6, error


@pytest.mark.parametrize(
    ("rate", "samples", "milliseconds"),
    [(16384, 10, 2.44), (2048, 20, 4.88), (1024, 40, 9.77), (512, 80, 19.53), (256, 160, 39.06)],
)
def test_look_ahead_is_the_filter_reach_and_no_more(rate, samples, milliseconds) -> None:
    """After second g is pushed, every output sample before (g + 1) * n - delay is final (later
    data do not change it) and the ones after it are not: the delay is the filter's reach."""
    assert delay_samples(rate, N) == samples and 1000 * samples / N == pytest.approx(
        milliseconds, abs=0.01
    )
    rng = np.random.default_rng(1)
    x = rng.standard_normal(4 * rate)
    y = x.copy()
    y[2 * rate :] = rng.standard_normal(2 * rate)  # seconds 2 and 3 differ
    resampler, blocks, _ = _stream([x], [rate], seconds=2)
    assert resampler.delay_samples == samples
    whole_x, whole_y = resample(x, rate, N), resample(y, rate, N)
    end = 2 * N - samples  # where block 1 ends
    np.testing.assert_allclose(blocks[1].data[0], whole_x[end - N : end], rtol=0, atol=1e-12)
    np.testing.assert_allclose(whole_x[:end], whole_y[:end], rtol=0, atol=1e-12)
    # the filter's end taps fall on zeros of its sinc, so the first sample not produced waits for
    # a tap of ~1e-17; the one after it depends on the next second: at most one sample (0.24 ms)
    # more than strictly needed
    assert abs(whole_x[end + 1] - whole_y[end + 1]) > 1e-6


def test_the_blocks_tile_the_stream_equal_to_whole_span_resampling() -> None:
    channels = _channels(np.random.default_rng(0))
    resampler, blocks, streamed = _stream(channels)
    delay = resampler.delay_samples
    assert delay == 2560  # the 16 Hz channel's reach: 0.625 s
    assert [b.first_sample for b in blocks] == [(GPS + s) * N - delay for s in range(SECONDS)]
    for c, rate in enumerate(RATES):
        whole = resample(np.concatenate([np.zeros(rate), channels[c]]), rate, N)[N - delay :]
        np.testing.assert_allclose(streamed[c], whole[: SECONDS * N], rtol=0, atol=1e-12)
    assert not any(b.dropped or b.tapered for b in blocks)
    assert [b.ready for b in blocks] == [s != 7 for s in range(SECONDS)]


def test_60hz_sine_keeps_its_amplitude() -> None:
    rate = 16384
    t = np.arange(SECONDS * rate) / rate
    sine = np.sin(2 * np.pi * 60.0 * t + 0.7)
    resampler, _, streamed = _stream([sine], [rate])
    t_out = (np.arange(SECONDS * N) - resampler.delay_samples) / N
    analytic = np.sin(2 * np.pi * 60.0 * t_out + 0.7)
    assert np.abs(streamed[0, N:] - analytic[N:]).max() < 1e-3


@pytest.mark.parametrize("drops", [(5,), (5, 6), (0,), (9,)], ids=["one", "two", "first", "last"])
def test_drops_are_filled_without_look_ahead_like_offline(drops) -> None:
    """The stream with drops equals whole-span resampling of fill_gaps' data (the offline path),
    and everything before a dropped second's filter reach equals the stream without the drop."""
    rates = [16384, 1024, 512, 256]
    channels = _channels(np.random.default_rng(1), rates)
    resampler, blocks, streamed = _stream(channels, rates, drops=drops)
    _, _, intact = _stream(channels, rates)
    delay = resampler.delay_samples
    for c, rate in enumerate(rates):
        pieces = [None if s in drops else channels[c][s * rate : (s + 1) * rate] for s in range(10)]
        joined, tapered = fill_gaps(pieces, rate, rate)
        whole = resample(np.concatenate([np.zeros(rate), joined]), rate, N)[N - delay :]
        np.testing.assert_allclose(streamed[c], whole[: SECONDS * N], rtol=0, atol=1e-12)
        first = min(drops) * N  # the dropped second's first output sample, from the stream start
        np.testing.assert_array_equal(streamed[c, :first], intact[c, :first])
    assert [s for s, b in enumerate(blocks) if b.dropped] == list(drops)
    assert [s for s, b in enumerate(blocks) if b.tapered] == sorted(
        {*drops, *(d + 1 for d in drops if d + 1 < SECONDS)}
    )
    assert tapered.tolist() == [b.tapered for b in blocks]
    assert not any(blocks[d].ready for d in drops)


def test_a_dropped_second_fades_out_continuously() -> None:
    rate = 512
    x = np.full(3 * rate, 2.0)
    _, blocks, _ = _stream([x], [rate], drops=(1,), seconds=3)
    resampler = StreamingResampler([rate])
    assert resampler.delay_samples == 80
    fill = blocks[1].data[0, 80:]  # second 1's own output samples (after the reach of second 0)
    assert abs(fill[0] - 2.0) < 1e-3 and np.all(np.diff(fill[200:]) <= 1e-9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sample_rates": [8]}, r"a channel at 8.0 Hz needs 1.25 s of later data"),
        ({"sample_rates": []}, "sample_rates is empty"),
        ({"sample_rates": [100.5]}, "100.5 Hz is not a positive whole number"),
        ({"sample_rates": [512], "taper_seconds": 2.0}, r"taper length 2.0 s must be in \(0, 1\]"),
    ],
    ids=["too-slow", "empty", "fractional", "long-taper"],
)
def test_construction_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StreamingResampler(**kwargs)


def test_push_errors() -> None:
    resampler = StreamingResampler([512, 16])
    resampler.push(GPS, [np.zeros(512), np.zeros(16)])
    with pytest.raises(ValueError, match="pushed GPS 1250000002 after 1250000000"):
        resampler.push(GPS + 2, None)
    with pytest.raises(
        ValueError, match=r"channel 1 at 16.0 Hz holds \(15,\) samples, expected \(16,\)"
    ):
        resampler.push(GPS + 1, [np.zeros(512), np.zeros(15)])
    with pytest.raises(ValueError, match="got 1 channels, expected 2"):
        resampler.push(GPS + 1, [np.zeros(512)])
    resampler.reset()
    block = resampler.push(GPS + 9, None)  # a new stream may start anywhere
    assert block.dropped and block.first_sample == (GPS + 9) * N - resampler.delay_samples
