"""Physics-informed training on the chip, through the Oracle only.

``PINNObjective`` plugs a PDE into the ``ZOTrainer``: every step draws fresh collocation points
(uniform in the domain); the loss of a parameter setting is the mean squared PDE residual of the
ansatz u = g + c·NN, whose derivatives come from forward queries (Stein on a quadrature rule,
or finite differences). All shifted inputs of all points go to the Oracle in one call:
``outputs(settings[Q, P], inputs[points × evaluations, d + 1])`` — so a ZO step with Q
settings is one batched read of the chip, and its query count is Q.

Evaluation reads u at 10,000 fixed uniform test points (one query) and reports the relative
ℓ2 error of u against the exact solution and of the learned part alone (NN against the exact
NN: u's error is flattered by the exact part g), plus the residual loss on a fixed set of
validation collocation points.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from ..io import atomic_write_json
from ..photonics.chip import Chip
from ..photonics.hardware import PRESETS, HardwareModel
from ..photonics.layers import OpticalLinear
from ..photonics.network import OpticalNetwork, build_network, dense_equivalent_mzis
from ..plots import plot_training
from ..training.estimators import RGE
from ..training.optim import Adam, Schedule, phase_mask
from ..training.runs import check_run_dir
from ..training.zo import ZOTrainer
from .pde import PDE, build_pde
from .quadrature import make_rule, sparse_grid
from .stein import FiniteDifference, SteinEstimator


def relative_l2(estimate: torch.Tensor, exact: torch.Tensor) -> float:
    return float((estimate - exact).norm() / exact.norm())


class PINNObjective:
    """A PDE as a ZOTrainer objective (see the module docstring)."""

    def __init__(self, pde: PDE, derivatives, *, test_points: int = 10_000, valid_points: int = 100, seed: int = 0):
        if derivatives.dim != pde.input_dim or derivatives.spatial != pde.dim:
            raise ValueError(f"the derivative estimator must work in {pde.input_dim} dimensions with {pde.dim} "
                             f"spatial ones, got {derivatives.dim} and {derivatives.spatial}")
        self.pde, self.derivatives = pde, derivatives
        g = torch.Generator().manual_seed(10_000 + seed)
        self.test_x = pde.sample(test_points, g)
        self.valid_x = pde.sample(valid_points, g)
        self.test_u, self.test_nn = pde.exact(self.test_x), pde.exact_nn(self.test_x)

    def sample(self, generator: torch.Generator, batch_size: int) -> torch.Tensor:
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
        return self.pde.residual(d["grad"][..., self.pde.dim], d["grad"][..., :self.pde.dim], d["laplacian"])

    def loss_fn(self, oracle, points):
        return lambda settings: self.residuals(oracle, settings, points).pow(2).mean(-1)

    def evaluate(self, oracle, params: torch.Tensor, data=None) -> dict:
        x = self.test_x if data is None else torch.as_tensor(data, dtype=torch.float64)
        nn = self.nn(oracle, params[None], x)[0]
        exact_u = self.test_u if data is None else self.pde.exact(x)
        exact_nn = self.test_nn if data is None else self.pde.exact_nn(x)
        loss = float(self.residuals(oracle, params[None], self.valid_x).pow(2).mean())
        return {"val_loss": loss, "rel_l2": relative_l2(self.pde.ansatz(x, nn), exact_u),
                "rel_l2_learned": relative_l2(nn, exact_nn)}


# ---- one PINN run from a configuration ---------------------------------------------------------

DERIVATIVES = ("sparse-grid", "monte-carlo", "fd")
PINN_MODELS = ("tt", "dense", "small")


@dataclass
class PINNConfig:
    pde: str = "hjb"
    dim: int = 20
    model: str = "tt"  # tt / dense: the reference 21→512→512→1 pair (dim 20); small: (d+1)→32→32→1
    estimator: str = "sparse-grid"  # how the PDE's derivatives are estimated
    rule: str = "gauss-hermite"
    level: int = 2
    nodes: int | None = None  # monte-carlo: nodes per point (default: the sparse grid's count)
    sigma: float = 0.1  # smoothing radius (also the finite-difference step)
    force: bool = False  # build a sparse grid past the node limit
    q: int = 10
    mu: float = 0.025
    lr: float = 0.01
    steps: int = 200
    points: int = 100  # collocation points per step
    eval_every: int = 20
    test_points: int = 10_000
    hardware: str = "ideal"
    chip_seed: int = 0
    seed: int = 0
    float64: bool = True  # complex128: float32 rounding, amplified by Σ|w|/σ², swamps the Laplacian
    max_queries: int | None = None

    def validate(self) -> "PINNConfig":
        for name, value, accepted in (("derivative estimator", self.estimator, DERIVATIVES),
                                      ("model", self.model, PINN_MODELS), ("hardware", self.hardware, tuple(PRESETS))):
            if value not in accepted:
                raise ValueError(f"unknown {name} {value!r}; accepted values are {', '.join(accepted)}")
        if self.model != "small" and self.dim != 20:
            raise ValueError(f"the {self.model} reference network takes 21 inputs (dim 20); use --model small "
                             f"for dim {self.dim}")
        if not self.sigma > 0:
            raise ValueError(f"sigma must be positive, got {self.sigma}")
        for name in ("q", "steps", "points", "eval_every", "test_points"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        return self


def build_pinn_network(config: PINNConfig):
    if config.model == "small":
        d = config.dim + 1
        return OpticalNetwork([OpticalLinear(d, 32), OpticalLinear(32, 32), OpticalLinear(32, 1)], ["sin", "sin"],
                              name=f"pinn-small-{d}")
    return build_network(f"hjb-{config.model}")


def build_derivatives(config: PINNConfig, input_dim: int, spatial: int):
    if config.estimator == "fd":
        return FiniteDifference(input_dim, config.sigma, spatial=spatial)
    if config.estimator == "sparse-grid":
        rule = make_rule(config.rule, input_dim, level=config.level, force=config.force)
    else:
        n = config.nodes or sparse_grid("gauss-hermite", input_dim, config.level, force=config.force).n_nodes
        rule = make_rule("antithetic" if config.rule == "antithetic" else "monte-carlo", input_dim,
                         nodes=n + n % 2 if config.rule == "antithetic" else n, seed=config.seed)
    return SteinEstimator(rule, config.sigma, spatial=spatial)


def run_pinn(config: PINNConfig, run_dir, resume: bool = False, progress: bool = True, plot: bool = True) -> dict:
    """Train a PINN on the chip by ZO; writes config.json, metrics.jsonl, checkpoint.npz,
    curves.png and (last) summary.json into ``run_dir``."""
    config.validate()
    pde = build_pde(config.pde, config.dim)
    run_dir = Path(run_dir)
    check_run_dir(run_dir, asdict(config), resume, free=("steps", "max_queries"))
    network = build_pinn_network(config)
    chip = Chip(network, HardwareModel.preset(config.hardware), seed=config.chip_seed,
                dtype=torch.complex128 if config.float64 else torch.complex64, loss="mse")
    oracle = chip.oracle()
    derivatives = build_derivatives(config, pde.input_dim, pde.dim)
    objective = PINNObjective(pde, derivatives, test_points=config.test_points, seed=config.seed)
    optimizer = Adam(config.lr, schedule=Schedule("cosine", total=config.steps),
                     mask=phase_mask(oracle.param_slices("mesh"), oracle.n_params))
    trainer = ZOTrainer(oracle, RGE(config.q, mu=config.mu), optimizer, None, None, run_dir, steps=config.steps,
                        batch_size=config.points, eval_every=config.eval_every, seed=config.seed, progress=progress,
                        max_queries=config.max_queries, objective=objective, max_settings=32)
    if not resume:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(run_dir / "config.json", asdict(config))
    history = trainer.run(resume=resume)
    final = history[-1]
    summary = {"pde": pde.describe(), "model": network.name, "mzis": network.n_mzis,
               "dense_equivalent_mzis": dense_equivalent_mzis(network), "hardware": config.hardware,
               "derivatives": {"estimator": config.estimator, "evaluations_per_point": derivatives.evaluations,
                               **(derivatives.rule.describe() if hasattr(derivatives, "rule") else {"h": config.sigma})},
               "steps": trainer.step, "train_queries": trainer.train_queries,
               "inferences_per_query": config.points * derivatives.evaluations, "train_wall_s": round(trainer.wall, 3),
               "rel_l2": final.get("rel_l2"), "rel_l2_learned": final.get("rel_l2_learned"),
               "val_loss": final.get("val_loss")}
    if plot:
        plot_training(history, run_dir / "curves.png", title=f"{config.pde}-{config.dim} on the {config.hardware} chip, "
                      f"{config.estimator} derivatives", loss_label="mean squared residual",
                      metrics={"rel_l2": "u", "rel_l2_learned": "learned part"}, metric_label="relative ℓ2 error",
                      scale=1, log=True)
    atomic_write_json(run_dir / "summary.json", summary)
    return summary
