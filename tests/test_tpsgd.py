"""Target projection (tpSGD, DRTP): fixed label-dependent targets, no gradient across layers or
time steps, learning digitally, and layer-local zeroth-order training through the chip's taps."""

import pytest
import torch
import torch.nn.functional as F

from photonzo.data.datasets import load_dataset
from photonzo.photonics.chip import Chip, LayerTapOracle
from photonzo.photonics.layers import OpticalLinear
from photonzo.photonics.network import OpticalNetwork, build_network
from photonzo.training.loop import LoopConfig
from photonzo.training.methods import method
from photonzo.training.objectives import Classification
from photonzo.training.optim import adam, phase_mask
from photonzo.training.tpsgd import (
    LOCAL_LOSSES,
    ProjectedRNN,
    TargetProjection,
    build_layer_local,
    layer_losses,
    rnn_losses,
    train_tpsgd,
    train_tpsgd_rnn,
)
from photonzo.training.zo import ZOTrainer

from conftest import TwoLayerTaps


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_targets_are_fixed_and_label_dependent():
    a, b = TargetProjection([16, 8], 10, seed=3), TargetProjection([16, 8], 10, seed=3)
    labels = torch.tensor([2, 7, 2, 0])
    ta, tb = a.targets(labels), b.targets(labels)
    for t, P in zip(ta, a.matrices):
        assert t.shape == (4, P.shape[0])
        assert torch.equal(t[0], t[2]) and torch.equal(t[0], P[:, 2])  # the same label, the same target
        assert not torch.allclose(t[0], t[1])  # other labels, other targets
    assert all(torch.equal(x, y) for x, y in zip(ta, tb))  # the seed fixes them
    assert not torch.allclose(TargetProjection([16], 10, seed=4).targets(labels)[0], ta[0])
    with pytest.raises(ValueError, match="integers in 0..9"):
        a.targets(torch.tensor([10]))
    with pytest.raises(ValueError, match="unknown projection distribution"):
        TargetProjection([4], 10, distribution="cauchy")


def three_layer_network():
    layers = [OpticalLinear(16, 16, block=4), OpticalLinear(16, 8, block=4), OpticalLinear(8, 4, block=4)]
    return OpticalNetwork(layers, ["relu", "tanh"], name="three")


@pytest.mark.parametrize("local_loss", list(LOCAL_LOSSES))
def test_no_gradient_crosses_layers(local_loss):
    network = three_layer_network()
    weights = network.random_weights(0)
    tensors = [w.tensors() for w in weights]  # (weight, bias) of every layer
    for group in tensors:
        for t in group:
            t.requires_grad_(True)
    x, y = torch.randn(12, 16, dtype=torch.float64), torch.randint(0, 4, (12,))
    projection = TargetProjection([16, 8], 4, seed=0)
    losses, logits = layer_losses(network, weights, x, y, projection, local_loss)
    assert len(losses) == 3 and logits.shape == (12, 4)
    for i, loss in enumerate(losses):
        grads = torch.autograd.grad(
            loss, [t for g in tensors for t in g], allow_unused=True, retain_graph=True
        )
        per_layer = [grads[2 * j : 2 * j + 2] for j in range(3)]
        for j, (gw, gb) in enumerate(per_layer):
            reached = any(g is not None and g.abs().sum() > 0 for g in (gw, gb))
            assert reached == (i == j), f"loss of layer {i} reaches layer {j}"
    # and the first layer's update does not change when a later layer's weights do
    grad0 = torch.autograd.grad(sum(losses), tensors[0][0], retain_graph=True)[0]
    with torch.no_grad():
        weights[2].weight.mul_(-3.0)
        weights[1].weight.add_(1.0)
    again = torch.autograd.grad(
        sum(layer_losses(network, weights, x, y, projection, local_loss)[0]), tensors[0][0]
    )[0]
    assert torch.equal(grad0, again)


def test_the_local_losses_are_what_they_say():
    h, t = torch.tensor([[[1.0, -1.0], [0.0, 2.0]]]), torch.tensor([[0.0, 1.0], [1.0, 1.0]])
    assert LOCAL_LOSSES["mse"](h, t).item() == pytest.approx((1 + 4 + 1 + 1) / 4)
    assert LOCAL_LOSSES["l1"](h, t).item() == pytest.approx((1 + 2 + 1 + 1) / 4)
    assert LOCAL_LOSSES["linear"](h, t).item() == pytest.approx(-(0 - 1 + 0 + 2) / 4)  # DRTP: −⟨h, t⟩
    assert LOCAL_LOSSES["cosine"](2 * t[None], t).item() == pytest.approx(0.0, abs=1e-7)  # scale-free
    soft = torch.softmax(t, -1)
    assert LOCAL_LOSSES["ce"](h, t).item() == pytest.approx(
        -(soft * torch.log_softmax(h[0], -1)).sum(-1).mean().item()
    )


@pytest.mark.parametrize("model", ["digits-dense", "digits-tt"])
def test_digital_tpsgd_learns_digits(model, digits):
    network = build_network(model)
    weights, stats = train_tpsgd(
        network,
        digits.x_train,
        digits.y_train,
        epochs=15,
        lr=1e-2,
        valid=(digits.x_test[:100], digits.y_test[:100]),
    )
    with torch.no_grad():
        out = network.digital_forward(weights, torch.as_tensor(digits.x_test[100:], dtype=torch.float64))
    acc = (out.argmax(-1).numpy() == digits.y_test[100:]).mean()
    assert acc > 0.85, acc
    assert 1 <= stats["best_epoch"] <= 15 and stats["valid_acc"] == max(stats["valid_curve"])


def test_drtp_is_tpsgd_with_the_linear_loss(digits):
    network = build_network("digits-dense")
    weights, stats = train_tpsgd(network, digits.x_train, digits.y_train, method="drtp", epochs=10, lr=3e-3)
    assert stats["local_loss"] == "linear"
    with torch.no_grad():
        out = network.digital_forward(weights, torch.as_tensor(digits.x_test, dtype=torch.float64))
    assert (out.argmax(-1).numpy() == digits.y_test).mean() > 0.8
    with pytest.raises(ValueError, match="unknown target-projection method"):
        train_tpsgd(network, digits.x_train, digits.y_train, method="dfa")
    with pytest.raises(ValueError, match="unknown local loss"):
        train_tpsgd(network, digits.x_train, digits.y_train, local_loss="hinge")
    with pytest.raises(ValueError, match="epochs and batch_size must be positive"):
        train_tpsgd(network, digits.x_train, digits.y_train, epochs=0)


def test_recurrent_tpsgd_learns_row_sequences_without_crossing_time(digits):
    seq = lambda x: x.reshape(len(x), 8, 8)  # the 8×8 digits read row by row: 8 steps of 8 pixels
    model, stats = train_tpsgd_rnn(seq(digits.x_train), digits.y_train, hidden=64, epochs=20)
    acc = (
        model.logits(torch.as_tensor(seq(digits.x_test), dtype=torch.float64)).argmax(-1).numpy()
        == digits.y_test
    ).mean()
    assert acc > 0.55, acc  # chance is 0.1; measured 0.66
    # each step's local loss sees only its own input: no gradient reaches earlier time steps
    x = torch.as_tensor(seq(digits.x_test[:5]), dtype=torch.float64).requires_grad_(True)
    last = ProjectedRNN(8, 16, 10, seed=0).states(x)[-1]
    grad = torch.autograd.grad(last.sum(), x)[0]
    assert grad[:, :-1].abs().sum() == 0 and grad[:, -1].abs().sum() > 0
    local, task = rnn_losses(
        ProjectedRNN(8, 16, 10),
        x,
        torch.tensor([1, 2, 3, 4, 5]),
        TargetProjection([16], 10, distribution="uniform"),
    )
    assert torch.isfinite(local) and torch.isfinite(task)


@pytest.mark.parametrize("joint", [False, True])
def test_layer_local_estimate_follows_each_layers_own_loss(joint):
    oracle = TwoLayerTaps()
    assert isinstance(oracle, LayerTapOracle)
    est = build_layer_local(oracle, q=20000, mu=1e-3, joint=joint, projection_seed=0)
    theta = oracle.initial_params()
    x = torch.tensor([[1.0, 2.0], [-1.0, 0.5], [0.3, 0.3]], dtype=torch.float64)
    y = torch.tensor([0, 2, 1])
    e = est.estimate(oracle, theta, (x, y), 0, torch.Generator().manual_seed(0))
    assert e.queries == 1 + 2 * 20000 * (1 if joint else 2) and e.method.endswith("-joint") == joint
    # reference: autograd of the hidden layer's local MSE (hidden phases) and of the task loss with the
    # hidden output held fixed (output phases)
    t = theta.clone().requires_grad_(True)
    h = t[:2] * x
    local = ((h - est.projection.targets(y)[0]) ** 2).mean()
    task = F.cross_entropy(h.detach().sum(-1, keepdim=True) * t[2:5], y)
    expected = torch.cat(
        [
            torch.autograd.grad(local, t, retain_graph=True)[0][:2],
            torch.autograd.grad(task, t, retain_graph=True)[0][2:5],
        ]
    )
    whole = torch.autograd.grad(F.cross_entropy(h.sum(-1, keepdim=True) * t[2:5], y), t)[0]
    error = (e.grad - expected).norm() / expected.norm()
    assert error < 0.1, error
    assert (e.grad[:2] - whole[:2]).norm() > 5 * (e.grad[:2] - expected[:2]).norm()  # not the task gradient
    assert e.extra["local_losses"] == [pytest.approx(local.item(), abs=1e-6)]


def test_layer_local_needs_layer_taps():
    class NoTaps:
        n_params = 5

        def param_slices(self, level="layer"):
            return []

    with pytest.raises(TypeError, match="per-layer detector taps"):
        build_layer_local(NoTaps())


def test_layer_local_zo_reduces_each_local_loss_on_digits(tmp_path, digits):
    chip = Chip(build_network("digits-tt"), "typical", seed=0, output_gain=10.0)
    oracle = chip.oracle()
    est = build_layer_local(oracle, q=4, joint=False)
    projection = [P.clone() for P in est.projection.matrices]
    opt = adam(0.02, mask=phase_mask(oracle.param_slices("mesh"), oracle.n_params))
    x, y = (torch.as_tensor(a) for a in (digits.x_train, digits.y_train))
    trainer = ZOTrainer(
        oracle,
        method(est, opt),
        Classification((x, y), (x[:200], y[:200])),
        tmp_path / "run",
        LoopConfig(steps=150, eval_every=150),
        progress=False,
    )
    probe_x, probe_y = x[:300], y[:300]

    def losses(params):
        outs = oracle.layer_outputs(params[None], probe_x)
        hidden = LOCAL_LOSSES["mse"](outs[0][0].double(), est.projection.targets(probe_y)[0]).item()
        return hidden, F.cross_entropy(outs[1][0].double(), probe_y.long()).item()

    before = losses(trainer.params)
    history = trainer.run()
    after = losses(trainer.params)
    assert after[0] < before[0] - 0.02 and after[1] < before[1] - 0.3, (before, after)
    assert all(torch.equal(a, b) for a, b in zip(projection, est.projection.matrices))  # targets stay fixed
    assert "local_losses" in history[0] and history[-1]["queries"] == 150 * (1 + 2 * 4 * 2)
