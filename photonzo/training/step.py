"""One zeroth-order step: the functional core every on-chip trainer shares.

``zo_step(oracle, method, state, batch, ...)`` estimates the gradient at ``state.params`` from
forward queries of the Oracle (the method's current estimator), moves the parameters (its optimiser)
and returns the next ``TrainState`` with the step's record. Nothing else changes: the state is
frozen, the method holds none, and the random directions come from the generator passed in.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any

import torch

from .selection import Kept


@dataclass(frozen=True)
class TrainState:
    """Where a run stands: parameters, the method's state, counters and the best measured so far."""

    params: torch.Tensor
    method_state: Any
    step: int = 0
    train_queries: int = 0
    eval_queries: int = 0
    wall: float = 0.0  # seconds spent in training steps (evaluations excluded)
    kept: Kept | None = None

    def replace(self, **changes) -> TrainState:
        """A copy with the given fields changed (the state itself is frozen)."""
        return dataclasses.replace(self, **changes)


def initial_state(method, params: torch.Tensor) -> TrainState:
    """The state a run starts from: parameters ``params[P]`` (phases in rad, then electronic values), the
    method's fresh state, step 0, no query spent."""
    return TrainState(params, method.init(params))


def zo_step(
    oracle,
    method,
    state: TrainState,
    batch,
    *,
    generator: torch.Generator,
    loss_fn=None,
    max_settings: int = 256,
    at: int | None = None,
) -> tuple[TrainState, dict]:
    """One step of ``method`` at ``state`` on ``batch`` → (next state, record).

    ``loss_fn(settings[Q, P]) → [Q]`` replaces ``oracle.loss`` on ``batch``; ``at`` is where the
    learning-rate schedule stands (default: the step). The record holds the centre loss on the
    batch, the learning rate, the estimator used, and the queries of the step and of the run.
    """
    t0 = time.perf_counter()
    method_state = method.prepare(state.method_state, state.step, state.params)
    estimate = method.current(method_state).estimate(
        oracle, state.params, batch, state.step, generator, max_settings, loss_fn=loss_fn
    )
    if not math.isfinite(estimate.loss) or not torch.isfinite(estimate.grad).all():
        raise FloatingPointError(
            f"step {state.step}: the loss or its estimate is not finite "
            f"(loss {estimate.loss}); lower the learning rate or the step mu"
        )
    at = state.step if at is None else at
    lr = method.lr_at(method_state, at)
    params, method_state = method.update(estimate.grad, method_state, state.params, at)
    if not torch.isfinite(params).all():
        raise FloatingPointError(
            f"step {state.step}: the parameters became non-finite; lower the learning rate"
        )
    queries = state.train_queries + estimate.queries
    record = {
        "step": state.step,
        "loss": estimate.loss,
        "lr": lr,
        "method": estimate.method,
        "step_queries": estimate.queries,
        "queries": queries,
        **estimate.extra,
    }
    wall = state.wall + time.perf_counter() - t0
    return state.replace(
        params=params, method_state=method_state, step=state.step + 1, train_queries=queries, wall=wall
    ), record
