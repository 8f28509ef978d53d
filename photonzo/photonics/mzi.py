r"""The 2×2 Mach-Zehnder interferometer (MZI): one convention for the whole package.

Convention (Clements et al., Optica 3, 1460 (2016), eq. 1): an MZI on modes (m, m+1) with
internal phase θ and external phase φ has the transfer matrix

    T(θ, φ) = [[e^{iφ} cos θ, −sin θ],
               [e^{iφ} sin θ,  cos θ]]

acting on the column vector (a_m, a_{m+1}) of field amplitudes, mode m being the upper arm.

Physically we realise it as   T = B(ε₂)† · diag(e^{iθ}, e^{−iθ}) · B(ε₁) · diag(e^{iφ}, 1)

with the external phase shifter φ on the upper input arm, a push-pull internal phase shifter
(+θ on the upper arm, −θ on the lower: differential phase 2θ), and directional couplers.
Light runs left to right (the matrices above act right to left):

               external    input coupler     internal      output coupler
                 phase     B(ε₁), 50:50     push-pull      B(ε₂)†, 50:50
    a_m      ----[ φ ]---.       .---------[ +θ ]--------.       .----  b_m
    (upper)               \_____/                         \_____/        (mode m)
                          /     \                         /     \
    a_{m+1}  ------------'       '---------[ −θ ]--------'       '----  b_{m+1}
    (lower)                                                               (mode m+1)

so (b_m, b_{m+1}) = T(θ, φ) · (a_m, a_{m+1}): with ideal couplers θ = 0 is the bar state,
θ = π/2 the cross state, and cos θ is the bar transmission an attenuator uses. Each coupler is

    B(ε) = [[cos(π/4 + ε), i sin(π/4 + ε)],
            [i sin(π/4 + ε), cos(π/4 + ε)]]

whose cross-coupling power ratio is sin²(π/4 + ε): ε = 0 is an ideal 50:50 coupler and ε is
the static *beam-splitter ratio error* of a fabricated chip. The second coupler is the
conjugate one (B† = P B P with P = diag(1, −1), i.e. a π phase on the lower arm around it),
which is what makes the ideal device equal Clements' T exactly, with no θ-dependent global
phase. ``photonzo.photonics.reference`` checks this against photontorch's circuit solver built
from its own directional couplers and waveguides.

Insertion loss multiplies the whole matrix by the amplitude 10^(−IL_dB / 20).
"""

from __future__ import annotations

import math

import torch

QUARTER_PI = math.pi / 4


def insertion_loss_amplitude(loss_db: float) -> float:
    """Field amplitude transmission of an MZI whose insertion loss is ``loss_db`` (power, dB)."""
    if not math.isfinite(loss_db) or loss_db < 0:
        raise ValueError(f"insertion loss must be a finite value >= 0 dB, got {loss_db!r}")
    return 10.0 ** (-loss_db / 20.0)


def real_dtype_of(dtype: torch.dtype) -> torch.dtype:
    """The real dtype that goes with a complex simulation dtype (float64 for complex128)."""
    return torch.float64 if dtype == torch.complex128 else torch.float32


def unit_phasor(phase: torch.Tensor, dtype: torch.dtype = torch.complex64) -> torch.Tensor:
    """e^{i·phase} as a complex tensor of ``dtype``."""
    return torch.polar(torch.ones_like(phase), phase).to(dtype)


def mzi_coefficients(
    theta: torch.Tensor,
    phi: torch.Tensor,
    bs_error: torch.Tensor | None = None,
    amplitude: float | torch.Tensor = 1.0,
    dtype: torch.dtype = torch.complex64,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The four entries (t00, t01, t10, t11) of T(θ, φ) for any batch of MZIs.

    Args:
        theta, phi: real tensors of one broadcastable shape ``S`` (radians).
        bs_error: optional static coupler errors ε, shape ``S + (2,)`` broadcastable
            (ε₁ of the input coupler, ε₂ of the output coupler), radians.
        amplitude: field transmission (insertion loss), scalar or broadcastable to ``S``.
        dtype: complex dtype of the result.

    Returns four complex tensors of shape ``S``.
    """
    real = real_dtype_of(dtype)
    theta = theta.to(real)
    phi = phi.to(real)
    ext = unit_phasor(phi, dtype)
    if bs_error is None:
        c = torch.cos(theta).to(dtype)
        s = torch.sin(theta).to(dtype)
        t00, t01, t10, t11 = ext * c, -s, ext * s, c
    else:
        bs_error = bs_error.to(real)
        c1, s1 = torch.cos(QUARTER_PI + bs_error[..., 0]), torch.sin(QUARTER_PI + bs_error[..., 0])
        c2, s2 = torch.cos(QUARTER_PI + bs_error[..., 1]), torch.sin(QUARTER_PI + bs_error[..., 1])
        plus = unit_phasor(theta, dtype)  # e^{iθ}
        minus = plus.conj()
        # B(ε₂)† diag(e^{iθ}, e^{-iθ}) B(ε₁), expanded by hand (see module docstring).
        a00 = c1 * c2 * plus + s1 * s2 * minus
        a01 = 1j * (s1 * c2 * plus - c1 * s2 * minus)
        a10 = 1j * (s1 * c2 * minus - c1 * s2 * plus)
        a11 = s1 * s2 * plus + c1 * c2 * minus
        t00, t01, t10, t11 = (a00 * ext).to(dtype), a01.to(dtype), (a10 * ext).to(dtype), a11.to(dtype)
    if not (isinstance(amplitude, (int, float)) and amplitude == 1.0):
        t00, t01, t10, t11 = (t * amplitude for t in (t00, t01, t10, t11))
    return t00, t01, t10, t11


def mzi_givens(
    theta: torch.Tensor,
    phi: torch.Tensor,
    amplitude: float | torch.Tensor = 1.0,
    dtype: torch.dtype = torch.complex64,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Factored form of a coupler-error-free MZI:  T = a · [[c, −s], [s, c]] · diag(e^{iφ}, 1).

    Returns (e^{iφ}, a·cos θ, a·sin θ): one complex phase on the upper mode followed by a
    *real* rotation, which a mesh can apply with real arithmetic (2 multiplies per entry
    instead of 6). Only valid without beam-splitter errors.
    """
    real = real_dtype_of(dtype)
    theta, phi = theta.to(real), phi.to(real)
    return unit_phasor(phi, dtype), amplitude * torch.cos(theta), amplitude * torch.sin(theta)


def mzi_matrix(
    theta: torch.Tensor,
    phi: torch.Tensor,
    bs_error: torch.Tensor | None = None,
    amplitude: float | torch.Tensor = 1.0,
    dtype: torch.dtype = torch.complex64,
) -> torch.Tensor:
    """T(θ, φ) as a ``[..., 2, 2]`` complex tensor (see the module docstring for the convention)."""
    t00, t01, t10, t11 = mzi_coefficients(theta, phi, bs_error, amplitude, dtype)
    t00, t01, t10, t11 = torch.broadcast_tensors(t00, t01, t10, t11)
    return torch.stack([torch.stack([t00, t01], -1), torch.stack([t10, t11], -1)], -2)
