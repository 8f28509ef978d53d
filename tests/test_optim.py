"""Optimisers, schedules and the phases' physical range."""

import math

import pytest
import torch

from photonzo.photonics.layers import ParamSlice
from photonzo.training.optim import adam, build_optimizer, make_schedule, phase_mask, sgd, wrap_phases


def test_adam_first_step_is_lr_times_sign_and_matches_torch():
    g = torch.tensor([0.3, -2.0, 1e-3], dtype=torch.float64)
    ours = adam(0.1)
    x = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    state = ours.init(x)
    ref = x.clone().requires_grad_(True)
    opt = torch.optim.Adam([ref], lr=0.1)
    for step in range(5):
        grad = g * (step + 1)
        x, state = ours.update(grad, state, x, step)
        ref.grad = grad.clone()
        opt.step()
    assert torch.allclose(x, torch.remainder(ref.detach(), 2 * math.pi), atol=1e-12)  # phases wrap
    assert state.t == 5  # the state is explicit: the optimiser itself holds none


def test_sgd_momentum_matches_torch():
    x = torch.tensor([0.5, 1.5], dtype=torch.float64)
    ref = x.clone().requires_grad_(True)
    opt, ours = torch.optim.SGD([ref], lr=0.05, momentum=0.9), sgd(0.05, momentum=0.9)
    state = ours.init(x)
    for step in range(4):
        grad = torch.tensor([1.0, -0.5], dtype=torch.float64) * (step + 1)
        x, state = ours.update(grad, state, x, step)
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
    opt = sgd(1.0, momentum=0.0, mask=mask)
    zero = torch.zeros(5, dtype=torch.float64)
    stepped, _ = opt.update(torch.full((5,), 1.0, dtype=torch.float64), opt.init(zero), zero, 0)
    assert ((stepped[:3] >= 0) & (stepped[:3] < 2 * math.pi)).all() and (stepped[3:] == -1).all()


def test_schedules():
    cos = make_schedule("cosine", total=100, min_factor=0.1)
    assert cos(0) == 1.0 and cos(100) == pytest.approx(0.1) and cos(50) == pytest.approx(0.55)
    assert make_schedule("step", every=10, gamma=0.5)(25) == 0.25
    assert make_schedule("constant", warmup=4)(1) == 0.5


@pytest.mark.parametrize("bad", [0, -1e-3, float("nan"), float("inf")])
def test_bad_learning_rates_are_refused(bad):
    with pytest.raises(ValueError, match="learning rate must be a positive finite number"):
        adam(bad)


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        build_optimizer("rmsprop", 0.1)
    with pytest.raises(ValueError, match="unknown learning-rate schedule"):
        make_schedule("linear")
    with pytest.raises(ValueError, match="cosine schedule needs the total"):
        make_schedule("cosine")


def test_an_optimiser_state_survives_a_checkpoint_round_trip():
    from photonzo.training.optim import state_arrays

    x = torch.tensor([0.5, 1.5, 2.5], dtype=torch.float64)
    for opt in (adam(0.1), sgd(0.1, momentum=0.9)):
        state = opt.init(x)
        for step in range(3):
            _, state = opt.update(torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64), state, x, step)
        again = opt.restore(state_arrays(state), x)
        grad = torch.tensor([0.3, 0.1, -0.2], dtype=torch.float64)
        assert torch.equal(opt.update(grad, state, x, 3)[0], opt.update(grad, again, x, 3)[0])
    assert adam(0.1).restore({}, x).t == 0 and sgd(0.1).restore({}, x).velocity is None  # saved before a step
