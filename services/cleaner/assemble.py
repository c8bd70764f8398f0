"""Step 3 of the cleaner pipeline (:mod:`.pipeline`): one second out, assembled from the noise
known up to ``filter_lead`` past its end: band-passed per role and band, gated by analysis
readiness, subtracted from the raw strain; OUT_DQ through the pipeline's per-band
:class:`~deepclean.utils.signal.outdq_bands.BandGates`; the state bits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from deepclean.services.cleaner.output import state_bits
from deepclean.services.cleaner.seconds import CleanedSecond
from deepclean.services.cleaner.track import window_all
from deepclean.utils.frames.state import ready_mask, upsample_mask
from deepclean.utils.products import StateBit
from deepclean.utils.signal.filters import sum_bands
from deepclean.utils.signal.gate import ready_gate
from deepclean.utils.signal.postprocess import filter_noise_bands
from deepclean.utils.triton.names import Role

if TYPE_CHECKING:
    from deepclean.services.cleaner.pipeline import CleanerPipeline


def ready_gate_of(p: CleanerPipeline, o: int) -> np.ndarray:
    """The analysis-readiness gate over second ``o`` (tapered at ready edges, as offline)."""
    n = p.n
    mask = np.ones(9 * n, dtype=bool)  # seconds o-4 .. o+4; unknown seconds count as ready
    for i, sec in enumerate(range(o - 2, o + 3)):
        if sec in p.inputs:
            mask[(i + 2) * n : (i + 3) * n] = p.ready.read(sec * n, (sec + 1) * n)[0] > 0
    return ready_gate(mask, int(round(p.budget.ready_taper * p.fs)))[4 * n : 5 * n]


def _clean_roles(
    p: CleanerPipeline, o: int, raw: np.ndarray, rgate: np.ndarray
) -> tuple[dict, ...]:
    """``(cleaned, filtered, valid, versions, trained)`` per role for second ``o`` (``filtered``:
    the band-passed noise, one series per filter band; None where not valid): a role's noise
    is subtracted only where it is valid (Triton answered, the witnesses were the detector's)."""
    cleaned, filtered, valid, versions, trained = {}, {}, {}, {}, {}
    n = p.n
    geometry = p.served.geometry if p.served else None
    wit_context = False
    if geometry is not None:
        k, lag = geometry.kernel_size, geometry.lag_samples
        wit_context = p.wit_ok.all_ok(o * n - p.settle - k, (o + 1) * n + p.lead + lag)
    # the versions behind the newest update contributing to this second (the aggregators blend
    # old and new predictions over max_latency after a switch)
    current = dict(p.served.versions) if p.served else dict.fromkeys(Role, 0)
    behind = p.versions_at.get(o + p.delay, current)
    for role in Role:
        versions[role] = behind[role]
        info, _, fbands = p.info(role, versions[role])
        trained[role] = info.trained
        values, ok = p.noise[role].read(o * n - p.memory, (o + 1) * n + p.lead)
        valid[role] = wit_context and bool(ok[p.memory - p.settle :].all())
        filtered[role] = (
            filter_noise_bands(values, p.bandpass(fbands), p.memory, p.lead, p.extension)
            if valid[role]
            else None
        )
        cleaned[role] = raw - rgate * sum_bands(filtered[role]) if valid[role] else raw.copy()
    return cleaned, filtered, valid, versions, trained


def _witnesses_present(p: CleanerPipeline, o: int) -> np.ndarray:
    """Per sample of second ``o``: every window behind it held the detector's own witnesses."""
    n = p.n
    geometry = p.served.geometry if p.served else None
    if geometry is not None:
        k, lag = geometry.kernel_size, geometry.lag_samples
        return window_all(p.wit_ok.read(o * n - k, (o + 1) * n + lag)[1], k, lag)
    return np.zeros(n, dtype=bool)


def assemble(p: CleanerPipeline, o: int) -> CleanedSecond | None:
    """Second ``o`` cleaned by both roles with its OUT_DQ and state bits (None if dropped)."""
    second = p.inputs.get(o)
    if second is None or second.dropped:
        if second is not None:  # no data: an invalid second for the OUT_DQ gates
            p.gate.push(np.zeros(p.n), None, valid=False)
        return None
    n = p.n
    raw = p.raw.read(o * n, (o + 1) * n)[0]
    rgate = ready_gate_of(p, o)
    cleaned, filtered, valid, versions, trained = _clean_roles(p, o, raw, rgate)
    usable = valid[Role.PRODUCTION] and trained[Role.PRODUCTION]
    _, bands, fbands = p.info(Role.PRODUCTION, versions[Role.PRODUCTION])
    p.gate.set_bands(fbands, bands)  # the bands of the version that made this second's noise
    noise = filtered[Role.PRODUCTION]
    gates = p.gate.push(raw, noise, valid=usable, ready=rgate)
    out_dq = gates.out_dq(raw, noise) if usable else raw.copy()
    present = _witnesses_present(p, o)
    state = second.state
    state = np.zeros(16, dtype=np.int64) if state is None else state
    masks = {
        StateBit.OUT_DQ_CLEANED: gates.fully,
        StateBit.OUT_DQ_PARTIAL: gates.partly,
        StateBit.PRODUCTION_TRAINED: trained[Role.PRODUCTION],
        StateBit.WITNESSES_PRESENT: present,
        StateBit.TAPERED: second.tapered,
        StateBit.CANARY_DIFFERS: versions[Role.PRODUCTION] != versions[Role.CANARY],
        StateBit.PRODUCTION_VALID: valid[Role.PRODUCTION],
        StateBit.CANARY_VALID: valid[Role.CANARY],
        StateBit.INPUT_READY: upsample_mask(ready_mask(state), len(state), p.fs),
        StateBit.CANARY_TRAINED: trained[Role.CANARY],
    }
    return CleanedSecond(
        gps=o,
        raw=raw,
        production=cleaned[Role.PRODUCTION],
        canary=cleaned[Role.CANARY],
        out_dq=out_dq,
        input_state=state,
        bits=state_bits(masks, n),
        versions=versions,
        valid=valid,
        ratio=gates.ratio,
        cleaned_fraction=gates.cleaned_fraction,
        bands=gates.bands,
    )
