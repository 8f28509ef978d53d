"""The chip's differentiable model and the first-order reference on the chip's own parameters."""

import pytest
import torch

from photonzo.photonics.chip import Chip
from photonzo.photonics.hardware import HardwareModel
from photonzo.photonics.layers import OpticalLinear
from photonzo.photonics.network import OpticalNetwork
from photonzo.pinn.objective import PINNObjective
from photonzo.pinn.pde import build_pde
from photonzo.pinn.stein import FiniteDifference
from photonzo.training.backprop import train_pinn_chip_model
from photonzo.training.optim import adam, phase_mask, run_schedule


def small_network(d_in=2):
    layers = [OpticalLinear(n_in, n_out) for n_in, n_out in ((d_in, 8), (8, 8), (8, 1))]
    return OpticalNetwork(layers, ["sin", "sin"], name="test-small")


def test_the_model_reads_what_the_chip_reads_and_its_gradient_is_the_chip_outputs_slope():
    net = small_network()
    chip = Chip(net, "typical", seed=3, dtype=torch.complex128, loss="mse")
    phases = chip.initial_params(1)[None].double()
    x = torch.rand(5, 2, dtype=torch.float64)
    assert torch.allclose(chip.model_outputs(phases, x), chip.outputs(phases, x), atol=1e-12)
    # on a chip without DACs the autograd slope is the slope of the chip's own readings
    ideal = Chip(net, "ideal", seed=3, dtype=torch.complex128, loss="mse")
    p = phases.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(ideal.model_outputs(p, x).sum(), p)
    direction = torch.randn_like(phases)
    h = 1e-5
    slope = (
        ideal.outputs(phases + h * direction, x).sum() - ideal.outputs(phases - h * direction, x).sum()
    ) / (2 * h)
    assert float((grad * direction).sum()) == pytest.approx(float(slope), rel=1e-6, abs=1e-9)
    # the model is not a query of the chip
    assert ideal.queries == 2


def test_the_dacs_rounding_passes_the_gradient_straight_through():
    net = small_network()
    coarse = HardwareModel.preset("ideal").replace(phase_bits=4)
    x = torch.rand(5, 2, dtype=torch.float64)
    p = Chip(net, coarse, seed=0, dtype=torch.complex128, loss="mse").initial_params(0)[None].double()
    p.requires_grad_(True)
    (grad,) = torch.autograd.grad(Chip(net, coarse, dtype=torch.complex128).model_outputs(p, x).sum(), p)
    assert grad.abs().sum() > 0  # a rounded phase alone would give zero everywhere


def test_a_chip_with_per_query_noise_is_refused():
    chip = Chip(small_network(), "measured", dtype=torch.complex128)
    with pytest.raises(ValueError, match="per-query noise"):
        chip.model_outputs(chip.initial_params(0)[None].double(), torch.rand(3, 2, dtype=torch.float64))


def test_first_order_on_the_chip_model_lowers_the_pinn_loss_and_counts_only_its_evaluations():
    pde = build_pde("heat", 1)
    net = small_network(pde.input_dim)
    chip = Chip(net, "typical", seed=0, dtype=torch.complex128, loss="mse")
    objective = PINNObjective(pde, FiniteDifference(pde.input_dim, 0.1, spatial=pde.dim), test_points=200)
    oracle = chip.oracle()
    start = oracle.initial_params(0)
    opt = adam(
        0.02, run_schedule("cosine", 60), mask=phase_mask(oracle.param_slices("mesh"), oracle.n_params)
    )
    evaluate = lambda params: objective.evaluate(oracle, params)
    before = evaluate(start)["val_loss"]
    queries = chip.queries
    params, stats = train_pinn_chip_model(
        chip, objective, start, opt, steps=60, points=16, evaluate=evaluate, eval_every=30
    )
    assert chip.queries == queries + 2 * 2  # two evaluations of two reads each; training reads none
    assert stats["evaluations"][-1]["val_loss"] < 0.5 * before
    assert params.shape == start.shape and not params.requires_grad
    with pytest.raises(ValueError, match="positive integers"):
        train_pinn_chip_model(chip, objective, start, opt, steps=0, points=16)
