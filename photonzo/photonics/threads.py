"""How many intra-op threads a chip call gets: chosen by timing, so more cores are never slower.

Torch's intra-op threads pay a fork/join per operation. A chip forward of a small model is
hundreds of tiny operations (per block, per TT core), and two threads can make it an order of
magnitude slower than one (digits-tt, Q = 21, B = 64: 25 ms on one thread, 305 ms on two, on
the 2-vCPU development VM), while a large model's GEMMs gain from them (mnist-tt 0.64×,
mnist-dense 0.57×, hjb-tt 0.59× of the one-thread time). No fixed size threshold holds on every
machine, so the policy measures: the first calls of each *shape* of call (settings and inputs,
in powers of two, and whether layer taps are read) alternate between one thread and the
policy's maximum, and once each has run ``trials`` times the faster is kept for that shape (and
measured again after ``recheck`` calls, as a shared machine's load changes).

The choice never changes results: a chip's outputs are bitwise identical at any thread count
(tested), so the timing-based choice keeps runs reproducible seed for seed.

Override: ``PHOTONZO_THREADS=N`` (or ``photonzo train|hjb --threads N``) fixes the count; the
maximum defaults to ``torch.get_num_threads()`` when the chip is built. The count is set for the
call only; the caller's torch setting is restored afterwards.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager

import torch

from ..validation import check_positive_int

ENVIRONMENT = "PHOTONZO_THREADS"


def _bucket(n: int) -> int:
    return max(n, 1).bit_length()  # powers of two: nearby sizes share one measurement


class ThreadPolicy:
    """Per call shape: one thread or ``maximum``, whichever measured faster (see the module docstring)."""

    def __init__(
        self, maximum: int | None = None, trials: int = 2, fixed: int | None = None, recheck: int = 1000
    ):
        env = os.environ.get(ENVIRONMENT)
        if fixed is None and env:
            try:
                fixed = int(env)
            except ValueError:
                raise ValueError(f"{ENVIRONMENT} must be a positive integer, got {env!r}") from None
        self.fixed = None if fixed is None else check_positive_int(ENVIRONMENT, fixed)
        self.maximum = check_positive_int("the maximum thread count", maximum or torch.get_num_threads())
        self.trials = check_positive_int("trials", trials)
        self.recheck = check_positive_int("recheck", recheck)  # calls before a shape is measured again
        self._calls: dict[tuple, int] = {}
        self._times: dict[tuple, dict[int, list[float]]] = {}
        self.chosen: dict[tuple, int] = {}

    def key(self, settings: int, inputs: int, taps: bool) -> tuple:
        """The shape of a call: settings and inputs in powers of two, and whether layer taps are read."""
        return _bucket(settings), _bucket(inputs), taps

    def threads_for(self, key: tuple) -> int:
        """The thread count for the next call of shape ``key``: the fixed count, the measured choice, or
        (while measuring) one thread or the maximum in turn."""
        if self.fixed is not None:
            return self.fixed
        if self.maximum == 1:
            return 1
        if key in self.chosen:
            self._calls[key] = self._calls.get(key, 0) + 1
            if self._calls[key] < self.recheck:  # a shared machine's load changes: measure again now and then
                return self.chosen[key]
            del self.chosen[key], self._times[key], self._calls[key]
        runs = self._times.setdefault(key, {1: [], self.maximum: []})
        return min(runs, key=lambda threads: len(runs[threads]))  # alternate, one thread first

    def record(self, key: tuple, threads: int, seconds: float) -> None:
        """Count a call of shape ``key`` on ``threads`` threads that took ``seconds`` (s) towards the
        choice."""
        runs = self._times.get(key)
        if runs is None or key in self.chosen or threads not in runs:
            return
        runs[threads].append(seconds)
        if all(len(times) >= self.trials for times in runs.values()):
            self.chosen[key] = min(runs, key=lambda threads: min(runs[threads]))

    @contextmanager
    def apply(self, key: tuple):
        """Run the block with this shape's thread count, timing it while the choice is open."""
        threads, before = self.threads_for(key), torch.get_num_threads()
        if threads != before:
            torch.set_num_threads(threads)
        t0 = time.perf_counter()
        try:
            yield threads
        finally:
            self.record(key, threads, time.perf_counter() - t0)
            if threads != before:
                torch.set_num_threads(before)

    def describe(self) -> dict:
        """The fixed count, the maximum and the choice made per shape."""
        return {"fixed": self.fixed, "maximum": self.maximum,
                "chosen": {"x".join(map(str, k)): v for k, v in self.chosen.items()}}  # fmt: skip
