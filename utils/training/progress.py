"""Progress of a training run: a live status line on a terminal, plain log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

from deepclean.utils.training.loop import EpochRecord, History

logger = logging.getLogger(__name__)


def _fmt_seconds(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


class ProgressReporter:
    """Callback for :func:`~deepclean.utils.training.loop.fit`.

    Args:
        max_epochs: for the ETA.
        max_seconds: wall-time budget, seconds, also bounding the ETA (None: none).
        stream: where the interactive line goes (default stderr).
        interactive: rewrite one status line (default: when ``stream`` is a terminal);
            otherwise one log line per epoch.
    """

    def __init__(
        self,
        max_epochs: int,
        max_seconds: float | None = None,
        stream: TextIO | None = None,
        interactive: bool | None = None,
    ) -> None:
        self.max_epochs = max_epochs
        self.max_seconds = max_seconds
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty() if interactive is None else interactive
        self.started = time.monotonic()

    def line(self, record: EpochRecord, history: History) -> str:
        elapsed = time.monotonic() - self.started
        eta = elapsed / record.epoch * (self.max_epochs - record.epoch)
        if self.max_seconds is not None:
            eta = min(eta, max(self.max_seconds - elapsed, 0.0))
        valid = "n/a" if record.valid_loss is None else f"{record.valid_loss:.4f}"
        return (
            f"epoch {record.epoch}/{self.max_epochs} loss {record.train_loss:.4f} valid {valid} "
            f"best {history.best_loss:.4f}@{history.best_epoch} lr {record.lr:.2e} "
            f"epoch time {record.seconds:.1f} s elapsed {_fmt_seconds(elapsed)} ETA "
            f"{_fmt_seconds(eta)}"
        )

    def __call__(self, record: EpochRecord, history: History) -> None:
        text = self.line(record, history)
        if self.interactive:
            self.stream.write("\r\x1b[2K" + text)
            self.stream.flush()
        else:
            logger.info("%s", text)

    def close(self) -> None:
        """End the interactive line."""
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()
