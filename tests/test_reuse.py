"""Exact reuse across the settings of one call (issue 15, item 3): a setting that shares a matrix's
phases with setting 0 reuses its realised matrix, and one that shares the first layers reuses
their outputs; the results are those of the plain forward, and every setting still counts."""

import numpy as np
import pytest
import torch

from photonzo.photonics import layers as layers_module
from photonzo.photonics.chip import Chip
from photonzo.photonics.hardware import HardwareModel
from photonzo.photonics.network import build_network


def tensorwise_probes(chip, mu=0.01):
    """The centre and ± one slice per named core slice: what a tensor-wise RGE step queries."""
    centre = chip.initial_params(0)
    rows = [centre]
    for s in chip.param_slices("core"):
        for sign in (1, -1):
            row = centre.clone()
            row[s.slice] += sign * mu
            rows.append(row)
    return torch.stack(rows)


def shared_stages(chip, settings):
    with torch.inference_mode():
        params, ctx = chip.program(settings), chip._context()
        realised = chip.network.realise(params, ctx, chip.gains, 64)
        return chip.network._shared_stages(params, realised, ctx)


@pytest.mark.parametrize("model", ["digits-tt", "mnist-tt", "digits-dense"])
@pytest.mark.parametrize("dtype, rel", [(torch.complex128, 1e-12), (torch.complex64, 1e-6)])
def test_reuse_gives_the_plain_forward(model, dtype, rel, rng):
    chip = Chip(build_network(model), "typical", seed=2, dtype=dtype)
    probes = tensorwise_probes(chip)
    x = torch.tensor(rng.random((70, chip.network.in_features)), dtype=probes.dtype)
    starts = shared_stages(chip, probes)
    assert starts is not None and int(starts.max()) >= 2  # layer-1 probes share layer 0's stages
    reused = chip.layer_outputs(probes, x)
    losses = chip.loss(probes, (x, torch.arange(70) % 10))
    assert chip.queries == 2 * len(probes)  # reuse saves work, never queries
    chip.reuse_settings = False
    plain = chip.layer_outputs(probes, x)
    for a, b in zip(reused, plain):
        assert (a - b).abs().max().item() <= rel * b.abs().max().item()
    np.testing.assert_allclose(losses, chip.loss(probes, (x, torch.arange(70) % 10)), rtol=rel)


def test_duplicate_settings_share_their_realised_matrices(rng):
    network = build_network("digits-tt")
    chip = Chip(network, "typical", seed=0, dtype=torch.complex128)
    centre = chip.initial_params(0)
    other = centre.clone()
    other[:10] += 0.1  # only layer 0's first core differs
    params = chip.program(torch.stack([centre, other, centre]))
    rows, where = layers_module._distinct_settings(params[:, :10])
    assert rows.tolist() == [0, 1] and where.tolist() == [0, 1, 0]
    rows, where = layers_module._distinct_settings(params[:, -5:])  # the last bias: all equal
    assert rows.tolist() == [0] and where.tolist() == [0, 0, 0]
    built = network.realise(params, chip._context(), chip.gains, 64)
    separately = network.realise(params[1:2], chip._context(), chip.gains, 64)
    for a, b in zip(built, separately):
        for ma, mb in zip(a.matrices, b.matrices):
            np.testing.assert_array_equal(ma.w[1].numpy(), mb.w[0].numpy())


@pytest.mark.parametrize(
    "hardware",
    [
        HardwareModel(detector_noise_std=1e-3),
        HardwareModel(shot_noise_photons=1e6),
        HardwareModel(phase_noise_std=1e-3),
    ],
)
def test_no_reuse_where_the_chip_is_not_deterministic(hardware):
    """Detector noise: each setting's readings differ even for equal phases, so no output is reused;
    phase noise: no two settings' physical phases are equal, so nothing is shared."""
    chip = Chip(build_network("digits-tt"), hardware, seed=0, dtype=torch.complex128)
    probes = tensorwise_probes(chip)
    assert shared_stages(chip, probes) is None


def test_tensorwise_probes_share_the_stages_before_their_slice():
    """mnist-tt's first layer runs as two merged stages (cores 2-3, then 0-1) and its bias: a probe of
    core 0 shares the first stage, a probe of the bias both, a probe of layer 1 all three."""
    chip = Chip(build_network("mnist-tt"), "typical", seed=0, dtype=torch.complex64)
    starts = shared_stages(chip, tensorwise_probes(chip)).tolist()
    names = [s.name for s in chip.param_slices("core")]
    by_slice = dict(zip(names, starts[1::2]))
    assert by_slice["layer0.core3"] == by_slice["layer0.core2"] == 0
    assert by_slice["layer0.core1"] == by_slice["layer0.core0"] == 1
    assert by_slice["layer0.bias"] == 2
    assert all(by_slice[n] >= 3 for n in names if n.startswith("layer1"))
    assert starts[1::2] == starts[2::2]  # the + and − probe of a slice share alike
