"""Optimisers, schedules and the phases' physical range."""

import math

import pytest
import torch

from photonzo.photonics.layers import ParamSlice
from photonzo.training.optim import SGD, Adam, Schedule, build_optimizer, phase_mask, wrap_phases


def test_adam_first_step_is_lr_times_sign_and_matches_torch():
    g = torch.tensor([0.3, -2.0, 1e-3], dtype=torch.float64)
    ours = Adam(0.1)
    x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    ref = x.clone().requires_grad_(True)
    opt = torch.optim.Adam([ref], lr=0.1)
    for step in range(5):
        grad = g * (step + 1)
        x = ours.step(x, grad, step)
        ref.grad = grad.clone()
        opt.step()
    assert torch.allclose(x, torch.remainder(ref.detach(), 2 * math.pi), atol=1e-12)  # phases wrap


def test_sgd_momentum_matches_torch():
    x = torch.tensor([0.5, 1.5], dtype=torch.float64)
    ref = x.clone().requires_grad_(True)
    opt, ours = torch.optim.SGD([ref], lr=0.05, momentum=0.9), SGD(0.05, momentum=0.9)
    for step in range(4):
        grad = torch.tensor([1.0, -0.5], dtype=torch.float64) * (step + 1)
        x = ours.step(x, grad, step)
        ref.grad = grad.clone()
        opt.step()
    assert torch.allclose(x, torch.remainder(ref.detach(), 2 * math.pi), atol=1e-12)  # phases wrap


def test_phases_wrap_into_their_range_but_electronic_parameters_do_not():
    slices = [ParamSlice("mesh", 0, 3, "mesh"), ParamSlice("bias", 3, 5, "bias")]
    mask = phase_mask(slices, 5)
    assert mask.tolist() == [True, True, True, False, False]
    out = wrap_phases(torch.tensor([-0.1, 7.0, 3.0, -9.0, 9.0], dtype=torch.float64), mask)
    assert torch.allclose(
        out, torch.tensor([2 * math.pi - 0.1, 7.0 - 2 * math.pi, 3.0, -9.0, 9.0], dtype=torch.float64)
    )
    opt = SGD(1.0, momentum=0.0, mask=mask)
    stepped = opt.step(torch.zeros(5, dtype=torch.float64), torch.full((5,), 1.0, dtype=torch.float64), 0)
    assert ((stepped[:3] >= 0) & (stepped[:3] < 2 * math.pi)).all() and (stepped[3:] == -1).all()


def test_schedules():
    cos = Schedule("cosine", total=100, min_factor=0.1)
    assert cos(0) == 1.0 and cos(100) == pytest.approx(0.1) and cos(50) == pytest.approx(0.55)
    assert Schedule("step", every=10, gamma=0.5)(25) == 0.25
    assert Schedule("constant", warmup=4)(1) == 0.5


@pytest.mark.parametrize("bad", [0, -1e-3, float("nan"), float("inf")])
def test_bad_learning_rates_are_refused(bad):
    with pytest.raises(ValueError, match="learning rate must be a positive finite number"):
        Adam(bad)


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        build_optimizer("rmsprop", 0.1)
    with pytest.raises(ValueError, match="unknown learning-rate schedule"):
        Schedule("linear")
    with pytest.raises(ValueError, match="cosine schedule needs the total"):
        Schedule("cosine")
