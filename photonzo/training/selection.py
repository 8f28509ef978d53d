"""Keep-best: the one rule every trainer uses to keep its best measured parameters.

A run keeps what it measured best — on validation for a classifier or a PINN, on the (noise-free)
objective itself for a calibration, on validation accuracy per epoch for digital target projection —
so that further training never hands back something worse than what it already had (the start
included, when the start is measured). Ties keep the earlier.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import torch


class Selection(NamedTuple):
    """Which measurement picks the kept parameters: ``key`` of an evaluation, ``"max"`` or ``"min"``;
    ``training_loss``: each step's centre loss competes too (when it measures the same thing)."""

    key: str
    sense: str = "min"
    training_loss: bool = False


@dataclass(frozen=True)
class Kept:
    """The best so far: its value, the record of its measurement, and its parameters."""

    value: float
    record: dict
    params: Any


def better(value: float, than: float, sense: str) -> bool:
    """Whether ``value`` beats ``than`` under ``sense`` (``"max"`` or ``"min"``); a tie does not."""
    return value > than if sense == "max" else value < than


def _copy(params):
    if torch.is_tensor(params):
        return params.detach().clone()
    return params.clone() if hasattr(params, "clone") else params


def keep_best(kept: Kept | None, value: float, record: dict, params, sense: str = "min") -> Kept | None:
    """``kept``, or a new ``Kept`` of (a copy of) ``params`` if ``value`` beats it."""
    if kept is not None and not better(value, kept.value, sense):
        return kept
    return Kept(float(value), dict(record), _copy(params))
