"""Derivatives of a network from forward queries only: Gaussian smoothing and Stein's identity.

For the smoothed function f_σ(x) = E f(x + σz), z ~ N(0, I_D), Stein's identity gives

    ∇f_σ(x) = E[z (f(x + σz) − f(x))] / σ
    Δf_σ(x) = E[(‖z_s‖² − d_s)(f(x + σz) − f(x))] / σ²      (z_s: the d_s spatial coordinates)

— the f(x) terms have zero mean and are there as control variates (they remove the O(1/σ)
and O(1/σ²) noise of the plain forms). Expectations are taken with a ``QuadratureRule``; a
symmetric sparse grid holds the origin, so f(x) is one of its nodes and one evaluation per
node suffices (the one-sided form, not 2·nodes + 1). Time is smoothed and gets a first
derivative, but no second one.

``LeastSquaresEstimator`` reads the same points (a drop-in: same rule, σ, queries) but returns
the value, gradient and Laplacian of the least-squares quadratic fit to f around x — of the linear
functionals exact for quadratics, those of least ℓ2 norm (Gauss–Markov). It estimates ∇f and Δf,
not those of f_σ (no smoothing bias σ²/2·Δ²f), and its Laplacian functional has norm 4.27/σ²
where Stein's has 4265/σ² on the 21-dimensional level-2 grid (most of it the centre node's
−d·w_0/σ² = −4080/σ²): rounding errors of the readings are amplified 1000× less. That is what
float32 needs: a complex64 chip's readings are ~1.6e-6 (relative rms) off the complex128 ones,
and at σ = 0.1 hjb-tt's Laplacian then comes out 2.0e-3 off autograd by least squares against
2.3 by Stein (Stein in complex128: 3.5e-3); at σ = 0.03 and 0.01 the float32 floor still wins
(2.5e-2, 0.2). No rearrangement of Stein's sums helps: differencing against the centre and
float64 sums (both done here; exact sums change nothing) leave the same linear functional of
the readings, and the float32 error is the readings' own (``benchmarks/bench_stein.py``).

``FiniteDifference`` is the baseline: central differences with step h, 2D + 1 evaluations.

All estimators work in two halves so that all evaluations go to the Oracle as one batch:
``points(x[P, D]) → [P, K, D]`` says where to evaluate, and ``derivatives(values[..., P, K])``
turns the K values per point into value [..., P], gradient [..., P, D] and Laplacian [..., P].
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .quadrature import QuadratureRule


def _check_sigma(name, value):
    if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


class _Stencil:
    """Shared half of both estimators: K offsets ``step · nodes`` around each point."""

    nodes: torch.Tensor  # [K, D], in units of ``step``
    step: float

    def _set_dims(self, dim: int, spatial: int | None) -> None:
        self.dim = int(dim)
        self.spatial = self.dim if spatial is None else int(spatial)
        if not 0 <= self.spatial <= self.dim:
            raise ValueError(f"spatial must lie in 0..{self.dim}, got {spatial}")

    @property
    def evaluations(self) -> int:
        """Function values per point (queries per point through the chip)."""
        return len(self.nodes)

    def points(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=torch.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"points must have shape [P, {self.dim}], got {tuple(x.shape)}")
        return x[:, None, :] + self.step * self.nodes[None]

    def _set_centre(self, rule: QuadratureRule) -> None:
        """The rule's nodes, the origin appended where the rule lacks one (its index: ``centre_index``)."""
        self.centre = rule.origin
        nodes = (
            rule.nodes if self.centre is not None else np.concatenate([rule.nodes, np.zeros((1, self.dim))])
        )
        self.nodes = torch.as_tensor(nodes, dtype=torch.float64)  # [K, D]
        self.centre_index = self.centre if self.centre is not None else len(rule.nodes)

    def _values(self, values) -> torch.Tensor:
        values = torch.as_tensor(values, dtype=torch.float64)
        if values.shape[-1] != self.evaluations:
            raise ValueError(f"expected {self.evaluations} values per point, got {values.shape[-1]}")
        return values


class SteinEstimator(_Stencil):
    """Value, gradient and spatial Laplacian of f_σ from K = nodes (+1 without an origin node) values."""

    def __init__(self, rule: QuadratureRule, sigma: float, spatial: int | None = None):
        self.rule, self.sigma = rule, _check_sigma("sigma", sigma)
        self.step = self.sigma
        self._set_dims(rule.dim, spatial)
        self._set_centre(rule)
        self.weights = torch.as_tensor(rule.weights, dtype=torch.float64)  # [n]
        z = self.nodes[: len(rule.weights)]
        self.grad_weights = self.weights[:, None] * z / self.sigma  # [n, D]
        zs = z[:, : self.spatial]
        self.lap_weights = self.weights * ((zs**2).sum(1) - self.spatial) / self.sigma**2  # [n]

    def derivatives(self, values: torch.Tensor) -> dict:
        """Value, gradient and spatial Laplacian of the smoothed function f_σ at each point from its
        ``values[..., P, K]`` at ``points``: ``{"value": [..., P], "grad": [..., P, D], "laplacian": [...,
        P]}``."""
        values = self._values(values)
        f0 = values[..., self.centre_index : self.centre_index + 1]
        on_rule = values[..., : len(self.weights)]
        diff = on_rule - f0  # [..., P, n]
        return {
            "value": on_rule @ self.weights,
            "grad": diff @ self.grad_weights,
            "laplacian": diff @ self.lap_weights,
        }


def quadratic_fit_weights(nodes: np.ndarray, spatial: int) -> np.ndarray:
    """Weights ``[K, D + 2]`` (step 1) that map values at ``nodes[K, D]`` to the value, gradient and
    Laplacian over the first ``spatial`` coordinates at the origin of the least-squares quadratic fit:
    the minimum-norm solution c of Σ_k c_k p(z_k) = L(p) for p ∈ {1, z_i, z_i z_j} (numpy's lstsq)."""
    nodes = np.asarray(nodes, dtype=np.float64)
    k, dim = nodes.shape
    rows, cols = np.triu_indices(dim)
    basis = np.concatenate([np.ones((1, k)), nodes.T, (nodes[:, rows] * nodes[:, cols]).T])  # [m, K]
    targets = np.zeros((len(basis), dim + 2))
    targets[0, 0] = 1.0  # the value: the constant term
    targets[1 : 1 + dim, 1 : 1 + dim] = np.eye(dim)  # ∂_i: the coefficient of z_i
    targets[1 + dim + np.flatnonzero((rows == cols) & (rows < spatial)), -1] = 2.0  # Δ: 2 Σ coef(z_i²)
    weights = np.linalg.lstsq(basis, targets, rcond=None)[0]
    if np.abs(basis @ weights - targets).max() > 1e-8 * max(1.0, np.abs(weights).max()):
        raise ValueError(
            f"{k} nodes in {dim} dimensions do not determine a quadratic fit (it needs at least "
            f"{len(basis)} nodes in general position); use a denser rule"
        )
    return weights


class LeastSquaresEstimator(_Stencil):
    """Value, gradient and spatial Laplacian of the least-squares quadratic fit to f on Stein's
    points x + σz (the same rule, σ and evaluations as ``SteinEstimator``; see the module docstring)."""

    def __init__(self, rule: QuadratureRule, sigma: float, spatial: int | None = None):
        self.rule, self.sigma = rule, _check_sigma("sigma", sigma)
        self.step = self.sigma
        self._set_dims(rule.dim, spatial)
        self._set_centre(rule)
        w = torch.as_tensor(quadratic_fit_weights(self.nodes.numpy(), self.spatial), dtype=torch.float64)
        self.value_weights = w[:, 0]  # [K]
        self.grad_weights = w[:, 1:-1] / self.sigma  # [K, D]
        self.lap_weights = w[:, -1] / self.sigma**2  # [K]

    def derivatives(self, values: torch.Tensor) -> dict:
        """Value, gradient and spatial Laplacian of the least-squares quadratic fit to ``values[..., P, K]``
        at ``points`` (keys as ``SteinEstimator.derivatives``)."""
        values = self._values(values)
        f0 = values[..., self.centre_index : self.centre_index + 1]
        diff = values - f0  # the weights of ∇ and Δ sum to 0: the constant part drops out exactly
        return {
            "value": f0[..., 0] + diff @ self.value_weights,
            "grad": diff @ self.grad_weights,
            "laplacian": diff @ self.lap_weights,
        }


class FiniteDifference(_Stencil):
    """Central differences with step h: value, gradient and spatial Laplacian from 2D + 1 values."""

    def __init__(self, dim: int, h: float, spatial: int | None = None):
        self.h = self.step = _check_sigma("the finite-difference step h", h)
        self._set_dims(dim, spatial)
        eye = torch.eye(self.dim, dtype=torch.float64)
        self.nodes = torch.cat([torch.zeros(1, self.dim, dtype=torch.float64), eye, -eye])  # [2D + 1, D]

    def derivatives(self, values: torch.Tensor) -> dict:
        """Value, central-difference gradient and spatial Laplacian from ``values[..., P, 2D + 1]`` at
        ``points`` (keys as ``SteinEstimator.derivatives``)."""
        values = self._values(values)
        f0, plus, minus = values[..., 0], values[..., 1 : 1 + self.dim], values[..., 1 + self.dim :]
        second = (plus + minus - 2 * f0[..., None]) / self.h**2
        return {
            "value": f0,
            "grad": (plus - minus) / (2 * self.h),
            "laplacian": second[..., : self.spatial].sum(-1),
        }
