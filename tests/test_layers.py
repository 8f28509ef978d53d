import numpy as np
import pytest
import torch

from photonzo.photonics.chip import Chip
from photonzo.photonics.decompose import matrix_to_svd_phases
from photonzo.photonics.hardware import HardwareModel
from photonzo.photonics.layers import (
    DETECTIONS,
    READOUTS,
    DenseWeights,
    ForwardContext,
    OpticalLinear,
    OpticalMatrix,
    RealisedMatrix,
    TTOpticalLinear,
    TTWeights,
    detected,
    tt_dense,
)
from photonzo.photonics.network import MODELS, OpticalNetwork, Program, build_network, flatten_weights

C128 = torch.complex128


def ideal_chip(layers, activations=(), readout="coherent", gains=None):
    network = OpticalNetwork(list(layers), list(activations), readout=readout)
    return Chip(network, "ideal", dtype=C128, gains=gains)


@pytest.mark.parametrize(
    "shapes", [((2, 3, 4), (3, 2, 2), 2), ((4, 4), (2, 8), 3), ((7, 4, 4, 7), (1, 5, 2, 1), 6)]
)
def test_tt_layer_equals_the_dense_tt_matrix_it_encodes(shapes, rng):
    layer = TTOpticalLinear(*shapes, block=4, bias=False)
    chip = ideal_chip([layer])
    phases = torch.tensor(layer.init_params(rng))
    x = torch.tensor(rng.standard_normal((6, layer.in_features)))
    # the dense TT matrix, contracted independently from the cores' realised matrices
    cores = [m.matrix(phases[None, p : p + m.n_params], None)[0] for _, m, p, _ in layer._offsets()]
    tensors = [
        c.reshape(layer.ranks[k], layer.out_shape[k], layer.in_shape[k], layer.ranks[k + 1])
        for k, c in enumerate(cores)
    ]
    dense = tt_dense(tensors)
    assert dense.shape == (layer.out_features, layer.in_features)
    out = chip.outputs(phases[None], x)[0]
    np.testing.assert_allclose(out.numpy(), (x.to(C128) @ dense.T).real.numpy(), atol=1e-12)


@pytest.mark.parametrize("complex_in", [False, True])
@pytest.mark.parametrize("real_out", [False, True])
def test_realised_matrix_real_gemms_equal_the_complex_product(complex_in, real_out, rng):
    w = torch.tensor(rng.standard_normal((3, 5, 7)) + 1j * rng.standard_normal((3, 5, 7)))  # 3 settings
    x = torch.tensor(rng.standard_normal((4, 7)) + (1j * rng.standard_normal((4, 7)) if complex_in else 0))
    exact = x.to(w.dtype) @ w.transpose(-1, -2)
    out = RealisedMatrix(w)(x, real_out=real_out)
    assert out.shape == (3, 4, 5) and out.is_complex() != real_out
    np.testing.assert_allclose(out.numpy(), (exact.real if real_out else exact).numpy(), atol=1e-12)


def test_tt_dense_against_explicit_index_sums(rng):
    """W[(i1 i2 i3), (j1 j2 j3)] = Σ_ab G1[0,i1,j1,a] G2[a,i2,j2,b] G3[b,i3,j3,0], row-major indices."""
    shapes_in, shapes_out, r = (2, 3, 2), (3, 1, 2), (1, 2, 3, 1)
    cores = [
        torch.tensor(rng.standard_normal((r[k], shapes_out[k], shapes_in[k], r[k + 1]))) for k in range(3)
    ]
    explicit = torch.einsum("xiav,vjbw,wkcy->ijkabc", *cores).reshape(6, 12)
    np.testing.assert_allclose(tt_dense(cores).numpy(), explicit.numpy(), atol=1e-12)
    batched = tt_dense([torch.stack([c, 2 * c]) for c in cores])  # leading axes pass through
    np.testing.assert_allclose(batched[1].numpy(), 8 * explicit.numpy(), atol=1e-11)
    layer = TTOpticalLinear(shapes_in, shapes_out, r, block=4, bias=False)
    x = torch.tensor(rng.standard_normal((4, 12)))
    phases, gains = layer.program(TTWeights([c.numpy() for c in cores]))
    out = layer.forward(torch.tensor(phases)[None], x, ForwardContext(dtype=C128), "coherent", gains)[0]
    np.testing.assert_allclose(out.numpy(), (x @ explicit.T).numpy(), atol=1e-10)


def test_zero_blocks_do_not_inflate_the_shared_gain(rng):
    w = np.zeros((8, 8))
    w[:4, :4] = 0.01 * rng.standard_normal((4, 4))  # three of four 4×4 blocks are zero
    matrix = OpticalMatrix(8, 8, block=4)
    _, gain = matrix.from_matrix(w)
    assert gain == pytest.approx(np.linalg.norm(w[:4, :4], 2))
    assert matrix.nominal_gain == np.sqrt(2.0 / 2)  # programming changes nothing of the matrix


@pytest.mark.parametrize("mesh", ["clements", "reck"])
def test_from_matrix_realises_a_multi_block_matrix_with_a_zero_block(mesh, rng):
    """All blocks are decomposed at once; the program realises W, each block's meshes are those of
    its own g · U Σ V† mapping, and the shared gain is the top singular value of the non-zero blocks."""
    matrix = OpticalMatrix(10, 11, block=4, mesh=mesh, edge_blocks="padded")  # 3×3 blocks, edges padded
    w = 0.05 * (rng.standard_normal((10, 11)) + 1j * rng.standard_normal((10, 11)))  # top σ < 1
    w[4:8, :4] = 0  # block (1, 0) is zero: its own gain would be 1, above every other block's
    params, gain = matrix.from_matrix(w)
    k, pm = 4, matrix.layout.n_phases
    padded = np.zeros((12, 12), dtype=w.dtype)
    padded[:10, :11] = w
    blocks = padded.reshape(3, k, 3, k).transpose(0, 2, 1, 3).reshape(-1, k, k)
    singles = [matrix_to_svd_phases(b, mesh) for b in blocks]
    assert singles[3][3] == 1.0 and gain == max(s[3] for i, s in enumerate(singles) if i != 3) < 1
    assert gain == pytest.approx(max(np.linalg.norm(b, 2) for b in blocks))
    realised = matrix.matrix(torch.tensor(params), gain=gain).numpy()
    assert np.abs(realised - w).max() <= 1e-10
    groups = {g.name: g for g in matrix.param_slices("group")}
    for i, (v_ph, _, u_ph, _) in enumerate(singles):
        np.testing.assert_array_equal(params[groups["V"].start + i * pm :][:pm], v_ph)
        np.testing.assert_array_equal(params[groups["U"].start + i * pm :][:pm], u_ph)
    sigma = params[groups["sigma"].start : groups["sigma"].stop].reshape(9, k)
    assert np.abs(np.cos(sigma[3])).max() < 1e-15  # the zero block's attenuators are dark


def test_tt_from_weights_programs_given_cores(rng):
    layer = TTOpticalLinear((7, 4, 4, 7), (8, 4, 4, 8), 6, block=8)
    cores = [
        rng.standard_normal((layer.ranks[k], layer.out_shape[k], layer.in_shape[k], layer.ranks[k + 1]))
        for k in range(4)
    ]
    bias = rng.standard_normal(1024)
    phases, gains = layer.program(TTWeights(cores, bias))
    assert len(gains) == 4 and all(isinstance(g, float) for g in gains)
    x = torch.tensor(rng.standard_normal((3, 784)))
    out = ideal_chip([layer], gains=gains).outputs(torch.tensor(phases)[None], x)[0]
    expected = x @ tt_dense([torch.tensor(c) for c in cores]).T + torch.tensor(bias)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), atol=1e-10)


@pytest.mark.parametrize("mesh", ["clements", "reck"])
@pytest.mark.parametrize("edge_blocks", ["rectangular", "padded"])
def test_dense_from_weights_and_counts(mesh, edge_blocks, rng):
    layer = OpticalLinear(10, 7, block=4, mesh=mesh, edge_blocks=edge_blocks)  # 2×3 blocks of 4
    assert (layer.matrix.rows, layer.matrix.cols) == (2, 3)
    assert layer.padded_mzis == 6 * (2 * 6 + 4)
    if edge_blocks == "padded":
        assert layer.n_mzis == 6 * (2 * 6 + 4)
        assert layer.n_phases == 6 * (2 * 16 + 4) and layer.n_params == layer.n_phases + 7
    else:
        # blocks 4×4 (2), 4×2 (1), 3×4 (2), 3×2 (1): U h-mode, min(h, w) attenuators, V† w-mode
        mzis = lambda h, w: h * (h - 1) // 2 + min(h, w) + w * (w - 1) // 2
        phases = lambda h, w: h * h + min(h, w) + w * w
        assert layer.n_mzis == 2 * mzis(4, 4) + mzis(4, 2) + 2 * mzis(3, 4) + mzis(3, 2)
        assert layer.n_phases == 2 * phases(4, 4) + phases(4, 2) + 2 * phases(3, 4) + phases(3, 2)
    w, b = rng.standard_normal((7, 10)), rng.standard_normal(7)
    phases, gains = layer.program(DenseWeights(w, b))
    x = torch.tensor(rng.standard_normal((5, 10)))
    out = ideal_chip([layer], gains=gains).outputs(torch.tensor(phases)[None], x)[0]
    np.testing.assert_allclose(out.numpy(), (x @ torch.tensor(w).T + torch.tensor(b)).numpy(), atol=1e-10)


@pytest.mark.parametrize("readout", ["coherent", "intensity"])
def test_network_matches_its_digital_mirror(readout, rng):
    net = build_network("digits-tt", block=4, readout=readout)
    phases = torch.tensor(net.init_params(3))
    x = torch.tensor(rng.random((7, 64)))
    chip = Chip(net, "ideal", dtype=C128)
    out = chip.outputs(phases[None], x)[0]
    digital = net.digital_forward(net.weights(phases), x)
    np.testing.assert_allclose(out.numpy(), digital.numpy(), atol=1e-10)
    # and mapping those digital weights back onto phases reproduces the network
    again = net.from_weights(net.weights(phases))
    chip = Chip(net, "ideal", dtype=C128, gains=again.gains)
    np.testing.assert_allclose(
        chip.outputs(torch.tensor(again.params)[None], x)[0].numpy(), out.numpy(), atol=1e-9
    )


def test_slices_tile_the_parameter_vector():
    net = build_network("mnist-tt")
    for level in ("layer", "core", "group", "mesh"):
        slices = net.param_slices(level)
        assert slices[0].start == 0 and slices[-1].stop == net.n_params
        assert all(a.stop == b.start for a, b in zip(slices, slices[1:]))
        assert len({s.name for s in slices}) == len(slices)
    cores = [s.name for s in net.param_slices("core")]
    assert cores == [f"layer0.core{k}" for k in range(4)] + ["layer0.bias"] + [
        f"layer1.core{k}" for k in range(4)
    ] + ["layer1.bias"]
    mask = net.phase_mask
    for s in net.param_slices("core"):
        assert mask[s.slice].all() == (s.kind != "bias")


def test_reference_model_sizes():
    tt, dense = build_network("mnist-tt"), build_network("mnist-dense")
    # the TONN reference: 3,962 weights (cores + biases) instead of 814,090
    assert tt.summary()["weights"] + 1024 + 10 == 3962
    assert dense.summary()["weights"] + 1024 + 10 == 814090
    assert dense.n_mzis / tt.n_mzis > 200
    assert set(MODELS) >= {"mnist-tt", "mnist-dense", "hjb-tt", "digits-tt"}


def test_bad_layer_input():
    with pytest.raises(
        ValueError,
        match=r"TT shapes \(7, 4, 4, 7\)→\(8, 4, 4, 8\) give a 784→1024 layer, but the layer must be 784→512",
    ):
        TTOpticalLinear((7, 4, 4, 7), (8, 4, 4, 8), 6, in_features=784, out_features=512)
    with pytest.raises(ValueError, match="same number"):
        TTOpticalLinear((7, 4, 4, 7), (8, 4, 4), 6)
    with pytest.raises(ValueError, match="ranks"):
        TTOpticalLinear((4, 4), (4, 4), (2, 2, 2))
    with pytest.raises(ValueError, match="ranks must be an int or a sequence"):
        TTOpticalLinear((4, 4), (4, 4), 2.0)
    with pytest.raises(ValueError, match=r"block size k must be an integer >= 2, got 1"):
        OpticalMatrix(4, 4, block=1)
    with pytest.raises(ValueError, match="unknown edge_blocks 'trimmed'; accepted: rectangular, padded"):
        OpticalMatrix(4, 4, edge_blocks="trimmed")
    with pytest.raises(ValueError, match="unknown mesh kind"):
        OpticalLinear(4, 4, mesh="grid")
    with pytest.raises(ValueError, match="outputs 8 features but layer 1 takes 6"):
        OpticalNetwork([OpticalLinear(4, 8), OpticalLinear(6, 2)], ["relu"])
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        OpticalNetwork([OpticalLinear(4, 8), OpticalLinear(8, 2)], ["gelu"])
    with pytest.raises(ValueError, match="unknown model"):
        build_network("resnet")
    with pytest.raises(ValueError, match="expected a 3×4 matrix"):
        OpticalLinear(4, 3).program(DenseWeights(np.zeros((4, 3))))
    with pytest.raises(ValueError, match=r"a TTOpticalLinear \(16→16\) takes TTWeights, got DenseWeights"):
        TTOpticalLinear((4, 4), (4, 4), 2).program(DenseWeights(np.zeros((16, 16))))
    with pytest.raises(
        ValueError, match=r"TT core 1 must have shape .* = \(2, 4, 4, 1\), got \(2, 4, 4, 2\)"
    ):
        TTOpticalLinear((4, 4), (4, 4), 2).program(
            TTWeights([np.zeros((1, 4, 4, 2)), np.zeros((2, 4, 4, 2))])
        )
    with pytest.raises(ValueError, match=r"expected a bias of shape \(3,\)"):
        OpticalLinear(4, 3).program(DenseWeights(np.zeros((3, 4)), np.zeros(4)))
    with pytest.raises(ValueError, match="unknown detection 'phase'"):
        detected(torch.ones(2), "phase")
    tt = TTOpticalLinear((4, 4), (4, 4), 2)
    with pytest.raises(ValueError, match="has 2 optical matrices, got 1 gains"):
        tt.realise(torch.zeros(1, tt.n_params), ForwardContext(), gains=(1.0,))


def test_one_detection_rule_for_the_optical_and_the_digital_path(rng):
    assert DETECTIONS == READOUTS + ("iq",)
    field = torch.tensor(rng.standard_normal(5) + 1j * rng.standard_normal(5))
    ctx = ForwardContext(dtype=C128)  # an ideal receiver: the chip's reading is the noise-free one
    for mode in DETECTIONS:
        assert torch.equal(ctx.detect(field, mode), detected(field, mode))
    assert torch.equal(detected(field, "coherent"), field.real)
    assert torch.equal(detected(field, "intensity"), field.real**2 + field.imag**2)
    assert detected(field, "iq") is field


def test_matrix_groups_are_named():
    matrix = OpticalMatrix(8, 8, block=4)
    v, sigma, u = matrix.param_slices("group")
    assert [(g.name, g.kind) for g in (v, sigma, u)] == [
        ("V", "mesh"),
        ("sigma", "attenuator"),
        ("U", "mesh"),
    ]
    assert (v.start, sigma.start, u.start, u.stop) == (0, 4 * 16, 4 * 16 + 4 * 4, matrix.n_params)
    (blocks,) = matrix.classes
    assert blocks.mzi_starts == (0, 4 * 6, 4 * 6 + 4 * 4)


@pytest.mark.parametrize("mesh", ["clements", "reck"])
@pytest.mark.parametrize("shape", [(1, 20), (20, 1), (10, 11), (3, 5), (8, 8)])
def test_rectangular_edge_blocks_realise_the_matrix(mesh, shape, rng):
    """Edge blocks of h×w are an h-mode U, min(h, w) attenuators and a w-mode V†: programming any
    matrix realises it to 1e-10, the classes tile it exactly, and their MZIs are counted as built."""
    out_f, in_f = shape
    matrix = OpticalMatrix(out_f, in_f, block=4, mesh=mesh)
    cells = np.zeros((out_f, in_f), dtype=int)
    for c in matrix.classes:
        rows, cols = (
            slice(4 * c.row0, 4 * c.row0 + c.rows * c.h),
            slice(4 * c.col0, 4 * c.col0 + c.cols * c.w),
        )
        cells[rows, cols] += 1
    assert (cells == 1).all()  # every entry in exactly one block
    assert matrix.n_mzis == sum(
        c.count * (c.h * (c.h - 1) // 2 + min(c.h, c.w) + c.w * (c.w - 1) // 2) for c in matrix.classes
    )
    assert matrix.n_mzis <= matrix.padded_mzis
    w = 0.1 * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape))
    params, gain = matrix.from_matrix(w)
    assert params.shape == (matrix.n_params,)
    realised = matrix.matrix(torch.tensor(params), gain=gain).numpy()
    assert np.abs(realised - w).max() <= 1e-10
    # the chip's batched build (realise_matrices) gives the autograd path's matrix
    p = torch.tensor(params, requires_grad=True)
    np.testing.assert_allclose(matrix.matrix(p, gain=gain).detach().numpy(), realised, atol=1e-13)


@pytest.mark.parametrize("mesh", ["clements", "reck"])
@pytest.mark.parametrize("shape", [(1, 20), (13, 21), (5, 3), (8, 8)])
@pytest.mark.parametrize("lossy", [False, True])
def test_edge_blocks_built_inside_k_mode_meshes_equal_their_own_meshes(mesh, shape, lossy, rng):
    """The chip builds every block in one pass of k-mode meshes, an edge block's smaller meshes
    embedded in them (``grid_embedding``; its other MZIs identities, lossless and error-free): the
    matrices equal those of the edge blocks' own meshes (``block_matrices``, class by class), with
    coupler errors and insertion loss, for several settings at once, to float64 rounding."""
    matrix = OpticalMatrix(*shape, block=4, mesh=mesh)
    assert (matrix.grid_embedding is None) == (shape == (8, 8))
    ctx = ForwardContext(
        dtype=C128,
        bs_error=torch.tensor(0.05 * rng.standard_normal((matrix.n_mzis, 2))),
        amplitude=0.97 if lossy else 1.0,
    )
    params = torch.tensor(rng.uniform(0, 2 * np.pi, (3, matrix.n_params)))
    built = matrix.realise(params, ctx).w
    own = matrix.matrix(params, ctx)
    assert built.shape == own.shape == (3, *shape)
    np.testing.assert_allclose(built.numpy(), own.numpy(), rtol=0, atol=1e-14)


def test_padded_matrices_need_no_embedding():
    assert OpticalMatrix(10, 11, block=4, edge_blocks="padded").grid_embedding is None


def test_a_512_to_1_readout_takes_one_mesh_and_one_attenuator_per_block():
    matrix = OpticalMatrix(1, 512, block=8)
    assert matrix.n_mzis == 64 * (28 + 1) and matrix.padded_mzis == 64 * (2 * 28 + 8)


def test_rectangular_edge_blocks_on_a_noisy_chip_have_their_own_errors(rng):
    """Every MZI the edge blocks have draws its coupler error: the realised matrix differs from the
    ideal one, by as much as the padded layout's does, and crosstalk pairs stay within the matrix."""
    layer = OpticalLinear(11, 6, block=4)
    hw = HardwareModel(bs_error_std=0.02, crosstalk=0.01)
    chip = Chip(OpticalNetwork([layer], [], name="one"), hw, seed=1, dtype=torch.complex128)
    ideal = Chip(OpticalNetwork([layer], [], name="one"), "ideal", seed=1, dtype=torch.complex128)
    phases = torch.tensor(rng.uniform(0, 2 * np.pi, (1, layer.n_params)))
    x = torch.tensor(rng.standard_normal((5, 11)))
    difference = (chip.outputs(phases, x) - ideal.outputs(phases, x)).abs().max()
    assert 1e-4 < difference < 1.0
    pairs = layer.crosstalk_pairs
    assert pairs.min() >= 0 and pairs.max() < layer.n_phases and len(np.unique(pairs, axis=0)) == len(pairs)


def trained_like(network, seed):
    """Real weights that are not the nominal random init (so that their gains differ)."""
    return [w.map(lambda t: 3.0 * t) for w in network.random_weights(seed)]


def test_one_network_holds_two_deployments(rng):
    network = build_network("digits-tt", block=4)
    nominal = network.nominal_gains()
    assert len(nominal) == network.n_matrices == 4  # three TT cores and one dense matrix
    first, second = trained_like(network, 1), trained_like(network, 2)
    programs = [network.from_weights(first), network.from_weights(second)]
    assert all(isinstance(p, Program) and len(p.gains) == network.n_matrices for p in programs)
    assert programs[0].gains != programs[1].gains and programs[0].gains != nominal
    assert network.nominal_gains() == nominal  # deploying left the network untouched
    x = torch.tensor(rng.random((6, 64)))
    chips = [Chip(network, "ideal", dtype=C128, gains=p.gains) for p in programs]
    for chip, program, weights in zip(chips, programs, (first, second)):
        assert chip.gains == program.gains and chip.summary()["gains"] == list(program.gains)
        optical = chip.outputs(torch.as_tensor(program.params)[None], x)[0]
        np.testing.assert_allclose(optical.numpy(), network.digital_forward(weights, x).numpy(), atol=1e-9)
    # the ideal weights a program encodes need its gains; with the nominal ones they differ
    read = network.weights(programs[0].params, programs[0].gains)
    np.testing.assert_allclose(
        network.digital_forward(read, x).numpy(), network.digital_forward(first, x).numpy(), atol=1e-9
    )
    assert not np.allclose(
        network.digital_forward(network.weights(programs[0].params), x).numpy(),
        network.digital_forward(first, x).numpy(),
    )
    assert Chip(network, "ideal").gains == nominal


def test_weights_flatten_to_named_arrays_and_back(tmp_path):
    network = build_network("digits-tt", block=4)
    weights = network.random_weights(3)
    arrays = flatten_weights(weights)
    assert sorted(arrays) == sorted(
        [f"layer0.core{k}" for k in range(3)] + ["layer0.bias", "layer1.weight", "layer1.bias"]
    )
    np.savez(tmp_path / "w.npz", **arrays)
    with np.load(tmp_path / "w.npz", allow_pickle=False) as f:
        again = network.unflatten_weights(dict(f))
    assert [type(w) for w in again] == [TTWeights, DenseWeights]
    for a, b in zip(network.weight_tensors(weights), network.weight_tensors(again)):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="no 'layer1.weight' entry"):
        network.unflatten_weights({k: v for k, v in arrays.items() if k != "layer1.weight"})


def test_a_weight_file_in_the_saved_key_layout_loads(tmp_path):
    """The layout photonzo.experiments.sweep wrote before weights had types: per layer
    ``layer{i}.core{k}`` or ``layer{i}.weight``, then ``layer{i}.bias``."""
    network = OpticalNetwork(
        [TTOpticalLinear((2, 4), (4, 2), 2, block=4), OpticalLinear(8, 3, block=4, bias=False)], ["relu"]
    )
    g = np.random.default_rng(0)
    saved = {
        "layer0.core0": g.standard_normal((1, 4, 2, 2)),
        "layer0.core1": g.standard_normal((2, 2, 4, 1)),
        "layer0.bias": g.standard_normal(8),
        "layer1.weight": g.standard_normal((3, 8)),
    }
    np.savez(tmp_path / "seed0.npz", **saved)
    with np.load(tmp_path / "seed0.npz", allow_pickle=False) as f:
        weights = network.unflatten_weights(dict(f))
    assert weights[1].bias is None
    for got, want in zip(network.weight_tensors(weights), saved.values()):
        np.testing.assert_array_equal(got.numpy(), want)
    program = network.from_weights(weights)
    x = torch.tensor(g.random((4, 8)))
    optical = Chip(network, "ideal", dtype=C128, gains=program.gains).outputs(program.params[None], x)[0]
    np.testing.assert_allclose(optical.numpy(), network.digital_forward(weights, x).numpy(), atol=1e-9)
