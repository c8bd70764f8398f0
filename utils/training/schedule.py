"""Learning-rate schedules of the training loop (:func:`~deepclean.utils.training.loop.fit`).

- ``plateau`` (the anchor's): the lr is multiplied by ``factor`` once ``patience`` epochs
  passed without the monitored loss improving (torch's ``ReduceLROnPlateau``);
- ``cosine``: each epoch runs at ``lr * (1 + cos(pi p)) / 2``, where ``p`` is the fraction
  of the training done at the middle of the epoch: the larger of the epochs' share,
  ``(epoch - 1/2) / max_epochs``, and the time budget's, ``(elapsed + epoch/2) / max_seconds``
  (an epoch as long as the mean so far). The lr thus reaches ~0 in the last epoch whether
  the epochs or the time run out first: a loaded machine shortens the schedule instead of
  stopping training at a high lr, whose noisy weights clean worse (docs/quality.md).
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:  # the loop imports this module
    from deepclean.utils.training.loop import OptimConfig


class LrSchedule(StrEnum):
    """How the learning rate changes during training."""

    PLATEAU = "plateau"
    COSINE = "cosine"


def training_progress(
    epoch: int, max_epochs: int, elapsed_s: float, mean_epoch_s: float, max_seconds: float | None
) -> float:
    """Fraction (0 to 1) of the training done at the middle of epoch ``epoch`` (1-based),
    after ``elapsed_s`` seconds of epochs lasting ``mean_epoch_s`` on average."""
    done = (epoch - 0.5) / max_epochs
    if max_seconds is not None:
        done = max(done, (elapsed_s + 0.5 * mean_epoch_s) / max_seconds)
    return min(1.0, max(0.0, done))


def cosine_factor(progress: float) -> float:
    """``(1 + cos(pi progress)) / 2``: 1 at the start, 0 at the end."""
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, max(0.0, progress))))


class Scheduler:
    """The schedule of ``optimizer``'s lr that ``config`` asks for (its ``schedule``, initial
    ``lr``, ``max_epochs``, ``max_seconds``; ``patience`` and ``factor`` for plateau): call
    :meth:`begin_epoch` before and :meth:`end_epoch` after each epoch."""

    def __init__(self, optimizer: torch.optim.Optimizer, config: OptimConfig) -> None:
        self.optimizer, self.schedule, self.lr = optimizer, LrSchedule(config.schedule), config.lr
        self.max_epochs, self.max_seconds = config.max_epochs, config.max_seconds
        self.plateau = (
            torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, factor=config.factor, patience=config.patience
            )
            if self.schedule is LrSchedule.PLATEAU
            else None
        )

    def begin_epoch(self, epoch: int, elapsed_s: float, epochs_done: int) -> None:
        """Set the lr of epoch ``epoch`` (1-based) after ``elapsed_s`` s of ``epochs_done``."""
        if self.schedule is LrSchedule.COSINE:
            mean = elapsed_s / epochs_done if epochs_done else 0.0
            p = training_progress(epoch, self.max_epochs, elapsed_s, mean, self.max_seconds)
            for group in self.optimizer.param_groups:
                group["lr"] = self.lr * cosine_factor(p)

    def end_epoch(self, monitored: float) -> None:
        """Tell the schedule the epoch's monitored loss."""
        if self.plateau is not None:
            self.plateau.step(monitored)

    def state_dict(self) -> dict:
        """What a checkpoint keeps of the schedule."""
        state = {"schedule": self.schedule.value, "lr": self.lr}
        if self.plateau is not None:
            state["plateau"] = self.plateau.state_dict()
        return state
