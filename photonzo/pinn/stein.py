"""Derivatives of a network from forward queries only: Gaussian smoothing and Stein's identity.

For the smoothed function f_σ(x) = E f(x + σz), z ~ N(0, I_D), Stein's identity gives

    ∇f_σ(x) = E[z (f(x + σz) − f(x))] / σ
    Δf_σ(x) = E[(‖z_s‖² − d_s)(f(x + σz) − f(x))] / σ²      (z_s: the d_s spatial coordinates)

— the f(x) terms have zero mean and are there as control variates (they remove the O(1/σ)
and O(1/σ²) noise of the plain forms). Expectations are taken with a ``QuadratureRule``; a
symmetric sparse grid holds the origin, so f(x) is one of its nodes and one evaluation per
node suffices (the one-sided form, not 2·nodes + 1). Time is smoothed and gets a first
derivative, but no second one.

``FiniteDifference`` is the baseline: central differences with step h, 2D + 1 evaluations.

Both estimators work in two halves so that all evaluations go to the Oracle as one batch:
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
        self.centre = rule.origin
        nodes = (
            rule.nodes if self.centre is not None else np.concatenate([rule.nodes, np.zeros((1, self.dim))])
        )
        self.nodes = torch.as_tensor(nodes, dtype=torch.float64)  # [K, D]
        self.centre_index = self.centre if self.centre is not None else len(rule.nodes)
        self.weights = torch.as_tensor(rule.weights, dtype=torch.float64)  # [n]
        z = self.nodes[: len(rule.weights)]
        self.grad_weights = self.weights[:, None] * z / self.sigma  # [n, D]
        zs = z[:, : self.spatial]
        self.lap_weights = self.weights * ((zs**2).sum(1) - self.spatial) / self.sigma**2  # [n]

    def derivatives(self, values: torch.Tensor) -> dict:
        values = self._values(values)
        f0 = values[..., self.centre_index : self.centre_index + 1]
        on_rule = values[..., : len(self.weights)]
        diff = on_rule - f0  # [..., P, n]
        return {
            "value": on_rule @ self.weights,
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
        values = self._values(values)
        f0, plus, minus = values[..., 0], values[..., 1 : 1 + self.dim], values[..., 1 + self.dim :]
        second = (plus + minus - 2 * f0[..., None]) / self.h**2
        return {
            "value": f0,
            "grad": (plus - minus) / (2 * self.h),
            "laplacian": second[..., : self.spatial].sum(-1),
        }
