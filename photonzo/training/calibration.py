"""In-situ calibration: estimate and compensate a chip's static errors through its Oracle alone.

A fabricated chip does not realise the matrices its phases encode: each phase shifter carries a
static bias and a gain error, couplers are not 50:50, heaters leak into their neighbours. A
calibration learns a *phase offset* δ (one entry per phase shifter) so that the chip programmed
with ``φ + δ`` reproduces what the design computes with ``φ``.

What it may use is what a lab has: the chip's ``LayerTapOracle`` (program phases, read every
layer's detectors) and *known targets*: for a few probe settings φ_k (the phases one wants to
deploy, and optionally random ones) and probe inputs x, the layer outputs the design promises,
``targets[k][l] = design_l(φ_k, x)`` from the digital model of the circuit (an ideal ``Chip``
of the same network). It never sees the chip's errors.

The objective is the mean over probe settings of Σ_l ‖tap_l(φ_k + δ, x) − target_kl‖² /
‖target_kl‖²: every layer's detectors are read, so each layer gets its own error signal
instead of only the network's last output. δ is tuned by ZO (tensor-wise RGE over the phase
slices, Adam), with all candidate offsets × probe settings in few batched Oracle calls; the
offset with the lowest measured error is kept.

Two uses:

* **settings = the deployed phases only**: the offset compensates everything for that
  program, coupler errors included (a coupler error is not a phase error, but the phases
  around it can absorb most of its effect on a given matrix): "tune each mesh towards its
  known target".
* **several random settings**: only a setting-independent error can be compensated by one
  offset, so δ then estimates the static bias (−β/γ, up to the DAC's resolution) and is a
  calibration reusable for any later program.

The electronic parameters (biases) are left alone: they are set digitally and exactly.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..io import atomic_file, atomic_write_json
from ..validation import check_non_negative_int, check_positive, check_positive_int, check_seed
from .estimators import RGE
from .loop import LoopConfig, Streams, train
from .methods import Method, method
from .optim import adam, run_schedule
from .recorder import Recorder
from .selection import Selection
from .step import initial_state


@dataclass(frozen=True)
class CalibrationConfig:
    """How hard to calibrate (queries per step: K·(2·q·slices + 1) for K probe settings)."""

    steps: int = 200
    q: int = 4
    mu: float = 0.025
    lr: float = 0.005
    level: str = "core"  # the slices perturbed separately (tensor-wise RGE)
    probe_inputs: int = 64
    random_settings: int = 0  # random probe settings besides the given ones
    seed: int = 0

    def __post_init__(self):
        for name in ("steps", "q", "probe_inputs"):
            check_positive_int(f"calibration {name}", getattr(self, name))
        check_non_negative_int("calibration random_settings", self.random_settings)
        for name in ("mu", "lr"):
            check_positive(f"calibration {name}", getattr(self, name))
        check_seed("calibration seed", self.seed)


@dataclass
class Calibration:
    """A learned phase offset (add it to any commanded setting) and how it was found."""

    offset: torch.Tensor  # [P]; zero on electronic parameters
    loss_before: float
    loss_after: float
    queries: int
    wall_s: float
    history: list[dict] = field(default_factory=list)

    def apply(self, params: torch.Tensor) -> torch.Tensor:
        """The setting to program so that the chip computes what ``params`` promise."""
        return params + self.offset.to(params.dtype)

    def summary(self) -> dict:
        """The calibration's record: relative layer-output error before and after, queries, wall time (s),
        steps and the offset's RMS (rad, wrapped to [−π, π))."""
        return {
            "loss_before": self.loss_before,
            "loss_after": self.loss_after,
            "queries": self.queries,
            "wall_s": round(self.wall_s, 3),
            "steps": len(self.history),
            "offset_rms": float(wrap_signed(self.offset).pow(2).mean().sqrt()),
        }

    def save(self, directory: str | Path) -> None:
        """``calibration.npz`` (the offset, no pickle) and ``calibration.json`` (summary + history)."""
        directory = Path(directory)
        with atomic_file(directory / "calibration.npz", "wb") as f:
            np.savez(f, offset=self.offset.detach().cpu().numpy())
        atomic_write_json(directory / "calibration.json", {**self.summary(), "history": self.history})


def wrap_signed(phases: torch.Tensor) -> torch.Tensor:
    """Phases into [−π, π): a phase offset and the same offset ± 2π act alike."""
    return torch.remainder(phases + math.pi, 2 * math.pi) - math.pi


def design_targets(design, settings: torch.Tensor, x: torch.Tensor) -> list[torch.Tensor]:
    """What the design promises: every layer's output ``[K, B, out_l]`` of the ideal model."""
    return [t.to(torch.float64) for t in design.layer_outputs(settings, x)]


def calibration_loss(
    oracle, offsets: torch.Tensor, settings: torch.Tensor, x: torch.Tensor, targets: list[torch.Tensor]
) -> torch.Tensor:
    """Relative layer-output error ``[Q]`` of Q candidate offsets, each averaged over the K settings.

    One batched Oracle call evaluates all Q·K programs (Q·K queries).
    """
    q, k = offsets.shape[0], settings.shape[0]
    programs = (offsets[:, None, :] + settings[None].to(offsets.dtype)).reshape(q * k, -1)
    taps = oracle.layer_outputs(programs, x)
    loss = torch.zeros(q, k, dtype=torch.float64)
    for tap, target in zip(taps, targets):
        err = (tap.to(torch.float64).reshape(q, k, *tap.shape[1:]) - target[None]).pow(2).flatten(2).sum(2)
        loss += err / target.pow(2).flatten(1).sum(1).clamp_min(1e-12)[None]
    return loss.mean(1)


class CalibrationObjective:
    """The calibration as a training objective: no data to sample, the relative layer-output error of
    candidate offsets as the loss, and the same error of one offset as its evaluation. The error is
    what the calibration measures at every step, so every step's centre loss competes for the kept
    offset too (``Selection.training_loss``)."""

    selection = Selection("val_loss", "min", training_loss=True)

    def __init__(self, oracle, settings: torch.Tensor, x: torch.Tensor, targets: list[torch.Tensor]):
        self.loss = lambda offsets: calibration_loss(oracle, offsets, settings, x, targets)

    def sample(self, generator, batch_size):
        return None

    def loss_fn(self, oracle, batch):
        return self.loss

    def evaluate(self, oracle, params: torch.Tensor, data=None) -> dict:
        return {"val_loss": float(self.loss(params[None])[0])}


def _probe_settings(oracle, settings, config: CalibrationConfig) -> torch.Tensor:
    """The probe programs ``[K, P]``: the given ones and ``config.random_settings`` random ones."""
    n = oracle.n_params
    settings = torch.as_tensor(settings)
    settings = settings[None] if settings.ndim == 1 else settings
    if settings.ndim != 2 or settings.shape[1] != n or settings.shape[0] < 1:
        raise ValueError(f"probe settings must have shape [K, {n}] (or [{n}]), got {tuple(settings.shape)}")
    settings = settings.to(settings.dtype if settings.is_floating_point() else torch.float64)
    if config.random_settings:
        seeds = [config.seed * 1000 + i for i in range(config.random_settings)]
        settings = torch.cat(
            [settings, torch.stack([oracle.initial_params(s) for s in seeds]).to(settings.dtype)]
        )
    return settings


def calibration_method(oracle, config: CalibrationConfig) -> Method:
    """Tensor-wise Rademacher RGE over the phase slices with Adam on a cosine schedule."""
    phases = [s for s in oracle.param_slices(config.level) if s.kind != "bias"]
    estimator = RGE(
        config.q, "rademacher", "central", config.mu, slices=phases, tensorwise=True, support=phases
    )
    # offsets stay unwrapped (small, signed): what was learned reads directly as a phase error
    unwrapped = torch.zeros(oracle.n_params, dtype=torch.bool)
    return method(estimator, adam(config.lr, run_schedule("cosine", config.steps), mask=unwrapped))


def calibrate(
    oracle,
    design,
    settings: torch.Tensor,
    x: torch.Tensor,
    config: CalibrationConfig | None = None,
    progress: bool = False,
) -> Calibration:
    """Learn a phase offset for ``oracle``'s chip (see the module docstring).

    ``design``: anything with ``layer_outputs(settings, x)`` giving the intended layer outputs
    (the ideal ``Chip`` of the same network); it is the digital model, not the chip. ``settings``
    ``[K, P]`` (or ``[P]``): the probe programs, e.g. the phases to deploy; ``x`` ``[B, in]``: the
    probe inputs (the first ``config.probe_inputs`` rows are used).
    """
    config = config or CalibrationConfig()
    if not hasattr(oracle, "layer_outputs"):
        raise TypeError(
            "calibration reads every layer's detectors: it needs a LayerTapOracle (Chip.oracle())"
        )
    settings = _probe_settings(oracle, settings, config)
    x = torch.as_tensor(x)[: config.probe_inputs]
    objective = CalibrationObjective(oracle, settings, x, design_targets(design, settings, x))
    chosen = calibration_method(oracle, config)
    streams = Streams(torch.Generator(), torch.Generator().manual_seed(config.seed))
    # one evaluation, after the last step: the final offset competes with the best seen, because near
    # the optimum ZO steps only wander (Adam scales the estimates' O(μ²) bias up to full steps), and
    # an already calibrated chip must come out no worse
    loop = LoopConfig(steps=config.steps, eval_every=config.steps)
    before, t0 = oracle.queries, time.perf_counter()
    start = initial_state(chosen, torch.zeros(oracle.n_params, dtype=settings.dtype))
    recorder = Recorder(None, progress=progress, desc="calibration")
    state = train(oracle, objective, chosen, start, streams, loop, recorder)
    history = recorder.history
    return Calibration(
        state.kept.params,
        history[0]["loss"],
        state.kept.value,
        oracle.queries - before,
        time.perf_counter() - t0,
        history,
    )


def load_offset(directory: str | Path) -> torch.Tensor:
    """The offset a ``Calibration.save`` wrote (plain arrays only)."""
    with np.load(Path(directory) / "calibration.npz", allow_pickle=False) as f:
        return torch.as_tensor(f["offset"])


def config_from_dict(data: dict) -> CalibrationConfig:
    """A ``CalibrationConfig`` from a mapping (a sweep's ``[calibration]`` table); unknown keys raise
    ``ValueError``."""
    known = set(asdict(CalibrationConfig()))
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"unknown calibration setting(s) {unknown}; accepted: {', '.join(sorted(known))}")
    return CalibrationConfig(**data)


__all__ = [
    "Calibration",
    "CalibrationConfig",
    "calibrate",
    "calibration_loss",
    "config_from_dict",
    "design_targets",
    "load_offset",
    "wrap_signed",
]
