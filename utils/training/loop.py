"""The optimisation loop: Adam with weight decay, a learning-rate schedule (ReduceLROnPlateau
or cosine annealing, :mod:`.schedule`), early stopping, best weights.

One epoch visits every training window once in a shuffled order (``max_steps`` caps the
batches per epoch). After each epoch the validation loss (eval mode, no gradient) drives
the plateau schedule and early stopping; the weights with the lowest validation loss are
kept and restored at the end. A non-finite loss raises
:class:`~deepclean.utils.errors.TrainingError` at once. ``max_seconds`` is a wall-time
budget: no epoch is started that is expected to end after it.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from deepclean.utils.errors import TrainingError, TrainingInterrupted
from deepclean.utils.files import atomic_write
from deepclean.utils.training.dataset import PreparedData
from deepclean.utils.training.schedule import LrSchedule, Scheduler

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OptimConfig:
    """Optimiser and stopping settings (defaults: the anchor's production values)."""

    lr: float = 1e-3  #: initial learning rate
    weight_decay: float = 1e-5  #: Adam weight decay
    batch_size: int = 256  #: windows per batch
    max_epochs: int = 50
    max_steps: int | None = None  #: batches per epoch at most (None: all windows)
    patience: int = 5  #: epochs without improvement before the lr is reduced
    factor: float = 0.1  #: lr reduction factor on a plateau
    early_stop: int = 10  #: epochs without improvement before training stops
    min_delta: float = 1e-4  #: relative improvement of the validation loss that counts
    max_seconds: float | None = None  #: wall-time budget, seconds (None: unlimited)
    checkpoint_every: int = 1  #: epochs between checkpoints (0: never)
    seed: int = 0
    schedule: LrSchedule = LrSchedule.PLATEAU  #: how the lr changes (patience/factor: plateau)


@dataclass
class EpochRecord:
    epoch: int
    train_loss: float
    valid_loss: float | None
    lr: float
    seconds: float  #: wall time of the epoch, validation included


@dataclass
class History:
    records: list[EpochRecord] = field(default_factory=list)
    best_epoch: int = 0
    best_loss: float = math.inf  #: best validation loss (training loss without validation data)
    stop_reason: str = ""

    def to_dict(self) -> dict:
        return {
            "records": [asdict(r) for r in self.records],
            "best_epoch": self.best_epoch,
            "best_loss": self.best_loss,
            "stop_reason": self.stop_reason,
        }


ProgressCallback = Callable[[EpochRecord, History], None]


def evaluate(network: nn.Module, loss_fn: nn.Module, data: PreparedData, batch_size: int) -> float:
    """Mean loss over the validation windows (eval mode, no gradient)."""
    network.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for x, y in data.batches(data.valid_starts, batch_size):
            total += float(loss_fn(network(x), y)) * len(x)
            count += len(x)
    return total / count


def fit(
    network: nn.Module,
    loss_fn: nn.Module,
    data: PreparedData,
    config: OptimConfig,
    *,
    checkpoint_path: Path | None = None,
    progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> History:
    """Train ``network`` (standard units in and out) on ``data``; restore the best weights.

    ``should_stop`` is asked before every batch; when it says yes, training ends at once.

    Raises:
        TrainingError: a loss became NaN/Inf.
        TrainingInterrupted: ``should_stop`` said yes.
    """
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    optimizer, scheduler = _optimizer(network, config)
    history = History()
    best_state = copy.deepcopy(network.state_dict())
    started = time.monotonic()
    stale = 0
    for epoch in range(1, config.max_epochs + 1):
        elapsed = time.monotonic() - started
        if _out_of_time(history, config, elapsed):
            break
        scheduler.begin_epoch(epoch, elapsed, len(history.records))
        record, monitored = _epoch(
            network, loss_fn, data, optimizer, config, rng, epoch, should_stop
        )
        history.records.append(record)
        if monitored < history.best_loss * (1 - config.min_delta):
            history.best_loss, history.best_epoch, stale = monitored, epoch, 0
            best_state = copy.deepcopy(network.state_dict())
        else:
            stale += 1
        scheduler.end_epoch(monitored)
        if progress is not None:
            progress(record, history)
        if (
            checkpoint_path is not None
            and config.checkpoint_every
            and epoch % config.checkpoint_every == 0
        ):
            save_checkpoint(checkpoint_path, network, optimizer, scheduler, history)
        if stale >= config.early_stop:
            history.stop_reason = f"no improvement for {stale} epochs"
            break
    else:
        history.stop_reason = f"reached max_epochs={config.max_epochs}"
    network.load_state_dict(best_state)
    network.eval()
    return history


def _optimizer(network: nn.Module, config: OptimConfig) -> tuple[torch.optim.Adam, Scheduler]:
    """Adam over ``network``'s parameters and its learning-rate schedule."""
    optimizer = torch.optim.Adam(
        network.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    scheduler = Scheduler(optimizer, config)
    return optimizer, scheduler


def _out_of_time(history: History, config: OptimConfig, elapsed: float) -> bool:
    """Whether one more epoch (as long as the mean so far) would pass ``max_seconds`` after
    ``elapsed`` s of training; if so, the stop reason is recorded in ``history``."""
    if config.max_seconds is None or not history.records:
        return False
    per_epoch = elapsed / len(history.records)
    if elapsed + per_epoch > config.max_seconds:
        history.stop_reason = f"time budget of {config.max_seconds:g} s reached"
        return True
    return False


def _epoch(
    network, loss_fn, data, optimizer, config, rng, epoch, should_stop
) -> tuple[EpochRecord, float]:
    """One epoch of training then validation: its record and the loss monitored (validation
    loss, training loss without validation data). ``TrainingError`` when it is NaN/Inf."""
    t0 = time.monotonic()
    train_loss = _train_epoch(network, loss_fn, data, optimizer, config, rng, epoch, should_stop)
    has_valid = len(data.valid_starts) > 0
    valid_loss = evaluate(network, loss_fn, data, config.batch_size) if has_valid else None
    monitored = valid_loss if valid_loss is not None else train_loss
    if not math.isfinite(monitored):
        raise TrainingError(
            f"validation loss is {monitored} at epoch {epoch}; the model is not usable"
        )
    record = EpochRecord(
        epoch, train_loss, valid_loss, optimizer.param_groups[0]["lr"], time.monotonic() - t0
    )
    return record, monitored


def _train_epoch(network, loss_fn, data, optimizer, config, rng, epoch, should_stop=None) -> float:
    network.train()
    total, count = 0.0, 0
    for step, (x, y) in enumerate(data.batches(data.train_starts, config.batch_size, rng)):
        if should_stop is not None and should_stop():
            raise TrainingInterrupted(f"training stopped on request at epoch {epoch}, batch {step}")
        if config.max_steps is not None and step >= config.max_steps:
            break
        if len(x) < 2:  # BatchNorm cannot train on a single window
            continue
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(network(x), y)
        if not torch.isfinite(loss):
            raise TrainingError(
                f"training loss became {float(loss.detach())} at epoch {epoch}, batch {step}"
            )
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(x)
        count += len(x)
    if count == 0:
        raise TrainingError(
            "no training batch of at least 2 windows; give more data or a smaller kernel_stride"
        )
    return total / count


def save_checkpoint(path: Path, network, optimizer, scheduler, history: History) -> None:
    """Write the training state to ``path`` atomically (load with ``weights_only=True``)."""
    state = {
        "network": network.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "epoch": len(history.records),
        "best_loss": history.best_loss,
    }
    atomic_write(path, lambda tmp: torch.save(state, tmp))
