"""Optimisers on flat phase vectors, learning-rate schedules, and the phases' physical range.

The optimisers take a gradient *estimate* (from ``estimators``) and return the next parameter
vector. Phase shifters are 2π-periodic, so after each step optical phases are wrapped into
[0, 2π) — the range a heater is driven over — while electronic parameters (biases, the slices
of kind ``bias``) are left as they are. The mask comes from the Oracle's named slices, never
from the network itself.
"""

from __future__ import annotations

import math

import torch

from ..photonics.layers import ParamSlice

TWO_PI = 2 * math.pi
SCHEDULES = ("constant", "cosine", "step")
OPTIMIZERS = ("adam", "sgd")


class Schedule:
    """Learning rate at a step: ``constant``, ``cosine`` decay to ``min_factor``·lr over
    ``total`` steps, or ``step`` decay by ``gamma`` every ``every`` steps; optional linear warm-up."""

    def __init__(
        self,
        kind: str = "constant",
        total: int | None = None,
        min_factor: float = 0.0,
        every: int | None = None,
        gamma: float = 0.5,
        warmup: int = 0,
    ):
        if kind not in SCHEDULES:
            raise ValueError(
                f"unknown learning-rate schedule {kind!r}; accepted schedules are {', '.join(SCHEDULES)}"
            )
        if kind == "cosine" and (not isinstance(total, int) or total < 1):
            raise ValueError(
                f"a cosine schedule needs the total number of steps (a positive integer), got {total!r}"
            )
        if kind == "step" and (not isinstance(every, int) or every < 1):
            raise ValueError(f"a step schedule needs 'every' (a positive integer), got {every!r}")
        if not 0 <= min_factor <= 1 or not 0 < gamma <= 1 or warmup < 0:
            raise ValueError("need 0 <= min_factor <= 1, 0 < gamma <= 1 and warmup >= 0")
        self.kind, self.total, self.min_factor, self.every, self.gamma, self.warmup = (
            kind,
            total,
            min_factor,
            every,
            gamma,
            warmup,
        )

    def __call__(self, step: int) -> float:
        factor = 1.0
        if self.kind == "cosine":
            t = min(step, self.total) / self.total
            factor = self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * t))
        elif self.kind == "step":
            factor = self.gamma ** (step // self.every)
        if self.warmup and step < self.warmup:
            factor *= (step + 1) / self.warmup
        return factor

    def describe(self) -> dict:
        return {
            "kind": self.kind,
            "total": self.total,
            "min_factor": self.min_factor,
            "every": self.every,
            "gamma": self.gamma,
            "warmup": self.warmup,
        }


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


class Optimizer:
    """Base: ``step(params, grad, step)`` → new params; state as named tensors for checkpoints."""

    def __init__(self, lr: float, schedule: Schedule | None = None, mask: torch.Tensor | None = None):
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0 or not math.isfinite(lr):
            raise ValueError(f"the learning rate must be a positive finite number, got {lr!r}")
        self.lr, self.schedule, self.mask = float(lr), schedule or Schedule(), mask
        self.state: dict[str, torch.Tensor] = {}

    def lr_at(self, step: int) -> float:
        return self.lr * self.schedule(step)

    def step(self, params: torch.Tensor, grad: torch.Tensor, step: int) -> torch.Tensor:
        if grad.shape != params.shape:
            raise ValueError(
                f"gradient shape {tuple(grad.shape)} does not match parameters {tuple(params.shape)}"
            )
        return wrap_phases(params - self.lr_at(step) * self._direction(grad.to(params.dtype)), self.mask)

    def _direction(self, grad: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def reset(self) -> None:
        """Forget the moments (e.g. when the gradient estimator changes and with it their scale)."""
        self.state = {}

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v.clone() for k, v in self.state.items()}

    def load_state_dict(self, state: dict) -> None:
        self.state = {k: torch.as_tensor(v).clone() for k, v in state.items()}


class SGD(Optimizer):
    """SGD with (heavy-ball or Nesterov) momentum."""

    def __init__(self, lr: float, momentum: float = 0.9, nesterov: bool = False, **kw):
        super().__init__(lr, **kw)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum!r}")
        self.momentum, self.nesterov = momentum, nesterov

    def _direction(self, grad):
        if not self.momentum:
            return grad
        v = self.state.get("velocity")
        v = grad.clone() if v is None else self.momentum * v + grad
        self.state["velocity"] = v
        return grad + self.momentum * v if self.nesterov else v


class Adam(Optimizer):
    """Adam (Kingma & Ba) with bias correction."""

    def __init__(self, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, **kw):
        super().__init__(lr, **kw)
        if not all(0 <= b < 1 for b in betas):
            raise ValueError(f"Adam's betas must lie in [0, 1), got {betas!r}")
        self.betas, self.eps = betas, eps

    def _direction(self, grad):
        b1, b2 = self.betas
        t = int(self.state.get("t", torch.tensor(0))) + 1
        m = self.state.get("m", torch.zeros_like(grad))
        v = self.state.get("v", torch.zeros_like(grad))
        m = b1 * m + (1 - b1) * grad
        v = b2 * v + (1 - b2) * grad * grad
        self.state.update(t=torch.tensor(t), m=m, v=v)
        return (m / (1 - b1**t)) / ((v / (1 - b2**t)).sqrt() + self.eps)


def build_optimizer(
    name: str, lr: float, schedule: Schedule | None = None, mask=None, momentum: float = 0.9
) -> Optimizer:
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; accepted optimizers are {', '.join(OPTIMIZERS)}")
    if name == "adam":
        return Adam(lr, schedule=schedule, mask=mask)
    return SGD(lr, momentum=momentum, schedule=schedule, mask=mask)
