"""The PDEs beyond hjb and heat: Black-Scholes, Burgers, Fisher-KPP — exact solutions, conditions,
ansätze, the transformations they rest on, their wiring into the objective, the CLI and bad input."""

import json
import math
from statistics import NormalDist

import numpy as np
import pytest
import torch

from photonzo.pinn.pde import PDES, build_pde
from photonzo.training.backprop import autograd_derivatives

NEW = [("black-scholes", 1), ("burgers", 1), ("fisher", 1), ("fisher", 3), ("fisher", 20), ("fisher", 50)]


@pytest.fixture(autouse=True)
def grid_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PHOTONZO_CACHE", str(tmp_path / "cache"))


def residual_of(pde, f, x):
    """The residual of ``f`` at ``x`` with autograd's value, ∇ and Δ (the first-order reference's)."""
    d = autograd_derivatives(f, x, pde.dim)
    return pde.residual(d["grad"][:, pde.dim], d["grad"][:, : pde.dim], d["laplacian"], u=d["value"])


def time_condition(pde, x):
    """The points ``x`` moved onto the PDE's initial (or terminal) time, where the ansatz is exact."""
    x = x.clone()
    x[:, pde.dim] = pde.tau0 if pde.name == "black-scholes" else 0.0
    return x


@pytest.mark.parametrize(("name", "dim"), NEW)
def test_exact_solutions_solve_their_pdes_and_the_ansatz_holds_the_conditions(name, dim):
    pde = build_pde(name, dim)
    g = torch.Generator().manual_seed(0)
    x = pde.sample(200, g)
    u = pde.exact(x)
    assert residual_of(pde, pde.exact, x).abs().max().item() < 1e-12 * max(1.0, u.abs().max().item())
    # the ansatz is exact with the exact network output ...
    np.testing.assert_allclose(pde.ansatz(x, pde.exact_nn(x)).numpy(), u.numpy(), rtol=0, atol=1e-13)
    # ... and meets the time condition for any network output
    nn = torch.randn(len(x), generator=g, dtype=torch.float64)
    x0 = time_condition(pde, x)
    np.testing.assert_allclose(pde.ansatz(x0, nn).numpy(), pde.exact(x0).numpy(), rtol=0, atol=1e-15)
    # at the condition time the learned part is ∂_t u / (the ansatz's other factors): its limit
    u_t = autograd_derivatives(pde.exact, x0, pde.dim)["grad"][:, pde.dim]
    factor = x0[:, 0] * (1 - x0[:, 0]) if name == "burgers" else 1.0
    np.testing.assert_allclose(pde.exact_nn(x0).numpy(), (u_t / factor).numpy(), rtol=1e-12, atol=1e-14)
    # and the difference quotient goes over into it without a jump
    near = x0.clone()
    near[:, pde.dim] += 2e-7
    np.testing.assert_allclose(pde.exact_nn(near).numpy(), pde.exact_nn(x0).numpy(), rtol=1e-5, atol=1e-7)
    assert set(pde.describe()) == {"name", "dim", *PDES[name].params}


def test_black_scholes_transformation_is_exact_and_gives_the_closed_form_price():
    """u(y, τ) with V = K e^{−rτ} u(ln(S/K), τ) solves the untransformed Black-Scholes equation in (S, t),
    equals the textbook formula S N(d₁) − K e^{−rτ} N(d₂), and tends to the payoff at maturity."""
    pde = build_pde("black-scholes", volatility=0.3, interest_rate=0.04, maturity=2.0, strike=100.0)
    g = torch.Generator().manual_seed(1)
    s = 100 * torch.exp(2 * torch.rand(64, generator=g, dtype=torch.float64) - 1)  # S ∈ [K/e, eK]
    t = 1.9 * torch.rand(64, generator=g, dtype=torch.float64)
    st = torch.stack([s, t], -1).requires_grad_(True)
    v = pde.price(st[:, 0], st[:, 1])
    dv = torch.autograd.grad(v.sum(), st, create_graph=True)[0]
    v_ss = torch.autograd.grad(dv[:, 0].sum(), st)[0][:, 0]
    sigma, r = 0.3, 0.04
    bs = dv[:, 1] + sigma**2 / 2 * s**2 * v_ss + r * s * dv[:, 0] - r * v
    assert bs.abs().max().item() < 1e-11 * v.abs().max().item()
    normal = NormalDist()
    for si, ti, vi in zip(s.tolist(), t.tolist(), v.tolist()):
        tau = 2.0 - ti
        d1 = (math.log(si / 100) + (r + sigma**2 / 2) * tau) / (sigma * math.sqrt(tau))
        textbook = si * normal.cdf(d1) - 100 * math.exp(-r * tau) * normal.cdf(d1 - sigma * math.sqrt(tau))
        assert vi == pytest.approx(textbook, rel=1e-12, abs=1e-11)
    at_maturity = pde.price(s, torch.full_like(s, 2.0 - 1e-12))
    np.testing.assert_allclose(at_maturity.numpy(), (s - 100).clamp(min=0).numpy(), atol=1e-9)
    # the PINN's domain: log-moneyness in [−1, 1], time to maturity in [T/2, T]
    x = pde.sample(10_000, g)
    assert x[:, 0].min() >= -1 and x[:, 0].max() <= 1 and x[:, 1].min() >= 1.0 and x[:, 1].max() <= 2.0
    assert x[:, 0].min() < -0.99 and x[:, 1].max() > 1.99


def test_burgers_is_cole_hopf_of_a_heat_solution_with_zero_boundary_values():
    pde = build_pde("burgers", viscosity=0.05, offset=1.5)
    nu, a = 0.05, 1.5
    x = pde.sample(100, torch.Generator().manual_seed(2))
    phi = lambda x: a + torch.exp(-nu * math.pi**2 * x[:, 1]) * torch.cos(math.pi * x[:, 0])
    d = autograd_derivatives(phi, x, 1)
    assert (d["grad"][:, 1] - nu * d["laplacian"]).abs().max() < 1e-14  # φ_t = ν φ_xx
    np.testing.assert_allclose(
        pde.exact(x).numpy(), (-2 * nu * d["grad"][:, 0] / d["value"]).numpy(), atol=1e-15
    )
    # u(0, t) = u(1, t) = 0; the ansatz keeps them for any network output; the learned part is finite there
    for edge in (0.0, 1.0):
        xb = x.clone()
        xb[:, 0] = edge
        assert pde.exact(xb).abs().max() < 1e-15
        assert pde.ansatz(xb, torch.randn(len(x), dtype=torch.float64)).abs().max() < 1e-15
        assert torch.isfinite(pde.exact_nn(xb)).all()
    corner = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.5, 0.0]], dtype=torch.float64)
    assert torch.isfinite(pde.exact_nn(corner)).all()


def test_fisher_is_a_travelling_front_along_the_diagonal():
    pde = build_pde("fisher", 7)
    x = pde.sample(100, torch.Generator().manual_seed(3))
    # u depends on x only through n·x, and the front advances: u rises in time everywhere (u < 1)
    swapped = x[:, [1, 0, 2, 3, 4, 5, 6, 7]]
    torch.testing.assert_close(pde.exact(swapped), pde.exact(x), rtol=0, atol=1e-15)
    later = x.clone()
    later[:, 7] += 0.1
    assert (pde.exact(later) > pde.exact(x)).all() and (pde.exact(x) < 1).all()
    centre = torch.full((1, 8), 0.5, dtype=torch.float64)
    centre[0, 7] = 0.0
    assert pde.exact(centre).item() == pytest.approx(0.25, abs=1e-15)  # the front starts at the centre


@pytest.mark.parametrize(("name", "dim"), [("black-scholes", 1), ("burgers", 1), ("fisher", 3)])
def test_the_chip_objective_sees_the_smoothing_bias_shrink_as_sigma_squared(name, dim):
    """Through ``PINNObjective`` (value, ∇ and Δ from Stein on the sparse grid, u passed on): the exact
    network output leaves a residual of order σ²."""
    from photonzo.pinn.objective import PINNObjective
    from photonzo.pinn.quadrature import sparse_grid
    from photonzo.pinn.stein import SteinEstimator

    pde = build_pde(name, dim)

    class ExactOracle:  # the network output the ansatz needs to be exact, for every setting
        def outputs(self, settings, x):
            return pde.exact_nn(x)[None, :, None].expand(len(settings), -1, 1)

    points = pde.sample(100, torch.Generator().manual_seed(4))
    norms = []
    for sigma in (0.1, 0.05):
        stein = SteinEstimator(sparse_grid("gauss-hermite", dim + 1, 2), sigma, spatial=dim)
        objective = PINNObjective(pde, stein, test_points=10)
        norms.append(objective.residuals(ExactOracle(), torch.zeros(2, 3), points).norm().item())
    assert norms[1] < 0.3 * norms[0] and norms[0] < 0.05 * math.sqrt(len(points))


@pytest.mark.parametrize(("name", "dim"), [("black-scholes", 1), ("burgers", 1), ("fisher", 3)])
def test_the_first_order_reference_trains_on_the_new_pdes(name, dim):
    from photonzo.photonics.layers import OpticalLinear
    from photonzo.photonics.network import OpticalNetwork
    from photonzo.training.backprop import pde_residual_autograd, train_pinn_backprop

    pde = build_pde(name, dim)

    class Exact:  # a stand-in network: the exact learned part, so the residual vanishes
        def digital_forward(self, weights, x):
            return pde.exact_nn(x)[:, None]

    x = pde.sample(30, torch.Generator().manual_seed(5))
    assert pde_residual_autograd(Exact(), None, pde, x).abs().max() < 1e-12
    network = OpticalNetwork(
        [OpticalLinear(dim + 1, 16, block=4), OpticalLinear(16, 1, block=4)], ["sin"], name="small"
    )
    _, stats = train_pinn_backprop(network, pde, steps=150, points=64, lr=1e-2)
    assert stats["losses"][-1] < 0.3 * stats["losses"][0]


def test_bad_pdes_and_parameters_are_refused_with_the_value_and_range():
    cases = [
        (
            lambda: build_pde("wave"),
            "unknown PDE 'wave'; accepted PDEs are hjb, heat, black-scholes, burgers, fisher",
        ),
        (
            lambda: build_pde("black-scholes", volatility=-0.2),
            "volatility must be a positive finite number, got -0.2",
        ),
        (
            lambda: build_pde("black-scholes", volatility=0),
            "volatility must be a positive finite number, got 0",
        ),
        (lambda: build_pde("black-scholes", strike=0.0), "strike must be a positive finite number, got 0.0"),
        (
            lambda: build_pde("black-scholes", maturity=-1),
            "maturity must be a positive finite number, got -1",
        ),
        (
            lambda: build_pde("black-scholes", interest_rate=math.nan),
            "interest rate must be a finite number, got nan",
        ),
        (
            lambda: build_pde("black-scholes", 20),
            "black-scholes is one-dimensional: the spatial dimension must be 1, got 20",
        ),
        (lambda: build_pde("burgers", viscosity=0.0), "viscosity must be a positive finite number, got 0.0"),
        (
            lambda: build_pde("burgers", viscosity=-0.1),
            "viscosity must be a positive finite number, got -0.1",
        ),
        (
            lambda: build_pde("burgers", viscosity=True),
            "viscosity must be a positive finite number, got True",
        ),
        (lambda: build_pde("burgers", offset=1.0), "offset a must be a finite number > 1"),
        (
            lambda: build_pde("burgers", 2),
            "burgers is one-dimensional: the spatial dimension must be 1, got 2",
        ),
        (lambda: build_pde("fisher", 0), "the spatial dimension must be a positive integer, got 0"),
        (lambda: build_pde("fisher", 2.5), "the spatial dimension must be a positive integer, got 2.5"),
        (
            lambda: build_pde("hjb", 3, viscosity=0.1),
            "the hjb PDE takes no viscosity; it takes no parameters",
        ),
        (
            lambda: build_pde("burgers", volatility=0.2),
            "takes no volatility; its parameters are viscosity, offset",
        ),
    ]
    for make, message in cases:
        with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
            make()
    for name in ("burgers", "fisher"):  # a residual that needs u and was not given it
        pde = build_pde(name, 1)
        with pytest.raises(ValueError, match=f"the {name} residual needs the value u"):
            pde.residual(torch.zeros(3), torch.zeros(3, 1), torch.zeros(3))


def test_the_pinn_configuration_takes_the_pde_parameters_and_refuses_stray_ones():
    from photonzo.experiments.config import PINNConfig

    config = PINNConfig.of(pde="black-scholes", model="small", volatility=0.3)
    assert (
        config.dim == 1 and config.flat()["dim"] == 1 and config.problem.pde_params() == {"volatility": 0.3}
    )
    assert PINNConfig.of().dim == 20 and PINNConfig.of(pde="fisher").dim == 20  # the reference networks
    assert PINNConfig.of(pde="burgers", model="small").problem.build_pde().viscosity == 0.1
    with pytest.raises(ValueError, match="--viscosity is a setting of burgers, not of the heat PDE"):
        PINNConfig.of(pde="heat", dim=3, model="small", viscosity=0.1)
    with pytest.raises(ValueError, match="--maturity is a setting of black-scholes, not of the burgers PDE"):
        PINNConfig.of(pde="burgers", model="small", maturity=1.0)
    with pytest.raises(ValueError, match="viscosity must be a positive finite number, got -1"):
        PINNConfig.of(pde="burgers", model="small", viscosity=-1)
    with pytest.raises(ValueError, match="one-dimensional: the spatial dimension must be 1, got 3"):
        PINNConfig.of(pde="burgers", model="small", dim=3)
    with pytest.raises(ValueError, match="use --model small for dim 1"):
        PINNConfig.of(pde="burgers")


def test_a_run_written_before_the_pde_settings_existed_still_resumes(tmp_path):
    from photonzo.experiments.config import PDE_SETTINGS, PINNConfig
    from photonzo.experiments.run import check_run_dir

    config = PINNConfig.of(pde="heat", dim=3, model="small").flat()
    (tmp_path / "config.json").write_text(
        json.dumps({k: v for k, v in config.items() if k not in PDE_SETTINGS})
    )
    (tmp_path / "metrics.jsonl").write_text("")
    assert check_run_dir(tmp_path, config, resume=True, free=())
    with pytest.raises(
        ValueError, match=r"differs from this run's options \(viscosity: None there, 0.2 now\)"
    ):
        check_run_dir(tmp_path, {**config, "viscosity": 0.2}, resume=True, free=())


def test_the_cli_runs_each_new_pde_and_refuses_bad_values(tmp_path, capsys):
    from photonzo.cli import main

    common = [
        "--model",
        "small",
        "--steps",
        "2",
        "--eval-every",
        "2",
        "--test-points",
        "100",
        "--points",
        "8",
    ]
    common += ["--q", "2", "--quiet"]
    for name, extra in (
        ("black-scholes", ["--volatility", "0.3"]),
        ("burgers", []),
        ("fisher", ["--dim", "3"]),
    ):
        run = tmp_path / name
        assert main(["hjb", "--pde", name, *extra, *common, "--run-dir", str(run)]) == 0
        summary = json.loads((run / "summary.json").read_text())
        assert summary["pde"]["name"] == name and math.isfinite(summary["rel_l2"])
    assert summary["pde"] == {"name": "fisher", "dim": 3}
    bs = json.loads((tmp_path / "black-scholes" / "summary.json").read_text())["pde"]
    assert bs == {
        "name": "black-scholes",
        "dim": 1,
        "volatility": 0.3,
        "interest_rate": 0.05,
        "maturity": 1.0,
        "strike": 1.0,
    }
    capsys.readouterr()
    assert main(["hjb", "--pde", "hjb", "--viscosity", "0.1", *common, "--run-dir", str(tmp_path / "x")]) == 2
    assert "--viscosity is a setting of burgers, not of the hjb PDE" in capsys.readouterr().err
    assert main(["hjb", "--pde", "burgers", "--dim", "2", *common, "--run-dir", str(tmp_path / "y")]) == 2
    assert "burgers is one-dimensional: the spatial dimension must be 1, got 2" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["hjb", "--pde", "burgers", "--viscosity", "-0.1", *common])
    assert "argument --viscosity: expected a positive finite number, got -0.1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["hjb", "--pde", "wave", *common])
    assert "invalid choice: 'wave'" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
