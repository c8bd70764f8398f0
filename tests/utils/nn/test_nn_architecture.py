import pytest
import torch
from torch import nn

from deepclean.utils.nn import DeepCleanAE, DeepCleanModel, TimeLengthError
from deepclean.utils.nn.model import count_parameters


@pytest.mark.parametrize(
    "num_witnesses, time", [(21, 64), (18, 256), (1, 16), (3, 4096)], ids=["H1", "L1", "one", "1s"]
)
def test_shapes(num_witnesses, time):
    net = DeepCleanAE(num_witnesses).eval()
    with torch.no_grad():
        out = net(torch.randn(2, num_witnesses, time))
    assert out.shape == (2, time)


def test_parameter_count_h1():
    # the published network: ~44k parameters for 21 witnesses
    assert count_parameters(DeepCleanAE(21)) == 43873


def test_layers_match_publication():
    net = DeepCleanAE(21)
    convs = [m for m in net.modules() if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d))]
    shapes = [
        (
            type(m).__name__,
            m.in_channels,
            m.out_channels,
            m.kernel_size[0],
            m.stride[0],
            m.padding[0],
        )
        for m in convs
    ]
    assert shapes == [
        ("Conv1d", 21, 21, 7, 1, 3),
        ("Conv1d", 21, 8, 7, 2, 3),
        ("Conv1d", 8, 16, 7, 2, 3),
        ("Conv1d", 16, 32, 7, 2, 3),
        ("Conv1d", 32, 64, 7, 2, 3),
        ("ConvTranspose1d", 64, 32, 7, 2, 3),
        ("ConvTranspose1d", 32, 16, 7, 2, 3),
        ("ConvTranspose1d", 16, 8, 7, 2, 3),
        ("ConvTranspose1d", 8, 21, 7, 2, 3),
        ("Conv1d", 21, 1, 7, 1, 3),
    ]
    assert all(m.output_padding[0] == 1 for m in convs if isinstance(m, nn.ConvTranspose1d))
    # BatchNorm + ELU after every layer but the output one
    assert sum(isinstance(m, nn.BatchNorm1d) for m in net.modules()) == 9
    assert sum(isinstance(m, nn.ELU) for m in net.modules()) == 9


@pytest.mark.parametrize("time", [100, 8, 0], ids=["not-multiple", "too-short", "empty"])
def test_time_not_multiple_of_16(time):
    with pytest.raises(TimeLengthError, match=rf"{time} samples .* multiple of 16"):
        DeepCleanAE(2)(torch.randn(1, 2, time))


def test_wrong_channel_count():
    with pytest.raises(ValueError, match=r"shape \(1, 3, 32\); expected \(batch, 2, time\)"):
        DeepCleanAE(2)(torch.randn(1, 3, 32))


def test_model_outputs_strain_units():
    torch.manual_seed(0)
    model = DeepCleanModel(2)
    model.witness_scaler.fit(torch.randn(2, 1000).numpy() * 5 + 3)
    model.target_scaler.fit((torch.randn(1000) * 1e-21).double().numpy())
    model.eval()
    x = torch.randn(4, 2, 64) * 5 + 3
    with torch.no_grad():
        noise = model(x)
        standard = model.network(model.witness_scaler(x))
    assert noise.shape == (4, 64)
    assert torch.allclose(
        noise, standard * model.target_scaler.std.float() + model.target_scaler.mean.float()
    )
    assert 1e-23 < noise.abs().mean() < 1e-19
    # scaler statistics travel with the weights
    keys = set(model.state_dict())
    assert {
        "witness_scaler.mean",
        "witness_scaler.std",
        "target_scaler.mean",
        "target_scaler.std",
    } <= keys
