import interferometer
import numpy as np
import pytest
import torch

from photonzo.photonics.decompose import (
    attenuator_phases,
    clements_phases,
    clements_phases_batched,
    matrix_to_svd_phases,
    matrix_to_svd_phases_batched,
    reck_phases,
    reck_phases_batched,
    unitary_to_phases,
    unitary_to_phases_batched,
)
from photonzo.photonics.mesh import mesh_layout, mesh_matrix

from conftest import haar_unitary

C128 = torch.complex128
DECOMPOSE = {"clements": clements_phases, "reck": reck_phases}


def realise(kind, phases):
    n = int(round((np.sqrt(1 + 4 * len(phases)) - 1) / 2))  # P = N² for a mesh with screen
    return mesh_matrix(mesh_layout(kind, n), torch.as_tensor(phases), dtype=C128).numpy()


@pytest.mark.parametrize("kind", ["clements", "reck"])
@pytest.mark.parametrize("n", [2, 3, 4, 7, 16, 31, 64])
def test_unitary_round_trip(kind, n, rng):
    u = haar_unitary(n, rng)
    phases = DECOMPOSE[kind](u)
    assert phases.shape == (n * n,) and np.all((phases >= 0) & (phases < 2 * np.pi))
    assert np.abs(realise(kind, phases) - u).max() <= 1e-10


@pytest.mark.parametrize("kind", ["clements", "reck"])
@pytest.mark.parametrize("n", [3, 8, 17])
def test_second_opinion_interferometer_package(kind, n, rng):
    """The independent `interferometer` package decomposes the same unitary; its beam
    splitters placed into our layout must realise U, and its phases must equal ours."""
    u = haar_unitary(n, rng)
    theirs = (
        interferometer.square_decomposition if kind == "clements" else interferometer.triangle_decomposition
    )(u)
    layout = mesh_layout(kind, n)
    slots = layout.slots_for_sequence([bs.mode1 - 1 for bs in theirs.BS_list])
    phases = np.zeros(layout.n_phases)
    phases[layout.theta_slice][slots] = [bs.theta for bs in theirs.BS_list]
    phases[layout.phi_slice][slots] = [bs.phi for bs in theirs.BS_list]
    phases[layout.screen_slice] = theirs.output_phases
    assert np.abs(realise(kind, phases) - u).max() < 1e-10
    ours = DECOMPOSE[kind](u)
    assert np.abs(np.angle(np.exp(1j * (ours - phases)))).max() < 1e-8


def test_single_precision_unitaries_are_accepted(rng):
    u = haar_unitary(16, rng).astype(np.complex64)
    assert np.abs(realise("clements", clements_phases(u)) - u).max() < 1e-5


@pytest.mark.parametrize("complex_valued", [False, True])
def test_svd_mapping_round_trip(complex_valued, rng):
    n = 12
    w = rng.standard_normal((n, n)) + (1j * rng.standard_normal((n, n)) if complex_valued else 0)
    v_ph, s_ph, u_ph, gain = matrix_to_svd_phases(w)
    assert gain == pytest.approx(np.linalg.norm(w, 2))
    assert np.all(np.cos(s_ph) <= 1 + 1e-15)
    rebuilt = gain * realise("clements", u_ph) @ np.diag(np.cos(s_ph)) @ realise("clements", v_ph)
    assert np.abs(rebuilt - w).max() < 1e-10


@pytest.mark.parametrize("kind", ["clements", "reck"])
@pytest.mark.parametrize("shape", [(1, 8), (8, 1), (3, 8), (8, 5), (1, 1), (2, 3)])
def test_rectangular_svd_mapping_round_trip(kind, shape, rng):
    """An R×C matrix as a C-mode mesh V†, min(R, C) attenuators and an R-mode mesh U (the edge
    blocks of an optical matrix): rebuilt from the meshes' own transfer matrices to 1e-10."""
    r, c = shape
    w = rng.standard_normal((4, r, c)) + 1j * rng.standard_normal((4, r, c))
    v_ph, s_ph, u_ph, gains = matrix_to_svd_phases_batched(w, kind)
    m = min(r, c)
    assert v_ph.shape == (4, c * c) and s_ph.shape == (4, m) and u_ph.shape == (4, r * r)
    assert gains == pytest.approx(np.linalg.norm(w, 2, axis=(1, 2)))
    for b in range(4):
        u, vh = realise(kind, u_ph[b]), realise(kind, v_ph[b])
        rebuilt = gains[b] * u[:, :m] @ np.diag(np.cos(s_ph[b])) @ vh[:m]
        assert np.abs(rebuilt - w[b]).max() < 1e-10
        single = matrix_to_svd_phases(w[b], kind)
        assert np.array_equal(single[0], v_ph[b]) and np.array_equal(single[2], u_ph[b])


def test_a_one_mode_mesh_is_its_phase_shifter(rng):
    phase = np.exp(1j * 2.1)
    for kind in ("clements", "reck"):
        phases = unitary_to_phases(np.array([[phase]]), kind)
        assert phases == pytest.approx([2.1])
        assert realise(kind, phases) == pytest.approx(np.array([[phase]]))


def test_bad_decomposition_input(rng):
    with pytest.raises(ValueError, match="not unitary"):
        clements_phases(rng.standard_normal((4, 4)))
    with pytest.raises(ValueError, match="square"):
        reck_phases(np.eye(4)[:3])
    with pytest.raises(ValueError, match="N >= 1"):
        clements_phases(np.eye(1)[:0, :0])
    with pytest.raises(ValueError, match="NaN or inf"):
        matrix_to_svd_phases(np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="unknown mesh kind"):
        unitary_to_phases(np.eye(3), "diamond")
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        attenuator_phases([1.5])


# ---- the batched decomposition against the one-matrix-at-a-time loop it replaced ----------------
#
# A copy of the former per-matrix implementation (scalar nulling of one matrix, Python ``abs``):
# the reference path the batched decomposition must reproduce.


def _reference_null_from_right(u, row, m, null_upper):
    a, b = u[row, m], u[row, m + 1]
    if null_upper:
        theta = np.arctan2(abs(a), abs(b))
        phi = np.angle(a) - np.angle(b) if abs(a) > 0 and abs(b) > 0 else 0.0
    else:
        theta = np.arctan2(abs(b), abs(a))
        phi = np.angle(a) - np.angle(-b) if abs(a) > 0 and abs(b) > 0 else 0.0
    e, c, s = np.exp(-1j * phi), np.cos(theta), np.sin(theta)
    col_m, col_n = u[:, m].copy(), u[:, m + 1].copy()
    u[:, m] = col_m * e * c - col_n * s
    u[:, m + 1] = col_m * e * s + col_n * c
    return float(theta), float(phi)


def _reference_null_from_left(u, col, m):
    a, b = u[m, col], u[m + 1, col]
    theta = np.arctan2(abs(b), abs(a))
    phi = np.angle(-b) - np.angle(a) if abs(a) > 0 and abs(b) > 0 else 0.0
    e, c, s = np.exp(1j * phi), np.cos(theta), np.sin(theta)
    row_m, row_n = u[m].copy(), u[m + 1].copy()
    u[m] = e * c * row_m - s * row_n
    u[m + 1] = e * s * row_m + c * row_n
    return float(theta), float(phi)


def _reference_phase_vector(kind, n, sequence, screen):
    layout = mesh_layout(kind, n)
    tops, thetas, phis = (np.array(v) for v in zip(*sequence))
    phases = np.zeros(layout.n_phases)
    slots = layout.slots_for_sequence(tops)
    phases[layout.theta_slice][slots] = thetas
    phases[layout.phi_slice][slots] = phis
    phases[layout.screen_slice] = screen
    wrapped = np.mod(phases, 2 * np.pi)
    wrapped[wrapped >= 2 * np.pi] = 0.0
    return wrapped


def reference_clements(u):
    u = np.asarray(u, dtype=np.complex128).copy()
    n = u.shape[0]
    right, left = [], []
    for i in range(n - 1):
        for j in range(i + 1):
            if i % 2 == 0:
                right.append((i - j, *_reference_null_from_right(u, n - 1 - j, i - j, True)))
            else:
                left.append((n - 2 - i + j, *_reference_null_from_left(u, j, n - 2 - i + j)))
    moved = []
    for m, theta, phi in reversed(left):
        e, c, s = np.exp(-1j * phi), np.cos(theta), np.sin(theta)
        row_m, row_n = u[m].copy(), u[m + 1].copy()
        u[m] = e * c * row_m + e * s * row_n
        u[m + 1] = -s * row_m + c * row_n
        moved.append((m, *_reference_null_from_right(u, m + 1, m, True)))
    return _reference_phase_vector("clements", n, right + moved, np.angle(np.diag(u)))


def reference_reck(u):
    u = np.asarray(u, dtype=np.complex128).copy()
    n = u.shape[0]
    sequence = [
        (n - 2 - j, *_reference_null_from_right(u, i, n - 2 - j, False))
        for i in range(n - 1)
        for j in range(n - 1 - i)
    ]
    return _reference_phase_vector("reck", n, sequence, np.angle(np.diag(u)))


REFERENCE = {"clements": reference_clements, "reck": reference_reck}


def assert_same_phases(kind, got, want):
    """Phases equal modulo 2π to 1e-10, and the meshes they program equal to 1e-10."""
    assert got.shape == want.shape
    assert np.abs(np.angle(np.exp(1j * (got - want)))).max() <= 1e-10
    assert np.abs(realise(kind, got) - realise(kind, want)).max() <= 1e-10


def degenerate_unitaries(n, rng):
    """Identity, a permutation, the anti-diagonal, a diagonal of phases and a block-diagonal unitary:
    exact zeros and ties, where a nulling step has nothing to null and its φ is a convention."""
    block = np.eye(n, dtype=np.complex128)
    block[: n // 2, : n // 2] = haar_unitary(n // 2, rng)
    return [
        np.eye(n),
        np.eye(n)[rng.permutation(n)],
        np.eye(n)[::-1],
        np.diag(np.exp(1j * rng.uniform(0, 2 * np.pi, n))),
        block,
    ]


@pytest.mark.parametrize("kind", ["clements", "reck"])
@pytest.mark.parametrize("n", [2, 3, 8, 16, 64])
def test_batched_decomposition_equals_the_per_matrix_loop(kind, n, rng):
    stack = np.stack([haar_unitary(n, rng) for _ in range(5)] + degenerate_unitaries(n, rng))
    batched = unitary_to_phases_batched(stack, kind)
    assert batched.shape == (len(stack), n * n)
    for u, got in zip(stack, batched):
        assert_same_phases(kind, got, REFERENCE[kind](u))
        np.testing.assert_array_equal(DECOMPOSE[kind](u), got)  # one matrix = a stack of one
        assert np.abs(realise(kind, got) - u).max() <= 1e-10
    per_kind = {"clements": clements_phases_batched, "reck": reck_phases_batched}[kind]
    np.testing.assert_array_equal(per_kind(stack), batched)


def test_batched_decomposition_keeps_the_leading_axes(rng):
    stack = np.stack([haar_unitary(5, rng) for _ in range(6)]).reshape(2, 3, 5, 5)
    phases = unitary_to_phases_batched(stack, "reck")
    assert phases.shape == (2, 3, 25)
    np.testing.assert_array_equal(phases[1, 2], reck_phases(stack[1, 2]))
    assert unitary_to_phases_batched(np.zeros((0, 4, 4))).shape == (0, 16)


@pytest.mark.parametrize("kind", ["clements", "reck"])
def test_batched_svd_mapping_equals_the_per_matrix_one(kind, rng):
    w = rng.standard_normal((7, 8, 8)) + 1j * rng.standard_normal((7, 8, 8))
    w[2] = 0  # a zero matrix: gain 1, every attenuator dark
    w[4] = w[4].real  # a real one
    v_ph, s_ph, u_ph, gains = matrix_to_svd_phases_batched(w, kind)
    assert v_ph.shape == u_ph.shape == (7, 64) and s_ph.shape == (7, 8) and gains.shape == (7,)
    assert gains[2] == 1.0 and np.all(s_ph[2] == np.pi / 2)
    for b in range(7):
        single = matrix_to_svd_phases(w[b], kind)
        for got, want in zip((v_ph[b], s_ph[b], u_ph[b], gains[b]), single):
            np.testing.assert_array_equal(got, want)
        u, s, vh = np.linalg.svd(w[b])
        assert_same_phases(kind, v_ph[b], REFERENCE[kind](vh))
        assert_same_phases(kind, u_ph[b], REFERENCE[kind](u))
        rebuilt = gains[b] * realise(kind, u_ph[b]) @ np.diag(np.cos(s_ph[b])) @ realise(kind, v_ph[b])
        assert np.abs(rebuilt - w[b]).max() < 1e-10


def test_bad_batched_input(rng):
    stack = np.stack([haar_unitary(4, rng), rng.standard_normal((4, 4))])
    with pytest.raises(ValueError, match="not unitary"):
        unitary_to_phases_batched(stack)
    with pytest.raises(ValueError, match="square"):
        unitary_to_phases_batched(np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match="R, C >= 1"):
        matrix_to_svd_phases_batched(np.zeros(4))
    with pytest.raises(ValueError, match="R, C >= 1"):
        matrix_to_svd_phases(np.zeros((3, 0)))
    with pytest.raises(ValueError, match="unknown mesh kind"):
        matrix_to_svd_phases_batched(np.eye(3)[None], "diamond")
