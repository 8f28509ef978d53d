"""The training loop: ``zo_step`` repeated, with evaluation, keep-best, a query budget and a recorder.

``train(oracle, objective, method, state, streams, loop, recorder)`` runs steps until ``loop.steps``
or until the training-query budget ``loop.max_queries`` is spent (checked before each step, so the
last step may overshoot it by at most its own cost). Every ``eval_every`` steps, and after the last,
the objective evaluates the parameters through the same Oracle (noise on; those queries are counted
apart), a hybrid method hears the validation loss, and keep-best considers the result (the start is
considered too, before the first step, when the run begins). When ``max_queries`` bounds the run,
the learning-rate schedule is read at ``max(step, steps × queries spent / budget)``, so a decaying
schedule has decayed when the budget runs out even if steps grow dearer on the way (a hybrid's
switch to CGE).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..photonics.threads import ThreadPolicy
from ..validation import check_optional_positive_int, check_positive_int
from .recorder import Recorder
from .selection import Selection, keep_best
from .step import TrainState, zo_step

STEP = ("zo step",)  # the thread policy's key of a whole step (chip calls choose their own inside it)


@dataclass(frozen=True)
class LoopConfig:
    """How long a run trains, how it batches, evaluates and checkpoints (validated when built)."""

    steps: int
    batch_size: int = 64
    eval_every: int = 50
    checkpoint_every: int | None = None  # default: every evaluation
    max_settings: int = 256  # parameter settings per Oracle call
    max_queries: int | None = None  # the training-query budget

    def __post_init__(self):
        for name in ("steps", "batch_size", "eval_every", "max_settings"):
            check_positive_int(name, getattr(self, name))
        check_optional_positive_int("checkpoint_every", self.checkpoint_every)
        if self.max_queries is not None and (
            isinstance(self.max_queries, bool)
            or not isinstance(self.max_queries, int)
            or self.max_queries < 1
        ):
            raise ValueError(
                f"max_queries must be a positive integer (a training query budget), got {self.max_queries!r}"
            )

    @property
    def every_checkpoint(self) -> int:
        return self.checkpoint_every or self.eval_every


@dataclass(frozen=True)
class Streams:
    """The run's two random streams: minibatches, and the estimator's directions."""

    data: torch.Generator
    directions: torch.Generator

    @classmethod
    def from_seed(cls, seed: int) -> Streams:
        return cls(torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1))


def budget_spent(state: TrainState, loop: LoopConfig) -> bool:
    return loop.max_queries is not None and state.train_queries >= loop.max_queries


def schedule_position(state: TrainState, loop: LoopConfig) -> int:
    """Where the learning-rate schedule stands (see the module docstring)."""
    if loop.max_queries is None:
        return state.step
    return max(state.step, min(loop.steps, loop.steps * state.train_queries // loop.max_queries))


def evaluate(oracle, objective, state: TrainState, params=None, data=None) -> tuple[TrainState, dict]:
    """The objective's evaluation of ``params`` (default: the current ones) on ``data`` (default: its
    validation set), read from the chip; the queries count as evaluation queries."""
    before = oracle.queries
    result = objective.evaluate(oracle, state.params if params is None else params, data)
    return state.replace(eval_queries=state.eval_queries + oracle.queries - before), result


def selection_of(objective) -> Selection:
    return getattr(objective, "selection", Selection("val_loss", "min"))


def consider(state: TrainState, value: float, record: dict, params, selection: Selection) -> TrainState:
    return state.replace(kept=keep_best(state.kept, value, record, params, selection.sense))


def evaluate_start(oracle, objective, state: TrainState) -> TrainState:
    """A new run's start competes too: training never hands back something worse than it."""
    state, result = evaluate(oracle, objective, state)
    selection = selection_of(objective)
    return consider(
        state, result[selection.key], {"step": 0, "queries": 0, **result}, state.params, selection
    )


def _evaluation(oracle, objective, method, state: TrainState, record: dict) -> TrainState:
    state, result = evaluate(oracle, objective, state)
    record.update(result, eval_queries=state.eval_queries)
    state = state.replace(method_state=method.observe(state.method_state, state.step - 1, record["val_loss"]))
    selection = selection_of(objective)
    kept_record = {"step": state.step, "queries": state.train_queries, **result}
    return consider(state, result[selection.key], kept_record, state.params, selection)


def train(
    oracle, objective, method, state: TrainState, streams: Streams, loop: LoopConfig, recorder: Recorder
) -> TrainState:
    """Train from ``state`` to ``loop.steps`` (or the budget); returns the final state."""
    selection = selection_of(objective)
    recorder.start(loop.steps, state.step)
    threads = ThreadPolicy()  # the step's own work (probes, updates) pays a fork/join per op too
    try:
        while state.step < loop.steps and not budget_spent(state, loop):
            batch = objective.sample(streams.data, loop.batch_size)
            before = state
            with threads.apply(STEP):
                state, record = zo_step(
                    oracle,
                    method,
                    state,
                    batch,
                    generator=streams.directions,
                    loss_fn=objective.loss_fn(oracle, batch),
                    max_settings=loop.max_settings,
                    at=schedule_position(before, loop),
                )
            if selection.training_loss:  # the centre loss measured the parameters before the step
                state = consider(state, record["loss"], {"step": before.step}, before.params, selection)
            last = state.step == loop.steps or budget_spent(state, loop)
            if state.step % loop.eval_every == 0 or last:
                state = _evaluation(oracle, objective, method, state, record)
            record["wall"] = round(state.wall, 4)
            recorder.record(record, state)
            if state.step % loop.every_checkpoint == 0 or last:
                recorder.checkpoint(state, method, streams)
    finally:
        recorder.close()
    return state
