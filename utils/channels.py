"""Channel lists: the strain channel first, then the witnesses.

A channel list is given either as names or as a text file with one name per line (``#``
starts a comment; blank lines are ignored). Every name must look like ``<IFO>:<NAME>``
(``H1:PEM-CS_MAINSMON_EBAY_1_DQ``) and belong to the configured IFO. The production
DeepClean configuration kept the strain channel first and sorted the witnesses
alphabetically; :class:`ChannelList` does the same so that a model's input order does not
depend on how the list was written. (The production witness names themselves live with the
simulator: ``deepclean.utils.simulation.channels.default_witnesses``.) Pure parsing: the
only I/O is reading the given file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from deepclean.utils.errors import ConfigError
from deepclean.utils.ifo import IFO

#: ``<IFO>:<NAME>``: IFO like H1, then letters, digits, ``_``, ``-`` (and ``.`` for rare names)
CHANNEL_NAME = re.compile(r"^(?P<ifo>[A-Z][0-9]):(?P<name>[A-Za-z0-9][A-Za-z0-9_\-.]*)$")


@dataclass(frozen=True)
class ChannelList:
    """A validated channel list: ``strain`` (the target) and sorted ``witnesses``."""

    strain: str
    witnesses: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """All channels in model order: the strain channel first, then the witnesses."""
        return (self.strain, *self.witnesses)

    def __len__(self) -> int:
        return 1 + len(self.witnesses)


def check_channel_name(name: str, ifo: IFO | str) -> str:
    """Return ``name`` stripped if it is ``<IFO>:<NAME>`` for ``ifo``; raise ConfigError
    otherwise."""
    ifo = IFO(ifo)
    clean = name.strip()
    match = CHANNEL_NAME.match(clean)
    if match is None:
        raise ConfigError(
            f"channel name {name!r} is not <IFO>:<NAME> (e.g. {ifo}:GDS-CALIB_STRAIN; "
            "letters, digits, '_', '-' after the colon)"
        )
    if match["ifo"] != ifo:
        raise ConfigError(
            f"channel {clean} belongs to {match['ifo']}, but the configured IFO is {ifo}"
        )
    return clean


def read_channel_file(path: str | Path) -> list[str]:
    """The names listed in the text file ``path``: one per line, ``#`` comments and blanks
    skipped."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(
            f"channel list file {path} cannot be read: {exc.strerror or exc}"
        ) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"channel list file {path} is not UTF-8 text (byte {exc.start}); give a text "
            "file with one channel name per line"
        ) from None
    names = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line)
    return names


def _looks_like_file(entry: str | Path) -> bool:
    if isinstance(entry, Path):
        return True
    return ":" not in entry and ("/" in entry or entry.endswith(".txt") or Path(entry).is_file())


def parse_channels(channels: str | Path | Sequence[str | Path], ifo: IFO | str) -> ChannelList:
    """Validate a channel list given as names (strain first) or as a channel-list file.

    ``channels`` may be a path (``Path``, or a string without ``:`` naming a file), a
    sequence holding one such path, or a sequence of names. Raises ConfigError naming the
    bad entry: a malformed name, a name of another IFO, a duplicate, an unreadable file,
    or fewer than two channels (DeepClean needs a strain channel and at least one witness).
    """
    ifo = IFO(ifo)
    entries: list[str | Path] = [channels] if isinstance(channels, (str, Path)) else list(channels)
    if len(entries) == 1 and _looks_like_file(entries[0]):
        source = f"channel list file {entries[0]}"
        raw = read_channel_file(entries[0])
    else:
        source = "channel list"
        raw = [str(e) for e in entries]
    names = [check_channel_name(n, ifo) for n in raw]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ConfigError(f"{source}: channel {name} is listed twice")
        seen.add(name)
    if len(names) < 2:
        raise ConfigError(
            f"{source} holds {len(names)} channel(s): give the strain channel first, then "
            "at least one witness"
        )
    return ChannelList(strain=names[0], witnesses=tuple(sorted(names[1:])))


def split_channels(names: Sequence[str]) -> tuple[str, list[str]]:
    """``(strain channel, witnesses sorted)`` from names given strain first (no validation)."""
    if not names:
        raise ConfigError(
            "channel list is empty: give the strain channel first, then the witnesses"
        )
    return names[0], sorted(names[1:])
