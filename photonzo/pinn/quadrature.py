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
``allow_pickle=False``. A grid whose node count would exceed ``max_nodes`` is refused with its
size unless ``force`` is set.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io import atomic_file, cache_dir
from ..validation import check_int

SPARSE_RULES = ("gauss-hermite", "gauss-hermite-odd")
SAMPLED_RULES = ("monte-carlo", "antithetic")
RULES = SPARSE_RULES + SAMPLED_RULES
MAX_NODES = 20_000  # × 100 points per step: already 2M chip inputs per query


@dataclass(frozen=True)
class QuadratureRule:
    """Nodes z [n, d] and weights w [n] for E over N(0, I_d)."""

    name: str
    nodes: np.ndarray
    weights: np.ndarray
    level: int | None = None

    @property
    def n_nodes(self) -> int:
        return len(self.weights)

    @property
    def dim(self) -> int:
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
            "a C++ compiler): pip install Tasmanian — or use a monte-carlo/antithetic rule"
        ) from e
    return Tasmanian


def sparse_grid(
    rule: str, dim: int, level: int, *, max_nodes: int = MAX_NODES, force: bool = False, cache: bool = True
) -> QuadratureRule:
    """A Smolyak Gauss–Hermite sparse grid for N(0, I_dim) (see the module docstring)."""
    if rule not in SPARSE_RULES:
        raise ValueError(f"unknown sparse-grid rule {rule!r}; accepted rules are {', '.join(SPARSE_RULES)}")
    _check_int("dim", dim)
    _check_int("level", level, minimum=0)
    path = _cache_dir() / f"{rule}-d{dim}-l{level}.npz"
    if cache and path.exists():
        with np.load(path, allow_pickle=False) as data:
            nodes, weights = data["nodes"], data["weights"]
        if len(weights) > max_nodes and not force:
            raise ValueError(_too_many(rule, dim, level, len(weights), max_nodes))
        return QuadratureRule(rule, nodes, weights, level)
    grid = _tasmanian().makeGlobalGrid(dim, 0, level, "level", rule)
    n = int(grid.getNumPoints())
    if n > max_nodes and not force:
        raise ValueError(_too_many(rule, dim, level, n, max_nodes))
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


def _too_many(rule, dim, level, n, limit):
    return (
        f"a {rule} sparse grid of level {level} in {dim} dimensions has {n:,} nodes, more than the limit of "
        f"{limit:,}; lower the level, or pass force=True (--force) to build it anyway"
    )
