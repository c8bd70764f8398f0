"""Load the span a command works on: channels parsed, frames read, the background truth found.

A thin layer over :func:`deepclean.utils.frames.span.read_span` shared by ``deepclean train``,
the trainer service and ``deepclean clean-offline``. The simulator writes the true
background strain as ``<IFO>:SIM-BACKGROUND`` in the strain frames; it is read when present
(checked in the first strain frame of the span) so that reports and plots can show it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from deepclean.utils.channels import ChannelList, parse_channels
from deepclean.utils.errors import FrameError
from deepclean.utils.frames.gwf import list_channels
from deepclean.utils.frames.naming import FrameKind, frame_path
from deepclean.utils.frames.span import Span, read_span
from deepclean.utils.ifo import IFO

logger = logging.getLogger(__name__)

BACKGROUND_SUFFIX = "SIM-BACKGROUND"  #: ground-truth channel written by ``deepclean simulate``


def default_background_channel(ifo: IFO | str) -> str:
    return f"{IFO(ifo)}:{BACKGROUND_SUFFIX}"


def find_background(
    data_dir: Path, ifo: IFO | str, start: int, duration: int, name: str | None = None
) -> str | None:
    """``name`` (default ``<IFO>:SIM-BACKGROUND``) if the first readable strain frame of
    ``[start, start + duration)`` holds it, else None."""
    name = name or default_background_channel(ifo)
    for gps in range(int(start), int(start) + int(duration)):
        path = frame_path(Path(data_dir), FrameKind.STRAIN, ifo, gps)
        if not path.is_file():
            continue
        try:
            return name if name in list_channels(path) else None
        except FrameError:
            continue
    return None


def load_span(
    data_dir: Path,
    ifo: IFO | str,
    channels: ChannelList | Sequence[str],
    start: int,
    duration: int,
    *,
    sample_rate: float,
    background_channel: str | None = None,
) -> tuple[Span, str | None]:
    """Read ``[start, start + duration)``; return the span and the name of the background
    channel in ``span.extras`` (None when the frames hold no truth).

    ``channels``: a :class:`ChannelList`, or names / a one-element list holding a channel
    file, strain first (:func:`deepclean.utils.channels.parse_channels`).
    """
    if not isinstance(channels, ChannelList):
        channels = parse_channels(list(channels), ifo)
    background = find_background(data_dir, ifo, start, duration, background_channel)
    extras = [background] if background else []
    span = read_span(
        data_dir,
        ifo,
        channels,
        int(start),
        int(duration),
        sample_rate,
        extra_strain_channels=extras,
    )
    ready = float(span.ready.mean()) if span.ready.size else 0.0
    logger.info(
        "read GPS %d+%d s: %d channel(s) at %g Hz, %.1f%% analysis-ready, %d missing second(s)%s",
        start,
        duration,
        len(span.channels),
        sample_rate,
        100 * ready,
        len(span.missing),
        f", truth {background}" if background else "",
    )
    return span, background
