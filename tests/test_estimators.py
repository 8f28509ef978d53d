"""Zeroth-order estimators against closed forms: unbiasedness, exactness, variance."""

import math

import pytest
import torch

from photonzo.photonics.layers import ParamSlice
from photonzo.training.estimators import CGE, RGE, PerGroup, build_estimators, evaluate
from photonzo.training.methods import hybrid, method
from photonzo.training.optim import adam

from conftest import FunctionOracle


def quadratic(n, seed=0, scales=None):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, n, generator=g, dtype=torch.float64)
    A = a @ a.T / n + torch.eye(n, dtype=torch.float64)
    c = torch.randn(n, generator=g, dtype=torch.float64)
    if scales is not None:
        c = c * scales
    f = lambda th: 0.5 * ((th - c) @ A * (th - c)).sum(-1)
    grad = lambda th: A @ (th - c)
    return f, grad


@pytest.mark.parametrize("distribution", ["rademacher", "gaussian", "sphere"])
@pytest.mark.parametrize("scheme", ["central", "forward"])
def test_rge_expectation_is_the_gradient(distribution, scheme):
    n, q = 16, 40000
    f, grad = quadratic(n)
    theta = torch.linspace(-1, 1, n, dtype=torch.float64)
    oracle = FunctionOracle(f, n)
    est = RGE(q=q, distribution=distribution, scheme=scheme, mu=1e-3)
    e = est.estimate(oracle, theta, None, 0, torch.Generator().manual_seed(1), max_settings=8192)
    true = grad(theta)
    # per-component std ≈ ‖g‖/√q (gaussian: √2 larger); 5σ over the vector
    rel = (e.grad - true).norm() / true.norm()
    assert rel < 5 * math.sqrt(2 * n / q)
    assert e.queries == (2 * q + 1 if scheme == "central" else q + 1)
    assert e.loss == pytest.approx(float(f(theta[None])[0]))


@pytest.mark.parametrize("distribution", ["rademacher", "gaussian"])
def test_sparse_directions_stay_unbiased_with_a_smaller_perturbation(distribution):
    n, q, density = 16, 40000, 0.25
    f, grad = quadratic(n)
    theta = torch.linspace(-1, 1, n, dtype=torch.float64)
    est = RGE(q=q, distribution=distribution, mu=1e-3, density=density)
    e = est.estimate(
        FunctionOracle(f, n), theta, None, 0, torch.Generator().manual_seed(1), max_settings=8192
    )
    true = grad(theta)
    # per direction E‖ĝ‖² = ‖g‖²/density + (n − 1)‖g‖² (gaussian: up to 3× more): 5σ over the vector
    rel = (e.grad - true).norm() / true.norm()
    assert rel < 5 * math.sqrt(3 * (1 / density + n - 1) / q)
    assert est.describe()["density"] == density
    (probe,) = est.probes(n, 0, torch.Generator().manual_seed(2), torch.float64)
    rows = probe.rows(0, probe.k)
    touched = (rows != 0).double().mean()  # each coordinate perturbed with probability `density`
    assert abs(touched - density) < 5 * math.sqrt(density * (1 - density) / (q * n))
    assert set(rows.unique().tolist()) <= {-1.0, 0.0, 1.0} or distribution == "gaussian"


def test_sparse_directions_shrink_the_central_differences_bias():
    # f = s⁴ with s = Σθ: along u (t = Σu) the central difference is 4s³t + 4sμ²t³, so with
    # Bernoulli(ρ)-Rademacher directions scaled by 1/ρ, E ĝᵢ = 4s³ + 4sμ²(1 + 3ρ(n − 1)): the bias
    # grows with the number of coordinates perturbed at once, and sparse ones cut it ~ρ-fold
    n, q, mu = 64, 20000, 0.5  # a large step, near s = 0: the bias dominates the gradient and the noise
    theta = torch.full((n,), 0.005, dtype=torch.float64)
    s = theta.sum().item()
    oracle = FunctionOracle(lambda th: th.sum(-1) ** 4, n)
    for density in (1.0, 1 / 16):
        e = RGE(q=q, mu=mu, density=density).estimate(
            oracle, theta, None, 0, torch.Generator().manual_seed(3), max_settings=8192
        )
        bias = (e.grad - 4 * s**3).mean().item()  # the noise averages out over q and the coordinates
        expected = 4 * s * mu**2 * (1 + 3 * density * (n - 1))
        assert bias == pytest.approx(expected, rel=0.1), density


def test_sparse_directions_are_refused_outside_zero_to_one_and_on_the_sphere():
    for bad in (0, -0.5, 1.5):
        with pytest.raises(ValueError, match=r"density must lie in \(0, 1\]"):
            RGE(q=2, density=bad)
    with pytest.raises(ValueError, match="sphere"):
        RGE(q=2, distribution="sphere", density=0.5)


def test_sphere_directions_have_radius_sqrt_n_per_slice():
    slices = [ParamSlice("a", 0, 3, "mesh"), ParamSlice("b", 3, 10, "mesh")]
    est = RGE(q=5, distribution="sphere", slices=slices, tensorwise=True)
    (probe,) = est.probes(10, 0, torch.Generator().manual_seed(0), torch.float64)
    rows = probe.rows(0, probe.k)
    assert rows.shape == (10, 10)
    assert torch.allclose(rows[:5, :3].norm(dim=1) ** 2, torch.full((5,), 3.0, dtype=torch.float64))
    assert torch.allclose(rows[5:, 3:].norm(dim=1) ** 2, torch.full((5,), 7.0, dtype=torch.float64))
    assert (rows[:5, 3:] == 0).all() and (rows[5:, :3] == 0).all()


@pytest.mark.parametrize("scheme", ["forward", "central"])
def test_cge_is_exact_on_linear_functions(scheme):
    n = 37
    a = torch.randn(n, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    oracle = FunctionOracle(lambda th: th @ a + 2.5, n)
    e = CGE(scheme=scheme, mu=0.1).estimate(
        oracle, torch.rand(n, dtype=torch.float64), None, 0, torch.Generator(), max_settings=10
    )
    assert torch.allclose(e.grad, a, atol=1e-12)
    assert e.queries == (2 * n + 1 if scheme == "central" else n + 1)
    assert oracle.calls == math.ceil(e.queries / 10)  # batched: a few calls, not one per query


def test_cge_subset_touches_only_its_coordinates():
    n = 50
    a = torch.arange(1.0, n + 1, dtype=torch.float64)
    oracle = FunctionOracle(lambda th: th @ a, n)
    e = CGE(mu=0.1, subset=7).estimate(
        oracle, torch.zeros(n, dtype=torch.float64), None, 0, torch.Generator().manual_seed(0)
    )
    nz = e.grad.nonzero().flatten()
    assert len(nz) == 7 and torch.allclose(e.grad[nz], a[nz])
    assert e.queries == 8


def test_tensorwise_variance_is_lower_at_equal_queries_when_slices_differ():
    """Closed form (Rademacher, exact directional derivatives, Q directions in all):
    whole-vector RGE has E‖ĝ − g‖² = Σ_i (‖g‖² − g_i²)/Q, tensor-wise with k = Q/S per slice
    Σ_s Σ_{i∈s} (‖g_s‖² − g_i²)/k. A large slice with a small gradient next to a small slice
    with a large one — as meshes next to biases — makes the tensor-wise error far smaller."""
    sizes, scales = [4, 60], [10.0, 0.1]
    slices = [ParamSlice("small", 0, 4, "bias"), ParamSlice("large", 4, 64, "mesh")]
    n = sum(sizes)
    g_true = torch.cat([s * torch.ones(k, dtype=torch.float64) for k, s in zip(sizes, scales)])
    linear = lambda th: th @ g_true  # gradient g everywhere: the estimator's own variance only
    trials, k = 400, 4
    errors = {}
    for name, est in [
        ("whole", RGE(q=2 * k, mu=0.01)),
        ("tensorwise", RGE(q=k, mu=0.01, slices=slices, tensorwise=True)),
    ]:
        oracle = FunctionOracle(linear, n, slices)
        gen = torch.Generator().manual_seed(7)
        errs = [
            (est.estimate(oracle, torch.zeros(n, dtype=torch.float64), None, 0, gen).grad - g_true)
            .pow(2)
            .sum()
            for _ in range(trials)
        ]
        errors[name] = torch.stack(errs).mean().item()
        assert oracle.queries == trials * (2 * 2 * k + 1)  # equal queries for both
    g2 = g_true.pow(2)
    expect_whole = (g2.sum() - g2).sum().item() / (2 * k)
    expect_tw = sum((g2[s.slice].sum() - g2[s.slice]).sum().item() for s in slices) / k
    assert errors["whole"] == pytest.approx(expect_whole, rel=0.2)
    assert errors["tensorwise"] == pytest.approx(expect_tw, rel=0.2)
    assert errors["tensorwise"] < errors["whole"] / 5


def test_per_group_and_hybrid_report_what_they_used():
    n = 20
    slices = [ParamSlice("mesh", 0, 16, "mesh"), ParamSlice("bias", 16, 20, "bias")]
    a = torch.arange(n, dtype=torch.float64)
    oracle = FunctionOracle(lambda th: th @ a, n, slices)
    split = PerGroup([("mesh", RGE(q=3, support=slices[:1])), ("bias", CGE(support=slices[1:]))])
    e = split.estimate(oracle, torch.zeros(n, dtype=torch.float64), None, 0, torch.Generator().manual_seed(0))
    assert e.method == "rge[mesh]+cge[bias]" and e.queries == 1 + 6 + 4
    assert torch.allclose(e.grad[16:], a[16:])  # CGE part exact; one batched call in all
    assert oracle.calls == 1

    both = hybrid(
        method(RGE(q=2, sign=True), adam(0.1)), method(CGE(), adam(0.1)), switch_step=None, patience=2
    )
    gen = torch.Generator().manual_seed(0)
    theta = torch.zeros(n, dtype=torch.float64)
    state = both.prepare(both.init(theta), 0, theta)
    assert both.current(state).estimate(oracle, theta, None, 0, gen).method == "sign-rge"
    for step, val in enumerate([1.0, 0.9, 0.95, 0.91]):  # two evaluations without a new best
        state = both.observe(state, step, val)
    assert state.switched_at == 4
    name = lambda step: both.current(both.prepare(state, step, theta)).name
    assert name(3) == "sign-rge" and name(4) == "cge"
    arrays, meta = both.save(state)
    restored = hybrid(method(RGE(q=2, sign=True), adam(0.1)), method(CGE(), adam(0.1)), patience=2)
    assert (
        restored.current(restored.prepare(restored.restore(arrays, meta, theta, 5), 5, theta)).name == "cge"
    )


def test_sign_rge_returns_signs():
    n = 12
    oracle = FunctionOracle(lambda th: (th * torch.arange(1.0, n + 1, dtype=torch.float64)).sum(-1), n)
    e = RGE(q=3, sign=True).estimate(oracle, torch.zeros(n, dtype=torch.float64), None, 0, torch.Generator())
    assert set(e.grad.unique().tolist()) <= {-1.0, 0.0, 1.0} and (e.grad != 0).any()


def test_build_estimator_names_and_bad_input():
    slices = [ParamSlice("core0", 0, 10, "mesh"), ParamSlice("bias", 10, 12, "bias")]
    oracle = FunctionOracle(lambda th: th.sum(-1), 12, slices)
    assert build_estimators("rge", oracle, tensorwise=True)[0].name == "rge-tensorwise"
    assert build_estimators("rge", oracle, per_group=True)[0].name == "rge[groups]+cge[small]"
    phases = [method(e, adam(0.1)) for e in build_estimators("hybrid", oracle)]
    assert hybrid(*phases, patience=3).name == "hybrid(sign-rge→cge)"
    with pytest.raises(ValueError, match="unknown estimator 'spsa'"):
        build_estimators("spsa", oracle)
    with pytest.raises(ValueError, match="q must be a positive integer"):
        RGE(q=0)
    with pytest.raises(ValueError, match="mu must be a positive"):
        CGE(mu=-0.1)
    with pytest.raises(ValueError, match="unknown direction distribution"):
        RGE(distribution="cauchy")
    with pytest.raises(ValueError, match="needs a switch_step, a patience"):
        hybrid(method(RGE(), adam(0.1)), method(CGE(), adam(0.1)), switch_step=None, patience=None)


def test_evaluate_batches_all_probes_into_few_calls():
    n = 30
    oracle = FunctionOracle(lambda th: th.pow(2).sum(-1), n)
    probes = RGE(q=50).probes(n, 0, torch.Generator().manual_seed(0), torch.float64)
    grad, loss, queries = evaluate(oracle, torch.ones(n, dtype=torch.float64), None, probes, max_settings=64)
    assert queries == 101 and oracle.calls == 2
    # chunk boundaries split probes mid-way; the estimate must not depend on them
    probes = RGE(q=50).probes(n, 0, torch.Generator().manual_seed(0), torch.float64)
    whole, _, _ = evaluate(oracle, torch.ones(n, dtype=torch.float64), None, probes, max_settings=1000)
    assert torch.allclose(grad, whole, atol=1e-12)


def test_hybrid_switch_step_is_not_moved_by_reading_it():
    both = hybrid(method(RGE(q=1), adam(0.1)), method(CGE(), adam(0.1)), switch_step=5, patience=None)
    theta = torch.zeros(10, dtype=torch.float64)
    state = both.init(theta)
    both.current(both.prepare(state, 9, theta)).queries_per_step(10, step=9)
    name = lambda step: both.current(both.prepare(state, step, theta)).name
    assert state.switched_at is None and name(4) == "rge" and name(5) == "cge"
    # the second phase starts from a fresh optimiser state by construction
    switched = both.prepare(state._replace(inner=state.inner._replace(t=7)), 5, theta)
    assert switched.phase == 1 and switched.inner.t == 0 and switched.switched_at == 5
