import math

import pytest
import torch

from deepclean.utils.errors import TrainingError
from deepclean.utils.nn import DeepCleanModel
from deepclean.utils.signal.loss import DeepCleanLoss
from deepclean.utils.training.loop import OptimConfig, evaluate, fit

from .conftest import BAND
from .synthetic_span import FS


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: a second thread only adds synchronisation
    yield
    torch.set_num_threads(threads)


def _loss():
    return DeepCleanLoss(FS, BAND, fftlength=1.0, overlap=0.5)


def test_training_reduces_loss_and_keeps_best(prepared, tmp_path):
    model, data = prepared
    torch.manual_seed(0)
    net = DeepCleanModel(3).network
    before = evaluate(net, _loss(), data, 16)
    history = fit(
        net,
        _loss(),
        data,
        OptimConfig(lr=1e-2, batch_size=8, max_epochs=3, early_stop=10),
        checkpoint_path=tmp_path / "ckpt.pt",
    )
    assert len(history.records) == 3 and history.stop_reason == "reached max_epochs=3"
    assert history.best_loss < 0.8 * before
    # the network holds the best epoch's weights at the end
    assert evaluate(net, _loss(), data, 16) == pytest.approx(history.best_loss, rel=1e-5)
    state = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    assert state["epoch"] == 3 and set(state) >= {"network", "optimizer", "scheduler"}


def test_early_stopping_and_plateau(prepared):
    _, data = prepared
    net = DeepCleanModel(3).network
    # lr ~0: nothing improves after the first epoch
    history = fit(
        net,
        _loss(),
        data,
        OptimConfig(lr=1e-7, batch_size=16, max_epochs=20, patience=1, early_stop=3, max_steps=2),
    )
    assert history.stop_reason == "no improvement for 3 epochs"
    assert len(history.records) == 4
    assert history.records[-1].lr < history.records[0].lr  # ReduceLROnPlateau acted


def test_time_budget(prepared):
    _, data = prepared
    history = fit(
        DeepCleanModel(3).network,
        _loss(),
        data,
        OptimConfig(batch_size=16, max_epochs=50, max_steps=1, max_seconds=1e-6),
    )
    assert len(history.records) == 1 and "time budget" in history.stop_reason


class _NaNNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(()))

    def forward(self, x):
        return x[:, 0] * self.w * math.nan


def test_nan_loss_raises(prepared):
    _, data = prepared
    with pytest.raises(TrainingError, match=r"training loss became nan at epoch 1, batch 0"):
        fit(_NaNNet(), _loss(), data, OptimConfig(batch_size=4, max_epochs=2))
