"""Matrices → phases: unitary → Clements or Reck mesh phases, and any matrix → U Σ V† blocks.

The algorithms are Clements et al., Optica 3, 1460 (2016) (rectangular) and Reck et al.,
PRL 73, 58 (1994) (triangular), with the MZI convention of ``mzi.py``. Each nulls one matrix
element per MZI with a Givens-like rotation that touches only two rows or columns, so a
decomposition costs O(N³) in complex128 and round-trips to ~1e-13 for N = 64.

Every decomposition runs on a stack ``[..., N, N]`` of matrices at once: the sequence of
(row, column) eliminations is the same for every N×N unitary, so each elimination step
computes its phases with element-wise arctan2 / angle over the stack and applies its 2×2
rotation to all matrices together. The only Python loop is over the N(N−1)/2 steps, never
over matrices. The single-matrix functions are the batched ones on a stack of one.

The resulting MZIs, listed in the order light meets them, are placed into the mesh layout
of ``mesh.py`` with ``MeshLayout.slots_for_sequence``.
"""

from __future__ import annotations

import numpy as np

from .mesh import MeshLayout, mesh_layout

TWO_PI = 2 * np.pi


def _as_unitaries(u) -> tuple[np.ndarray, tuple[int, ...]]:
    """A stack ``[..., N, N]`` of unitaries as a fresh ``[B, N, N]`` complex128 array, and its lead shape."""
    u = np.asarray(u)
    if u.ndim < 2 or u.shape[-1] != u.shape[-2]:
        raise ValueError(f"expected a square matrix (or a stack of them), got shape {u.shape}")
    n = u.shape[-1]
    if n < 1:
        raise ValueError(f"a mesh needs N >= 1 modes, got a {n}x{n} matrix")
    # the tolerance follows the input's precision: a complex64 unitary is unitary to ~1e-7
    atol = 1e-8 if u.dtype in (np.float64, np.complex128) else 100 * n * float(np.finfo(np.float32).eps)
    lead = u.shape[:-2]
    u = u.astype(np.complex128).reshape(-1, n, n)  # astype copies: the caller's array is never touched
    if not np.all(np.isfinite(u)):
        raise ValueError("the matrix has NaN or inf entries")
    err = np.abs(u @ u.conj().transpose(0, 2, 1) - np.eye(n)).max(initial=0.0)
    if err > atol:
        raise ValueError(
            f"the matrix is not unitary (max |U U† − I| = {err:.3g} > {atol:g}); "
            "use matrix_to_svd_phases for a general matrix"
        )
    return u, lead


def _modulus(z: np.ndarray) -> np.ndarray:
    """|z| element-wise, as libm's hypot rounds it (numpy's array ``abs`` of complex numbers can
    differ from it in the last bit; this keeps the phases those of a one-matrix-at-a-time loop)."""
    return np.hypot(z.real, z.imag)


def _null_from_right(u: np.ndarray, row: int, m: int, null_upper: bool) -> tuple[np.ndarray, np.ndarray]:
    """Right-multiply columns (m, m+1) of the stack ``u[N, N, B]`` by T(θ,φ)^{-1} so that
    u[row, m] (``null_upper``) or u[row, m+1] vanishes in every matrix; returns (θ[B], φ[B])."""
    a, b = u[row, m], u[row, m + 1]
    abs_a, abs_b = _modulus(a), _modulus(b)
    both = (abs_a > 0) & (abs_b > 0)
    if null_upper:  # e^{-iφ} cosθ a − sinθ b = 0
        theta = np.arctan2(abs_a, abs_b)
        phi = np.where(both, np.angle(a) - np.angle(b), 0.0)
    else:  # e^{-iφ} sinθ a + cosθ b = 0
        theta = np.arctan2(abs_b, abs_a)
        phi = np.where(both, np.angle(a) - np.angle(-b), 0.0)
    e, c, s = np.exp(-1j * phi), np.cos(theta), np.sin(theta)
    col_m, col_n = u[:, m], u[:, m + 1]
    col_me = col_m * e
    # T^{-1} = T† = [[e^{-iφ}c, e^{-iφ}s], [-s, c]]
    new_m = col_me * c - col_n * s
    u[:, m + 1] = col_me * s + col_n * c
    u[:, m] = new_m
    return theta, phi


def _null_from_left(u: np.ndarray, col: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Left-multiply rows (m, m+1) of the stack ``u[N, N, B]`` by T(θ,φ) so that u[m+1, col] vanishes."""
    a, b = u[m, col], u[m + 1, col]  # e^{iφ} sinθ a + cosθ b = 0
    abs_a, abs_b = _modulus(a), _modulus(b)
    theta = np.arctan2(abs_b, abs_a)
    phi = np.where((abs_a > 0) & (abs_b > 0), np.angle(-b) - np.angle(a), 0.0)
    e, c, s = np.exp(1j * phi), np.cos(theta), np.sin(theta)
    row_m, row_n = u[m], u[m + 1]
    new_m = e * c * row_m - s * row_n
    u[m + 1] = e * s * row_m + c * row_n
    u[m] = new_m
    return theta, phi


def _move_through_diagonal(u: np.ndarray, m: int, theta: np.ndarray, phi: np.ndarray):
    """Left-multiply rows (m, m+1) of the (diagonal) stack ``u[N, N, B]`` by T(θ,φ)^{-1}, then null
    the new off-diagonal u[m+1, m] from the right: L^{-1} D = D' T'. Returns T's (θ[B], φ[B])."""
    e, c, s = np.exp(-1j * phi), np.cos(theta), np.sin(theta)
    row_m, row_n = u[m], u[m + 1]
    new_m = e * c * row_m + e * s * row_n  # T^{-1} acting on rows (m, m+1)
    u[m + 1] = -s * row_m + c * row_n
    u[m] = new_m
    return _null_from_right(u, m + 1, m, null_upper=True)


def _to_phase_vectors(layout: MeshLayout, sequence: list, screen: np.ndarray) -> np.ndarray:
    """Phase vectors ``[B, P]`` from MZIs in light order, ``sequence`` = [(top mode, θ[B], φ[B])]."""
    phases = np.zeros((screen.shape[0], layout.n_phases))
    if sequence:  # a one-mode mesh has no MZIs, only its phase shifter
        tops, thetas, phis = zip(*sequence)
        slots = layout.slots_for_sequence(list(tops))
        phases[:, layout.theta_slice][:, slots] = np.stack(thetas, -1)
        phases[:, layout.phi_slice][:, slots] = np.stack(phis, -1)
    phases[:, layout.screen_slice] = screen
    wrapped = np.mod(phases, TWO_PI)
    wrapped[wrapped >= TWO_PI] = 0.0  # mod of a tiny negative number rounds up to 2π
    return wrapped


def _clements(u: np.ndarray) -> np.ndarray:
    """Clements phases ``[B, N²]`` of the unitaries ``u[B, N, N]`` (complex128, not checked)."""
    n = u.shape[-1]
    u = np.ascontiguousarray(u.transpose(1, 2, 0))  # [N, N, B]: every row and column op is contiguous
    right, left = [], []  # (top mode, θ[B], φ[B])
    for i in range(n - 1):
        if i % 2 == 0:
            for j in range(i + 1):
                m = i - j
                right.append((m, *_null_from_right(u, n - 1 - j, m, null_upper=True)))
        else:
            for j in range(i + 1):
                m = n - 2 - i + j
                left.append((m, *_null_from_left(u, j, m)))
    # Now L_k…L_1 U R_1^{-1}…R_n^{-1} = D. Move each L^{-1} through D: L^{-1} D = D' T'.
    moved = [(m, *_move_through_diagonal(u, m, theta, phi)) for m, theta, phi in reversed(left)]
    screen = np.angle(np.diagonal(u))  # [B, N]
    return _to_phase_vectors(mesh_layout("clements", n), right + moved, screen)


def _reck(u: np.ndarray) -> np.ndarray:
    """Reck phases ``[B, N²]`` of the unitaries ``u[B, N, N]`` (complex128, not checked)."""
    n = u.shape[-1]
    u = np.ascontiguousarray(u.transpose(1, 2, 0))  # [N, N, B]
    sequence = []
    for i in range(n - 1):
        for j in range(n - 1 - i):
            m = n - 2 - j
            sequence.append((m, *_null_from_right(u, i, m, null_upper=False)))
    return _to_phase_vectors(mesh_layout("reck", n), sequence, np.angle(np.diagonal(u)))


_DECOMPOSITIONS = {"clements": _clements, "reck": _reck}


def _check_kind(kind: str) -> None:
    if kind not in _DECOMPOSITIONS:
        mesh_layout(kind, 2)  # raises the standard unknown-kind error


def clements_phases_batched(u) -> np.ndarray:
    """Phases ``[..., N²]`` of Clements meshes realising a stack of unitaries ``u[..., N, N]``."""
    return unitary_to_phases_batched(u, "clements")


def reck_phases_batched(u) -> np.ndarray:
    """Phases ``[..., N²]`` of Reck meshes realising a stack of unitaries ``u[..., N, N]``."""
    return unitary_to_phases_batched(u, "reck")


def unitary_to_phases_batched(u, kind: str = "clements") -> np.ndarray:
    """Phases ``[..., N²]`` of ``kind`` meshes realising a stack of unitaries ``u[..., N, N]``."""
    _check_kind(kind)
    u, lead = _as_unitaries(u)
    return _DECOMPOSITIONS[kind](u).reshape(*lead, u.shape[-1] ** 2)


def _single(u) -> np.ndarray:
    u = np.asarray(u)
    if u.ndim != 2 or u.shape[0] != u.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {u.shape}")
    return u[None]


def clements_phases(u) -> np.ndarray:
    """Phases of a Clements mesh realising the unitary ``u`` (layout of ``mesh_layout('clements', N)``)."""
    return clements_phases_batched(_single(u))[0]


def reck_phases(u) -> np.ndarray:
    """Phases of a Reck mesh realising the unitary ``u`` (layout of ``mesh_layout('reck', N)``)."""
    return reck_phases_batched(_single(u))[0]


def unitary_to_phases(u, kind: str = "clements") -> np.ndarray:
    """Phases of a ``kind`` mesh realising the unitary ``u``."""
    return unitary_to_phases_batched(_single(u), kind)[0]


def attenuator_phases(amplitudes) -> np.ndarray:
    """Internal phases θ of MZI attenuators whose transmission cos θ equals ``amplitudes`` (|a| ≤ 1)."""
    amplitudes = np.asarray(amplitudes, dtype=np.float64)
    if np.any(np.abs(amplitudes) > 1 + 1e-12):
        raise ValueError(
            f"attenuator amplitudes must lie in [-1, 1], got max |a| = {np.abs(amplitudes).max():.6g}"
        )
    return np.arccos(np.clip(amplitudes, -1.0, 1.0))


def matrix_to_svd_phases_batched(
    w, kind: str = "clements"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Realise every real or complex matrix of a stack ``w[..., R, C]`` as g · U Σ V†: a C-mode
    mesh V†, min(R, C) attenuators on its first outputs, an R-mode mesh U (its first inputs lit).

    Returns ``(v_phases [..., C²], sigma_phases [..., min(R, C)], u_phases [..., R²], gains [...])``,
    each matrix's entries as ``matrix_to_svd_phases`` gives them for that matrix alone (one batched
    SVD, then the batched mesh decompositions of all U and V†; of both in one stack when square).
    """
    w = np.asarray(w)
    if w.ndim < 2 or min(w.shape[-2:]) < 1:
        raise ValueError(f"expected an R×C matrix (or a stack of them) with R, C >= 1, got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError("the matrix has NaN or inf entries")
    _check_kind(kind)
    u, s, vh = np.linalg.svd(w.astype(np.complex128))
    gains = np.where(s[..., 0] > 0, s[..., 0], 1.0)
    sigma = attenuator_phases(s / gains[..., None])
    # U and V† come unitary from the SVD: decomposed without a unitarity check
    (r, c), lead = w.shape[-2:], w.shape[:-2]
    decompose = _DECOMPOSITIONS[kind]
    if r == c:  # one stack [V†, U]
        meshes = decompose(np.stack([vh, u]).reshape(-1, c, c)).reshape(2, *lead, c * c)
        return meshes[0], sigma, meshes[1], gains
    v_phases = decompose(vh.reshape(-1, c, c)).reshape(*lead, c * c)
    u_phases = decompose(u.reshape(-1, r, r)).reshape(*lead, r * r)
    return v_phases, sigma, u_phases, gains


def matrix_to_svd_phases(w, kind: str = "clements") -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Realise a real or complex R×C matrix ``w`` as g · U Σ V† with meshes (C modes for V†, R for U).

    Returns ``(v_phases, sigma_phases, u_phases, gain)``: mesh phases of V† and U, attenuator
    phases for Σ / g (amplitudes ≤ 1, min(R, C) of them), and the electronic gain g = the largest
    singular value. ``w`` is recovered as ``gain * U[:, :m] @ diag(cos(sigma_phases)) @ V†[:m]``,
    m = min(R, C).
    """
    w = np.asarray(w)
    if w.ndim != 2 or min(w.shape) < 1:
        raise ValueError(f"expected an R×C matrix with R, C >= 1, got shape {w.shape}")
    v_phases, sigma_phases, u_phases, gains = matrix_to_svd_phases_batched(w[None], kind)
    return v_phases[0], sigma_phases[0], u_phases[0], float(gains[0])
