"""Streaming resampler: the issue's 60 Hz criterion, continuity with whole-span resampling,
drops."""

import numpy as np
import pytest

from deepclean.utils.frames.resample import resample
from deepclean.utils.frames.stream import StreamingResampler
from deepclean.utils.frames.taper import fill_gaps

RATES = [16384, 4096, 2048, 1024, 512, 256, 16]
SECONDS = 10
GPS = 1_250_000_000


def _channels(rng: np.random.Generator) -> list[np.ndarray]:
    out = []
    for rate in RATES:
        t = np.arange(SECONDS * rate) / rate
        line = 60.0 if rate >= 256 else 3.0
        out.append(np.sin(2 * np.pi * line * t + 0.2) + 0.1 * rng.standard_normal(t.size))
    return out


def _stream(channels, drops=(), **kwargs) -> dict[int, object]:
    resampler = StreamingResampler(RATES, **kwargs)
    produced = {}
    for s in range(SECONDS):
        frame = None if s in drops else [c[s * r : (s + 1) * r] for c, r in zip(channels, RATES)]
        out = resampler.push(GPS + s, frame, ready=s != 7)
        if out is not None:
            produced[out.gps - GPS] = out
    return produced


def test_60hz_sine_streamed_through_3s_buffer_keeps_amplitude() -> None:
    rate = 16384
    t = np.arange(SECONDS * rate) / rate
    sine = np.sin(2 * np.pi * 60.0 * t + 0.7)
    resampler = StreamingResampler([rate])
    t_out = np.arange(4096) / 4096
    worst = 0.0
    for s in range(SECONDS):
        out = resampler.push(GPS + s, [sine[s * rate : (s + 1) * rate]])
        if out is not None:
            k = out.gps - GPS
            analytic = np.sin(2 * np.pi * 60.0 * (k + t_out) + 0.7)
            worst = max(worst, float(np.max(np.abs(out.data[0] - analytic))))
    assert worst < 1e-3


def test_streamed_output_equals_whole_span_resampling() -> None:
    channels = _channels(np.random.default_rng(0))
    produced = _stream(channels)
    assert sorted(produced) == list(
        range(1, SECONDS - 1)
    )  # 1 s of latency, first second is padding only
    for c, rate in enumerate(RATES):
        whole = resample(channels[c], rate, 4096)
        for k, out in produced.items():
            np.testing.assert_allclose(
                out.data[c], whole[k * 4096 : (k + 1) * 4096], rtol=0, atol=1e-12
            )
    assert all(not out.dropped and not out.tapered for out in produced.values())
    assert [produced[k].ready for k in sorted(produced)] == [k != 7 for k in sorted(produced)]


def test_dropped_second_is_zeros_with_tapers_like_offline() -> None:
    channels = _channels(np.random.default_rng(1))
    produced = _stream(channels, drops={5})
    assert produced[5].dropped and not produced[5].ready
    np.testing.assert_allclose(
        produced[5].data, 0.0, atol=1e-3
    )  # only the filter's reach of the neighbours
    assert [k for k, out in produced.items() if out.tapered] == [4, 5, 6]
    for c, rate in enumerate(RATES):
        pieces = [
            None if s == 5 else channels[c][s * rate : (s + 1) * rate] for s in range(SECONDS)
        ]
        joined, _ = fill_gaps(pieces, rate, rate)
        whole = resample(joined, rate, 4096)
        for k, out in produced.items():
            # second 3 was produced before the drop at 5 was known: see the module docstring
            tolerance = 1e-12 if k != 3 else 1e-6 if rate >= 1024 else 2e-3
            np.testing.assert_allclose(
                out.data[c], whole[k * 4096 : (k + 1) * 4096], rtol=0, atol=tolerance
            )


@pytest.mark.parametrize("buffer_seconds", [3, 4, 5], ids=["3s", "4s", "5s"])
def test_latency_follows_buffer_length(buffer_seconds: int) -> None:
    resampler = StreamingResampler([512], buffer_seconds=buffer_seconds)
    assert resampler.latency_seconds == buffer_seconds // 2
    outputs = [resampler.push(GPS + s, [np.zeros(512)]) for s in range(6)]
    first = next(i for i, o in enumerate(outputs) if o is not None)
    assert first == buffer_seconds - 1
    assert outputs[first].gps == GPS + first - resampler.latency_seconds


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"sample_rates": [16], "buffer_seconds": 2},
            "buffer_seconds 2 must be a whole number >= 3",
        ),
        ({"sample_rates": [8]}, r"a channel at 8.0 Hz needs 1.25 s of data each side .* gives 1 s"),
        ({"sample_rates": []}, "sample_rates is empty"),
        ({"sample_rates": [100.5]}, "100.5 Hz is not a positive whole number"),
        ({"sample_rates": [512], "taper_seconds": 2.0}, r"taper length 2.0 s must be in \(0, 1\]"),
    ],
    ids=["short-buffer", "too-slow", "empty", "fractional", "long-taper"],
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
        ValueError, match=r"channel 1 holds \(15,\) samples, expected \(16,\) at 16.0 Hz"
    ):
        resampler.push(GPS + 1, [np.zeros(512), np.zeros(15)])
    with pytest.raises(ValueError, match="got 1 channels, expected 2"):
        resampler.push(GPS + 1, [np.zeros(512)])
    resampler.reset()
    assert resampler.push(GPS + 9, None) is None  # a new stream may start anywhere
