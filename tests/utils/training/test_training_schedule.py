"""The learning-rate schedules: cosine annealing over epochs or the time budget, plateau."""

import math

import pytest
import torch

from deepclean.utils.nn import DeepCleanModel
from deepclean.utils.signal.loss import DeepCleanLoss
from deepclean.utils.training.loop import OptimConfig, fit
from deepclean.utils.training.schedule import (
    LrSchedule,
    Scheduler,
    cosine_factor,
    training_progress,
)

from .conftest import BAND
from .synthetic_span import FS


def test_cosine_factor_runs_from_one_to_zero():
    for p in (0.0, 0.1, 0.25, 0.5, 0.9, 1.0):
        assert cosine_factor(p) == pytest.approx((1 + math.cos(math.pi * p)) / 2, abs=1e-15)
    assert cosine_factor(-1.0) == 1.0 and cosine_factor(2.0) == pytest.approx(0.0, abs=1e-15)


def test_progress_is_the_further_of_epochs_and_time():
    # epoch 3 of 10 is 25 % of the epochs; 20 s + half of a 10 s epoch of 100 s is 25 %
    assert training_progress(3, 10, 0.0, 0.0, None) == pytest.approx(0.25)
    assert training_progress(3, 10, 20.0, 10.0, 100.0) == pytest.approx(0.25)
    assert training_progress(3, 10, 60.0, 10.0, 100.0) == pytest.approx(0.65)  # time runs out
    assert training_progress(3, 10, 0.0, 0.0, 1e6) == pytest.approx(0.25)  # epochs do
    assert training_progress(3, 10, 500.0, 10.0, 100.0) == 1.0


def test_cosine_sets_each_epochs_lr():
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([param], lr=1.0)
    config = OptimConfig(lr=0.5, max_epochs=4, schedule=LrSchedule.COSINE)
    scheduler = Scheduler(optimizer, config)
    lrs = []
    for epoch in range(1, 5):
        scheduler.begin_epoch(epoch, 10.0 * (epoch - 1), epoch - 1)
        lrs.append(optimizer.param_groups[0]["lr"])
        scheduler.end_epoch(1.0)  # a loss that never improves changes nothing
    want = [0.5 * (1 + math.cos(math.pi * (e - 0.5) / 4)) / 2 for e in range(1, 5)]
    assert lrs == pytest.approx(want, rel=1e-12)
    assert scheduler.state_dict() == {"schedule": "cosine", "lr": 0.5}


def test_fit_anneals_the_lr_and_keeps_the_best(prepared):
    _, data = prepared
    torch.manual_seed(0)
    history = fit(
        DeepCleanModel(3).network,
        DeepCleanLoss(FS, BAND, fftlength=1.0, overlap=0.5),
        data,
        OptimConfig(lr=1e-2, batch_size=8, max_epochs=4, max_steps=2, schedule=LrSchedule.COSINE),
    )
    lrs = [r.lr for r in history.records]
    assert lrs == pytest.approx([1e-2 * cosine_factor((e - 0.5) / 4) for e in range(1, 5)])
    assert lrs[-1] < 0.05 * lrs[0]
    assert history.stop_reason == "reached max_epochs=4"
    assert history.best_loss == min(r.valid_loss for r in history.records)
