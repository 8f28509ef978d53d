"""Optimisers as ``(init, update)`` pairs with explicit state, schedules as ``step → factor`` functions.

In the style of optax: an ``Optimizer`` holds no state of its own. ``init(params)`` makes its state
(a named tuple of tensors), ``update(grad, state, params, at)`` returns the next parameters and the
next state, ``lr_at(at)`` the learning rate it used, and ``restore(arrays, params)`` rebuilds a state
from a checkpoint's arrays. ``at`` is where the learning-rate schedule stands (the step, or the share
of a query budget spent; see ``training/loop.py``), passed in because the optimiser cannot know it.

Phase shifters are 2π-periodic, so after each step optical phases are wrapped into [0, 2π) — the
range a heater is driven over — while electronic parameters (the slices of kind ``bias``) are left as
they are. The mask comes from the Oracle's named slices, never from the network itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import torch

from ..choices import OPTIMIZERS, SCHEDULES  # the names, torch-free for the CLI
from ..photonics.layers import ParamSlice
from ..validation import check_choice, check_fraction, check_int, check_positive, is_int

TWO_PI = 2 * math.pi

Schedule = Callable[[int], float]  # step → factor of the learning rate


# ---- schedules --------------------------------------------------------------------------------


def constant() -> Schedule:
    """The constant schedule: factor 1 at every step."""
    return lambda step: 1.0


def cosine(total: int, min_factor: float = 0.0) -> Schedule:
    """Cosine decay from 1 to ``min_factor`` over ``total`` steps, then flat."""
    # checked here, not at the first step: a schedule is read long after it is made
    if not is_int(total) or total < 1:
        raise ValueError(
            f"a cosine schedule needs the total number of steps (a positive integer), got {total!r}"
        )
    check_fraction("a cosine schedule's min_factor", min_factor)

    def factor(step: int) -> float:
        t = min(step, total) / total
        return min_factor + (1 - min_factor) * 0.5 * (1 + math.cos(math.pi * t))

    return factor


def step_decay(every: int, gamma: float = 0.5) -> Schedule:
    """×``gamma`` every ``every`` steps."""
    if not is_int(every) or every < 1:
        raise ValueError(f"a step schedule needs 'every' (a positive integer), got {every!r}")
    check_fraction("a step schedule's gamma", gamma, open_bottom=True)
    return lambda step: gamma ** (step // every)


def with_warmup(schedule: Schedule, steps: int) -> Schedule:
    """``schedule`` scaled by a linear warm-up over its first ``steps`` steps."""
    check_int("the warm-up steps", steps, 0)
    if not steps:
        return schedule
    return lambda step: schedule(step) * ((step + 1) / steps if step < steps else 1.0)


def make_schedule(
    kind: str = "constant",
    total: int | None = None,
    min_factor: float = 0.0,
    every: int | None = None,
    gamma: float = 0.5,
    warmup: int = 0,
) -> Schedule:
    """One of ``SCHEDULES`` by name, its arguments checked."""
    check_choice("learning-rate schedule", kind, SCHEDULES)
    # each schedule checks its own arguments, naming the one that is out of range
    check_fraction("a cosine schedule's min_factor", min_factor)
    check_fraction("a step schedule's gamma", gamma, open_bottom=True)
    base = {
        "constant": constant,
        "cosine": lambda: cosine(total, min_factor),
        "step": lambda: step_decay(every, gamma),
    }
    return with_warmup(base[kind](), warmup)


def run_schedule(kind: str, steps: int) -> Schedule:
    """The schedule a run of ``steps`` steps uses: cosine over the run, ×½ every third of it, or constant."""
    if kind == "cosine":
        return make_schedule("cosine", total=steps)
    if kind == "step":
        return make_schedule("step", every=max(1, steps // 3))
    return make_schedule(kind)


# ---- the phases' physical range --------------------------------------------------------------


def phase_mask(slices: list[ParamSlice], n_params: int) -> torch.Tensor:
    """True for optical phases, False for electronic parameters, from the named slices."""
    mask = torch.ones(n_params, dtype=torch.bool)
    for s in slices:
        if s.kind == "bias":
            mask[s.slice] = False
    return mask


def wrap_phases(params: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Optical phases into [0, 2π); electronic parameters unchanged."""
    wrapped = torch.remainder(params, TWO_PI)
    return wrapped if mask is None else torch.where(mask.to(params.device), wrapped, params)


# ---- optimisers -------------------------------------------------------------------------------


class Optimizer(NamedTuple):
    """``init(params) → state``; ``update(grad, state, params, at) → (params, state)``;
    ``lr_at(at)``: the learning rate of a step at ``at``; ``restore(arrays, params) → state``."""

    init: Callable[[torch.Tensor], Any]
    update: Callable[[torch.Tensor, Any, torch.Tensor, int], tuple[torch.Tensor, Any]]
    lr_at: Callable[[int], float]
    restore: Callable[[dict, torch.Tensor], Any]


class AdamState(NamedTuple):
    t: int
    m: torch.Tensor
    v: torch.Tensor


class AdaMMState(NamedTuple):
    t: int
    m: torch.Tensor
    v: torch.Tensor
    v_hat: torch.Tensor  # the running maximum of v


class SGDState(NamedTuple):
    velocity: torch.Tensor | None


def state_arrays(state: NamedTuple) -> dict[str, torch.Tensor]:
    """An optimiser state as named tensors (for a checkpoint); empty fields are left out."""
    return {k: torch.as_tensor(v) for k, v in state._asdict().items() if v is not None}


def _descent(lr: float, schedule: Schedule | None, mask, direction, init, restore) -> Optimizer:
    """An optimiser stepping ``params − lr · schedule(at) · direction(grad, state)``, phases wrapped."""
    check_positive("the learning rate", lr)
    lr, schedule = float(lr), schedule or constant()
    lr_at = lambda at: lr * schedule(at)

    def update(grad, state, params, at):
        if grad.shape != params.shape:
            raise ValueError(
                f"gradient shape {tuple(grad.shape)} does not match parameters {tuple(params.shape)}"
            )
        step, state = direction(grad.to(params.dtype), state)
        return wrap_phases(params - lr_at(at) * step, mask), state

    return Optimizer(init, update, lr_at, restore)


def adam(
    lr: float,
    schedule: Schedule | None = None,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    mask: torch.Tensor | None = None,
) -> Optimizer:
    """Adam (Kingma & Ba) with bias correction."""
    if not all(0 <= b < 1 for b in betas):
        raise ValueError(f"Adam's betas must lie in [0, 1), got {betas!r}")
    b1, b2 = betas

    def direction(grad, state):
        t = state.t + 1
        m = b1 * state.m + (1 - b1) * grad
        v = b2 * state.v + (1 - b2) * grad * grad
        return (m / (1 - b1**t)) / ((v / (1 - b2**t)).sqrt() + eps), AdamState(t, m, v)

    init = lambda params: AdamState(0, torch.zeros_like(params), torch.zeros_like(params))

    def restore(arrays, params):
        if "t" not in arrays:  # saved before the first step
            return init(params)
        return AdamState(int(arrays["t"]), *(torch.as_tensor(arrays[k]).to(params.dtype) for k in ("m", "v")))

    return _descent(lr, schedule, mask, direction, init, restore)


def adamm(
    lr: float,
    schedule: Schedule | None = None,
    betas: tuple[float, float] = (0.9, 0.999),
    eps: float = 1e-8,
    mask: torch.Tensor | None = None,
) -> Optimizer:
    """AdaMM as ZO-AdaMM steps (Chen et al., "ZO-AdaMM: Zeroth-Order Adaptive Momentum Method for
    Black-Box Optimization", NeurIPS 2019, Algorithm 1): AMSGrad's moments, without bias correction,
    the step scaled by the running maximum of the second moment::

        m ← β₁ m + (1 − β₁) g    v ← β₂ v + (1 − β₂) g²    v̂ ← max(v̂, v)    θ ← θ − lr · m / (√v̂ + eps)

    Unconstrained: the paper's projection onto a feasible set is the phases' wrap here. ``eps`` keeps
    coordinates an estimate never touched (v̂ = 0) still."""
    if not all(0 <= b < 1 for b in betas):
        raise ValueError(f"AdaMM's betas must lie in [0, 1), got {betas!r}")
    b1, b2 = betas

    def direction(grad, state):
        m = b1 * state.m + (1 - b1) * grad
        v = b2 * state.v + (1 - b2) * grad * grad
        v_hat = torch.maximum(state.v_hat, v)
        return m / (v_hat.sqrt() + eps), AdaMMState(state.t + 1, m, v, v_hat)

    init = lambda params: AdaMMState(0, *(torch.zeros_like(params) for _ in range(3)))

    def restore(arrays, params):
        if "t" not in arrays:  # saved before the first step
            return init(params)
        tensors = (torch.as_tensor(arrays[k]).to(params.dtype) for k in ("m", "v", "v_hat"))
        return AdaMMState(int(arrays["t"]), *tensors)

    return _descent(lr, schedule, mask, direction, init, restore)


def sgd(
    lr: float,
    schedule: Schedule | None = None,
    momentum: float = 0.9,
    nesterov: bool = False,
    mask: torch.Tensor | None = None,
) -> Optimizer:
    """SGD with (heavy-ball or Nesterov) momentum."""
    check_fraction("momentum", momentum, closed_top=False)

    def direction(grad, state):
        if not momentum:
            return grad, state
        v = grad.clone() if state.velocity is None else momentum * state.velocity + grad
        return (grad + momentum * v if nesterov else v), SGDState(v)

    def restore(arrays, params):
        velocity = arrays.get("velocity")
        return SGDState(None if velocity is None else torch.as_tensor(velocity).to(params.dtype))

    return _descent(lr, schedule, mask, direction, lambda params: SGDState(None), restore)


def build_optimizer(
    name: str, lr: float, schedule: Schedule | None = None, mask=None, momentum: float = 0.9
) -> Optimizer:
    """One of ``OPTIMIZERS`` by name: Adam or SGD (with ``momentum``) at learning rate ``lr`` (rad per step
    for Adam), ``schedule`` its factor, ``mask`` the optical phases to wrap into [0, 2π)."""
    check_choice("optimizer", name, OPTIMIZERS)
    if name == "adam":
        return adam(lr, schedule, mask=mask)
    return sgd(lr, schedule, momentum=momentum, mask=mask)
