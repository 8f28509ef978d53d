"""Per-query noise streams (photonics/noise.py): a query's noise depends only on the chip seed, its
index and the stage of the forward that draws it — never on how settings and inputs are grouped."""

import numpy as np
import pytest
import torch

from photonzo.photonics import noise
from photonzo.photonics.chip import Chip
from photonzo.photonics.hardware import HardwareModel
from photonzo.photonics.layers import OpticalLinear
from photonzo.photonics.network import OpticalNetwork, build_network
from photonzo.photonics.noise import PHASE, NoiseStreams, stage


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """One intra-op thread: the results do not depend on it, and the timing trials of two are slow here."""
    monkeypatch.setenv("PHOTONZO_THREADS", "1")


NOISY = HardwareModel.preset("typical").replace(
    phase_noise_std=0.02, detector_noise_std=0.01, shot_noise_photons=1e4
)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_normal_draws_are_prefix_consistent(dtype):
    """What batch-chunk invariance rests on: n1 draws then n2 draws equal n1 + n2 draws."""
    make = lambda: noise.stream(7, 3, stage(1, 2))
    whole = make().standard_normal(130_000, dtype=dtype)
    g, parts, rng = make(), [], np.random.default_rng(0)
    for size in rng.integers(1, 3000, 40):  # 40 draws of random sizes, the rest in one
        parts.append(g.standard_normal(int(size), dtype=dtype))
    parts.append(g.standard_normal(len(whole) - sum(map(len, parts)), dtype=dtype))
    np.testing.assert_array_equal(np.concatenate(parts), whole)


def test_a_query_draws_the_same_noise_whatever_shares_its_call():
    like = torch.empty(4, 10, dtype=torch.float64)
    s = stage(0, 0)
    together = NoiseStreams(5, 3, 4).normal(s, like)
    alone = torch.cat([NoiseStreams(5, 3 + q, 1).normal(s, like[:1]) for q in range(4)])
    assert torch.equal(together, alone)
    # views of some settings share the generators: each query's draws go on where they stopped
    streams = NoiseStreams(5, 3, 4)
    first = torch.cat([streams.select(0, 1).normal(s, like[:1]), streams.select(1, 4).normal(s, like[1:])])
    second = streams.normal(s, like)
    both = NoiseStreams(5, 3, 4).normal(s, torch.empty(4, 20, dtype=torch.float64))
    assert torch.equal(torch.cat([first, second], 1), both)
    # another stage, another query, another seed: other numbers
    assert not torch.equal(NoiseStreams(5, 3, 4).normal(stage(0, 1), like), together)
    assert not torch.equal(NoiseStreams(5, 4, 4).normal(s, like)[:-1], together[:-1])
    assert not torch.equal(NoiseStreams(6, 3, 4).normal(s, like), together)


def test_batch_chunks_draw_the_rows_of_one_full_batch_draw():
    like = torch.empty(3, 150, 8, dtype=torch.float32)
    whole = NoiseStreams(1, 0, 3).normal(PHASE, like)
    streams = NoiseStreams(1, 0, 3)
    chunks = [streams.normal(PHASE, like[:, a:b]) for a, b in ((0, 64), (64, 128), (128, 150))]
    assert whole.dtype == torch.float32 and torch.equal(torch.cat(chunks, 1), whole)
    # a detection's several draws per value ([Q, rows, draws, W]): still the rows of one full draw
    streams, many = NoiseStreams(1, 0, 3), NoiseStreams(1, 0, 3).normal(stage(0, 0), like, 4)
    chunks = [streams.normal(stage(0, 0), like[:, a:b], 4) for a, b in ((0, 100), (100, 150))]
    assert many.shape == (3, 150, 4, 8) and torch.equal(torch.cat(chunks, 1), many)


def test_stage_keys_are_distinct_and_checked():
    keys = {stage(layer, d) for layer in range(300) for d in range(40)}
    assert len(keys) == 300 * 40 and PHASE not in keys
    with pytest.raises(ValueError, match="detection must lie in 0..65535"):
        stage(0, 2**16)
    with pytest.raises(RuntimeError, match="query axis first"):
        NoiseStreams(0, 0, 3).normal(PHASE, torch.empty(2, 5))


def noisy_chip(dtype=torch.complex128, **kw):
    chip = Chip(build_network("digits-tt", block=4), NOISY, seed=3, dtype=dtype, **kw)
    chip.cache_elements = 1  # batch chunks of 64 inputs, one setting each
    return chip


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_one_call_of_q_settings_is_q_calls_of_one_bit_for_bit(rng, dtype):
    """Phase noise, shot and detector noise, I/Q readings between TT cores, a chunked batch."""
    chip = noisy_chip(dtype)
    phases = torch.tensor(rng.uniform(0, 6.3, (5, chip.n_params)))
    x = torch.tensor(rng.random((150, 64)))
    assert chip._chunks(5, 150)[1:] == (1, 64)
    together = chip.outputs(phases, x)
    one_by_one = noisy_chip(dtype)
    assert torch.equal(torch.cat([one_by_one.outputs(p[None], x) for p in phases]), together)
    split = noisy_chip(dtype)
    assert torch.equal(torch.cat([split.outputs(phases[:2], x), split.outputs(phases[2:], x)]), together)
    tiny = noisy_chip(dtype, max_elements=1)  # settings realised one at a time
    assert torch.equal(tiny.outputs(phases, x), together)
    # a replica told where the call starts (how a worker evaluates its share)
    assert torch.equal(noisy_chip(dtype)._evaluate(phases[3:], x, first_query=3), together[3:])
    # the noise is there and fresh per query: the same setting again reads differently
    again = chip.outputs(phases, x)
    assert (again - together).abs().max() > 1e-3
    taps = noisy_chip(dtype).layer_outputs(phases, x)
    assert torch.equal(taps[-1], together)


def test_batch_chunks_do_not_move_the_noise(rng):
    chip = noisy_chip()
    phases = torch.tensor(rng.uniform(0, 6.3, (3, chip.n_params)))
    x = torch.tensor(rng.random((150, 64)))
    chunked = chip.layer_outputs(phases, x)
    whole = Chip(chip.network, NOISY, seed=3, dtype=torch.complex128)
    assert whole._chunks(3, 150)[2] == 150  # one pass over the batch
    for a, b in zip(whole.layer_outputs(phases, x), chunked):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-12)  # products round alike, noise equal
    shifted = whole._evaluate(phases, x, first_query=1)  # another query's noise is far off
    assert (shifted - chunked[-1]).abs().max() > 1e-3


def test_noise_levels_are_as_stated():
    net = OpticalNetwork([OpticalLinear(8, 8, block=4, bias=False)], [], readout="coherent")
    phases = torch.tensor(np.random.default_rng(0).uniform(0, 6.3, (1, net.n_params))).repeat(400, 1)
    x = torch.tensor(np.random.default_rng(1).random((8, 8)))
    ideal = Chip(net, "ideal", dtype=torch.complex128).outputs(phases, x)
    detector = HardwareModel(detector_noise_std=0.05)
    noisy = Chip(net, detector, seed=2, dtype=torch.complex128).outputs(phases, x)
    relative = (noisy - ideal) / ideal.pow(2).mean(-1, keepdim=True).sqrt()  # over each readout's RMS
    assert relative.std().item() == pytest.approx(0.05, rel=0.03)
    assert abs(relative.mean().item()) < 0.002
    jitter = Chip(net, HardwareModel(phase_noise_std=0.03), seed=2, dtype=torch.complex128)
    actual = jitter.program(phases)
    offset = torch.remainder(actual - phases + torch.pi, 2 * torch.pi) - torch.pi  # wrapped as programmed
    assert offset.std().item() == pytest.approx(0.03, rel=0.03) and abs(offset.mean().item()) < 0.001
    assert not torch.equal(actual[0], actual[1])  # fresh for every query


def test_a_chip_without_dynamic_noise_makes_no_streams(rng, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a noise stream was made for a chip without dynamic noise")

    monkeypatch.setattr(NoiseStreams, "__init__", refuse)
    chip = Chip(build_network("digits-tt", block=4), "typical", seed=0)
    out = chip.layer_outputs(chip.initial_params(0)[None].repeat(2, 1), torch.rand(70, 64))
    assert out[-1].shape == (2, 70, 10) and chip._noise(0, 2) is None
