"""ZOTrainer: one run's glue around the functional core — trains a chip's phases through its Oracle.

The trainer receives an ``Oracle`` (program phases, read detector outputs or a loss), a method (an
estimator with its optimiser, or a hybrid of two: ``training/methods.py``) and an objective
(classification by default, ``training/objectives.py``). It never sees a weight, a gradient of the
network or the chip's errors — the Oracle is the only door, as in ``DESIGN.md``. The step is
``training/step.py``, the loop ``training/loop.py``, the files ``training/recorder.py``: a run
directory holds ``metrics.jsonl`` (one line per step; evaluation steps add validation loss and
accuracy and the evaluation queries) and ``checkpoint.npz`` (``training/checkpoint.py``).
"""

from __future__ import annotations

import os

import torch

from .checkpoint import layout_fingerprint
from .loop import LoopConfig, Streams, evaluate, evaluate_start, selection_of, train
from .recorder import Recorder
from .step import TrainState, initial_state


class ZOTrainer:
    """Zeroth-order training of ``method`` on ``objective`` over ``oracle``, recorded in ``run_dir``."""

    def __init__(
        self,
        oracle,
        method,
        objective,
        run_dir: str | os.PathLike | None,
        loop: LoopConfig,
        *,
        seed: int = 0,
        params: torch.Tensor | None = None,
        progress: bool = True,
    ):
        self.oracle, self.method, self.objective, self.loop = oracle, method, objective, loop
        start = oracle.initial_params(seed) if params is None else params
        # the trainer's state lives on the CPU in float64; the chip moves phases to its device
        start = torch.as_tensor(start).detach().to("cpu", torch.float64).clone()
        if start.shape != (oracle.n_params,):
            raise ValueError(
                f"initial parameters must have shape ({oracle.n_params},), got {tuple(start.shape)}"
            )
        self.state: TrainState = initial_state(method, start)
        self.streams = Streams.from_seed(seed)
        self.recorder = Recorder(run_dir, fingerprint=layout_fingerprint(oracle), progress=progress)

    def __getattr__(self, name):  # the run's counters and kept parameters, read off its state
        if name in ("params", "step", "train_queries", "eval_queries", "wall"):
            return getattr(self.__dict__["state"], name)
        raise AttributeError(name)

    @property
    def history(self) -> list[dict]:
        """Every step's record so far (what ``metrics.jsonl`` holds)."""
        return self.recorder.history

    @property
    def best(self) -> dict | None:
        """The record of the best evaluation so far (the start included), or None."""
        return None if self.state.kept is None else self.state.kept.record

    @property
    def best_params(self) -> torch.Tensor | None:
        """The kept parameters ``[P]`` (best on validation, the start included), or None."""
        return None if self.state.kept is None else self.state.kept.params

    def evaluate(self, params: torch.Tensor | None = None, data: tuple | None = None) -> dict:
        """The objective's evaluation of ``params`` (default: current) on ``data`` (default: its
        validation set), read from the chip; the queries count as evaluation queries."""
        self.state, result = evaluate(self.oracle, self.objective, self.state, params, data)
        return result

    def evaluate_kept_and_final(self, data: tuple | None = None) -> tuple[dict, dict]:
        """(evaluation of the kept — best-validated — parameters, of the current ones) on ``data``;
        one evaluation when they are the same (or when a checkpoint from before best-keeping has none)."""
        final = self.evaluate(data=data)
        if self.best is None or self.best["step"] == self.step:
            return final, final
        return self.evaluate(self.best_params, data=data), final

    def load_checkpoint(self) -> None:
        """Restore the run's state from its checkpoint (``metrics.jsonl`` cut back to it)."""
        self.state = self.recorder.resume(self.method, self.streams, selection_of(self.objective))
        # a simulated chip draws its per-query noise by query index: it goes on where the run stood
        # (every query a run makes is counted as a training or an evaluation query)
        continue_from = getattr(self.oracle, "continue_from", None)
        if continue_from is not None:
            continue_from(self.state.train_queries + self.state.eval_queries)

    def run(self, resume: bool = False) -> list[dict]:
        """Train to ``loop.steps`` (or the budget); returns the metrics history (also in metrics.jsonl)."""
        if resume:
            self.load_checkpoint()
        elif self.recorder.holds_a_run():
            raise FileExistsError(
                f"{self.recorder.run_dir} already holds a run; resume it (--resume) or choose another "
                "run directory"
            )
        else:
            self.state = evaluate_start(self.oracle, self.objective, self.state)
            self.recorder.checkpoint(self.state, self.method, self.streams)  # a run killed early can resume
        self.state = train(
            self.oracle, self.objective, self.method, self.state, self.streams, self.loop, self.recorder
        )
        return self.history
