"""TT algebra (photonics/tensor_train.py) and the merged-core forward: merging consecutive cores changes
the products a forward performs, never what it computes."""

import itertools
import math

import numpy as np
import pytest
import torch

from photonzo.photonics import tensor_train
from photonzo.photonics.chip import Chip
from photonzo.photonics.hardware import HardwareModel
from photonzo.photonics.layers import ForwardContext, TTOpticalLinear
from photonzo.photonics.network import build_network
from photonzo.photonics.tensor_train import (
    contraction_plan,
    merge_cores,
    merged_shapes,
    tt_contract,
    tt_dense,
)

SHAPES = [((2, 3, 4), (3, 2, 2), (1, 2, 3, 1)), ((7, 4, 4, 7), (8, 4, 4, 8), (1, 3, 2, 4, 1))]


def random_cores(in_shape, out_shape, ranks, rng):
    return [
        torch.tensor(
            rng.standard_normal((ranks[k], out_shape[k], in_shape[k], ranks[k + 1]))
            + 1j * rng.standard_normal((ranks[k], out_shape[k], in_shape[k], ranks[k + 1]))
        )
        for k in range(len(in_shape))
    ]


def partitions(d):
    for cuts in itertools.product((False, True), repeat=d - 1):
        bounds = [0] + [k + 1 for k, cut in enumerate(cuts) if cut] + [d]
        yield tuple(zip(bounds[:-1], bounds[1:]))


def contract(x, cores, in_shape, out_shape, ranks):
    mats = [g.flatten(0, 1).flatten(1, 2) for g in cores]  # the (r n) × (m r') unfoldings
    return tt_contract(x, in_shape, out_shape, ranks, lambda k, v: v.to(mats[k].dtype) @ mats[k].T)


def test_merged_core_against_explicit_index_sums(rng):
    a, b = random_cores((2, 3), (3, 2), (2, 2, 3), rng)  # ranks r_first = 2, r_last = 3
    merged = merge_cores([a, b])
    explicit = torch.einsum("pija,aklb->pikjlb", a, b).reshape(2, 6, 6, 3)
    np.testing.assert_allclose(merged.numpy(), explicit.numpy(), atol=1e-12)
    # an explicit entry: (n0, n1) = (2, 1), (m0, m1) = (1, 2), first rank 1, last rank 2
    entry = sum(a[1, 2, 1, r] * b[r, 1, 2, 2] for r in range(2))
    assert abs(merged[1, 2 * 2 + 1, 1 * 3 + 2, 2] - entry) < 1e-12


@pytest.mark.parametrize("shapes", SHAPES)
def test_every_grouping_of_cores_contracts_to_the_same_output(shapes, rng):
    in_shape, out_shape, ranks = shapes
    cores = random_cores(in_shape, out_shape, ranks, rng)
    x = torch.tensor(rng.standard_normal((5, math.prod(in_shape))))
    want = x.to(torch.complex128) @ tt_dense(cores).T
    for groups in partitions(len(in_shape)):
        merged = [merge_cores(cores[a:b]) for a, b in groups]
        got = contract(x, merged, *merged_shapes(in_shape, out_shape, ranks, groups))
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-10, err_msg=str(groups))


def test_the_plan_is_a_grouping_of_all_cores_and_respects_its_limits(monkeypatch):
    in_shape, out_shape, ranks = (7, 4, 4, 7), (8, 4, 4, 8), (1, 6, 6, 6, 1)
    assert contraction_plan(in_shape, out_shape, ranks, 64, True, merge=False) == (
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 4),
    )
    for batch in (1, 64, 4096):
        plan = contraction_plan(in_shape, out_shape, ranks, batch, True)
        assert plan in set(partitions(4))
    # mnist-tt's first layer at a batch of 64: the middle cores are merged with their neighbours
    assert contraction_plan(in_shape, out_shape, ranks, 64, True) == ((0, 2), (2, 4))
    # a merge whose core would be too large is never chosen, however cheap the model finds it
    monkeypatch.setattr(tensor_train, "MAX_MERGED_VALUES", 32 * 28 * 6 - 1)  # either pair's merged size
    assert contraction_plan(in_shape, out_shape, ranks, 64, True) == ((0, 1), (1, 2), (2, 3), (3, 4))


@pytest.mark.parametrize("model", ["digits-tt", "mnist-tt"])
@pytest.mark.parametrize("dtype, rel", [(torch.complex128, 1e-12), (torch.complex64, 1e-5)])
def test_merged_forward_equals_the_core_by_core_forward(model, dtype, rel, rng):
    network = build_network(model)
    merged = Chip(network, "typical", seed=1, dtype=dtype)
    in_order = Chip(network, "typical", seed=1, dtype=dtype)
    in_order.merge_cores = False
    real = torch.float64 if dtype == torch.complex128 else torch.float32
    phases = torch.tensor(rng.uniform(0, 2 * np.pi, (3, network.n_params)), dtype=real)
    x = torch.tensor(rng.random((70, network.in_features)), dtype=real)
    for a, b in zip(merged.layer_outputs(phases, x), in_order.layer_outputs(phases, x)):
        scale = b.abs().max().item()
        assert (a - b).abs().max().item() <= rel * scale


def test_cores_stay_in_order_where_the_chip_reads_them_non_linearly(rng):
    layer = TTOpticalLinear((7, 4, 4, 7), (8, 4, 4, 8), 6)
    params = torch.tensor(layer.init_params(rng))[None]
    linear = ForwardContext(HardwareModel.preset("typical"), dtype=torch.complex128)
    assert len(layer.realise(params, linear).plan) < 4
    for hw in (
        HardwareModel(detector_noise_std=1e-3),
        HardwareModel(shot_noise_photons=1e5),
        HardwareModel(output_bits=10),
        HardwareModel(input_bits=10),
    ):
        ctx = ForwardContext(hw, dtype=torch.complex128)
        assert layer.realise(params, ctx).plan == ((0, 1), (1, 2), (2, 3), (3, 4)), hw
    assert len(layer.realise(params, ForwardContext(HardwareModel(), merge=False)).plan) == 4


def test_a_batched_call_equals_one_call_per_setting(rng):
    chip = Chip(build_network("mnist-tt"), "typical", seed=0, dtype=torch.complex128)
    phases = torch.tensor(rng.uniform(0, 2 * np.pi, (4, chip.n_params)))
    x = torch.tensor(rng.random((9, chip.network.in_features)))
    batched = chip.outputs(phases, x)
    single = torch.cat([chip.outputs(p[None], x) for p in phases])
    np.testing.assert_allclose(batched.numpy(), single.numpy(), rtol=0, atol=1e-12)
