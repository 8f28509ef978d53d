import interferometer
import numpy as np
import pytest
import torch

from photonzo.photonics.decompose import (
    attenuator_phases,
    clements_phases,
    matrix_to_svd_phases,
    reck_phases,
    unitary_to_phases,
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


def test_bad_decomposition_input(rng):
    with pytest.raises(ValueError, match="not unitary"):
        clements_phases(rng.standard_normal((4, 4)))
    with pytest.raises(ValueError, match="square"):
        reck_phases(np.eye(4)[:3])
    with pytest.raises(ValueError, match="N >= 2"):
        clements_phases(np.eye(1))
    with pytest.raises(ValueError, match="NaN or inf"):
        matrix_to_svd_phases(np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="unknown mesh kind"):
        unitary_to_phases(np.eye(3), "diamond")
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        attenuator_phases([1.5])
