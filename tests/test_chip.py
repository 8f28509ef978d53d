import numpy as np
import pytest
import torch

from photonzo.photonics.chip import Chip, ChipOracle, Oracle
from photonzo.photonics.network import build_network


@pytest.fixture
def chip():
    return Chip(build_network("digits-tt", block=4), "typical", seed=0)


def test_outputs_shape_and_query_count(chip, rng):
    phases = chip.initial_params(0)[None].repeat(3, 1)
    x = torch.rand(5, 64)
    out = chip.outputs(phases, x)
    assert out.shape == (3, 5, 10)
    assert (chip.queries, chip.inferences) == (3, 15)
    losses = chip.loss(phases, (x, torch.randint(0, 10, (5,))))
    assert losses.shape == (3,) and torch.isfinite(losses).all()
    assert chip.queries == 6


def test_a_batch_of_settings_equals_settings_one_by_one(rng):
    chip = Chip(build_network("digits-tt", block=4), "typical", seed=0, dtype=torch.complex128)
    phases = torch.tensor(rng.uniform(0, 6.3, (4, chip.n_params)))
    x = torch.tensor(rng.random((6, 64)))
    batched = chip.outputs(phases, x)
    single = torch.cat([chip.outputs(p[None], x) for p in phases])
    np.testing.assert_allclose(batched.numpy(), single.numpy(), atol=1e-12)
    tiny = Chip(chip.network, "typical", seed=0, dtype=torch.complex128, max_elements=1)  # forces chunks of 1
    np.testing.assert_allclose(tiny.outputs(phases, x).numpy(), batched.numpy(), atol=1e-12)


def test_batch_chunks_equal_one_pass(rng):
    """Large batches run in cache-sized chunks of inputs; the outputs and every layer tap are unchanged."""
    chip = Chip(build_network("digits-tt", block=4), "typical", seed=0, dtype=torch.complex128)
    phases = torch.tensor(rng.uniform(0, 6.3, (3, chip.n_params)))
    x = torch.tensor(rng.random((150, 64)))
    whole = chip.layer_outputs(phases, x)
    chip.cache_elements = 1  # the smallest chunk: 64 inputs, so three chunks here
    assert chip._chunks(3, 150)[1:] == (1, 64)  # one setting × 64 inputs per chunk
    for a, b in zip(chip.layer_outputs(phases, x), whole):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-12)


def test_settings_realised_a_few_at_a_time_equal_all_at_once(rng):
    """The settings whose meshes are built at once keep their block matrices within
    ``realise_elements`` (a dense 784→1024 layer: one setting at a time); the outputs do not depend on
    it, bit for bit, with per-query noise on."""
    chip = Chip(build_network("digits-dense"), "measured", seed=2)
    phases = torch.tensor(rng.uniform(0, 6.3, (5, chip.n_params)), dtype=torch.float32)
    x = torch.tensor(rng.random((8, 64)), dtype=torch.float32)
    whole = chip._evaluate(phases, x, first_query=0)
    blocks = sum(m.n_blocks * m.block**2 for layer in chip.network.layers for _, m in layer._matrices())
    chip.realise_elements = 2 * blocks
    assert chip._chunks(5, 8)[0] == 2
    assert torch.equal(chip._evaluate(phases, x, first_query=0), whole)
    assert Chip(build_network("mnist-dense"), "typical")._chunks(21, 64)[0] == 1


def test_phase_validation(chip):
    p = chip.n_params
    x = torch.rand(2, 64)
    with pytest.raises(ValueError, match=rf"shape \[Q, P\] with P = {p}.*got shape \(1, {p - 1}\)"):
        chip.outputs(torch.zeros(1, p - 1), x)
    with pytest.raises(ValueError, match=r"shape \[Q, P\]"):
        chip.outputs(torch.zeros(p), x)
    with pytest.raises(ValueError, match="float32 or float64"):
        chip.outputs(torch.zeros(1, p, dtype=torch.int32), x)
    bad = torch.zeros(2, p)
    bad[1, 7] = float("nan")
    with pytest.raises(ValueError, match=r"NaN/inf, first at \[q=1, p=7\]"):
        chip.outputs(bad, x)
    with pytest.raises(ValueError, match=r"inputs must have shape \[B, 64\]"):
        chip.outputs(torch.zeros(1, p), torch.rand(2, 63))
    with pytest.raises(ValueError, match="unknown loss"):
        Chip(chip.network, loss="hinge")
    with pytest.raises(ValueError, match="unknown hardware preset"):
        Chip(chip.network, "perfect")
    assert chip.queries == 0  # rejected calls are not queries


def test_oracle_exposes_the_protocol_only(chip):
    oracle = chip.oracle()
    assert isinstance(oracle, Oracle) and isinstance(oracle, ChipOracle)
    assert oracle.n_params == chip.n_params
    x = torch.rand(2, 64)
    oracle.outputs(oracle.initial_params(1)[None], x)
    assert oracle.queries == chip.queries == 1
    assert [s.name for s in oracle.param_slices("layer")] == ["layer0", "layer1"]
    for hidden in ("network", "hardware", "program", "_chip", "chip", "__dict__"):
        assert not hasattr(oracle, hidden)
    with pytest.raises(AttributeError):
        oracle.network = chip.network


def test_loss_targets_are_validated(chip):
    phases = chip.initial_params(0)[None]
    x = torch.rand(3, 64)
    with pytest.raises(ValueError, match=r"class labels must lie in 0..9, got 0..12"):
        chip.loss(phases, (x, torch.tensor([0, 12, 3])))
    with pytest.raises(ValueError, match=r"integer class labels of shape \[3\]"):
        chip.loss(phases, (x, torch.rand(3)))
    mse = Chip(chip.network, "ideal", loss="mse")
    with pytest.raises(ValueError, match=r"targets of shape \[3, 10\]"):
        mse.loss(phases, (x, torch.rand(3, 9)))
    assert mse.loss(phases, (x, torch.zeros(3, 10))).shape == (1,)


def test_runtime_never_imports_photontorch():
    """photontorch is AGPL and only an optional reference: the runtime must not load it."""
    import subprocess
    import sys

    code = (
        "import sys, torch; import photonzo.cli, photonzo.photonics.chip as c, "
        "photonzo.photonics.network as n; ch = c.Chip(n.build_network('digits-tt'), 'typical'); "
        "ch.outputs(ch.initial_params()[None], torch.rand(2, 64)); "
        "assert 'photontorch' not in sys.modules, 'photontorch was imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_rejected_loss_calls_cost_no_query_and_results_are_ordinary_tensors(chip):
    phases = chip.initial_params(0)[None]
    x = torch.rand(3, 64)
    with pytest.raises(ValueError, match="class labels"):
        chip.loss(phases, (x, torch.tensor([0, 12, 3])))
    with pytest.raises(ValueError, match="B >= 1"):
        chip.outputs(phases, torch.rand(0, 64))
    assert chip.queries == 0
    out = chip.outputs(phases, x)
    out[0, 0, 0] = 1.0  # editable outside inference mode
    weight = torch.ones(1, requires_grad=True)
    (
        chip.loss(phases, (x, torch.tensor([1, 2, 3]))) * weight
    ).sum().backward()  # usable as autograd constants
    assert weight.grad is not None


def test_layer_taps_read_every_layer_and_cost_the_same_queries(rng):
    network = build_network("digits-tt", block=4)
    chip = Chip(network, "ideal", seed=0, dtype=torch.complex128)
    phases = torch.tensor(rng.uniform(0, 6.3, (3, chip.n_params)))
    x = torch.tensor(rng.random((5, 64)))
    taps = chip.layer_outputs(phases, x)
    assert [t.shape for t in taps] == [(3, 5, 64), (3, 5, 10)] and chip.layer_features == [64, 10]
    assert chip.queries == 3
    np.testing.assert_allclose(taps[-1].numpy(), chip.outputs(phases, x).numpy(), atol=1e-12)
    # the hidden tap is what the next layer receives: the digital mirror of layer 0 after its ReLU
    weights = network.weights(phases[1].numpy())
    hidden = network.activation(0)(network.digital_layer(0, weights[0], x))
    np.testing.assert_allclose(taps[0][1].numpy(), hidden.numpy(), atol=1e-9)
    assert (taps[0] >= 0).all()  # after the ReLU
    oracle = chip.oracle()
    from photonzo.photonics.chip import LayerTapOracle

    assert isinstance(oracle, LayerTapOracle) and oracle.layer_features == [64, 10]
    assert len(oracle.layer_outputs(phases[:1], x)) == 2


def test_output_gain_amplifies_the_detected_outputs_only(rng):
    network = build_network("digits-tt", block=4)
    phases = torch.tensor(rng.uniform(0, 6.3, (2, network.n_params)))
    x = torch.tensor(rng.random((4, 64)))
    plain = Chip(network, "ideal", dtype=torch.complex128).layer_outputs(phases, x)
    amplified = Chip(network, "ideal", dtype=torch.complex128, output_gain=10.0).layer_outputs(phases, x)
    np.testing.assert_allclose(amplified[0].numpy(), plain[0].numpy(), atol=1e-12)  # hidden taps unchanged
    np.testing.assert_allclose(amplified[1].numpy(), 10 * plain[1].numpy(), atol=1e-12)
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="output_gain must be a positive finite number"):
            Chip(network, output_gain=bad)


def test_the_chip_holds_the_electronic_gains(rng):
    network = build_network("digits-tt", block=4)
    chip = Chip(network, "ideal", dtype=torch.complex128)
    assert chip.gains == network.nominal_gains() and chip.summary()["gains"] == list(chip.gains)
    # the gain scales its matrix: doubling the dense output layer's gain doubles the logits (zero bias)
    phases = torch.tensor(network.init_params(0))[None]
    x = torch.tensor(rng.random((3, 64)))
    doubled = Chip(network, "ideal", dtype=torch.complex128, gains=chip.gains[:-1] + (2 * chip.gains[-1],))
    np.testing.assert_allclose(
        doubled.outputs(phases, x).numpy(), 2 * chip.outputs(phases, x).numpy(), atol=1e-12
    )
    assert chip.gains == network.nominal_gains()  # each chip keeps its own
    for bad in ((1.0,) * 3, (1.0, 1.0, 0.0, 1.0), (1.0, float("inf"), 1.0, 1.0), (True,) * 4, 2.0, "abcd"):
        with pytest.raises(ValueError, match="gains must be 4 positive finite numbers"):
            Chip(network, gains=bad)
    assert Chip(network, gains=np.ones(4)).gains == (1.0,) * 4


def test_seeds_out_of_range_name_what_they_seed():
    from photonzo.photonics.network import build_network

    network = build_network("digits-tt")
    with pytest.raises(ValueError, match=r"the chip seed must be an integer in 0\.\.2\*\*63 − 1, got -1"):
        Chip(network, "ideal", seed=-1)
    with pytest.raises(ValueError, match="the seed of the initial phases must be an integer"):
        Chip(network).initial_params(-1)
    with pytest.raises(ValueError, match="the seed of the random weights"):
        network.random_weights(2**63)


def test_half_precision_phases_are_refused():
    from photonzo.photonics.network import build_network

    chip = Chip(build_network("digits-tt"))
    with pytest.raises(ValueError, match="float32 or float64"):
        chip.outputs(chip.initial_params()[None].half(), torch.rand(2, 64))
