"""The literature's on-chip trainers (training/literature.py) on problems with known gradients."""

import json
import math

import numpy as np
import pytest
import torch

from photonzo.cli import main
from photonzo.experiments.config import TrainConfig
from photonzo.experiments.run import run_training
from photonzo.photonics.layers import ParamSlice
from photonzo.training.estimators import settings_per_call
from photonzo.training.literature import (
    FLOPS,
    STP,
    SZOSCD,
    ZOAdaMM,
    ZOSignSGD,
    build_trainer,
    build_trainer_estimator,
)
from photonzo.training.optim import adamm, state_arrays
from photonzo.training.step import initial_state, zo_step

from conftest import FunctionOracle


def quadratic(n, seed=0):
    """f(θ) = ½ (θ − c)ᵀ A (θ − c) with A ≻ I: gradient A (θ − c)."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, n, generator=g, dtype=torch.float64)
    A = a @ a.T / n + torch.eye(n, dtype=torch.float64)
    c = torch.randn(n, generator=g, dtype=torch.float64)
    return (lambda th: 0.5 * ((th - c) @ A * (th - c)).sum(-1)), (lambda th: A @ (th - c)), c


def zeros(n):
    return torch.zeros(n, dtype=torch.float64)


def electronic(n):
    """The phase mask of a test function that is not periodic: nothing wraps."""
    return torch.zeros(n, dtype=torch.bool)


def step_once(oracle, chosen, theta, seed=0):
    state, record = zo_step(
        oracle, chosen, initial_state(chosen, theta), None, generator=torch.Generator().manual_seed(seed)
    )
    return state, record


@pytest.mark.parametrize("make", [FLOPS, ZOAdaMM], ids=["flops", "zo-adamm"])
def test_the_forward_difference_estimates_average_to_the_gradient(make):
    n, q = 16, 40000
    f, grad, _ = quadratic(n)
    theta = torch.linspace(-1, 1, n, dtype=torch.float64)
    est = make(q=q, mu=1e-3)
    e = est.estimate(
        FunctionOracle(f, n), theta, None, 0, torch.Generator().manual_seed(1), max_settings=8192
    )
    true = grad(theta)
    # E‖ĝ − g‖² = (n + 1)‖g‖²/q for Gaussian directions (a little less on the sphere); forward
    # differences add a bias of O(μ‖A‖); 4σ
    assert (e.grad - true).norm() / true.norm() < 4 * math.sqrt((n + 2) / q)
    assert e.queries == q + 1 and e.method == est.name
    (probe,) = est.probes(n, 0, torch.Generator().manual_seed(0), torch.float64)
    if make is FLOPS:  # Gaussian directions, not ±1
        assert probe.scheme == "forward" and probe.R.abs().unique().numel() > 2
    else:  # on the sphere of radius √n
        assert torch.allclose(probe.R.norm(dim=1), torch.full((q,), math.sqrt(n), dtype=torch.float64))


def test_flops_steps_by_plain_gradient_descent():
    n, lr = 10, 0.3
    f, _, _ = quadratic(n)
    oracle = FunctionOracle(f, n)
    chosen = build_trainer("flops", oracle, None, lr=lr, mask=electronic(n), q=7, mu=0.01)
    theta = torch.linspace(0, 1, n, dtype=torch.float64)
    state, record = step_once(oracle, chosen, theta, seed=3)
    e = FLOPS(q=7, mu=0.01).estimate(FunctionOracle(f, n), theta, None, 0, torch.Generator().manual_seed(3))
    assert torch.equal(state.params, theta - lr * e.grad)  # no momentum, no adaptive scaling
    assert record["step_queries"] == 8 and record["lr"] == lr


def test_zo_signsgd_moves_every_coordinate_by_exactly_lr_and_downhill():
    n, lr = 16, 0.05
    f, grad, _ = quadratic(n)
    oracle = FunctionOracle(f, n)
    chosen = build_trainer("zo-signsgd", oracle, None, lr=lr, mask=electronic(n), q=2000, mu=1e-3)
    state, record = step_once(oracle, chosen, zeros(n))
    move = state.params
    assert set(move.abs().tolist()) == {lr}  # ±lr on every coordinate, nothing else
    g = grad(zeros(n))
    clear = g.abs() > 0.2 * g.norm()  # components far above the estimate's noise (‖g‖/√q)
    assert clear.sum() >= 3 and torch.equal(torch.sign(move[clear]), -torch.sign(g[clear]))
    assert record["step_queries"] == 2001 and isinstance(chosen.estimator, ZOSignSGD)


def test_adamm_follows_its_moment_rule_with_the_running_maximum():
    lr, (b1, b2), eps = 0.1, (0.9, 0.99), 1e-8
    opt = adamm(lr, betas=(b1, b2), eps=eps)
    x = torch.tensor([0.5, 1.0], dtype=torch.float64)
    state = opt.init(x)
    m, v, v_hat, ref = zeros(2), zeros(2), zeros(2), x.clone()
    grads = [torch.tensor(g, dtype=torch.float64) for g in ([2.0, -0.1], [0.1, -0.1], [-0.1, 0.3])]
    for step, g in enumerate(grads):
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
        v_hat = torch.maximum(v_hat, v)
        ref = torch.remainder(ref - lr * m / (v_hat.sqrt() + eps), 2 * math.pi)  # no bias correction
        x, state = opt.update(g, state, x, step)
        assert torch.allclose(x, ref, rtol=0, atol=1e-14) and torch.allclose(state.v_hat, v_hat)
    assert state.t == 3 and state.v_hat[0] > state.v[0]  # the maximum kept the first step's large v
    restored = opt.restore(state_arrays(state), x)
    assert restored.t == 3 and all(torch.equal(a, b) for a, b in zip(restored[1:], state[1:]))


def test_stp_never_increases_the_loss_and_lands_on_a_probed_point():
    n, mu = 20, 0.05
    f, _, _ = quadratic(n, seed=4)
    oracle = FunctionOracle(f, n)
    chosen = build_trainer(
        "stp", oracle, None, lr=1.0, mask=electronic(n), q=1, mu=mu
    )  # --lr does not apply to STP
    state = initial_state(chosen, zeros(n))
    gen = torch.Generator().manual_seed(0)
    losses = [float(f(state.params[None])[0])]
    for _ in range(300):
        before = state.params
        state, record = zo_step(oracle, chosen, state, None, generator=gen)
        move = (state.params - before).abs()
        assert record["step_queries"] == 3  # the three points: θ, θ + μs, θ − μs
        assert torch.allclose(move, torch.full_like(move, mu)) or torch.equal(move, zeros(n))
        losses.append(float(f(state.params[None])[0]))
    assert all(b <= a for a, b in zip(losses, losses[1:]))
    assert losses[-1] < 0.5 * losses[0]


def test_stp_stays_at_the_minimum():
    n = 8
    f, _, c = quadratic(n)
    oracle = FunctionOracle(f, n)
    chosen = build_trainer("stp", oracle, None, lr=1.0, mask=electronic(n), q=4, mu=0.1)
    state, record = step_once(oracle, chosen, c.clone())
    assert torch.equal(state.params, c) and record["step_queries"] == 9


@pytest.mark.parametrize("sequential", [True, False])
def test_szo_scd_touches_only_the_sampled_coordinates_of_its_active_set(sequential):
    n, mu = 200, 0.01
    a = torch.randn(n, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    oracle = FunctionOracle(lambda th: th @ a, n)
    est = SZOSCD(alpha=0.25, s=0.2, mu=mu, sequential=sequential, mask_seed=7)
    active = est.active(n)
    assert len(active) == 50 and torch.equal(active, SZOSCD(0.25, 0.2, mask_seed=7).active(n))
    assert not torch.equal(active, SZOSCD(0.25, 0.2, mask_seed=8).active(n))
    gen, touched = torch.Generator().manual_seed(0), set()
    for step in range(40):
        calls = oracle.calls
        e = est.estimate(oracle, zeros(n), None, step, gen)
        moved = e.grad.nonzero().flatten()
        assert len(moved) == 10 and set(moved.tolist()) <= set(active.tolist())
        # on a linear function +δ lowers the loss exactly where a < 0: move +δ there, −δ elsewhere
        assert torch.equal(e.grad[moved], torch.sign(a[moved]))
        rejected = int((a[moved] >= 0).sum())
        assert e.queries == 1 + 10 + (rejected if sequential else 0)
        assert oracle.calls - calls == (e.queries if sequential else 1)
        touched |= set(moved.tolist())
    assert touched == set(active.tolist())
    assert settings_per_call(est, n) == (1 if sequential else 11)


def test_szo_scd_sweeps_coordinates_in_sequence_as_the_reference_code():
    """f = (θ₀ + θ₁ − δ)² from 0: +δ on θ₀ lowers the loss to 0; then +δ on θ₁ does not, so θ₁ takes −δ
    unchecked (the reference's rule). From one shared centre (not sequential) both take +δ."""
    d = 0.1
    oracle = FunctionOracle(lambda th: (th.sum(-1) - d) ** 2, 2)
    for sequential, want, queries in ((True, [d, -d], 4), (False, [d, d], 3)):
        chosen = build_trainer(
            "szo-scd",
            oracle,
            None,
            lr=1.0,
            mask=electronic(2),
            mu=d,
            active_fraction=1.0,
            coordinate_fraction=1.0,
        )
        chosen.estimator.sequential = sequential
        state, record = step_once(oracle, chosen, zeros(2))
        assert torch.allclose(state.params, torch.tensor(want, dtype=torch.float64), rtol=0, atol=1e-15)
        assert record["step_queries"] == queries


def test_subspace_estimates_the_gradient_on_the_attenuators_and_biases_only():
    n, q = 24, 20000
    slices = [
        ParamSlice("V", 0, 8, "mesh"),
        ParamSlice("sigma", 8, 12, "attenuator"),
        ParamSlice("U", 12, 20, "mesh"),
        ParamSlice("bias", 20, 24, "bias"),
    ]
    f, grad, _ = quadratic(n, seed=2)
    oracle = FunctionOracle(f, n, slices)
    est = build_trainer_estimator("subspace", oracle, q=q, mu=1e-3)
    assert est.name == "subspace-rge"
    theta = torch.linspace(-1, 1, n, dtype=torch.float64)
    e = est.estimate(oracle, theta, None, 0, torch.Generator().manual_seed(0), max_settings=8192)
    sub = torch.zeros(n, dtype=torch.bool)
    sub[8:12] = sub[20:24] = True
    assert torch.equal(e.grad[~sub], zeros(16))  # the meshes are never perturbed nor moved
    true = grad(theta)[sub]
    assert (e.grad[sub] - true).norm() / true.norm() < 5 * math.sqrt(2 * 8 / q)
    with pytest.raises(ValueError, match="trains Σ attenuators and biases; this model has neither"):
        build_trainer_estimator("subspace", FunctionOracle(f, n))


@pytest.mark.parametrize("name", ["flops", "szo-scd", "stp", "zo-signsgd", "zo-adamm"])
def test_each_trainer_runs_from_its_configuration(tmp_path, name):
    q, steps = 2, 2
    config = TrainConfig.of(estimator=name, steps=steps, eval_every=2, eval_size=40, q=q, lr=0.05)
    summary = run_training(config, tmp_path / "run", progress=False)
    assert summary["estimator"]["name"] == name and summary["steps"] == steps
    if name == "szo-scd":
        k = round(0.1 * round(0.15 * summary["params"]))  # MixedTrain's α = 0.15, s = 0.1
        assert steps * (1 + k) <= summary["train_queries"] <= steps * (1 + 2 * k)
    else:
        assert summary["train_queries"] == steps * (1 + (2 * q if name == "stp" else q))


def test_subspace_deploys_back_propagation_weights_then_fine_tunes_and_resumes(tmp_path):
    run = tmp_path / "run"
    config = TrainConfig.of(estimator="subspace", bp_epochs=1, steps=2, eval_every=2, eval_size=40, q=2)
    summary = run_training(config, run, progress=False)
    assert summary["estimator"]["name"] == "subspace-rge-tensorwise"
    assert summary["deployed"]["bp_epochs"] == 1 and "start_test_acc" in summary
    assert summary["train_queries"] == 2 * (1 + 2 * 2 * 6)  # six slices with Σ or biases (digits-tt)
    assert (run / "deployed.npz").exists()
    longer = run_training(config.replace(steps=3), run, resume=True, progress=False)
    assert longer["steps"] == 3 and longer["deployed"] == summary["deployed"]  # the saved deployment


def test_a_deployed_init_fine_tunes_every_phase_from_back_propagation_weights_and_resumes(tmp_path):
    """``init="deployed"``: any estimator starts from BP weights deployed onto the run's chip (saved, so
    a resume programs the same ones); its first evaluation is the deployment's accuracy."""
    run = tmp_path / "run"
    config = TrainConfig.of(init="deployed", bp_epochs=2, steps=2, eval_every=2, eval_size=40, q=2, lr=1e-3)
    summary = run_training(config, run, progress=False)
    assert summary["deployed"]["bp_epochs"] == 2 and (run / "deployed.npz").exists()
    assert summary["start_test_acc"] > 0.5  # BP weights, not random phases (~10 %)
    with np.load(run / "deployed.npz", allow_pickle=False) as saved:
        assert saved["params"].shape == (summary["params"],)
    longer = run_training(config.replace(steps=3), run, resume=True, progress=False)
    assert longer["steps"] == 3 and longer["deployed"] == summary["deployed"]
    with pytest.raises(ValueError, match="init"):
        TrainConfig.of(init="bp")


def test_the_cli_reports_a_deployed_start_beside_its_fine_tuned_accuracy(tmp_path, capsys):
    argv = ["train", "digits", "--init", "deployed", "--bp-epochs", "1", "--steps", "2", "--eval-every", "2"]
    assert main([*argv, "--eval-size", "40", "--q", "2", "--quiet", "--run-dir", str(tmp_path / "r")]) == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    line = f"deployed back-propagation weights: {100 * summary['start_test_acc']:.1f}% on this chip"
    assert line in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            ["--estimator", "szo-scd", "--active-fraction", "1.5"],
            "active-fraction must lie in (0, 1], got 1.5",
        ),
        (["--estimator", "szo-scd", "--coordinate-fraction", "0"], "coordinate-fraction must lie in (0, 1]"),
        (["--active-fraction", "0.5"], "--active-fraction is for --estimator szo-scd, not rge"),
        (
            ["--estimator", "flops", "--bp-epochs", "3"],
            "--bp-epochs is for --estimator subspace or --init deployed, not flops",
        ),
    ],
)
def test_bad_trainer_options_are_refused_before_anything_runs(tmp_path, capsys, extra, message):
    run = tmp_path / "run"
    assert main(["train", "digits", "--quiet", "--run-dir", str(run), *extra]) == 2
    assert message in capsys.readouterr().err and not run.exists()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--estimator", "spsa"], "invalid choice: 'spsa'"),
        (["--estimator", "flops", "--q", "0"], "expected a positive integer, got 0"),
        (["--estimator", "subspace", "--bp-epochs", "-1"], "expected a positive integer, got -1"),
    ],
)
def test_bad_trainer_names_and_counts_are_refused_by_the_parser(tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit):
        main(["train", "digits", "--quiet", "--run-dir", str(tmp_path / "run"), *extra])
    err = capsys.readouterr().err
    assert message in err and not (tmp_path / "run").exists()
    if "spsa" in message:
        assert all(name in err for name in ("flops", "szo-scd", "stp", "zo-signsgd", "zo-adamm", "subspace"))


def test_bad_trainer_arguments_in_code():
    with pytest.raises(ValueError, match=r"alpha must lie in \(0, 1\], got 0"):
        SZOSCD(alpha=0)
    with pytest.raises(ValueError, match=r"coordinate fraction s must lie in \(0, 1\], got 1.2"):
        SZOSCD(s=1.2)
    with pytest.raises(ValueError, match="the number of STP directions q must be a positive integer"):
        STP(q=0)
    with pytest.raises(ValueError, match="q must be a positive integer, got -3"):
        FLOPS(q=-3)
    with pytest.raises(ValueError, match="unknown estimator 'spsa'; accepted values are flops, szo-scd"):
        build_trainer_estimator("spsa", FunctionOracle(lambda th: th.sum(-1), 3))
    assert json.dumps(SZOSCD().describe())  # JSON-able for summary.json
