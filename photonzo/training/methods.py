"""Training methods: an estimator with its optimiser, and the hybrid schedule of two of them.

``zo_step`` drives a *method*: who estimates the gradient this step, and how the estimate moves the
parameters. A method holds no state; its state is explicit (``init`` makes it, every call returns the
next one), so a checkpoint can hold it and nothing changes behind the trainer's back.

* ``method(estimator, optimizer)``: one estimator, one optimiser; its state is the optimiser's.
* ``hybrid(first, second, switch_step, patience)``: ``first`` until ``switch_step`` or until
  ``patience`` evaluations without a new best validation loss, then ``second`` for the rest of the
  run. It owns both phases' estimator and optimiser state, so the second phase starts from its own
  fresh optimiser state by construction: sign-RGE's ±1 estimates would otherwise leave Adam's moments
  two orders too large for CGE's slopes and freeze its steps for about 1/(1 − β₂) steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

from ..validation import check_non_negative_int, check_positive_int
from .estimators import Estimator
from .optim import Optimizer, state_arrays


@dataclass(frozen=True)
class Method:
    """One estimator and one optimiser (see the module docstring)."""

    estimator: Estimator
    optimizer: Optimizer

    @property
    def name(self) -> str:
        """The estimator's name: what each step's record calls the method (``method`` in
        ``metrics.jsonl``)."""
        return self.estimator.name

    def init(self, params: torch.Tensor):
        """The method's fresh state for the parameters ``params[P]``: the optimiser's (Adam's moments at
        zero)."""
        return self.optimizer.init(params)

    def prepare(self, state, step: int, params: torch.Tensor):
        """The state a step starts from (a hybrid may switch here)."""
        return state

    def current(self, state) -> Estimator:
        """The estimator that makes the estimate of a step starting from ``state``."""
        return self.estimator

    def update(self, grad: torch.Tensor, state, params: torch.Tensor, at: int):
        """(next parameters, next state) after a step along the estimate ``grad[P]``, the schedule read at
        ``at`` (in steps); optical phases wrapped into [0, 2π), electronic parameters as they are."""
        return self.optimizer.update(grad, state, params, at)

    def lr_at(self, state, at: int) -> float:
        """The learning rate of a step whose schedule stands at ``at`` (for Adam about the largest step a
        phase takes, in rad)."""
        return self.optimizer.lr_at(at)

    def observe(self, state, step: int, validation_loss: float):
        """The state after an evaluation at ``step`` measured ``validation_loss`` (one method: unchanged)."""
        return state

    def save(self, state) -> tuple[dict, dict]:
        """(tensors, JSON-able meta) of a state, for a checkpoint."""
        return state_arrays(state), {}

    def restore(self, arrays: dict, meta: dict, params: torch.Tensor, step: int):
        """The state that ``save`` wrote (its ``arrays`` and ``meta``), for parameters ``params[P]`` at
        ``step``."""
        return self.optimizer.restore(arrays, params)

    def describe(self, state=None) -> dict:
        """A JSON-able description of the method (its estimator's settings), for ``summary.json``."""
        return self.estimator.describe()


def method(estimator: Estimator, optimizer: Optimizer) -> Method:
    """A ``Method``: ``estimator`` makes the gradient estimates, ``optimizer`` (``training/optim.py``:
    ``adam``, ``sgd``, …) steps the parameters with them."""
    return Method(estimator, optimizer)


class HybridState(NamedTuple):
    phase: int  # 0: the first method, 1: the second
    inner: Any  # the state of the method in charge
    best: float  # best validation loss seen in the first phase
    stale: int  # evaluations since it
    switched_at: int | None  # the first step of the second phase, once known


@dataclass(frozen=True)
class Hybrid:
    """Two methods in sequence (see the module docstring)."""

    first: Method
    second: Method
    switch_step: int | None = None
    patience: int | None = None

    def __post_init__(self):
        if self.switch_step is None and self.patience is None:
            raise ValueError("a hybrid schedule needs a switch_step, a patience, or both")
        if self.switch_step is not None:
            check_non_negative_int("switch_step", self.switch_step)
        if self.patience is not None:
            check_positive_int("patience", self.patience)

    @property
    def name(self) -> str:
        """``hybrid(first→second)``, from the two methods' names."""
        return f"hybrid({self.first.name}→{self.second.name})"

    def _phase(self, state: HybridState) -> Method:
        return self.second if state.phase else self.first

    def init(self, params):
        """A fresh ``HybridState``: the first method in charge with its own fresh state, no validation loss
        seen."""
        return HybridState(0, self.first.init(params), math.inf, 0, None)

    def prepare(self, state: HybridState, step: int, params):
        """The state a step at ``step`` starts from: handed to the second method, with a fresh state of its
        own, once ``switch_step`` (or the patience's switch) is due."""
        if state.phase:
            return state
        due = state.switched_at if state.switched_at is not None else self.switch_step
        if due is None or step < due:
            return state
        return HybridState(1, self.second.init(params), state.best, state.stale, step)

    def current(self, state: HybridState) -> Estimator:
        """The estimator of the method in charge."""
        return self._phase(state).current(state.inner)

    def update(self, grad, state: HybridState, params, at):
        """``Method.update`` of the method in charge, on its own state."""
        params, inner = self._phase(state).update(grad, state.inner, params, at)
        return params, state._replace(inner=inner)

    def lr_at(self, state: HybridState, at: int) -> float:
        """The learning rate of the method in charge at schedule position ``at``."""
        return self._phase(state).lr_at(state.inner, at)

    def observe(self, state: HybridState, step: int, validation_loss: float):
        """After an evaluation at ``step``: count it towards the patience (first phase only)."""
        if state.switched_at is not None or self.patience is None:
            return state
        if validation_loss < state.best:
            return state._replace(best=validation_loss, stale=0)
        stale = state.stale + 1
        return state._replace(stale=stale, switched_at=step + 1 if stale >= self.patience else None)

    def save(self, state: HybridState) -> tuple[dict, dict]:
        """(tensors, meta) for a checkpoint: the state of the method in charge, and the switch's bookkeeping
        (``switched_at``, ``best``, ``stale``, ``phase``)."""
        arrays, _ = self._phase(state).save(state.inner)
        meta = {
            "switched_at": state.switched_at,
            "best": state.best,
            "stale": state.stale,
            "phase": state.phase,
        }
        return arrays, meta

    def restore(self, arrays: dict, meta: dict, params, step: int) -> HybridState:
        """The state ``save`` wrote; a checkpoint from before the training core's reshape has no ``phase``,
        which is derived from ``switched_at``."""
        switched_at = meta["switched_at"]
        # checkpoints written before the reshape have no phase: the second phase had begun if its
        # first step lies before the checkpoint's
        phase = meta.get("phase", int(switched_at is not None and switched_at < step))
        inner = (self.second if phase else self.first).restore(arrays, {}, params, step)
        return HybridState(phase, inner, float(meta["best"]), int(meta["stale"]), switched_at)

    def describe(self, state: HybridState | None = None) -> dict:
        """Both methods' descriptions, ``switch_step``, ``patience`` and, given a state, the step the second
        method started at (``switched_at``)."""
        return {
            "name": self.name,
            "first": self.first.describe(),
            "second": self.second.describe(),
            "switch_step": self.switch_step,
            "patience": self.patience,
            "switched_at": None if state is None else state.switched_at,
        }


def hybrid(
    first: Method, second: Method, switch_step: int | None = None, patience: int | None = None
) -> Hybrid:
    """A ``Hybrid``: ``first`` until ``switch_step``, or until ``patience`` evaluations without a better
    validation loss, whichever comes first; then ``second``, from a fresh state (see the module docstring)."""
    return Hybrid(first, second, switch_step, patience)
