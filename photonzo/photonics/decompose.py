"""Matrices → phases: unitary → Clements or Reck mesh phases, and any matrix → U Σ V† blocks.

The algorithms are Clements et al., Optica 3, 1460 (2016) (rectangular) and Reck et al.,
PRL 73, 58 (1994) (triangular), with the MZI convention of ``mzi.py``. Each nulls one matrix
element per MZI with a Givens-like rotation that touches only two rows or columns, so a
decomposition costs O(N³) in complex128 and round-trips to ~1e-13 for N = 64.

The resulting MZIs, listed in the order light meets them, are placed into the mesh layout
of ``mesh.py`` with ``MeshLayout.slots_for_sequence``.
"""

from __future__ import annotations

import numpy as np

from .mesh import MeshLayout, mesh_layout

TWO_PI = 2 * np.pi


def _as_unitary(u) -> np.ndarray:
    u = np.asarray(u)
    if u.ndim != 2 or u.shape[0] != u.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {u.shape}")
    if u.shape[0] < 2:
        raise ValueError(f"a mesh needs N >= 2 modes, got a {u.shape[0]}x{u.shape[0]} matrix")
    # the tolerance follows the input's precision: a complex64 unitary is unitary to ~1e-7
    atol = (
        1e-8 if u.dtype in (np.float64, np.complex128) else 100 * u.shape[0] * float(np.finfo(np.float32).eps)
    )
    u = u.astype(np.complex128)
    if not np.all(np.isfinite(u)):
        raise ValueError("the matrix has NaN or inf entries")
    err = np.abs(u @ u.conj().T - np.eye(u.shape[0])).max()
    if err > atol:
        raise ValueError(
            f"the matrix is not unitary (max |U U† − I| = {err:.3g} > {atol:g}); "
            "use matrix_to_svd_phases for a general matrix"
        )
    return u


def _null_from_right(u: np.ndarray, row: int, m: int, null_upper: bool) -> tuple[float, float]:
    """Right-multiply columns (m, m+1) of ``u`` by T(θ,φ)^{-1} so that u[row, m] (``null_upper``)
    or u[row, m+1] vanishes; returns (θ, φ)."""
    a, b = u[row, m], u[row, m + 1]
    if null_upper:  # e^{-iφ} cosθ a − sinθ b = 0
        theta = np.arctan2(abs(a), abs(b))
        phi = np.angle(a) - np.angle(b) if abs(a) > 0 and abs(b) > 0 else 0.0
    else:  # e^{-iφ} sinθ a + cosθ b = 0
        theta = np.arctan2(abs(b), abs(a))
        phi = np.angle(a) - np.angle(-b) if abs(a) > 0 and abs(b) > 0 else 0.0
    e, c, s = np.exp(-1j * phi), np.cos(theta), np.sin(theta)
    col_m, col_n = u[:, m].copy(), u[:, m + 1].copy()
    # T^{-1} = T† = [[e^{-iφ}c, e^{-iφ}s], [-s, c]]
    u[:, m] = col_m * e * c - col_n * s
    u[:, m + 1] = col_m * e * s + col_n * c
    return float(theta), float(phi)


def _null_from_left(u: np.ndarray, col: int, m: int) -> tuple[float, float]:
    """Left-multiply rows (m, m+1) of ``u`` by T(θ,φ) so that u[m+1, col] vanishes."""
    a, b = u[m, col], u[m + 1, col]  # e^{iφ} sinθ a + cosθ b = 0
    theta = np.arctan2(abs(b), abs(a))
    phi = np.angle(-b) - np.angle(a) if abs(a) > 0 and abs(b) > 0 else 0.0
    e, c, s = np.exp(1j * phi), np.cos(theta), np.sin(theta)
    row_m, row_n = u[m].copy(), u[m + 1].copy()
    u[m] = e * c * row_m - s * row_n
    u[m + 1] = e * s * row_m + c * row_n
    return float(theta), float(phi)


def _to_phase_vector(layout: MeshLayout, tops, thetas, phis, screen) -> np.ndarray:
    slots = layout.slots_for_sequence(tops)
    phases = np.zeros(layout.n_phases)
    phases[layout.theta_slice][slots] = thetas
    phases[layout.phi_slice][slots] = phis
    phases[layout.screen_slice] = screen
    wrapped = np.mod(phases, TWO_PI)
    wrapped[wrapped >= TWO_PI] = 0.0  # mod of a tiny negative number rounds up to 2π
    return wrapped


def clements_phases(u) -> np.ndarray:
    """Phases of a Clements mesh realising the unitary ``u`` (layout of ``mesh_layout('clements', N)``)."""
    u = _as_unitary(u).copy()
    n = u.shape[0]
    right, left = [], []  # (top mode, θ, φ)
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
    moved = []
    for m, theta, phi in reversed(left):
        e, c, s = np.exp(-1j * phi), np.cos(theta), np.sin(theta)
        row_m, row_n = u[m].copy(), u[m + 1].copy()
        u[m] = e * c * row_m + e * s * row_n  # T^{-1} acting on rows (m, m+1)
        u[m + 1] = -s * row_m + c * row_n
        moved.append((m, *_null_from_right(u, m + 1, m, null_upper=True)))
    sequence = right + moved  # order in which light meets them
    tops, thetas, phis = (np.array(v) for v in zip(*sequence))
    return _to_phase_vector(mesh_layout("clements", n), tops, thetas, phis, np.angle(np.diag(u)))


def reck_phases(u) -> np.ndarray:
    """Phases of a Reck mesh realising the unitary ``u`` (layout of ``mesh_layout('reck', N)``)."""
    u = _as_unitary(u).copy()
    n = u.shape[0]
    sequence = []
    for i in range(n - 1):
        for j in range(n - 1 - i):
            m = n - 2 - j
            sequence.append((m, *_null_from_right(u, i, m, null_upper=False)))
    tops, thetas, phis = (np.array(v) for v in zip(*sequence))
    return _to_phase_vector(mesh_layout("reck", n), tops, thetas, phis, np.angle(np.diag(u)))


def unitary_to_phases(u, kind: str = "clements") -> np.ndarray:
    """Phases of a ``kind`` mesh realising the unitary ``u``."""
    if kind == "clements":
        return clements_phases(u)
    if kind == "reck":
        return reck_phases(u)
    mesh_layout(kind, 2)  # raises the standard unknown-kind error
    raise AssertionError("unreachable")


def attenuator_phases(amplitudes) -> np.ndarray:
    """Internal phases θ of MZI attenuators whose transmission cos θ equals ``amplitudes`` (|a| ≤ 1)."""
    amplitudes = np.asarray(amplitudes, dtype=np.float64)
    if np.any(np.abs(amplitudes) > 1 + 1e-12):
        raise ValueError(
            f"attenuator amplitudes must lie in [-1, 1], got max |a| = {np.abs(amplitudes).max():.6g}"
        )
    return np.arccos(np.clip(amplitudes, -1.0, 1.0))


def matrix_to_svd_phases(w, kind: str = "clements") -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Realise a square real or complex matrix ``w`` as g · U Σ V† with meshes.

    Returns ``(v_phases, sigma_phases, u_phases, gain)``: mesh phases of V† and U, attenuator
    phases for Σ / g (amplitudes ≤ 1), and the electronic gain g = the largest singular value.
    ``w`` is recovered as ``gain * U @ diag(cos(sigma_phases)) @ V†``.
    """
    w = np.asarray(w)
    if w.ndim != 2 or w.shape[0] != w.shape[1] or w.shape[0] < 2:
        raise ValueError(f"expected a square N×N matrix with N >= 2, got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError("the matrix has NaN or inf entries")
    u, s, vh = np.linalg.svd(w.astype(np.complex128))
    gain = float(s[0]) if s[0] > 0 else 1.0
    return unitary_to_phases(vh, kind), attenuator_phases(s / gain), unitary_to_phases(u, kind), gain
