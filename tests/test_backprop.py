"""The first-order reference: trains digitally, deploys onto phases that compute the same thing."""

import numpy as np
import pytest
import torch

from photonzo.data.datasets import load_dataset
from photonzo.photonics.chip import Chip
from photonzo.photonics.network import build_network
from photonzo.training.backprop import deploy, digital_accuracy, init_weights, train_backprop


@pytest.mark.parametrize("model", ["digits-tt", "digits-dense"])
def test_backprop_learns_and_the_ideal_chip_reproduces_it(model):
    ds = load_dataset("digits")
    network = build_network(model)
    weights, stats = train_backprop(network, ds.x_train, ds.y_train, epochs=3, lr=3e-3)
    acc = digital_accuracy(network, weights, ds.x_test, ds.y_test)
    assert acc > 0.85
    nominal = network.nominal_gains()
    program = deploy(network, weights)
    assert network.nominal_gains() == nominal  # no side effect on the network
    chip = Chip(network, "ideal", dtype=torch.complex128, gains=program.gains)
    x = torch.as_tensor(ds.x_test, dtype=torch.float64)
    optical = chip.outputs(torch.as_tensor(program.params)[None], x)[0]
    with torch.no_grad():
        digital = network.digital_forward(weights, x)
    assert torch.allclose(optical, digital, atol=1e-9)  # the phases realise the trained weights
    assert chip.queries == 1


def test_tt_init_has_he_scale():
    network = build_network("mnist-tt")
    w = init_weights(network, seed=0)[0].cores
    from photonzo.photonics.layers import tt_dense

    dense = tt_dense([c[None] for c in w])[0]
    assert dense.shape == (1024, 784)
    assert dense.var().item() == pytest.approx(2 / 784, rel=0.15)


def test_bad_arguments():
    with pytest.raises(ValueError, match="epochs and batch_size must be positive"):
        train_backprop(build_network("digits-tt"), np.zeros((2, 64)), np.zeros(2), epochs=0)
