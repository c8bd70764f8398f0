"""GPS-second bookkeeping for the archive and the carousel (pure: integers in, integers out).

Archive spans are aligned: ``[k * cadence, (k + 1) * cadence)``. A span is *closed* once a
cleaned second at or after its end has been seen (the cleaner writes seconds in order), and
is then archived as one file per contiguous run of the seconds present: a gap stays a gap
(two shorter files), never joined. The carousel deletes the oldest cleaned seconds beyond
``max_files``, but never one whose span is not archived yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def span_start(gps: int, cadence: int) -> int:
    """Start of the aligned span of ``cadence`` seconds holding ``gps``."""
    return gps - gps % cadence


def runs(seconds: Iterable[int]) -> list[tuple[int, int]]:
    """Contiguous runs ``[(start, end), ...]`` (end exclusive) of the given seconds, in order."""
    out: list[tuple[int, int]] = []
    for gps in sorted(set(seconds)):
        if out and gps == out[-1][1]:
            out[-1] = (out[-1][0], gps + 1)
        else:
            out.append((gps, gps + 1))
    return out


def covered(files: Iterable[tuple[int, int]]) -> set[int]:
    """Seconds covered by archive files given as ``(gps, duration)``."""
    return {s for gps, duration in files for s in range(gps, gps + duration)}


def closed_spans(seconds: Iterable[int], latest: int, cadence: int) -> list[int]:
    """Starts of the spans holding any of ``seconds`` that are closed when ``latest`` was seen."""
    return sorted(
        {span_start(s, cadence) for s in seconds if span_start(s, cadence) + cadence <= latest}
    )


def to_archive(
    present: Iterable[int], archived: set[int], latest: int, cadence: int
) -> list[tuple[int, int]]:
    """Runs ``(start, end)`` to archive now: seconds present, not archived, in closed spans,
    split at span boundaries and gaps."""
    pending = [
        s for s in present if s not in archived and span_start(s, cadence) + cadence <= latest
    ]
    out = []
    for start, end in runs(pending):
        while start < end:
            stop = min(end, span_start(start, cadence) + cadence)
            out.append((start, stop))
            start = stop
    return out


def carousel_victims(
    present: Sequence[int], max_files: int, deletable: set[int] | None = None
) -> list[int]:
    """The oldest seconds to delete so at most ``max_files`` remain; only those in
    ``deletable`` (None: all) may go, so the result may leave more than ``max_files``."""
    excess = len(present) - max_files
    if excess <= 0:
        return []
    victims = []
    for gps in sorted(present):
        if len(victims) == excess:
            break
        if deletable is None or gps in deletable:
            victims.append(gps)
    return victims


def retention_victims(
    files: Sequence[tuple[int, int, int]],
    newest_gps: int,
    max_age: float | None,
    max_bytes: int | None,
) -> list[int]:
    """Archive files to delete, given as ``(gps, duration, size_bytes)``: those ending more
    than ``max_age`` seconds before ``newest_gps``, then the oldest until the rest hold at most
    ``max_bytes``. Returns their GPS starts, oldest first."""
    ordered = sorted(files)
    victims = []
    if max_age is not None:
        victims = [f for f in ordered if f[0] + f[1] < newest_gps - max_age]
    kept = [f for f in ordered if f not in victims]
    if max_bytes is not None:
        total = sum(f[2] for f in kept)
        while kept and total > max_bytes:
            oldest = kept.pop(0)
            victims.append(oldest)
            total -= oldest[2]
    return sorted(f[0] for f in victims)
