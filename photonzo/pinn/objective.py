"""A PDE as a training objective on the chip, through the Oracle only.

``PINNObjective`` plugs a PDE into the ``ZOTrainer``: every step draws fresh collocation points
(uniform in the domain); the loss of a parameter setting is the mean squared PDE residual of the
ansatz u = g + c·NN, whose derivatives come from forward queries (Stein on a quadrature rule,
or finite differences); PDEs that need u itself (burgers, fisher) get the estimator's value.
All shifted inputs of all points go to the Oracle in one call:
``outputs(settings[Q, P], inputs[points × evaluations, d + 1])`` — so a ZO step with Q
settings is one batched read of the chip, and its query count is Q.

Evaluation reads u at 10,000 fixed uniform test points (one query) and reports the relative
ℓ2 error of u against the exact solution and of the learned part alone (NN against the exact
NN: u's error is flattered by the exact part g), plus the residual loss on a fixed set of
validation collocation points.
"""

from __future__ import annotations

import torch

from .pde import PDE


def relative_l2(estimate: torch.Tensor, exact: torch.Tensor) -> float:
    """‖estimate − exact‖₂ / ‖exact‖₂ over all points (dimensionless)."""
    return float((estimate - exact).norm() / exact.norm())


class PINNObjective:
    """A PDE as a ZOTrainer objective (see the module docstring)."""

    def __init__(
        self, pde: PDE, derivatives, *, test_points: int = 10_000, valid_points: int = 100, seed: int = 0
    ):
        if derivatives.dim != pde.input_dim or derivatives.spatial != pde.dim:
            raise ValueError(
                f"the derivative estimator must work in {pde.input_dim} dimensions with {pde.dim} "
                f"spatial ones, got {derivatives.dim} and {derivatives.spatial}"
            )
        self.pde, self.derivatives = pde, derivatives
        g = torch.Generator().manual_seed(10_000 + seed)
        self.test_x = pde.sample(test_points, g)
        self.valid_x = pde.sample(valid_points, g)
        self.test_u, self.test_nn = pde.exact(self.test_x), pde.exact_nn(self.test_x)

    def sample(self, generator: torch.Generator, batch_size: int) -> torch.Tensor:
        """``batch_size`` fresh collocation points ``[batch_size, d + 1]``, uniform in the PDE's domain."""
        return self.pde.sample(batch_size, generator)

    def nn(self, oracle, settings: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Network outputs ``[Q, N]`` of Q settings at points ``x[N, d + 1]`` (one Oracle call)."""
        return oracle.outputs(settings, x)[..., 0].to(torch.float64)

    def residuals(self, oracle, settings: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """PDE residual ``[Q, N]`` of each setting at the collocation points."""
        shifted = self.derivatives.points(points)  # [N, K, D]
        n, k, dim = shifted.shape
        nn = self.nn(oracle, settings, shifted.reshape(n * k, dim)).reshape(-1, n, k)
        u = self.pde.ansatz(shifted[None], nn)  # [Q, N, K]
        d = self.derivatives.derivatives(u)
        dim = self.pde.dim
        return self.pde.residual(d["grad"][..., dim], d["grad"][..., :dim], d["laplacian"], u=d["value"])

    def loss_fn(self, oracle, points):
        """The training loss of settings ``[Q, P]`` at the collocation ``points``: the mean squared PDE
        residual per setting, ``[Q]``, from one Oracle call."""
        return lambda settings: self.residuals(oracle, settings, points).pow(2).mean(-1)

    def errors(self, nn: torch.Tensor, data=None) -> dict:
        """Relative ℓ2 errors of u = ansatz(x, nn) and of the learned part ``nn`` against the exact
        solution, ``nn`` being the network's outputs ``[N]`` at the points ``data`` (default: the
        test points)."""
        x = self.test_x if data is None else torch.as_tensor(data, dtype=torch.float64)
        exact_u = self.test_u if data is None else self.pde.exact(x)
        exact_nn = self.test_nn if data is None else self.pde.exact_nn(x)
        return {
            "rel_l2": relative_l2(self.pde.ansatz(x, nn), exact_u),
            "rel_l2_learned": relative_l2(nn, exact_nn),
        }

    def evaluate(self, oracle, params: torch.Tensor, data=None) -> dict:
        """``val_loss`` (mean squared residual on the fixed validation points) and the relative ℓ2 errors
        ``rel_l2`` (of u) and ``rel_l2_learned`` (of the network's part) on ``data`` (default: the test
        points)."""
        x = self.test_x if data is None else torch.as_tensor(data, dtype=torch.float64)
        nn = self.nn(oracle, params[None], x)[0]
        loss = float(self.residuals(oracle, params[None], self.valid_x).pow(2).mean())
        return {"val_loss": loss, **self.errors(nn, data)}

    @torch.no_grad()
    def evaluate_digital(self, network, weights, data=None) -> dict:
        """``errors`` of a network's digital mirror with real ``weights`` (no chip, no queries: how the
        first-order reference of ``training/backprop.py`` is measured on the same test points)."""
        x = self.test_x if data is None else torch.as_tensor(data, dtype=torch.float64)
        return self.errors(network.digital_forward(weights, x)[:, 0].to(torch.float64), data)
