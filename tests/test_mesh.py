import numpy as np
import pytest
import torch

from photonzo.photonics import mesh as mesh_module
from photonzo.photonics.mesh import (
    MeshColumn,
    _sweep_blocks,
    mesh_apply,
    mesh_embedding,
    mesh_layout,
    mesh_matrix,
)

from conftest import random_phases

C128 = torch.complex128


@pytest.mark.parametrize("kind", ["clements", "reck"])
@pytest.mark.parametrize("n", [2, 3, 5, 8, 16, 33])
def test_ideal_lossless_mesh_is_unitary(kind, n, rng):
    layout = mesh_layout(kind, n)
    u = mesh_matrix(layout, random_phases(layout.n_phases, rng, q=4), dtype=C128)
    assert u.shape == (4, n, n)
    err = (u @ u.conj().transpose(-1, -2) - torch.eye(n, dtype=C128)).abs().max().item()
    assert err < 1e-12


@pytest.mark.parametrize("kind,depth", [("clements", lambda n: n), ("reck", lambda n: 2 * n - 3)])
@pytest.mark.parametrize("n", [2, 3, 4, 7, 8])
def test_layout_counts(kind, depth, n):
    layout = mesh_layout(kind, n)
    assert layout.n_mzis == n * (n - 1) // 2 == sum(c.count for c in layout.columns)
    assert layout.n_phases == n * (n - 1) + n
    assert len(layout.columns) == (depth(n) if n > 2 else 1)  # Clements' 2nd column is empty at N = 2
    for col in layout.columns:  # disjoint pairs inside the mesh
        assert col.start >= 0 and col.start + 2 * col.count <= n


def test_apply_matches_matrix_on_both_paths(rng):
    layout = mesh_layout("clements", 6)
    phases = random_phases(layout.n_phases, rng, q=3)
    u = mesh_matrix(layout, phases, dtype=C128)
    for batch in (2, 9):  # fewer fields than modes: propagate; more: build and matmul
        x = torch.tensor(rng.standard_normal((batch, 6)))
        y = mesh_apply(layout, phases, x, dtype=C128)
        assert y.shape == (3, batch, 6)
        np.testing.assert_allclose(y.numpy(), (x.to(C128) @ u.transpose(-1, -2)).numpy(), atol=1e-13)


def test_leading_axes_broadcast_with_static_errors(rng):
    layout = mesh_layout("clements", 4)
    phases = random_phases(layout.n_phases, rng, q=5)[:, None, :].expand(5, 3, -1)
    eps = torch.tensor(rng.normal(0, 0.05, (3, layout.n_mzis, 2)))
    u = mesh_matrix(layout, phases, eps, dtype=C128)
    assert u.shape == (5, 3, 4, 4)
    # each (query, block) equals the unbatched build with that block's errors
    np.testing.assert_allclose(
        u[2, 1].numpy(), mesh_matrix(layout, phases[2, 1], eps[1], dtype=C128).numpy(), atol=1e-14
    )


def test_energy_is_conserved_without_loss_and_lost_with_it(rng):
    layout = mesh_layout("reck", 8)
    phases = random_phases(layout.n_phases, rng, q=2)
    x = torch.tensor(rng.standard_normal((4, 8)))
    eps = torch.tensor(rng.normal(0, 0.05, (layout.n_mzis, 2)))
    y = mesh_apply(layout, phases, x, bs_error=eps, dtype=C128)
    np.testing.assert_allclose(
        (y.abs() ** 2).sum(-1).numpy(), np.broadcast_to((x**2).sum(-1).numpy(), (2, 4)), rtol=1e-12
    )
    lossy = mesh_apply(layout, phases, x, amplitude=0.9, dtype=C128)
    assert ((lossy.abs() ** 2).sum(-1) < (x**2).sum(-1) * 0.9**2 + 1e-12).all()


def test_crosstalk_pairs_are_column_neighbours():
    layout = mesh_layout("clements", 6)
    pairs = layout.crosstalk_pairs
    assert len(pairs) == len({tuple(p) for p in pairs})
    assert {tuple(p) for p in pairs} == {(j, i) for i, j in pairs}  # symmetric
    m = layout.n_mzis
    for i, j in pairs:
        if i < 2 * m:  # an MZI heater: same kind (θ or φ), same column, adjacent pair
            assert (i < m) == (j < m)
            a, b = i % m, j % m
            assert layout.mzi_columns[a] == layout.mzi_columns[b]
            assert abs(layout.mzi_top_modes[a] - layout.mzi_top_modes[b]) == 2
        else:  # output screen: adjacent waveguides
            assert j >= 2 * m and abs(i - j) == 1


def test_bad_mesh_input():
    with pytest.raises(ValueError, match="N >= 1"):
        mesh_layout("clements", 0)
    with pytest.raises(ValueError, match="unknown mesh kind 'butterfly'.*clements, reck"):
        mesh_layout("butterfly", 4)
    layout = mesh_layout("clements", 4)
    with pytest.raises(ValueError, match="takes 16 phases"):
        mesh_matrix(layout, torch.zeros(3, 15))
    for dtype in (torch.int64, torch.float16):
        with pytest.raises(ValueError, match="float32 or float64"):
            mesh_matrix(layout, torch.zeros(3, 16, dtype=dtype))
    with pytest.raises(ValueError, match="finite"):
        mesh_matrix(layout, torch.full((16,), float("nan")))
    with pytest.raises(ValueError, match=r"bs_error must be a tensor \[\.\.\., 6, 2\]"):
        mesh_matrix(layout, torch.zeros(16), bs_error=torch.zeros(5, 2))
    with pytest.raises(ValueError, match="complex64 or torch.complex128"):
        mesh_matrix(layout, torch.zeros(16), dtype=torch.float32)
    with pytest.raises(ValueError, match="B fields of 4 modes"):
        mesh_apply(layout, torch.zeros(16), torch.zeros(2, 5))
    with pytest.raises(ValueError, match="B fields of 4 modes"):
        mesh_apply(layout, torch.zeros(16), torch.zeros(4))


@pytest.mark.parametrize("with_errors", [False, True])
def test_autograd_path_equals_inference_path_and_has_true_gradients(with_errors, rng):
    layout = mesh_layout("clements", 5)
    phases = random_phases(layout.n_phases, rng, q=2)
    eps = torch.tensor(rng.normal(0, 0.05, (layout.n_mzis, 2))) if with_errors else None
    with torch.inference_mode():
        fast = mesh_matrix(layout, phases, eps, dtype=C128)
    leaf = phases.clone().requires_grad_(True)
    slow = mesh_matrix(layout, leaf, eps, dtype=C128)
    np.testing.assert_allclose(slow.detach().numpy(), fast.numpy(), atol=1e-14)
    x = torch.tensor(rng.standard_normal((3, 5)))
    assert torch.autograd.gradcheck(
        lambda p: mesh_apply(layout, p, x, eps, dtype=C128).abs().pow(2).sum(), (leaf,)
    )


def test_inputs_are_left_untouched_and_tensor_losses_broadcast(rng):
    layout = mesh_layout("clements", 4)
    phases = random_phases(layout.n_phases, rng, q=3)[:, None, :]  # [3, 1, P]
    fields = torch.tensor(rng.standard_normal((2, 4)), dtype=C128)
    before = phases.clone(), fields.clone()
    amplitude = torch.tensor([[0.9], [0.8]], dtype=torch.float64)  # two loss levels: [2, 1] over MZIs
    for path_fields in (fields, torch.tensor(rng.standard_normal((7, 4)), dtype=C128)):  # both apply paths
        out = mesh_apply(layout, phases, path_fields, amplitude=amplitude, dtype=C128)
        assert out.shape == (3, 2, len(path_fields), 4)
        for k, a in enumerate((0.9, 0.8)):
            single = mesh_apply(layout, phases[:, 0], path_fields, amplitude=a, dtype=C128)
            np.testing.assert_allclose(out[:, k].numpy(), single.numpy(), atol=1e-14)
    assert torch.equal(phases, before[0]) and torch.equal(fields, before[1])


def test_the_docstring_drawing_of_a_4_mode_clements_mesh():
    """``mesh.py`` draws this schedule: the pairs each column couples, MZIs numbered column by column."""
    layout = mesh_layout("clements", 4)
    assert layout.columns == (
        MeshColumn(0, 2, 0),
        MeshColumn(1, 1, 2),
        MeshColumn(0, 2, 3),
        MeshColumn(1, 1, 5),
    )
    pairs = [[(m, m + 1) for m in range(c.start, c.start + 2 * c.count, 2)] for c in layout.columns]
    assert pairs == [[(0, 1), (2, 3)], [(1, 2)], [(0, 1), (2, 3)], [(1, 2)]]
    assert layout.mzi_top_modes.tolist() == [0, 2, 1, 0, 2, 1]
    assert (layout.phi_slice.start, layout.screen_slice.start) == (6, 12)


@pytest.mark.parametrize("kind", ["clements", "reck"])
@pytest.mark.parametrize("small_n, big_n", [(1, 4), (2, 4), (3, 8), (5, 8), (7, 8), (8, 8)])
def test_a_small_mesh_embedded_in_a_big_one_is_its_top_left_block(kind, small_n, big_n):
    """Its MZIs and phases placed by ``mesh_embedding``, the others zero (virtual MZIs at θ = φ = 0 are
    exact identities), an N-mode mesh realises diag(U_small, I) — bit for bit identity outside."""
    small, big = mesh_layout(kind, small_n), mesh_layout(kind, big_n)
    emb = mesh_embedding(small, big)
    assert emb is not None and len(set(emb.mzi_slots.tolist())) == small.n_mzis
    phases = torch.tensor(np.random.default_rng(small_n).uniform(0, 2 * np.pi, (3, small.n_phases)))
    embedded = torch.zeros(3, big.n_phases, dtype=torch.float64)
    embedded[:, torch.as_tensor(emb.phase_index)] = phases
    u_big = mesh_matrix(big, embedded, dtype=torch.complex128)
    u_small = mesh_matrix(small, phases, dtype=torch.complex128)
    np.testing.assert_allclose(u_big[:, :small_n, :small_n].numpy(), u_small.numpy(), atol=1e-14)
    rest = torch.eye(big_n, dtype=torch.complex128).expand(3, -1, -1).clone()
    rest[:, :small_n, :small_n] = u_big[:, :small_n, :small_n]
    assert torch.equal(u_big, rest)


def test_no_embedding_across_kinds_or_into_a_smaller_mesh():
    assert mesh_embedding(mesh_layout("clements", 4), mesh_layout("reck", 8)) is None
    assert mesh_embedding(mesh_layout("clements", 8), mesh_layout("clements", 4)) is None


@pytest.mark.parametrize("kind", ["clements", "reck"])
@pytest.mark.parametrize("dtype,tol", [(torch.complex64, 2e-6), (C128, 1e-13)])
@pytest.mark.parametrize("errors", ["none", "couplers", "couplers+loss"])
def test_block_sweep_equals_each_blocks_own_mesh(kind, dtype, tol, errors, rng, monkeypatch):
    """The chip's sweep of many meshes at once, blocks innermost (``svd_block_matrices``), equals each
    block's ``mesh_matrix`` built alone: with and without coupler errors, with per-MZI losses."""
    layout, blocks = mesh_layout(kind, 8), 37
    phases = torch.tensor(rng.uniform(0, 2 * np.pi, (blocks, layout.n_phases)))
    real = torch.float64 if dtype == C128 else torch.float32
    phases = phases.to(real)
    eps = None if errors == "none" else torch.tensor(rng.normal(0, 0.05, (blocks, layout.n_mzis, 2))).to(real)
    amp = torch.tensor(rng.uniform(0.8, 1, (blocks, layout.n_mzis))).to(real) if "loss" in errors else 1.0
    swept = _sweep_blocks(layout, phases, eps, amp, dtype)
    assert swept.shape == (blocks, 8, 8) and swept.is_contiguous()
    for b in (0, 17, 36):
        one = mesh_matrix(
            layout,
            phases[b],
            None if eps is None else eps[b],
            amp[b] if torch.is_tensor(amp) else amp,
            dtype=dtype,
        )
        assert (swept[b] - one).abs().max().item() < tol
    if errors == "none" and dtype == C128:  # and so the meshes are unitary
        eye = torch.eye(8, dtype=C128)
        assert (swept @ swept.conj().transpose(-1, -2) - eye).abs().max().item() < 1e-12
    # swept in chunks of 16 blocks (the last one short), every block is bit for bit what one pass gives
    monkeypatch.setattr(mesh_module, "SWEEP_CACHE_BYTES", 16 * 64 * dtype.itemsize)
    assert torch.equal(_sweep_blocks(layout, phases, eps, amp, dtype), swept)
