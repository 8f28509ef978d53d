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


class SteinEstimator:
    """Value, gradient and spatial Laplacian of f_σ from K = nodes (+1 without an origin node) values."""

    def __init__(self, rule: QuadratureRule, sigma: float, spatial: int | None = None):
        self.rule, self.sigma = rule, _check_sigma("sigma", sigma)
        self.dim = rule.dim
        self.spatial = self.dim if spatial is None else int(spatial)
        if not 0 <= self.spatial <= self.dim:
            raise ValueError(f"spatial must lie in 0..{self.dim}, got {spatial}")
        self.centre = rule.origin
        nodes = rule.nodes if self.centre is not None else np.concatenate([rule.nodes, np.zeros((1, self.dim))])
        self.nodes = torch.as_tensor(nodes, dtype=torch.float64)  # [K, D]
        self.centre_index = self.centre if self.centre is not None else len(rule.nodes)
        self.weights = torch.as_tensor(rule.weights, dtype=torch.float64)  # [n]
        z = self.nodes[:len(rule.weights)]
        self.grad_weights = self.weights[:, None] * z / self.sigma  # [n, D]
        zs = z[:, :self.spatial]
        self.lap_weights = self.weights * ((zs ** 2).sum(1) - self.spatial) / self.sigma ** 2  # [n]

    @property
    def evaluations(self) -> int:
        """Function values per point (queries per point through the chip)."""
        return len(self.nodes)

    def points(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=torch.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"points must have shape [P, {self.dim}], got {tuple(x.shape)}")
        return x[:, None, :] + self.sigma * self.nodes[None]

    def derivatives(self, values: torch.Tensor) -> dict:
        values = torch.as_tensor(values, dtype=torch.float64)
        if values.shape[-1] != self.evaluations:
            raise ValueError(f"expected {self.evaluations} values per point, got {values.shape[-1]}")
        f0 = values[..., self.centre_index:self.centre_index + 1]
        diff = (values[..., :len(self.weights)] - f0)  # [..., P, n]
        return {"value": values[..., :len(self.weights)] @ self.weights,
                "grad": diff @ self.grad_weights,
                "laplacian": diff @ self.lap_weights}


class FiniteDifference:
    """Central differences with step h: value, gradient and spatial Laplacian from 2D + 1 values."""

    def __init__(self, dim: int, h: float, spatial: int | None = None):
        self.dim, self.h = int(dim), _check_sigma("the finite-difference step h", h)
        self.spatial = self.dim if spatial is None else int(spatial)
        if not 0 <= self.spatial <= self.dim:
            raise ValueError(f"spatial must lie in 0..{self.dim}, got {spatial}")
        eye = torch.eye(self.dim, dtype=torch.float64)
        self.nodes = torch.cat([torch.zeros(1, self.dim, dtype=torch.float64), eye, -eye])  # [2D + 1, D] in units of h

    @property
    def evaluations(self) -> int:
        return len(self.nodes)

    def points(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.as_tensor(x, dtype=torch.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"points must have shape [P, {self.dim}], got {tuple(x.shape)}")
        return x[:, None, :] + self.h * self.nodes[None]

    def derivatives(self, values: torch.Tensor) -> dict:
        values = torch.as_tensor(values, dtype=torch.float64)
        if values.shape[-1] != self.evaluations:
            raise ValueError(f"expected {self.evaluations} values per point, got {values.shape[-1]}")
        f0, plus, minus = values[..., 0], values[..., 1:1 + self.dim], values[..., 1 + self.dim:]
        second = (plus + minus - 2 * f0[..., None]) / self.h ** 2
        return {"value": f0, "grad": (plus - minus) / (2 * self.h), "laplacian": second[..., :self.spatial].sum(-1)}
