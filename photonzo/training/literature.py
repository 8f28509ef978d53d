"""The literature's on-chip trainers, each an estimator and its paper's step rule on the probe design.

Each is a ``Method`` (``training/methods.py``): an ``Estimator`` whose probes ``evaluate`` runs
through the Oracle in batched calls, and the optimiser its paper steps with — not the configured
one, which only ``subspace`` uses. All of them perturb the whole parameter vector (phases and
biases) as published: no tensor-wise slices.

* ``flops`` — FLOPS (Gu et al., "FLOPS: Efficient On-Chip Learning for Optical Neural Networks
  Through Stochastic Zeroth-Order Optimization", DAC 2020): Q Gaussian forward differences
  ĝ = (1/Q) Σ (f(θ + σu) − f(θ))/σ · u, u ~ N(0, I), then plain gradient descent θ ← θ − lr ĝ.
  The reference code (L2ight's ``core/optimizer/flops.py``) defaults to lr 2, σ 0.1, Q 20.
* ``szo-scd`` — MixedTrain's sparse zeroth-order stochastic coordinate descent (Gu et al.,
  "Efficient On-Chip Learning for Optical Neural Networks Through Power-Aware Sparse Zeroth-Order
  Optimization", AAAI 2021): a random fraction α of the parameters is trainable for the whole run;
  each step a fraction s of those is swept in index order, each tried at +δ and kept if the loss
  fell, else set to −δ and kept unchecked (as the reference code, L2ight's
  ``core/optimizer/mixedtrain.py``, does): about 1.5 queries a coordinate, the paper's 52.88·T
  forwards for α = 0.15, s = 0.1 on 2,350 phases.
* ``stp`` — stochastic three points (Bergou, Gorbunov & Richtárik, "Stochastic Three Points Method
  for Unconstrained Smooth Minimization", SIAM J. Optim. 2020): θ ← the best of θ and θ ± μs; with
  q directions the best of 2q + 1 points (q = 1 is the paper's method). The measured loss never rises.
* ``zo-signsgd`` — ZO-signSGD (Liu, Chen, Chen & Hong, "signSGD via Zeroth-Order Oracle", ICLR 2019):
  θ ← θ − lr · sign(ĝ), ĝ forward differences along q directions uniform on the sphere.
* ``zo-adamm`` — ZO-AdaMM (Chen et al., "ZO-AdaMM: Zeroth-Order Adaptive Momentum Method for
  Black-Box Optimization", NeurIPS 2019): the same estimate into AMSGrad-style moments (``optim.adamm``).
* ``subspace`` — L2ight-style subspace fine-tuning (Gu et al., "L2ight: Enabling On-Chip Learning for
  Optical Neural Networks via Efficient in-situ Subspace Optimization", NeurIPS 2021): start from
  back-propagation weights deployed on the chip (``experiments/run.py`` deploys them) and train only
  the Σ attenuators and the biases in situ — by ZO here (RGE on that support, with the configured
  optimiser), where L2ight's last stage back-propagates light in situ. Every matrix's electronic gain
  is held by the chip (``Chip(gains=...)``, from the deployed ``Program``), outside the Oracle's
  parameter vector, so no trainer can change it: the gains stay at the deployment's values, and the
  Σ attenuators, one per singular value, are each matrix's trainable scale.
"""

from __future__ import annotations

import torch

from ..choices import TRAINERS  # the names, torch-free for the CLI
from ..photonics.layers import ParamSlice
from ..validation import check_choice, check_fraction, check_positive
from .estimators import DISTRIBUTIONS, RGE, CoordinateProbe, Estimate, Estimator, Probe
from .methods import Method, method
from .optim import Optimizer, Schedule, adamm, sgd

SUBSPACE_KINDS = ("attenuator", "bias")  # what subspace fine-tuning trains (the gains: see above)
ALPHA, S = 0.15, 0.1  # MixedTrain's sparsities (its Table: α / s = 0.15 / 0.1)


# ---- estimators --------------------------------------------------------------------------------


class FLOPS(RGE):
    """FLOPS (Gu et al., DAC 2020): ``q`` Gaussian forward differences with step σ = ``mu``."""

    def __init__(self, q: int = 20, mu: float = 0.1):
        super().__init__(q, "gaussian", "forward", mu)
        self.name = "flops"

    def describe(self):
        return {**super().describe(), "step_rule": "gradient descent"}


class ZOSignSGD(RGE):
    """ZO-signSGD's estimate (Liu et al., ICLR 2019): the sign of forward differences along ``q``
    directions uniform on the sphere (radius √P: E[d dᵀ] = I)."""

    def __init__(self, q: int = 10, mu: float = 0.025):
        super().__init__(q, "sphere", "forward", mu, sign=True)
        self.name = "zo-signsgd"

    def describe(self):
        return {**super().describe(), "step_rule": "sign descent"}


class ZOAdaMM(RGE):
    """ZO-AdaMM's estimate (Chen et al., NeurIPS 2019): forward differences along ``q`` directions
    uniform on the sphere; its optimiser is ``optim.adamm``."""

    def __init__(self, q: int = 10, mu: float = 0.025):
        super().__init__(q, "sphere", "forward", mu)
        self.name = "zo-adamm"

    def describe(self):
        return {**super().describe(), "step_rule": "adamm"}


class ThreePointProbe(Probe):
    """STP's candidates θ ± μ r_i (rows r_1..r_q, then −r_1..−r_q). ``combine`` returns −r of the best
    candidate, so that a plain step θ − μ · combine lands on it, or zero if none beats the centre."""

    def __init__(self, directions: torch.Tensor, mu: float):
        self.R, self.q, self.k = directions, directions.shape[0], 2 * directions.shape[0]
        self.scheme, self.mu = "forward", mu

    def rows(self, a, b):
        r = torch.arange(a, b, device=self.R.device)
        return self.R[r % self.q] * (1 - 2 * (r >= self.q)).to(self.R.dtype)[:, None]

    def combine(self, diffs, n_params):
        if diffs.ndim != 1:
            raise ValueError("STP takes a single-column loss")
        best = int(torch.argmin(diffs))
        if not diffs[best] < 0:  # no candidate is better than the centre: stay
            return torch.zeros(n_params, dtype=self.R.dtype, device=self.R.device)
        return -self.rows(best, best + 1)[0]


class STP(Estimator):
    """Stochastic three points (Bergou et al., SIAM J. Optim. 2020): the best of θ, θ ± μ s over ``q``
    directions s (``q`` = 1: the paper's three points). Its "gradient" is the move, −s* or zero; the
    step rule is ``plain_step(mu)``."""

    name = "stp"

    def __init__(self, q: int = 1, mu: float = 0.025, distribution: str = "rademacher"):
        self.q = check_positive("the number of STP directions q", q, integer=True)
        self.mu = check_positive("the STP step mu", mu)
        self.distribution = check_choice("direction distribution", distribution, DISTRIBUTIONS)

    def probes(self, n_params, step, generator, dtype):
        (probe,) = RGE(self.q, self.distribution, "forward", self.mu).probes(n_params, step, generator, dtype)
        return [ThreePointProbe(probe.R, self.mu)]

    def describe(self):
        return {
            "name": self.name,
            "q": self.q,
            "mu": self.mu,
            "distribution": self.distribution,
            "step_rule": "the best of the points",
        }


class SignCoordinateProbe(CoordinateProbe):
    """MixedTrain's rule on every listed coordinate from the same centre: −1 where +δ lowered the loss
    (θ − δ·(−1) = θ + δ), else +1 (θ − δ)."""

    def combine(self, diffs, n_params):
        moves = 1 - 2 * (diffs < 0).to(self.dtype)
        return super().combine(moves, n_params)


class SZOSCD(Estimator):
    """MixedTrain's SZO-SCD (Gu et al., AAAI 2021; see the module docstring).

    ``alpha``: fraction of the parameters that are trainable, round(α·P) of them (at least one),
    drawn once from ``mask_seed``; ``s``: fraction of those swept each step, round(s·|active|) (at
    least one) drawn without replacement; ``mu``: the coordinate step δ. ``sequential`` (the paper's
    rule): one query per trial, each compared with the loss after the previous coordinate's move —
    1 + k to 1 + 2k queries for k coordinates, one setting per Oracle call. Not ``sequential``: every
    coordinate tried at +δ from the same centre in one batched call (1 + k queries), each then moved
    by the same rule. Its "gradient" is the move in units of δ (±1 on the swept coordinates, 0
    elsewhere); the step rule is ``plain_step(mu)``.
    """

    name = "szo-scd"

    def __init__(
        self,
        alpha: float = ALPHA,
        s: float = S,
        mu: float = 0.02,
        sequential: bool = True,
        mask_seed: int = 0,
    ):
        self.alpha = check_fraction("the SZO-SCD active fraction alpha", alpha, open_bottom=True)
        self.s = check_fraction("the SZO-SCD coordinate fraction s", s, open_bottom=True)
        self.mu = check_positive("the SZO-SCD step mu", mu)
        self.sequential, self.mask_seed = bool(sequential), int(mask_seed)
        self._active: dict[int, torch.Tensor] = {}

    def active(self, n_params: int) -> torch.Tensor:
        """The trainable coordinates, sorted: the same for every step of a run."""
        if n_params not in self._active:
            g = torch.Generator().manual_seed(self.mask_seed)
            n = max(1, round(self.alpha * n_params))
            self._active[n_params] = torch.randperm(n_params, generator=g)[:n].sort().values
        return self._active[n_params]

    def coordinates(self, n_params: int, generator: torch.Generator) -> torch.Tensor:
        """This step's coordinates (sorted: swept in index order, as the reference code does)."""
        active = self.active(n_params).to(generator.device)
        k = max(1, round(self.s * len(active)))
        pick = torch.randperm(len(active), generator=generator, device=generator.device)[:k]
        return active[pick].sort().values

    def probes(self, n_params, step, generator, dtype):
        return [
            SignCoordinateProbe(self.coordinates(n_params, generator), n_params, "forward", self.mu, dtype)
        ]

    def estimate(self, oracle, params, batch, step, generator, max_settings=256, loss_fn=None) -> Estimate:
        if not self.sequential:
            return super().estimate(oracle, params, batch, step, generator, max_settings, loss_fn)
        if loss_fn is None:
            loss_fn = lambda settings: oracle.loss(settings, batch)
        measure = lambda x: float(loss_fn(x[None]).reshape(-1)[0])
        before, x = oracle.queries, params.clone()
        moves = torch.zeros_like(params)
        centre = current = measure(x)
        for i in self.coordinates(params.shape[0], generator).tolist():
            x[i] = params[i] + self.mu
            trial = measure(x)
            if trial < current:
                current, moves[i] = trial, -1.0
                continue
            x[i] = params[i] - self.mu  # kept without a check, as the reference code does
            current, moves[i] = measure(x), 1.0
        return Estimate(moves, centre, oracle.queries - before, self.name)

    def describe(self):
        return {
            "name": self.name,
            "alpha": self.alpha,
            "s": self.s,
            "mu": self.mu,
            "sequential": self.sequential,
            "mask_seed": self.mask_seed,
            "step_rule": "coordinate accept/reject",
        }


# ---- the trainers the CLI offers ----------------------------------------------------------------


def subspace_slices(oracle) -> list[ParamSlice]:
    """The Σ attenuators and biases of ``oracle``'s layout: what subspace fine-tuning trains."""
    chosen = [s for s in oracle.param_slices("group") if s.kind in SUBSPACE_KINDS]
    if not chosen:
        raise ValueError("subspace fine-tuning trains Σ attenuators and biases; this model has neither")
    return chosen


def plain_step(mu: float, mask=None) -> Optimizer:
    """θ ← θ − μ · move: SZO-SCD's and STP's step onto the point their estimate chose (constant)."""
    return sgd(mu, None, momentum=0.0, mask=mask)


def build_trainer_estimator(
    name: str,
    oracle,
    *,
    q: int = 10,
    mu: float = 0.025,
    distribution: str = "rademacher",
    scheme: str = "central",
    tensorwise: bool = False,
    level: str = "core",
    active_fraction: float | None = None,
    coordinate_fraction: float | None = None,
    seed: int = 0,
) -> Estimator:
    """The estimator of one of ``TRAINERS`` for ``oracle``'s layout. ``q``: FLOPS' samples Q, STP's and
    the RGE-based ones' directions; ``mu``: the perturbation σ / step δ; ``distribution``: STP's and
    the subspace's directions; ``scheme``, ``tensorwise``, ``level``: the subspace's RGE;
    ``active_fraction``, ``coordinate_fraction``: SZO-SCD's α and s (None: MixedTrain's 0.15, 0.1),
    its active set drawn from ``seed``."""
    check_choice("estimator", name, TRAINERS)
    simple = {"flops": FLOPS, "zo-signsgd": ZOSignSGD, "zo-adamm": ZOAdaMM}
    if name in simple:
        return simple[name](q, mu)
    if name == "stp":
        return STP(q, mu, distribution)
    if name == "szo-scd":
        alpha = ALPHA if active_fraction is None else active_fraction
        return SZOSCD(alpha, S if coordinate_fraction is None else coordinate_fraction, mu, mask_seed=seed)
    slices = oracle.param_slices(level) if tensorwise else None
    rge = RGE(
        q, distribution, scheme, mu, slices=slices, tensorwise=tensorwise, support=subspace_slices(oracle)
    )
    rge.name = "subspace-" + rge.name
    return rge


def build_trainer(
    name: str,
    oracle,
    optimizer: Optimizer,
    *,
    lr: float,
    schedule: Schedule | None = None,
    mask: torch.Tensor | None = None,
    **options,
) -> Method:
    """One of ``TRAINERS`` as a ``Method``: its estimator (``build_trainer_estimator(name, oracle,
    **options)``) with its paper's step rule — plain gradient descent (FLOPS) or sign descent
    (ZO-signSGD) at ``lr`` on ``schedule``, ``optim.adamm`` (ZO-AdaMM), a plain step of δ = ``mu``
    onto the chosen point (SZO-SCD, STP) — or, for ``subspace``, the configured ``optimizer``.
    ``mask``: the optical phases, which every step wraps."""
    estimator = build_trainer_estimator(name, oracle, **options)
    if name in ("szo-scd", "stp"):
        rule = plain_step(estimator.mu, mask)
    elif name in ("flops", "zo-signsgd"):
        rule = sgd(lr, schedule, momentum=0.0, mask=mask)
    elif name == "zo-adamm":
        rule = adamm(lr, schedule, mask=mask)
    else:
        rule = optimizer
    return method(estimator, rule)


__all__ = [
    "FLOPS",
    "STP",
    "SZOSCD",
    "TRAINERS",
    "ZOAdaMM",
    "ZOSignSGD",
    "build_trainer",
    "build_trainer_estimator",
    "subspace_slices",
]
