"""Quadrature rules for expectations over the standard normal N(0, I_d).

A rule is nodes z [n, d] and weights w [n] with E f(z) ≈ Σ_k w_k f(z_k). Rules:

* ``gauss-hermite`` and ``gauss-hermite-odd``: Smolyak sparse grids from Tasmanian
  (``makeGlobalGrid(d, 0, level, "level", rule)``). Tasmanian's Gauss–Hermite rules integrate
  against exp(−x²), so nodes are mapped to z = √2·x and weights to w / π^{d/2} (they then sum
  to 1). Sparse grids are exact for polynomials of bounded total degree but carry negative
  weights; Σ|w| (reported) says how much they amplify noise in the function values. The
  ``-odd`` rule uses only odd-point 1-D rules (each holds the origin): in 21 dimensions at
  level 2 it has 967 nodes against 925, but a smaller Σ|w|.
* ``monte-carlo`` and ``antithetic``: ``n`` i.i.d. Gaussian samples with weights 1/n, the
  antithetic rule in ± pairs (odd moments vanish exactly) — the baselines at an equal number
  of nodes.

Sparse grids are cached as ``.npz`` files keyed by (rule, d, level) in the cache directory
(``$PHOTONZO_CACHE/grids``, else ``grids`` in the cache that the data use too:
``$XDG_CACHE_HOME/photonzo``, else ``~/.cache/photonzo``), written atomically, read with
``allow_pickle=False``.

A grid's size is known before it is built (``sparse_grid_size``), so a grid whose node count would
exceed ``max_nodes`` is refused with its size unless ``force`` is set, in microseconds and with no
grid made (d = 1000 at level 2 has 2,002,001 nodes); so is, even with ``force``, one whose nodes
would not fit in the machine's memory, and a level above ``MAX_LEVEL`` (past it the 1-D rules head
for the few hundred points where Gauss–Hermite weights underflow and Tasmanian takes minutes).

The count. The Smolyak grid of level L in d dimensions is the union of the tensor grids
X_{i_1} × … × X_{i_d} whose combination coefficient (−1)^{L−|i|} C(d−1, L−|i|) is not zero, i.e.
max(0, L−d+1) ≤ |i| ≤ L, X_l being the 1-D rule of level l (gauss-hermite: l+1 points,
gauss-hermite-odd: 2l+1). Gauss–Hermite rules of different orders share no node but the origin,
which the odd orders hold (Schur: H_{2n} and H_{2n+1}/x are irreducible over Q). So a node is named
by the set of its zero coordinates and the levels of the others (each ≥ 1), and it lies in the grid
iff an admitted tensor takes those levels there and origin-holding levels (gauss-hermite: even ones;
-odd: any) at the zeros — which depends only on n, the number of nonzero coordinates, and s, the
sum of their levels. The count is Σ C(d, n) · W(n, s) over the admissible (n, s), W(n, s) being the
number of ways to place n nonzero 1-D nodes with levels summing to s (a convolution): O(L³) work
whatever d, exact. It equals Tasmanian's ``getNumPoints()`` in every case checked (162, both rules,
d up to 100, L up to 60; ``tests/test_pinn.py`` repeats 74 of them).
"""

from __future__ import annotations

import functools
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import validation
from ..choices import RULES, SAMPLED_RULES, SPARSE_RULES  # the names, numpy-free for the CLI
from ..io import atomic_file, cache_dir
from ..validation import check_int

MAX_NODES = 20_000  # × 100 points per step: already 2M chip inputs per query
MAX_LEVEL = 100  # 1-D rules of up to 101 (-odd: 201) points: all weights positive, built in < 1 s


@dataclass(frozen=True)
class QuadratureRule:
    """Nodes z [n, d] and weights w [n] for E over N(0, I_d)."""

    name: str
    nodes: np.ndarray
    weights: np.ndarray
    level: int | None = None

    @property
    def n_nodes(self) -> int:
        """The number of nodes n (function evaluations per point)."""
        return len(self.weights)

    @property
    def dim(self) -> int:
        """The dimension d of the nodes."""
        return self.nodes.shape[1]

    @property
    def abs_weight_sum(self) -> float:
        """Σ|w|: 1 for positive rules; larger values amplify noise in f by that factor."""
        return float(np.abs(self.weights).sum())

    @property
    def origin(self) -> int | None:
        """Index of the node at the origin (a symmetric sparse grid has one), else None."""
        hit = np.flatnonzero(np.all(self.nodes == 0.0, axis=1))
        return int(hit[0]) if len(hit) else None

    def expect(self, values: np.ndarray) -> np.ndarray:
        """Σ_k w_k values[k, ...]."""
        return np.tensordot(self.weights, values, axes=(0, 0))

    def describe(self) -> dict:
        """The rule's name, dimension, level, node count and Σ|w|, for a run's records."""
        return {
            "rule": self.name,
            "dim": self.dim,
            "level": self.level,
            "nodes": self.n_nodes,
            "abs_weight_sum": self.abs_weight_sum,
        }


def _cache_dir() -> Path:
    return (Path(os.environ["PHOTONZO_CACHE"]) if os.environ.get("PHOTONZO_CACHE") else cache_dir()) / "grids"


def _tasmanian():
    try:
        import Tasmanian
    except ImportError as e:
        raise ImportError(
            "sparse-grid rules need Tasmanian (PyPI 'Tasmanian', built from source with cmake and "
            "a C++ compiler): pip install 'photonzo[pinn]' — or use --estimator monte-carlo (rule "
            "monte-carlo or antithetic) or --estimator fd, which need no Tasmanian"
        ) from e
    return Tasmanian


def sparse_grid_size(rule: str, dim: int, level: int) -> int:
    """The number of nodes of ``sparse_grid(rule, dim, level)``, without building it (see the module
    docstring); refuses an unknown rule, a bad dimension and a level outside 0..``MAX_LEVEL``."""
    if rule not in SPARSE_RULES:
        raise ValueError(f"unknown sparse-grid rule {rule!r}; accepted rules are {', '.join(SPARSE_RULES)}")
    _check_int("dim", dim)
    _check_int("level", level, minimum=0)
    if level > MAX_LEVEL:
        points = 2 * level + 1 if rule == "gauss-hermite-odd" else level + 1
        raise ValueError(
            f"a sparse-grid level of {level} is past the largest one, {MAX_LEVEL}: its 1-D {rule} rule "
            f"alone would have {points:,} points (Gauss–Hermite weights underflow from a few hundred, "
            "and Tasmanian takes minutes to build such rules); lower the level"
        )
    return _count(rule == "gauss-hermite-odd", int(dim), int(level))


@functools.lru_cache(maxsize=256)
def _count(odd: bool, dim: int, level: int) -> int:
    """Σ_{n,s} C(dim, n) W(n, s) over the (n, s) some admitted tensor reaches (module docstring)."""
    orders = [2 * lv + 1 if odd else lv + 1 for lv in range(level + 1)]
    off_origin = [0] + [m - m % 2 for m in orders[1:]]  # a level's nodes but the origin
    lowest = max(0, level - dim + 1)  # the least |i| of a tensor with a nonzero coefficient
    total, ways = 0, [1] + [0] * level  # ways[s] = W(n, s), from n = 0
    for n in range(min(dim, level) + 1):
        zeros = dim - n
        for s in range(n, level + 1):
            if ways[s] and _reachable(s, zeros, lowest, level, odd):
                total += math.comb(dim, n) * ways[s]
        ways = [sum(ways[s - lv] * off_origin[lv] for lv in range(1, s - n + 1)) for s in range(level + 1)]
    return total


def _reachable(s: int, zeros: int, lowest: int, level: int, odd: bool) -> bool:
    """Whether a tensor with lowest ≤ |i| ≤ level takes levels summing to ``s`` at the nonzero
    coordinates and origin-holding levels (gauss-hermite: even; -odd: any) at the ``zeros`` others."""
    if zeros == 0:
        return s >= lowest
    if odd:
        return True
    first = max(0, lowest - s)  # an even sum of even levels in [first, level - s]
    return first % 2 == 0 or first < level - s


def sparse_grid(
    rule: str, dim: int, level: int, *, max_nodes: int = MAX_NODES, force: bool = False, cache: bool = True
) -> QuadratureRule:
    """A Smolyak Gauss–Hermite sparse grid for N(0, I_dim) (see the module docstring); its size is
    checked before anything is built or read."""
    n = sparse_grid_size(rule, dim, level)
    if n > max_nodes and not force:
        raise ValueError(_too_many(rule, dim, level, n, max_nodes))
    _check_fits(rule, dim, level, n)
    path = _cache_dir() / f"{rule}-d{dim}-l{level}.npz"
    if cache and path.exists():
        with np.load(path, allow_pickle=False) as data:
            return QuadratureRule(rule, data["nodes"], data["weights"], level)
    grid = _tasmanian().makeGlobalGrid(dim, 0, level, "level", rule)
    n = int(grid.getNumPoints())
    nodes = math.sqrt(2.0) * np.asarray(grid.getPoints(), dtype=np.float64).reshape(n, dim)
    weights = np.asarray(grid.getQuadratureWeights(), dtype=np.float64).reshape(n) / math.pi ** (dim / 2)
    nodes[np.abs(nodes) < 1e-15] = 0.0  # the centre node exactly at the origin
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path, "wb") as f:
            np.savez(f, nodes=nodes, weights=weights)
    return QuadratureRule(rule, nodes, weights, level)


def sampled_rule(rule: str, dim: int, n: int, seed: int = 0) -> QuadratureRule:
    """``n`` Gaussian nodes with weights 1/n: i.i.d. (``monte-carlo``) or ± pairs (``antithetic``)."""
    if rule not in SAMPLED_RULES:
        raise ValueError(f"unknown sampled rule {rule!r}; accepted rules are {', '.join(SAMPLED_RULES)}")
    _check_int("dim", dim)
    _check_int("the number of nodes", n)
    rng = np.random.default_rng(seed)
    if rule == "antithetic":
        if n % 2:
            raise ValueError(f"an antithetic rule needs an even number of nodes, got {n}")
        half = rng.standard_normal((n // 2, dim))
        nodes = np.concatenate([half, -half])
    else:
        nodes = rng.standard_normal((n, dim))
    return QuadratureRule(rule, nodes, np.full(n, 1.0 / n))


def make_rule(
    rule: str,
    dim: int,
    *,
    level: int = 2,
    nodes: int | None = None,
    seed: int = 0,
    max_nodes: int = MAX_NODES,
    force: bool = False,
) -> QuadratureRule:
    """Any rule by name: sparse grids take ``level``; sampled rules take ``nodes``."""
    if rule in SPARSE_RULES:
        return sparse_grid(rule, dim, level, max_nodes=max_nodes, force=force)
    if rule in SAMPLED_RULES:
        if nodes is None:
            raise ValueError(f"the {rule} rule needs a number of nodes")
        return sampled_rule(rule, dim, nodes, seed)
    raise ValueError(f"unknown quadrature rule {rule!r}; accepted rules are {', '.join(RULES)}")


def _check_int(name, value, minimum=1):
    check_int(name, value, minimum)


def _check_fits(rule, dim, level, n):
    """Refuse (even with ``force``) a grid whose nodes would not fit in the machine's memory: the
    nodes and weights, and Tasmanian's own copy of the points (as doubles and as indices)."""
    need, available = 24 * n * (dim + 1), validation.available_memory()
    if available is not None and need > available:
        raise ValueError(
            f"a {rule} sparse grid of level {level} in {dim} dimensions ({_number(n)} nodes) would need "
            f"{_number(need // 2**30)} GiB of memory, but {available / 2**30:.1f} GiB are available; "
            "lower the level"
        )


def _number(n: int) -> str:
    """``n`` with thousands separators, or (past 10^15) its magnitude."""
    if n < 10**15:
        return f"{n:,}"
    digits = str(n)
    return f"about {digits[0]}.{digits[1:3]}e{len(digits) - 1}"


def _too_many(rule, dim, level, n, limit):
    return (
        f"a {rule} sparse grid of level {level} in {dim} dimensions has {_number(n)} nodes, more than the "
        f"limit of {limit:,}; lower the level, or pass force=True (--force) to build it anyway"
    )
