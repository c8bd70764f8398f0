"""Seeded fault decisions: dropped and partial frames, the state vector."""

import numpy as np
import pytest

from deepclean.services.simulate.faults import NOT_READY, READY, FaultPlan, uniform
from deepclean.services.simulate.settings import Stream
from deepclean.utils.frames.state import ready_mask

GPS = 1_400_000_000
SECONDS = range(GPS, GPS + 4000)


def test_uniform_is_deterministic_and_uniform() -> None:
    values = np.array([uniform(1, "x", g) for g in SECONDS])
    assert values.tolist() == [uniform(1, "x", g) for g in SECONDS]
    assert values.mean() == pytest.approx(0.5, abs=0.02)
    assert np.histogram(values, bins=4, range=(0, 1))[0].min() > 900


@pytest.mark.parametrize("rate", [0.0, 0.05, 0.3], ids=["none", "5%", "30%"])
def test_drop_rate_per_stream(rate: float) -> None:
    plan = FaultPlan(seed=2, drop_rate=rate)
    for stream in Stream:
        fraction = np.mean([plan.dropped(stream, g) for g in SECONDS])
        assert fraction == pytest.approx(rate, abs=0.02)
    strain = {g for g in SECONDS if plan.dropped(Stream.STRAIN, g)}
    witness = {g for g in SECONDS if plan.dropped(Stream.WITNESS, g)}
    if rate:
        assert strain != witness  # the two streams drop independently


def test_explicit_drops_and_stream_selection() -> None:
    plan = FaultPlan(drop_gps=frozenset({GPS + 3}), drop_streams=frozenset({Stream.WITNESS}))
    assert plan.dropped(Stream.WITNESS, GPS + 3)
    assert not plan.dropped(Stream.STRAIN, GPS + 3)
    assert not plan.dropped(Stream.WITNESS, GPS + 4)
    assert plan.dropped_seconds(Stream.WITNESS, range(GPS, GPS + 10)) == [GPS + 3]


def test_partial_frames_are_never_dropped_ones() -> None:
    plan = FaultPlan(seed=1, drop_rate=0.5, partial_rate=0.5)
    partial = [g for g in SECONDS if plan.partial(Stream.STRAIN, g)]
    assert len(partial) > 500
    assert not any(plan.dropped(Stream.STRAIN, g) for g in partial)


def test_state_vector_ready_by_default() -> None:
    state = FaultPlan().state_vector(GPS)
    assert state.dtype == np.int32 and state.shape == (16,)
    assert np.all(state == READY) and ready_mask(state).all()


def test_random_not_ready_blocks() -> None:
    plan = FaultPlan(seed=3, not_ready_rate=0.25, not_ready_length=4)
    ready = np.array([ready_mask(plan.state_vector(g)).all() for g in SECONDS])
    assert np.mean(~ready) == pytest.approx(0.25, abs=0.05)
    blocks = ready.reshape(-1, 4)  # GPS is a multiple of 4: blocks align with rows
    assert np.all(blocks.all(axis=1) | (~blocks).all(axis=1))


def test_explicit_not_ready_span_has_sample_resolution() -> None:
    plan = FaultPlan(not_ready_spans=((GPS + 0.5, GPS + 1.25),))
    first, second = plan.state_vector(GPS), plan.state_vector(GPS + 1)
    assert first.tolist() == [READY] * 8 + [NOT_READY] * 8
    assert second.tolist() == [NOT_READY] * 4 + [READY] * 12
    assert not ready_mask(first)[8:].any() and ready_mask(second)[4:].all()
