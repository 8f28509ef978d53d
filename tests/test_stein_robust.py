"""Noise-robust derivatives (issue 18, item 2): repeated reads, the balanced centre, the balanced step,
and the error budget ``noise_std`` states, checked on synthetic Gaussian reading noise."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from photonzo.pinn.quadrature import sampled_rule
from photonzo.pinn.stein import (
    MAX_REPEATS,
    FiniteDifference,
    LeastSquaresEstimator,
    SteinEstimator,
    balanced_step,
)


def quadratic(d, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(d, d, generator=g, dtype=torch.float64)
    a = a + a.T
    b = torch.randn(d, generator=g, dtype=torch.float64)
    return (lambda x: ((x @ a) * x).sum(-1) + x @ b + 1.0), a, b


def estimators(d, spatial, **reads):
    rule = sampled_rule("antithetic", d, 40, seed=1)  # no origin: the centre is appended
    return [
        FiniteDifference(d, 0.7, spatial, **reads),
        LeastSquaresEstimator(rule, 0.5, spatial, **reads),
        SteinEstimator(sampled_rule("antithetic", d, 4000, seed=1), 0.5, spatial, **reads),
    ]


@pytest.mark.parametrize("reads", [{}, {"repeats": 3}, {"repeats": 2, "centre_repeats": 7}])
def test_repeated_reads_keep_finite_differences_and_least_squares_exact_on_quadratics(reads):
    d, spatial = 5, 4
    f, a, b = quadratic(d)
    x = torch.rand(6, d, dtype=torch.float64)
    for est in estimators(d, spatial, **reads)[:2]:
        pts = est.points(x)
        assert pts.shape == (6, est.evaluations, d)
        assert (
            est.evaluations
            == int(est.reads.sum())
            == len(est.nodes) * est.repeats + (est.centre_repeats - est.repeats)
        )
        out = est.derivatives(f(pts))
        np.testing.assert_allclose(out["grad"].numpy(), (2 * x @ a + b).numpy(), atol=1e-9)
        np.testing.assert_allclose(
            out["laplacian"].numpy(), 2 * torch.diagonal(a)[:spatial].sum().item(), atol=1e-8
        )
        np.testing.assert_allclose(out["value"].numpy(), f(x).numpy(), atol=1e-9)


def test_repeats_average_the_reads_of_each_node():
    d = 3
    once = FiniteDifference(d, 0.5, 2)
    twice = FiniteDifference(d, 0.5, 2, repeats=2, centre_repeats=5)
    x = torch.rand(4, d, dtype=torch.float64)
    values = torch.randn(4, once.evaluations, dtype=torch.float64)
    # every read of a node: its value ± the same offset, so the mean is the single reading
    offsets = torch.randn(4, twice.evaluations, dtype=torch.float64)
    index = twice._read_index
    offsets = (
        offsets
        - offsets.new_zeros(4, len(twice.nodes)).index_add_(1, index, offsets)[:, index]
        / (twice.reads[index])
    )
    a, b = once.derivatives(values), twice.derivatives(values[:, index] + offsets)
    for key in a:  # (not torch.testing: its first call imports torch.distributed, 2 s)
        np.testing.assert_allclose(a[key].numpy(), b[key].numpy(), rtol=1e-12, atol=1e-12)
    assert torch.equal(twice.points(x)[:, :5], x[:, None].expand(4, 5, d))  # the centre's 5 reads first


def test_noise_std_states_the_std_that_gaussian_reading_noise_gives():
    """The stated noise term, against 4,000 noisy readings of a known function: within 6 % (the
    sampling error of a std from 4,000 draws is 1.1 %), for plain reads, R = 4 and the balanced centre;
    R = 4 halves the noise, and the balanced centre cuts FD's Laplacian noise 4.6× in 21 dimensions."""
    d, eps, trials = 21, 1e-3, 4000
    f = lambda x: torch.sin(x).sum(-1)
    x = torch.full((1, d), 0.3, dtype=torch.float64)
    g = torch.Generator().manual_seed(0)
    measured = {}
    for label, reads in (("plain", {}), ("R4", {"repeats": 4}), ("balanced", {"centre_repeats": "balanced"})):
        est = FiniteDifference(d, 1.0, 20, **reads)
        clean = f(est.points(x))  # [1, E]
        noisy = clean + eps * torch.randn(trials, *clean.shape, generator=g, dtype=torch.float64)
        out = est.derivatives(noisy)  # [trials, 1, ...]
        stated = est.noise_std(eps)
        lap_std = float(out["laplacian"].std())
        grad_rms = float((out["grad"] - out["grad"].mean(0)).norm(dim=-1).pow(2).mean().sqrt())
        assert lap_std == pytest.approx(stated["laplacian"], rel=0.06)
        assert grad_rms == pytest.approx(stated["grad"], rel=0.06)
        measured[label] = (lap_std, est.evaluations)
    assert measured["plain"][0] / measured["R4"][0] == pytest.approx(2.0, rel=0.08)
    assert measured["plain"][0] / measured["balanced"][0] == pytest.approx(40.497 / 8.890, rel=0.08)
    assert measured["balanced"][1] == 42 + 41 and measured["plain"][1] == 43


def test_the_balanced_step_minimises_the_error_as_the_budget_predicts():
    """f = Σ cos x_i: FD's Laplacian bias is c·h² with c = |Σ cos x_i|/12 (to O(h⁴)); with reading
    noise ε the rms error at each step is √((c·h²)² + (G·ε/h²)²) (within 6 %), the stated budget
    c·h² + G·ε/h² bounds it, and it is least at h* = balanced_step: below h*/2's (noise ×4) and 2h*'s
    (bias ×4), at 1/√2 of the budget's 2√(G·ε·c) there."""
    d, eps, points = 6, 1e-4, 4000
    g = torch.Generator().manual_seed(1)
    x = torch.full((points, d), 0.4, dtype=torch.float64)
    exact = -torch.cos(x).sum(-1)
    c = float(exact.abs().mean()) / 12
    gain = FiniteDifference(d, 1.0, d, centre_repeats="balanced").noise_std(1.0)["laplacian"]
    h = balanced_step(gain, eps, c)
    errors = {}
    for step in (h / 2, h, 2 * h):
        est = FiniteDifference(d, step, d, centre_repeats="balanced")
        pts = est.points(x)
        values = torch.cos(pts).sum(-1) + eps * torch.randn(pts.shape[:2], generator=g, dtype=torch.float64)
        rms = float((est.derivatives(values)["laplacian"] - exact).pow(2).mean().sqrt())
        bias, noise = c * step**2, est.noise_std(eps)["laplacian"]
        assert noise == pytest.approx(gain * eps / step**2)
        assert rms == pytest.approx((bias**2 + noise**2) ** 0.5, rel=0.06) and rms < bias + noise
        errors[step] = rms
    assert errors[h] < errors[h / 2] and errors[h] < errors[2 * h]
    assert errors[h] == pytest.approx(2 * (gain * eps * c) ** 0.5 / 2**0.5, rel=0.06)


def test_the_balanced_centre_count_matches_the_closed_form():
    for d, s in ((21, 20), (5, 5), (3, 2)):
        est = FiniteDifference(d, 0.1, s)
        for r in (1, 3):
            assert est.balanced_centre_repeats(r) == round(r * (4 * s * d) ** 0.5)
    ls = LeastSquaresEstimator(sampled_rule("antithetic", 5, 40), 0.5, 5, centre_repeats="balanced")
    assert ls.centre_repeats == ls.balanced_centre_repeats(1) >= 1


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: FiniteDifference(3, 0.1, repeats=0), "repeats must be an integer in 1..10,000, got 0"),
        (lambda: FiniteDifference(3, 0.1, repeats=-2), "repeats must be an integer in 1..10,000, got -2"),
        (lambda: FiniteDifference(3, 0.1, repeats=1.5), "repeats must be an integer in 1..10,000, got 1.5"),
        (lambda: FiniteDifference(3, 0.1, repeats=True), "repeats must be an integer in 1..10,000, got True"),
        (
            lambda: FiniteDifference(3, 0.1, centre_repeats=0),
            "centre_repeats must be an integer in 1..10,000, got 0",
        ),
        (
            lambda: FiniteDifference(3, 0.1, centre_repeats="many"),
            "centre_repeats must be an integer in 1..10,000, got 'many'",
        ),
        (
            lambda: SteinEstimator(sampled_rule("monte-carlo", 3, 10), 0.1, repeats=10_001),
            "repeats must be an integer in 1..10,000, got 10001",
        ),
        (
            lambda: FiniteDifference(3, -0.5),
            "the finite-difference step h must be a positive finite number, got -0.5",
        ),
        (lambda: balanced_step(1.0, -1e-3, 1.0), "noise must be a positive finite number, got -0.001"),
        (lambda: balanced_step(1.0, 1e-3, 0.0), "curvature must be a positive finite number, got 0.0"),
    ],
)
def test_bad_reads_and_steps_are_refused(make, message):
    with pytest.raises(ValueError, match="^" + message.replace(".", r"\.").replace("(", r"\(") + "$"):
        make()


def test_repeats_are_configured_and_refused_where_the_other_options_are():
    from photonzo.experiments import config as config_module
    from photonzo.experiments.config import PINNConfig
    from photonzo.experiments.run import build_derivatives

    assert config_module.MAX_REPEATS == MAX_REPEATS
    est = build_derivatives(
        PINNConfig.of(dim=3, model="small", estimator="fd", sigma=1.5, repeats=2, centre_repeats=9), 4, 3
    )
    assert isinstance(est, FiniteDifference) and est.evaluations == 8 * 2 + 9 and est.h == 1.5
    for name, value, shown in (("repeats", 0, "repeats"), ("centre_repeats", -3, "centre-repeats")):
        with pytest.raises(ValueError, match=f"^{shown} must be an integer in 1..10,000, got {value}$"):
            PINNConfig.of(dim=3, model="small", estimator="fd", **{name: value})
    too_many = PINNConfig.of(dim=3, model="small", estimator="fd", repeats=3000)  # 9 nodes × 3000 > 20,000
    with pytest.raises(ValueError, match="reads 27,000 inputs per point, more than the limit of 20,000"):
        build_derivatives(too_many, 4, 3)
    assert build_derivatives(too_many.replace(force=True), 4, 3).evaluations == 27_000


def test_the_objective_reads_repeated_nodes_in_one_batch():
    from photonzo.pinn.objective import PINNObjective
    from photonzo.pinn.pde import build_pde

    pde = build_pde("hjb", 3)
    est = FiniteDifference(4, 0.5, 3, repeats=2, centre_repeats="balanced")

    class Oracle:  # NN = Σ_i x_i² (spatial): FD is exact on u = Σx + (1 − t)·NN along each axis
        calls = 0

        def outputs(self, settings, x):
            Oracle.calls += 1
            return (x[:, :3] ** 2).sum(-1)[None, :, None].expand(len(settings), -1, 1)

    objective = PINNObjective(pde, est, test_points=4, valid_points=2)
    x = objective.sample(torch.Generator().manual_seed(0), 5)
    r = objective.residuals(Oracle(), torch.zeros(2, 1), x)
    assert r.shape == (2, 5) and Oracle.calls == 1
    t, xs = x[:, 3], x[:, :3]
    exact = pde.residual(-(xs**2).sum(-1), 1 + (1 - t)[:, None] * 2 * xs, (1 - t) * 2 * 3)
    np.testing.assert_allclose(r.numpy(), exact.expand(2, 5).numpy(), atol=1e-9, rtol=0)
