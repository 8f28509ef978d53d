"""First-order reference: the same architecture trained in the weight domain by autograd.

A baseline only — it measures the gap a BP-free trainer leaves — and no BP-free trainer
imports it. The weights are real (dense matrices or TT cores of the network's shapes),
trained with Adam through ``OpticalNetwork.digital_forward`` (an ideal digital mirror of the
chip's forward), then mapped onto phases and electronic gains with ``deploy`` (a ``Program``),
so the result can be programmed on an ideal or a noisy chip and evaluated there.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from ..photonics.layers import LayerWeights
from ..photonics.network import OpticalNetwork, Program
from ..progress import progress_bar


def init_weights(network: OpticalNetwork, seed: int = 0) -> list[LayerWeights]:
    """He-scaled real weights of the network's shapes (``OpticalNetwork.random_weights``)."""
    return network.random_weights(seed)


def _trainable(
    network: OpticalNetwork, seed: int, init: list[LayerWeights] | None = None
) -> tuple[list[LayerWeights], list[torch.Tensor]]:
    """Weights that require gradients, and their tensors: fresh He-scaled ones, or copies of ``init``
    (which stays untouched)."""
    if init is None:
        weights = network.random_weights(seed, requires_grad=True)
        return weights, network.weight_tensors(weights)
    weights = [w.detached() for w in init]
    tensors = network.weight_tensors(weights)
    for t in tensors:
        t.requires_grad_(True)
    return weights, tensors


def train_backprop(
    network: OpticalNetwork,
    x_train,
    y_train,
    *,
    epochs: int = 20,
    batch_size: int = 64,
    lr: float = 1e-3,
    seed: int = 0,
    weight_decay: float = 0.0,
    progress: bool = False,
) -> tuple[list[LayerWeights], dict]:
    """Train real weights with Adam on cross-entropy; returns (weights, stats)."""
    if epochs < 1 or batch_size < 1 or not lr > 0:
        raise ValueError("epochs and batch_size must be positive integers and lr a positive number")
    weights, params = _trainable(network, seed)
    opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    x = torch.as_tensor(np.asarray(x_train), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(y_train)).long()
    g = torch.Generator().manual_seed(seed)
    t0, steps = time.perf_counter(), 0
    for _ in progress_bar(range(epochs), enabled=progress, desc="BP reference", unit="epoch"):
        for idx in torch.randperm(len(x), generator=g).split(batch_size):
            loss = F.cross_entropy(network.digital_forward(weights, x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
    for t in params:
        t.requires_grad_(False)
    return weights, {
        "steps": steps,
        "wall": time.perf_counter() - t0,
        "final_batch_loss": float(loss.detach()),
    }


@torch.no_grad()
def digital_accuracy(network: OpticalNetwork, weights: list[LayerWeights], x, y) -> float:
    """Test accuracy (fraction correct) of real ``weights`` on inputs ``x[N, in]``, labels ``y[N]``, through
    the network's ideal digital mirror (no chip, no queries)."""
    out = network.digital_forward(weights, torch.as_tensor(np.asarray(x), dtype=torch.float64))
    return float((out.argmax(-1) == torch.as_tensor(np.asarray(y))).double().mean())


def deploy(network: OpticalNetwork, weights: list[LayerWeights]) -> Program:
    """The ``Program`` (phases and biases, and every matrix's electronic gain) realising ``weights``
    on ``network``; no side effect (the network is left untouched). A chip realises it when built
    with ``gains=program.gains`` and programmed with ``program.params``."""
    return network.from_weights(weights)


def autograd_derivatives(f, x: torch.Tensor, spatial: int, create_graph: bool = False) -> dict:
    """Exact derivatives of a scalar field by autograd: ``f(x[N, D]) → [N]``; returns ``{"value": f
    [N], "grad": ∇f [N, D], "laplacian": Σ_{i < spatial} ∂²f/∂x_i² [N]}`` at ``x`` (the keys of a
    Stein estimator's ``derivatives``). ``create_graph``: keep them differentiable (to train through)."""
    x = x.detach().requires_grad_(True)
    value = f(x)
    grad = torch.autograd.grad(value.sum(), x, create_graph=True)[0]
    lap = sum(
        torch.autograd.grad(grad[:, i].sum(), x, create_graph=create_graph, retain_graph=True)[0][:, i]
        for i in range(spatial)
    )
    if not create_graph:
        value, grad, lap = value.detach(), grad.detach(), lap.detach()
    return {"value": value, "grad": grad, "laplacian": lap}


def pde_residual_autograd(network: OpticalNetwork, weights: list[LayerWeights], pde, x: torch.Tensor):
    """The PDE residual ``[N]`` at ``x`` of ``pde``'s ansatz u = g + c·NN around the network's digital
    mirror with real ``weights``, its derivatives exact (autograd) and differentiable in the weights."""
    d = autograd_derivatives(
        lambda x: pde.ansatz(x, network.digital_forward(weights, x)[:, 0]), x, pde.dim, create_graph=True
    )
    return pde.residual(d["grad"][:, pde.dim], d["grad"][:, : pde.dim], d["laplacian"], u=d["value"])


def train_pinn_backprop(
    network: OpticalNetwork,
    pde,
    *,
    steps: int = 1000,
    points: int = 100,
    lr: float = 1e-3,
    seed: int = 0,
    progress: bool = False,
    evaluate=None,
    eval_every: int = 20,
    init: list[LayerWeights] | None = None,
) -> tuple[list[LayerWeights], dict]:
    """First-order PINN reference: the network's real weights trained by Adam on the mean squared
    PDE residual of ``pde``'s ansatz, with exact derivatives from autograd (fresh uniform
    collocation points every step). Returns (weights, stats); ``deploy`` programs them.

    ``evaluate(weights) → dict``, if given, runs every ``eval_every`` steps and after the last;
    its records (with ``step`` and ``wall``, evaluation time excluded) are ``stats["evaluations"]``.
    ``init`` starts from given weights (e.g. ``network.weights(phases)``, the complex weights a
    chip's initial phases encode, so that both trainers start from the same function) instead of
    fresh He-scaled real ones.
    """
    if steps < 1 or points < 1 or eval_every < 1 or not lr > 0:
        raise ValueError("steps, points and eval_every must be positive integers and lr a positive number")
    weights, params = _trainable(network, seed, init)
    opt = torch.optim.Adam(params, lr=lr)
    g = torch.Generator().manual_seed(seed)
    history, evaluations = [], _Evaluations(evaluate, eval_every, steps)
    for step in progress_bar(range(steps), enabled=progress, desc="PINN first-order reference"):
        loss = pde_residual_autograd(network, weights, pde, pde.sample(points, g)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        history.append(float(loss.detach()))
        evaluations.after(step, weights)
    for t in params:
        t.requires_grad_(False)
    return weights, {
        "steps": steps,
        "wall": evaluations.wall,
        "losses": history,
        "evaluations": evaluations.records,
    }


class _Evaluations:
    """A reference's evaluations: every ``eval_every`` steps and after the last, their time kept out
    of the training wall time each record carries."""

    def __init__(self, evaluate, eval_every: int, steps: int):
        self.evaluate, self.every, self.steps = evaluate, eval_every, steps
        self.records, self.t0, self.paused = [], time.perf_counter(), 0.0

    @property
    def wall(self) -> float:
        """Training time so far, evaluations excluded (s)."""
        return time.perf_counter() - self.t0 - self.paused

    def after(self, step: int, subject) -> None:
        """Evaluate ``subject`` if ``step`` (0-based) is an evaluation step."""
        if self.evaluate is None or ((step + 1) % self.every and step + 1 != self.steps):
            return
        t1 = time.perf_counter()
        train_wall = self.wall
        with torch.no_grad():
            record = self.evaluate(subject)
        self.paused += time.perf_counter() - t1
        self.records.append({"step": step, "wall": round(train_wall, 3), **record})


class _ModelView:
    """What a PINN objective reads (``outputs``), answered by the chip's differentiable model."""

    def __init__(self, chip):
        self.outputs = chip.model_outputs


def train_pinn_chip_model(
    chip,
    objective,
    params: torch.Tensor,
    optimizer,
    *,
    steps: int,
    points: int,
    seed: int = 0,
    evaluate=None,
    eval_every: int = 20,
    progress: bool = False,
) -> tuple[torch.Tensor, dict]:
    """First order on the chip's own parameters: ``optimizer`` (a ``training.optim`` one, as a ZO run
    uses) stepped on the exact gradient, by autograd through ``chip.model_outputs``, of the very loss
    a ZO run estimates — ``objective``'s residual with its own derivative estimator, at ``points``
    fresh collocation points a step — from ``params``. Against a ZO run of the same chip, start,
    optimiser and steps it measures what the gradient *estimate* costs, apart from what the chip's
    parametrisation (phases, bounded gains) costs, which the digital reference
    (``train_pinn_backprop``) includes. Returns (params, stats) like ``train_pinn_backprop``;
    ``evaluate(params) → dict`` (e.g. the objective's, on the chip) every ``eval_every`` steps."""
    if steps < 1 or points < 1 or eval_every < 1:
        raise ValueError(
            f"steps, points and eval_every must be positive integers, got {steps}, {points}, {eval_every}"
        )
    model = _ModelView(chip)
    params = torch.as_tensor(params, dtype=torch.float64).detach().clone()
    state = optimizer.init(params)
    g = torch.Generator().manual_seed(seed)
    history, evaluations = [], _Evaluations(evaluate, eval_every, steps)
    for step in progress_bar(range(steps), enabled=progress, desc="PINN first order on the chip model"):
        x = params.clone().requires_grad_(True)
        loss = objective.loss_fn(model, objective.sample(g, points))(x[None])[0]
        (grad,) = torch.autograd.grad(loss, x)
        params, state = optimizer.update(grad, state, params, step)
        history.append(float(loss.detach()))
        evaluations.after(step, params)
    return params, {
        "steps": steps,
        "wall": evaluations.wall,
        "losses": history,
        "evaluations": evaluations.records,
    }
