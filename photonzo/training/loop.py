"""The training loop: ``zo_step`` repeated, with evaluation, keep-best, a query budget and a recorder.

``train(oracle, objective, method, state, streams, loop, recorder)`` runs steps until ``loop.steps``
or until the training-query budget ``loop.max_queries`` is spent (checked before each step, so the
last step may overshoot it by at most its own cost). Every ``eval_every`` steps, and after the last,
the objective evaluates the parameters through the same Oracle (noise on; those queries are counted
apart), a hybrid method hears the validation loss, and keep-best considers the result (the start is
considered too, before the first step, when the run begins). When ``max_queries`` bounds the run,
the learning-rate schedule is read at ``max(step, steps × queries spent / budget)`` (in whole
steps), so a decaying schedule has decayed when the budget runs out even if steps grow dearer on the
way (a hybrid's switch to CGE).

A resumed run whose ``steps`` or ``max_queries`` changed is *extended* (or shortened), and
``loop.extensions`` records each change (``Extension``, kept in ``config.json``). The schedule is read
on two clocks, the share of the steps done and the share of the budget spent, each piecewise linear
and exact (fractions): up to the resume, as before; after it, a clock whose length changed goes on
from the value it had at the last step taken (at its step, or at the queries spent before it) and
reaches 1 at the new end. So the learning rate goes on from where it was and decays over the
remaining steps to the schedule's end value, with no restart and no jump (with a budget, up to the
whole-step reading: at most one step of the new length back); a clock whose length did not change
reads as before, so a resume with the same length, or a longer one under a budget that still
decides (the recorded resume of ``tests/test_golden.py``), is what it always was. Extending a
finished cosine run thus trains its extra steps on the schedule's small tail (a higher rate is a
new run). The position is a pure function of (step, queries spent, recorded extensions): an
extended run interrupted and resumed again reads the same learning rates. An extension at step 0
(nothing trained yet) just replaces the length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import torch

from ..photonics.threads import ThreadPolicy
from ..validation import check_optional_positive_int, check_positive_int
from .recorder import Recorder
from .selection import Selection, keep_best
from .step import TrainState, zo_step

STEP = ("zo step",)  # the thread policy's key of a whole step (chip calls choose their own inside it)


@dataclass(frozen=True)
class Extension:
    """A resume that changed the run's length: after ``step`` steps and ``queries`` training queries
    (``last_queries`` of them spent before the last step taken), ``steps`` went from ``steps[0]`` to
    ``steps[1]`` and ``max_queries`` from ``max_queries[0]`` to ``max_queries[1]`` (see the module
    docstring)."""

    step: int
    queries: int
    last_queries: int
    steps: tuple[int, int]
    max_queries: tuple[int | None, int | None]

    def as_json(self) -> dict:
        """The extension as ``config.json``'s ``extensions`` list records it."""
        return {
            "step": self.step,
            "queries": self.queries,
            "last_queries": self.last_queries,
            "steps": list(self.steps),
            "max_queries": list(self.max_queries),
        }

    @classmethod
    def from_json(cls, record) -> Extension:
        """The extension of a ``config.json`` record; a damaged record raises ``ValueError``."""
        try:
            steps, budgets = tuple(record["steps"]), tuple(record["max_queries"])
            counts = [record[k] for k in ("step", "queries", "last_queries")]
            whole = all(isinstance(v, int) for v in (*counts, *steps))
            if len(steps) != 2 or len(budgets) != 2 or not whole or not all(_budget(b) for b in budgets):
                raise ValueError
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"an extension recorded in config.json is damaged: {record!r}") from None
        return cls(*counts, steps, budgets)


def _budget(value) -> bool:
    return value is None or (isinstance(value, int) and value > 0)


@dataclass(frozen=True)
class LoopConfig:
    """How long a run trains, how it batches, evaluates and checkpoints (validated when built)."""

    steps: int
    batch_size: int = 64
    eval_every: int = 50
    checkpoint_every: int | None = None  # default: every evaluation
    max_settings: int = 256  # parameter settings per Oracle call
    max_queries: int | None = None  # the training-query budget
    extensions: tuple[Extension, ...] = ()  # the resumes that changed steps or max_queries, in order

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
        if self.extensions and (self.extensions[-1].steps[1], self.extensions[-1].max_queries[1]) != (
            self.steps,
            self.max_queries,
        ):
            raise ValueError(
                f"the run's last extension ends at {self.extensions[-1].steps[1]} steps and a budget of "
                f"{self.extensions[-1].max_queries[1]}, not at {self.steps} and {self.max_queries}"
            )

    @property
    def every_checkpoint(self) -> int:
        """Steps between checkpoints: ``checkpoint_every``, else ``eval_every``."""
        return self.checkpoint_every or self.eval_every


@dataclass(frozen=True)
class Streams:
    """The run's two random streams: minibatches, and the estimator's directions."""

    data: torch.Generator
    directions: torch.Generator

    @classmethod
    def from_seed(cls, seed: int) -> Streams:
        """The two generators of a run seeded ``seed``: batches from ``seed``, directions from ``seed +
        1``."""
        return cls(torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1))


def budget_spent(state: TrainState, loop: LoopConfig) -> bool:
    """Whether the run's training queries reached its budget ``loop.max_queries`` (never without one)."""
    return loop.max_queries is not None and state.train_queries >= loop.max_queries


def schedule_position(state: TrainState, loop: LoopConfig) -> int | float:
    """Where the learning-rate schedule stands, in steps of the run's length (see the module
    docstring): the step itself for a run never extended, whole steps when a budget bounds it."""
    steps, budget = clocks(loop)
    at = loop.steps * _read(steps, state.step)
    if not budget:
        return int(at) if at.denominator == 1 else float(at)
    spent = min(loop.steps, math.floor(loop.steps * _read(budget, state.train_queries)))
    return max(math.floor(at), spent)


Segment = tuple[int, Fraction, int]  # (x_a, u_a, end): u(x) = u_a + (1 − u_a)(x − x_a) / (end − x_a)


def clocks(loop: LoopConfig) -> tuple[list[Segment], list[Segment]]:
    """The segments of the step clock (x: steps done) and of the budget clock (x: queries spent;
    none without a budget), each clock the share of its length that is behind, exactly."""
    first = loop.extensions[0] if loop.extensions else None
    steps = [(0, Fraction(0), first.steps[0] if first else loop.steps)]
    budget0 = first.max_queries[0] if first else loop.max_queries
    budget = [] if budget0 is None else [(0, Fraction(0), budget0)]
    for e in loop.extensions:
        new_budget = e.max_queries[1]
        if e.step == 0:  # nothing trained yet: the new length simply replaces the old
            steps, budget = (
                [(0, Fraction(0), e.steps[1])],
                [] if new_budget is None else [(0, Fraction(0), new_budget)],
            )
            continue
        last = e.step - 1  # the last step taken: each changed clock goes on from where it read it
        if new_budget != e.max_queries[0]:
            if new_budget is None:
                budget = []
            elif new_budget > e.queries:  # (a spent budget runs no step: nothing to read)
                start = _read(budget, e.last_queries) if budget else _read(steps, last)
                budget = [*budget, (e.last_queries, start, new_budget)]
        if e.steps[1] != e.steps[0] and e.steps[1] > e.step:
            steps = [*steps, (last, _read(steps, last), e.steps[1])]
    return steps, budget


def _read(segments: list[Segment], x: int) -> Fraction:
    """A clock at ``x``: its last segment that starts at or before ``x``, at most 1."""
    x_a, u_a, end = next(seg for seg in reversed(segments) if seg[0] <= x)
    return min(Fraction(1), u_a + (1 - u_a) * Fraction(x - x_a, end - x_a))


def evaluate(oracle, objective, state: TrainState, params=None, data=None) -> tuple[TrainState, dict]:
    """The objective's evaluation of ``params`` (default: the current ones) on ``data`` (default: its
    validation set), read from the chip; the queries count as evaluation queries."""
    before = oracle.queries
    result = objective.evaluate(oracle, state.params if params is None else params, data)
    return state.replace(eval_queries=state.eval_queries + oracle.queries - before), result


def selection_of(objective) -> Selection:
    """Which evaluation keeps the parameters: the objective's ``selection``, else the lowest ``val_loss``."""
    return getattr(objective, "selection", Selection("val_loss", "min"))


def consider(state: TrainState, value: float, record: dict, params, selection: Selection) -> TrainState:
    """The state with ``params`` kept if ``value`` (measured as ``record``) beats what is kept
    (``keep_best``)."""
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
