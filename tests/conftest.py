import numpy as np
import pytest
import torch


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def haar_unitary(n: int, rng: np.random.Generator) -> np.ndarray:
    """Haar-random unitary (QR of a complex Ginibre matrix with the phase fix of Mezzadri 2007)."""
    z = (rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))) / np.sqrt(2)
    q, r = np.linalg.qr(z)
    d = np.diag(r)
    return q * (d / np.abs(d))


def random_phases(n_phases: int, rng: np.random.Generator, q: int | None = None) -> torch.Tensor:
    shape = (n_phases,) if q is None else (q, n_phases)
    return torch.as_tensor(rng.uniform(0, 2 * np.pi, shape), dtype=torch.float64)
