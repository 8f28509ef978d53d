"""Zeroth-order gradient estimators: gradients of the chip's loss from forward queries only.

Every estimator turns into a list of *probes*, each a set of perturbation directions over
part of the parameter vector with one difference scheme:

    forward   ĝ += w · (f(θ + μ d) − f(θ)) / μ · d
    central   ĝ += w · (f(θ + μ d) − f(θ − μ d)) / (2μ) · d      (antithetic pairs)

``evaluate`` stacks the centre θ and every perturbed setting of every probe into as few
``Oracle.loss`` calls as memory allows (``max_settings`` settings per call) and reports the
queries that cost. Estimators:

* ``RGE``: randomised directions (``gaussian`` or ``rademacher`` with E[d dᵀ] = I, or
  ``sphere``: uniform on the sphere of radius √n), q per step, weight 1/q; optional sign
  (sign-RGE). With ``tensorwise`` slices, each named slice (TT core, layer, mesh…) gets its
  own q directions supported on it alone, so each estimate's variance grows with the slice's
  size, not the whole model's.
* ``CGE``: coordinate-wise differences, exact on linear functions, on all coordinates of its
  support or a random subset per step (block-coordinate descent: the others get zero).
* ``PerGroup``: several estimators on disjoint parts (e.g. CGE on attenuators and biases,
  RGE on meshes), evaluated in the same batched calls.
* the hybrid schedule — cheap sign-RGE until a set step or until the validation loss stalls, then
  CGE for accurate convergence — is a sequence of two methods, ``training/methods.py``.
* the literature's on-chip trainers (FLOPS, SZO-SCD, STP, ZO-signSGD, ZO-AdaMM, subspace fine-tuning)
  build on these probes: ``training/literature.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..choices import DISTRIBUTIONS, ESTIMATORS, SCHEMES  # the names, torch-free for the CLI
from ..photonics.layers import ParamSlice
from ..validation import check_choice, check_fraction, check_positive


@dataclass
class Estimate:
    """A gradient estimate, the loss at the centre on the same batch, and what it cost."""

    grad: torch.Tensor  # [P]
    loss: float  # f(θ) on this batch (one query, also the forward-difference baseline)
    queries: int
    method: str
    extra: dict = field(default_factory=dict)  # further per-step metrics (e.g. layer-local losses)


# ---- probes ---------------------------------------------------------------------------------


class Probe:
    """Perturbation directions (rows of a virtual [k, P] matrix) with one scheme and step μ.

    ``combine`` turns the k differences into a gradient. With a loss of several columns (one
    per layer, say), ``diffs`` is [k, K] and each probe takes the column(s) it estimates.
    """

    k: int
    scheme: str
    mu: float

    def rows(self, a: int, b: int) -> torch.Tensor:  # unit perturbations [b − a, P]
        """Rows ``a..b−1`` of the probe's perturbations, ``[b − a, P]`` in units of ``mu``: setting i is θ +
        μ·row i (and θ − μ·row i for a central scheme)."""
        raise NotImplementedError

    def combine(self, diffs: torch.Tensor, n_params: int) -> torch.Tensor:  # [k] or [k, K] → [P]
        """The probe's gradient estimate ``[P]`` from its ``k`` finite differences ``diffs[k]`` (or ``[k, K]``
        for a loss of K columns), each already divided by μ (forward) or 2μ (central)."""
        raise NotImplementedError


class DirectionProbe(Probe):
    """q random directions per segment: row (j, i) is direction i restricted to segment j.

    ``segment[p]`` is the segment of coordinate p (−1: not perturbed). One draw ``R[q, P]``
    serves every segment, so rows are built on demand and never all held at once.

    ``joint``: every segment is perturbed at once by the same q rows (k = q); this is sound
    only when segment j's column of the loss is what segment j is estimated from (layer-local
    losses), the other segments' perturbations then averaging out as zero-mean noise.
    ``columns[j]``: the loss column segment j is estimated from (multi-column losses).
    """

    def __init__(
        self,
        directions: torch.Tensor,
        segment: torch.Tensor,
        n_segments: int,
        scheme: str,
        mu: float,
        sign: bool = False,
        joint: bool = False,
        columns: torch.Tensor | None = None,
        scale: float = 1.0,
    ):
        self.R, self.segment, self.n_segments = directions, segment, n_segments
        self.scale = scale  # 1 / E[R²]: sparse directions perturb a fraction of the coordinates
        self.q = directions.shape[0]
        self.joint, self.columns = joint, columns
        self.k = self.q if joint else n_segments * self.q
        self.scheme, self.mu, self.sign = scheme, mu, sign

    def rows(self, a, b):
        if self.joint:
            return self.R[a:b] * (self.segment >= 0)
        r = torch.arange(a, b, device=self.R.device)
        return self.R[r % self.q] * (self.segment[None, :] == (r // self.q)[:, None])

    def combine(self, diffs, n_params):
        diffs = diffs.to(self.R.dtype)
        columns = self.columns
        if diffs.ndim == 1:
            diffs, columns = diffs[:, None], torch.zeros(self.n_segments, dtype=torch.long)
        elif columns is None:
            raise ValueError("a loss with several columns needs the column each segment is estimated from")
        columns = columns.to(diffs.device)
        if self.joint:  # d[j, i] = diff of row i in segment j's column
            d = diffs[:, columns].T
        else:
            d = diffs.reshape(self.n_segments, self.q, -1)[torch.arange(self.n_segments), :, columns]
        on = self.segment >= 0
        grad = torch.zeros(n_params, dtype=self.R.dtype, device=self.R.device)
        # ĝ[p] = (1/q) Σ_i diff[seg(p), i] · R[i, p]
        grad[on] = (d[self.segment[on]] * self.R[:, on].T).sum(1) / self.q
        if self.scale != 1:  # only then: dense directions keep their bit-exact histories
            grad *= self.scale
        return torch.sign(grad) if self.sign else grad


class CoordinateProbe(Probe):
    """Unit vectors e_i for the listed coordinates."""

    def __init__(self, coords: torch.Tensor, n_params: int, scheme: str, mu: float, dtype=torch.float64):
        self.coords, self.n_params, self.k = coords, n_params, len(coords)
        self.scheme, self.mu, self.dtype = scheme, mu, dtype

    def rows(self, a, b):
        out = torch.zeros(b - a, self.n_params, dtype=self.dtype, device=self.coords.device)
        out[torch.arange(b - a), self.coords[a:b]] = 1.0
        return out

    def combine(self, diffs, n_params):
        if diffs.ndim != 1:
            raise ValueError("coordinate probes take a single-column loss")
        return torch.zeros(n_params, dtype=self.dtype, device=self.coords.device).index_add_(
            0, self.coords, diffs.to(self.dtype)
        )


def _call_size(n_params: int, max_settings: int, max_elements: int) -> int:
    """Settings per ``Oracle.loss`` call of ``evaluate`` (its last call may have fewer)."""
    return max(1, min(max_settings, max_elements // max(n_params, 1)))


def settings_per_call(estimator, n_params: int, max_settings: int = 256, max_elements: int = 2**24) -> int:
    """The most settings one Oracle call of ``estimator``'s step holds (``evaluate`` fills each call
    to its size): how many workers can share a call (``photonics/parallel.py``)."""
    if getattr(estimator, "sequential", False):  # each query depends on the last (training/literature.py)
        return 1
    return min(estimator.queries_per_step(n_params), _call_size(n_params, max_settings, max_elements))


def evaluate(
    oracle,
    params: torch.Tensor,
    batch,
    probes: list[Probe],
    max_settings: int = 256,
    max_elements: int = 2**24,
    loss_fn=None,
) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Evaluate all probes around ``params`` through the Oracle in few batched calls.

    ``loss_fn(settings[Q, P])`` → ``[Q]`` or ``[Q, K]`` (default: ``oracle.loss`` on ``batch``).
    Returns (gradient [P], centre loss [] or [K], queries used).
    """
    if loss_fn is None:
        loss_fn = lambda settings: oracle.loss(settings, batch)
    n = params.shape[0]
    chunk = _call_size(n, max_settings, max_elements)
    before = oracle.queries
    results = []  # (target, probe index, a, losses)
    pending, spans, filled = [params[None]], [("centre", None, 0, 1)], 1

    def flush():
        nonlocal pending, spans, filled
        losses = loss_fn(torch.cat(pending)).to(torch.float64).cpu()
        at = 0
        for target, i, a, b in spans:
            results.append((target, i, a, losses[at : at + b - a]))
            at += b - a
        pending, spans, filled = [], [], 0

    for i, p in enumerate(probes):
        for s in ("+", "-") if p.scheme == "central" else ("+",):
            a = 0
            while a < p.k:  # fill each call to exactly ``chunk`` settings
                if filled == chunk:
                    flush()
                b = min(p.k, a + chunk - filled)
                rows = p.rows(a, b).to(params.dtype) * p.mu
                pending.append(params[None] + rows if s == "+" else params[None] - rows)
                spans.append((s, i, a, b))
                filled += b - a
                a = b
    if pending:
        flush()
    f0 = results[0][3][0]
    plus = [torch.empty((p.k,) + f0.shape, dtype=torch.float64) for p in probes]
    minus = [torch.empty((p.k,) + f0.shape, dtype=torch.float64) for p in probes]
    for target, i, a, part in results[1:]:
        (plus if target == "+" else minus)[i][a : a + len(part)] = part
    grad = torch.zeros(n, dtype=torch.float64, device=params.device)
    for p, fp, fm in zip(probes, plus, minus):
        diff = (fp - fm) / (2 * p.mu) if p.scheme == "central" else (fp - f0) / p.mu
        grad += p.combine(diff.to(params.device), n).to(torch.float64)
    return grad.to(params.dtype), f0, oracle.queries - before


# ---- estimators -----------------------------------------------------------------------------


def _support(slices: list[ParamSlice] | None, n_params: int) -> list[ParamSlice]:
    return [ParamSlice("all", 0, n_params, "layer")] if slices is None else list(slices)


class Estimator:
    """Base: ``estimate(oracle, params, batch, step, generator)`` → ``Estimate``."""

    name = "estimator"

    def probes(self, n_params: int, step: int, generator: torch.Generator, dtype) -> list[Probe]:
        """This step's probes for ``n_params`` parameters, their random directions drawn from ``generator``
        (so a checkpoint can restore them), in ``dtype``."""
        raise NotImplementedError

    def estimate(
        self,
        oracle,
        params,
        batch,
        step: int,
        generator: torch.Generator,
        max_settings: int = 256,
        loss_fn=None,
    ) -> Estimate:
        """``loss_fn(settings[Q, P]) → [Q]`` replaces ``oracle.loss`` on ``batch`` when given."""
        probes = self.probes(params.shape[0], step, generator, params.dtype)
        grad, loss, queries = evaluate(oracle, params, batch, probes, max_settings, loss_fn=loss_fn)
        return Estimate(grad, float(loss), queries, self.name)

    def queries_per_step(self, n_params: int, step: int = 0) -> int:
        """Queries of one step on ``n_params`` parameters: the centre and every probe setting (twice each for
        a central scheme)."""
        return 1 + sum(
            p.k * (2 if p.scheme == "central" else 1)
            for p in self.probes(n_params, step, torch.Generator().manual_seed(0), torch.float64)
        )

    def describe(self) -> dict:
        """A JSON-able description of the estimator's settings, for ``summary.json``."""
        return {"name": self.name}


class RGE(Estimator):
    """Randomised gradient estimation; ``slices`` given → tensor-wise (one estimate per slice).

    ``density`` < 1: sparse directions — each direction perturbs every coordinate with probability
    ``density`` (the others stay), and the estimate is scaled by 1/``density`` so that it stays
    unbiased (E[u uᵀ] = density·I). Its variance is that of dense directions (‖g‖²/density + (P − 1)‖g‖²
    against P‖g‖² per direction), but the perturbation's norm falls from μ√P to μ√(density·P): the
    central difference's smoothing bias (∝ that norm²) shrinks while μ itself stays at least one
    phase-DAC step, below which the chip rounds a perturbation away.
    """

    name = "rge"

    def __init__(
        self,
        q: int = 10,
        distribution: str = "rademacher",
        scheme: str = "central",
        mu: float = 0.025,
        sign: bool = False,
        slices: list[ParamSlice] | None = None,
        tensorwise: bool = False,
        support: list[ParamSlice] | None = None,
        density: float = 1.0,
    ):
        self.q = check_positive("the number of RGE directions q", q, integer=True)
        self.density = check_fraction("the RGE direction density", density, open_bottom=True)
        if self.density < 1 and distribution == "sphere":
            raise ValueError(
                f"sparse directions (density {density}) are Rademacher or Gaussian ones; the sphere "
                "distribution fixes every direction's norm"
            )
        self.distribution = check_choice("direction distribution", distribution, DISTRIBUTIONS)
        self.scheme = check_choice("difference scheme", scheme, SCHEMES)
        self.mu = check_positive("the perturbation step mu", mu)
        self.sign, self.tensorwise = bool(sign), bool(tensorwise)
        if self.tensorwise and not slices:
            raise ValueError("tensor-wise RGE needs the named slices to perturb separately")
        self.slices, self.support = slices, support
        self.name = ("sign-" if sign else "") + "rge" + ("-tensorwise" if tensorwise else "")

    def probes(self, n_params, step, generator, dtype):
        device = generator.device
        segment = torch.full((n_params,), -1 if self.tensorwise else 0, dtype=torch.long, device=device)
        if self.tensorwise:
            for j, s in enumerate(self.slices):
                segment[s.slice] = j
        if self.support is not None:  # perturb only the support (its pieces of each slice)
            inside = torch.zeros(n_params, dtype=torch.bool, device=device)
            for s in self.support:
                inside[s.slice] = True
            segment[~inside] = -1
        used, compact = torch.unique(segment, return_inverse=True)
        segment = compact - 1 if used[0] < 0 else compact  # segments numbered 0..S−1, −1 stays −1
        n_segments = int((used >= 0).sum())
        q = self.q
        if self.distribution == "rademacher":
            R = torch.randint(0, 2, (q, n_params), generator=generator, device=device).to(dtype) * 2 - 1
        else:
            R = torch.randn((q, n_params), generator=generator, device=device, dtype=dtype)
        if self.distribution == "sphere":  # each segment's piece on the sphere of radius √n_seg
            on = segment >= 0
            sq = torch.zeros(n_segments, q, dtype=dtype, device=device).index_add_(
                0, segment[on], R[:, on].T ** 2
            )
            size = torch.bincount(segment[on], minlength=n_segments).to(dtype)
            R[:, on] *= (size[:, None] / sq).sqrt()[segment[on]].T
        if self.density < 1:
            R *= torch.rand((q, n_params), generator=generator, device=device, dtype=dtype) < self.density
        return [
            DirectionProbe(R, segment, n_segments, self.scheme, self.mu, self.sign, scale=1 / self.density)
        ]

    def describe(self):
        return {
            "name": self.name,
            "q": self.q,
            "distribution": self.distribution,
            "scheme": self.scheme,
            "mu": self.mu,
            "density": self.density,
            "sign": self.sign,
            "tensorwise": self.tensorwise,
            "slices": None if not self.tensorwise else [s.name for s in self.slices],
        }


class CGE(Estimator):
    """Coordinate-wise gradient estimation on all (or a random subset of) coordinates."""

    name = "cge"

    def __init__(
        self,
        scheme: str = "forward",
        mu: float = 0.025,
        subset: int | None = None,
        support: list[ParamSlice] | None = None,
    ):
        self.scheme = check_choice("difference scheme", scheme, SCHEMES)
        self.mu = check_positive("the perturbation step mu", mu)
        self.subset = None if subset is None else check_positive("the CGE subset size", subset, integer=True)
        self.support = support

    def probes(self, n_params, step, generator, dtype):
        device = generator.device
        coords = torch.cat(
            [torch.arange(s.start, s.stop, device=device) for s in _support(self.support, n_params)]
        )
        if self.subset is not None and self.subset < len(coords):
            coords = (
                coords[torch.randperm(len(coords), generator=generator, device=device)[: self.subset]]
                .sort()
                .values
            )
        return [CoordinateProbe(coords, n_params, self.scheme, self.mu, dtype)]

    def describe(self):
        return {"name": self.name, "scheme": self.scheme, "mu": self.mu, "subset": self.subset}


class PerGroup(Estimator):
    """Disjoint estimators side by side, evaluated in the same batched Oracle calls."""

    def __init__(self, parts: list[tuple[str, Estimator]]):
        if not parts:
            raise ValueError("PerGroup needs at least one (label, estimator) part")
        self.parts = parts
        self.name = "+".join(f"{e.name}[{label}]" for label, e in parts)

    def probes(self, n_params, step, generator, dtype):
        return [p for _, e in self.parts for p in e.probes(n_params, step, generator, dtype)]

    def describe(self):
        return {"name": self.name, "parts": {label: e.describe() for label, e in self.parts}}


# ---- the named configurations the CLI offers (ESTIMATORS: their names) ------------------------


def split_groups(slices: list[ParamSlice], cge_max: int) -> tuple[list[ParamSlice], list[ParamSlice]]:
    """(small groups for CGE: attenuator and bias groups of at most ``cge_max`` entries, the rest)."""
    small = [s for s in slices if s.kind in ("attenuator", "bias") and s.size <= cge_max]
    return small, [s for s in slices if s not in small]


def build_estimators(
    name: str,
    oracle,
    *,
    q: int = 10,
    mu: float = 0.025,
    distribution: str = "rademacher",
    scheme: str = "central",
    tensorwise: bool = False,
    level: str = "core",
    cge_scheme: str = "forward",
    cge_subset: int | None = None,
    per_group: bool = False,
    cge_max: int = 128,
    density: float = 1.0,
) -> tuple[Estimator, ...]:
    """The estimators of one of ``ESTIMATORS``, configured for ``oracle``'s parameter layout.

    ``rge``: RGE (tensor-wise over ``level`` slices if asked); ``cge``: CGE; ``hybrid``: its two
    phases, sign-RGE then CGE (``training.methods.hybrid`` sequences them). With ``per_group``, the
    small attenuator/bias groups get CGE and the rest RGE (in ``rge`` and in the first phase of
    ``hybrid``).
    """
    check_choice("estimator", name, ESTIMATORS)
    slices = oracle.param_slices(level) if tensorwise else None

    def rge(sign=False, support=None):
        return RGE(
            q,
            distribution,
            scheme,
            mu,
            sign=sign,
            slices=slices,
            tensorwise=tensorwise,
            support=support,
            density=density,
        )

    def with_groups(make_rge):
        if not per_group:
            return make_rge(None)
        small, rest = split_groups(oracle.param_slices("group"), cge_max)
        if not small:
            return make_rge(None)
        return PerGroup([("groups", make_rge(rest)), ("small", CGE(cge_scheme, mu, support=small))])

    if name == "rge":
        return (with_groups(lambda support: rge(support=support)),)
    cge = CGE(cge_scheme, mu, subset=cge_subset)
    if name == "cge":
        return (cge,)
    return with_groups(lambda support: rge(sign=True, support=support)), cge
