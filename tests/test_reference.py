"""Our closed-form meshes against photontorch's circuit-level frequency-domain solver."""

import numpy as np
import pytest
import torch

pytest.importorskip("photontorch", reason="the photontorch reference is the optional extra 'reference'")

from photonzo.photonics.mesh import mesh_layout, mesh_matrix
from photonzo.photonics.mzi import insertion_loss_amplitude
from photonzo.photonics.reference import circuit_matrix, photontorch_clements, photontorch_shims, set_and_run

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.mark.parametrize("kind", ["clements", "reck"])
@pytest.mark.parametrize("n", [2, 4, 8])
def test_mesh_matrix_equals_photontorch_circuit(kind, n, rng):
    layout = mesh_layout(kind, n)
    phases = rng.uniform(0, 2 * np.pi, layout.n_phases)
    ours = mesh_matrix(layout, torch.tensor(phases), dtype=torch.complex128).numpy()
    assert (
        np.abs(ours - circuit_matrix(layout, phases)).max() < 1e-12
    )  # the issue asks 1e-5; float64 gives ~1e-15


@pytest.mark.parametrize("kind", ["clements", "reck"])
def test_coupler_errors_and_loss_agree_with_photontorch(kind, rng):
    layout = mesh_layout(kind, 4)
    phases = rng.uniform(0, 2 * np.pi, layout.n_phases)
    eps = rng.normal(0, 0.05, (layout.n_mzis, 2))
    ours = mesh_matrix(
        layout, torch.tensor(phases), torch.tensor(eps), insertion_loss_amplitude(0.2), dtype=torch.complex128
    ).numpy()
    assert np.abs(ours - circuit_matrix(layout, phases, eps, loss_db=0.2)).max() < 1e-12


def test_shims_are_scoped_and_photontorch_clements_runs(rng):
    import photontorch.networks.network as ptnet

    before = ptnet.torch, torch.get_default_dtype()
    with photontorch_shims():
        network = photontorch_clements(4)
        n_params = sum(p.numel() for p in network.parameters())
        u = set_and_run(network, rng.uniform(0, 2 * np.pi, n_params), 4)
    assert np.abs(u @ u.conj().T - np.eye(4)).max() < 1e-10  # their lossless mesh is unitary too
    assert (ptnet.torch, torch.get_default_dtype()) == before
