import math

import numpy as np
import pytest
import torch

from photonzo.photonics.mzi import insertion_loss_amplitude, mzi_matrix

C128 = torch.complex128


def clements_t(theta, phi):
    return np.array(
        [
            [np.exp(1j * phi) * np.cos(theta), -np.sin(theta)],
            [np.exp(1j * phi) * np.sin(theta), np.cos(theta)],
        ]
    )


def test_ideal_mzi_is_clements_t(rng):
    theta, phi = rng.uniform(0, 2 * np.pi, 50), rng.uniform(0, 2 * np.pi, 50)
    t = mzi_matrix(torch.tensor(theta), torch.tensor(phi), dtype=C128).numpy()
    expected = np.stack([clements_t(a, b) for a, b in zip(theta, phi)])
    np.testing.assert_allclose(t, expected, atol=1e-15)


def test_zero_coupler_error_equals_ideal_and_errors_keep_unitarity(rng):
    theta, phi = torch.tensor(rng.uniform(0, 6.3, 20)), torch.tensor(rng.uniform(0, 6.3, 20))
    ideal = mzi_matrix(theta, phi, dtype=C128)
    zero = mzi_matrix(theta, phi, bs_error=torch.zeros(20, 2, dtype=torch.float64), dtype=C128)
    np.testing.assert_allclose(zero.numpy(), ideal.numpy(), atol=1e-15)
    eps = torch.tensor(rng.normal(0, 0.1, (20, 2)))
    faulty = mzi_matrix(theta, phi, bs_error=eps, dtype=C128)
    gram = faulty @ faulty.conj().transpose(-1, -2)
    np.testing.assert_allclose(gram.numpy(), np.broadcast_to(np.eye(2), gram.shape), atol=1e-12)
    assert (faulty - ideal).abs().max() > 1e-3  # the error does change the device


def test_coupler_error_limits_extinction():
    # An ideal MZI at θ = π/2 routes all light across; with coupler errors ε₁ = ε₂ = ε the
    # bar-port leakage is |t00|² = sin²(2ε) (from the closed form), not zero.
    eps = 0.05
    t = mzi_matrix(
        torch.tensor(math.pi / 2, dtype=torch.float64),
        torch.tensor(0.0, dtype=torch.float64),
        bs_error=torch.tensor([eps, eps], dtype=torch.float64),
        dtype=C128,
    )
    assert abs(abs(t[0, 0].item()) ** 2 - math.sin(2 * eps) ** 2) < 1e-14


def test_insertion_loss_scales_power():
    amp = insertion_loss_amplitude(3.0)
    t = mzi_matrix(
        torch.tensor(0.3, dtype=torch.float64),
        torch.tensor(1.1, dtype=torch.float64),
        amplitude=amp,
        dtype=C128,
    )
    power = (t.abs() ** 2).sum(0)  # power out for unit power in each input
    np.testing.assert_allclose(power.numpy(), [10**-0.3] * 2, rtol=1e-12)
    with pytest.raises(ValueError, match="insertion loss"):
        insertion_loss_amplitude(-1.0)


def test_the_docstring_drawing_of_the_mzi():
    """``mzi.py`` draws φ on the upper input, a 50:50 coupler, +θ / −θ arms, the conjugate coupler."""
    theta, phi = torch.tensor(0.3, dtype=torch.float64), torch.tensor(1.1, dtype=torch.float64)
    b = torch.tensor([[1, 1j], [1j, 1]], dtype=torch.complex128) / 2**0.5
    arms = torch.diag(torch.polar(torch.ones(2, dtype=torch.float64), torch.stack([theta, -theta])))
    external = torch.diag(torch.polar(torch.ones(2, dtype=torch.float64), torch.stack([phi, 0 * phi])))
    drawn = b.conj().T @ arms @ b @ external
    assert torch.allclose(mzi_matrix(theta, phi, dtype=torch.complex128), drawn, atol=1e-14)
    # the bar state at θ = 0 and the cross state at θ = π/2
    bar = mzi_matrix(torch.tensor(0.0), torch.tensor(0.0)).abs()
    cross = mzi_matrix(torch.tensor(torch.pi / 2), torch.tensor(0.0)).abs()
    assert torch.allclose(bar, torch.eye(2)) and torch.allclose(cross, torch.eye(2).flip(0), atol=1e-7)
