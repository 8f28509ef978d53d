"""MZI meshes: Clements (rectangular) and Reck (triangular) layouts, batched over phase settings.

A mesh on N modes holds N(N−1)/2 MZIs (see ``mzi.py`` for the MZI convention) followed by an
output phase screen of N phase shifters. Its parameter vector has ``N(N−1) + N`` phases (a mesh on
one mode is its phase shifter alone: the edge blocks of ``layers.OpticalMatrix`` use it):

    [θ of every MZI | φ of every MZI | output screen]

with MZIs numbered column by column in the order light meets them. Every column of either
layout acts on consecutive mode pairs (start, start+1), (start+2, start+3), ...; that regular
shape lets one column be applied to a whole batch with a few strided tensor ops, so the only
Python loop is over the mesh's columns (N for Clements, 2N−3 for Reck), never over phase
settings or samples.

A Clements mesh on 4 modes (``mesh_layout("clements", 4)``): column c couples the pairs
starting at mode c mod 2 — (0,1) and (2,3), then (1,2), then (0,1) and (2,3), then (1,2) —
and the boxes carry the MZIs' numbers (their θ and φ are entries k and 6 + k of the vector;
ψ_i, the output screen, is entry 12 + i):

               column 0    column 1    column 2    column 3    screen
    in 0   ----+-----+-----------------+-----+---------------------[ψ_0]---- out 0
               |  0  |                 |  3  |
    in 1   ----+-----+-----+-----+-----+-----+-----+-----+---------[ψ_1]---- out 1
                           |  2  |                 |  5  |
    in 2   ----+-----+-----+-----+-----+-----+-----+-----+---------[ψ_2]---- out 2
               |  1  |                 |  4  |
    in 3   ----+-----+-----------------+-----+---------------------[ψ_3]---- out 3

i.e. columns ``MeshColumn(start=0, count=2, offset=0)``, ``(1, 1, 2)``, ``(0, 2, 3)``,
``(1, 1, 5)``, and ``mzi_top_modes`` = [0, 2, 1, 0, 2, 1].

``mesh_matrix(layout, phases[..., P]) → U[..., N, N]`` builds the transfer matrices of any
batch of phase settings (the leading axes are typically queries Q and mesh blocks), and
``mesh_apply`` propagates a batch of fields through the same meshes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from ..choices import MESH_KINDS  # the names, torch-free for the CLI
from .mzi import mzi_coefficients, mzi_givens, unit_phasor

_NO_MZIS = np.zeros(0, dtype=np.int64)  # the MZI index arrays of a one-mode mesh


@dataclass(frozen=True)
class MeshColumn:
    """One column of a mesh: ``count`` MZIs on mode pairs (start + 2i, start + 2i + 1)."""

    start: int  # top mode of the first MZI of the column
    count: int  # number of MZIs in the column
    offset: int  # index of the column's first MZI in the mesh's MZI numbering

    @property
    def rows(self) -> slice:
        """The modes this column's MZIs act on."""
        return slice(self.start, self.start + 2 * self.count)

    @property
    def mzis(self) -> slice:
        """This column's MZIs in the mesh's MZI numbering."""
        return slice(self.offset, self.offset + self.count)


@dataclass(frozen=True)
class MeshLayout:
    """Topology of one N-mode mesh: which MZI sits where, and where its phases live."""

    kind: str
    n: int
    columns: tuple[MeshColumn, ...]

    @property
    def n_mzis(self) -> int:
        """MZIs of the mesh: N(N−1)/2 in either layout (none for one mode)."""
        return self.n * (self.n - 1) // 2

    @property
    def n_phases(self) -> int:
        """Length P of the mesh's phase vector: θ and φ of every MZI, then the N output-screen phases,
        N(N−1) + N in all."""
        return 2 * self.n_mzis + self.n

    @property
    def theta_slice(self) -> slice:
        """The internal phases θ (rad; cos θ is the bar transmission) in the phase vector: entries
        ``0 .. n_mzis − 1``, in the mesh's MZI numbering."""
        return slice(0, self.n_mzis)

    @property
    def phi_slice(self) -> slice:
        """The external phases φ (rad, on each MZI's upper input arm) in the phase vector: entries
        ``n_mzis .. 2·n_mzis − 1``, in the mesh's MZI numbering."""
        return slice(self.n_mzis, 2 * self.n_mzis)

    @property
    def screen_slice(self) -> slice:
        """The output phase screen ψ_0..ψ_{N−1} (rad, one shifter per output mode) in the phase vector: its
        last N entries."""
        return slice(2 * self.n_mzis, self.n_phases)

    @functools.cached_property
    def mzi_top_modes(self) -> np.ndarray:
        """Top mode of every MZI, in the mesh's MZI numbering."""
        return np.concatenate([c.start + 2 * np.arange(c.count) for c in self.columns] or [_NO_MZIS])

    @functools.cached_property
    def mzi_columns(self) -> np.ndarray:
        """Column index of every MZI, in the mesh's MZI numbering."""
        return np.concatenate([np.full(c.count, i) for i, c in enumerate(self.columns)] or [_NO_MZIS])

    @functools.cached_property
    def crosstalk_pairs(self) -> np.ndarray:
        """Pairs (i, j) of phase-shifter indices that are thermal neighbours, both directions.

        Layout model: in one column the MZIs sit two waveguides apart and their internal (θ)
        heaters are neighbours, as are their external (φ) heaters; the output screen's heaters
        sit one waveguide apart. Heaters of different columns are far apart along the
        propagation direction and are not coupled.
        """
        pairs = []
        for col in self.columns:
            idx = col.offset + np.arange(col.count - 1)
            for base in (0, self.n_mzis):  # θ heaters, then φ heaters
                pairs.append(np.stack([base + idx, base + idx + 1], 1))
        screen = 2 * self.n_mzis + np.arange(self.n - 1)
        pairs.append(np.stack([screen, screen + 1], 1))
        pairs = np.concatenate(pairs).astype(np.int64)
        return np.concatenate([pairs, pairs[:, ::-1]])

    def slots_for_sequence(self, top_modes: list[int] | np.ndarray) -> np.ndarray:
        """Map MZIs listed in the order light meets them to this layout's MZI numbering.

        ``top_modes[k]`` is the upper mode of the k-th MZI (0-based). Each MZI is scheduled
        as early as its two modes allow (ASAP); a sequence that does not fill this layout's
        slots exactly raises ``ValueError``.
        """
        top_modes = np.asarray(top_modes, dtype=np.int64)
        if top_modes.shape != (self.n_mzis,):
            raise ValueError(
                f"a {self.kind} mesh on {self.n} modes has {self.n_mzis} MZIs, "
                f"got a sequence of {top_modes.size}"
            )
        slot_of = {(int(c), int(m)): k for k, (c, m) in enumerate(zip(self.mzi_columns, self.mzi_top_modes))}
        depth = np.zeros(self.n, dtype=np.int64)
        slots = np.empty(self.n_mzis, dtype=np.int64)
        for k, m in enumerate(top_modes):
            if not 0 <= m < self.n - 1:
                raise ValueError(f"MZI {k} has top mode {m}; accepted range is 0..{self.n - 2}")
            column = max(depth[m], depth[m + 1])
            depth[m] = depth[m + 1] = column + 1
            try:
                slots[k] = slot_of[(int(column), int(m))]
            except KeyError:
                raise ValueError(
                    f"MZI {k} on modes ({m}, {m + 1}) lands in column {column}, "
                    f"which has no such slot in a {self.kind} mesh of {self.n} modes"
                ) from None
        if len(set(slots.tolist())) != self.n_mzis:
            raise ValueError("the sequence places two MZIs in the same slot")
        return slots


def _check_n(n: int) -> int:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"a mesh needs an integer number of modes N >= 1, got N={n!r}")
    return int(n)


def _columns_from_sequence(n: int, top_modes: list[int]) -> tuple[MeshColumn, ...]:
    """ASAP-schedule a light-order MZI sequence into columns of stride-2 mode pairs."""
    depth = [0] * n
    per_column: dict[int, list[int]] = {}
    for m in top_modes:
        column = max(depth[m], depth[m + 1])
        depth[m] = depth[m + 1] = column + 1
        per_column.setdefault(column, []).append(m)
    columns, offset = [], 0
    for c in sorted(per_column):
        tops = sorted(per_column[c])
        if tops != list(range(tops[0], tops[0] + 2 * len(tops), 2)):
            raise AssertionError(f"column {c} is not a run of stride-2 mode pairs: {tops}")
        columns.append(MeshColumn(start=tops[0], count=len(tops), offset=offset))
        offset += len(tops)
    return tuple(columns)


def reck_sequence(n: int) -> list[int]:
    """Top modes of the Reck triangle's MZIs in the order light meets them (Reck et al. 1994)."""
    return [n - 2 - j for i in range(n - 1) for j in range(n - 1 - i)]


@functools.cache
def mesh_layout(kind: str, n: int) -> MeshLayout:
    """The layout of a ``kind`` ('clements' or 'reck') mesh on ``n`` modes (cached)."""
    n = _check_n(n)
    if kind == "clements":
        columns, offset = [], 0
        for c in range(n):
            start = c % 2
            count = (n - start) // 2
            if count:
                columns.append(MeshColumn(start=start, count=count, offset=offset))
                offset += count
        return MeshLayout("clements", n, tuple(columns))
    if kind == "reck":
        return MeshLayout("reck", n, _columns_from_sequence(n, reck_sequence(n)))
    raise ValueError(f"unknown mesh kind {kind!r}; accepted kinds are {', '.join(MESH_KINDS)}")


def _pair_rows(state: torch.Tensor, col: MeshColumn) -> tuple[torch.Tensor, torch.Tensor]:
    """Views of the upper and lower mode of every MZI pair in ``col``: each ``[..., count, K]``."""
    rows = state[..., col.rows, :].unflatten(-2, (col.count, 2))
    return rows[..., 0, :], rows[..., 1, :]


def _propagate(layout: MeshLayout, phases, bs_error, amplitude, dtype, state: torch.Tensor) -> torch.Tensor:
    """Send ``state[..., N, K]`` (K columns of fields, or the identity) through every MZI column.

    Leading axes of ``phases`` (and ``bs_error``) broadcast against the state's. Without
    autograd the state is updated in place, and coupler-error-free MZIs are applied in their
    factored form (a phase, then a real rotation; see ``mzi_givens``), which is several
    times cheaper; with autograd every step is out of place.
    """
    theta, phi = phases[..., layout.theta_slice], phases[..., layout.phi_slice]
    differentiable = torch.is_grad_enabled() and any(
        torch.is_tensor(t) and t.requires_grad for t in (phases, bs_error, amplitude, state)
    )
    if bs_error is None and not differentiable:
        return _propagate_givens(layout, mzi_givens(theta, phi, amplitude, dtype), state)
    t00, t01, t10, t11 = mzi_coefficients(theta, phi, bs_error, amplitude, dtype)
    lead = torch.broadcast_shapes(t00.shape[:-1], state.shape[:-2])
    state = state.expand(*lead, *state.shape[-2:])
    if not differentiable:
        state = state.clone(memory_format=torch.contiguous_format)
    for col in layout.columns:
        top, bot = _pair_rows(state, col)
        a, b, c, d = (t[..., col.mzis, None] for t in (t00, t01, t10, t11))
        if differentiable:
            mixed = torch.stack([a * top + b * bot, c * top + d * bot], -2).flatten(-3, -2)
            state = torch.cat([state[..., : col.rows.start, :], mixed, state[..., col.rows.stop :, :]], -2)
        else:
            new_bot = c * top + d * bot
            top.copy_(a * top + b * bot)
            bot.copy_(new_bot)
    return state


def _propagate_givens(layout: MeshLayout, givens, state: torch.Tensor) -> torch.Tensor:
    """In-place column sweep with MZIs in factored form: top ← e^{iφ}·top, then a real rotation."""
    ext, cos, sin = givens
    lead = torch.broadcast_shapes(ext.shape[:-1], cos.shape[:-1], state.shape[:-2])
    state = state.expand(*lead, *state.shape[-2:]).clone(memory_format=torch.contiguous_format)
    for col in layout.columns:
        top, bot = _pair_rows(state, col)
        p = torch.view_as_real(top * ext[..., col.mzis, None])  # [..., count, K, 2]
        b = torch.view_as_real(bot)
        c, s = cos[..., col.mzis, None, None], sin[..., col.mzis, None, None]
        new_bot = s * p + c * b
        torch.view_as_real(top).copy_(c * p - s * b)
        b.copy_(new_bot)
    return state


# bytes of one chunk's mesh state in ``_sweep_blocks``, about a core's L2: the dense 784→1024
# layer's meshes (k = 8) built 1.1-1.3x faster than in one pass over all blocks, bit for bit the same
SWEEP_CACHE_BYTES = 2**19


def _sweep_blocks(layout: MeshLayout, phases, bs_error, amplitude, dtype) -> torch.Tensor:
    """``U[L, N, N]`` of L meshes (``phases[L, P]``, ``bs_error[L, MZIs, 2]`` or None, ``amplitude`` a
    float or ``[L, MZIs]``), swept with the blocks in the innermost axis, without autograd.

    The state is ``[N, N, L]``: every column update is then an elementwise pass over long contiguous
    runs of L values with the coefficients ``[MZIs, 1, L]`` broadcast over the middle axis, where the
    ``[L, N, N]`` layout of ``_propagate`` runs the same kernels on inner loops of N values with a
    broadcast coefficient: the dense 784→1024 layer's forward is 1.5× faster (issue 15). Without
    coupler errors the result is ``_propagate``'s bit for bit; with them, the vectorised complex
    products round in the last bit differently.
    """
    theta, phi = phases[:, layout.theta_slice].T, phases[:, layout.phi_slice].T  # [MZIs, L]
    amplitude = amplitude.T if torch.is_tensor(amplitude) else amplitude
    n, count = layout.n, phases.shape[0]
    if bs_error is None:
        ext, cos, sin = mzi_givens(theta, phi, amplitude, dtype)
        # a real factor broadcast into complex costs a cast per use
        coefficients = (ext, cos.to(dtype), sin.to(dtype))
    else:
        coefficients = mzi_coefficients(theta, phi, bs_error.transpose(0, 1), amplitude, dtype)
    screen = unit_phasor(phases[:, layout.screen_slice].T, dtype)  # [N, L]
    out = torch.empty(count, n, n, dtype=dtype, device=phases.device)
    # the blocks in chunks whose state stays in a core's L2 cache across all the columns (one pass
    # over all of them per column streams the state from memory every time); a chunk is a multiple
    # of 16 blocks, so its runs meet the SIMD lanes where one pass would and the vectorised complex
    # products with coupler errors round the same, bit for bit
    chunk = max(16, SWEEP_CACHE_BYTES // (n * n * dtype.itemsize) // 16 * 16)
    for start in range(0, count, chunk):
        part = slice(start, min(start + chunk, count))
        state = _sweep_chunk(layout, [t[:, part] for t in coefficients], bs_error is None, dtype)
        state.mul_(screen[:, None, part])
        out[part] = state.permute(2, 0, 1)  # bmm takes a strided batch one matrix at a time
    return out


def _sweep_chunk(layout: MeshLayout, coefficients, givens: bool, dtype) -> torch.Tensor:
    """The ``[N, N, l]`` state of l meshes after all columns, from their MZI coefficients
    ``[MZIs, l]``: factored (e^{iφ}, cos, sin) if ``givens``, else (t00, t01, t10, t11)."""
    n, count = layout.n, coefficients[0].shape[1]
    eye = torch.eye(n, dtype=dtype, device=coefficients[0].device)
    state = eye[..., None].expand(n, n, count).contiguous()
    for col in layout.columns:
        top, bot = _pair_rows_outer(state, col)
        if givens:
            e, c, s = (t[col.mzis, None, :] for t in coefficients)
            top.mul_(e)
            new_bot = s * top
            new_bot.addcmul_(c, bot)
            top.mul_(c).addcmul_(s, bot, value=-1)
        else:
            a, b, c, d = (t[col.mzis, None, :] for t in coefficients)
            new_bot = c * top
            new_bot.addcmul_(d, bot)
            top.mul_(a).addcmul_(b, bot)
        bot.copy_(new_bot)
    return state


def _pair_rows_outer(state: torch.Tensor, col: MeshColumn) -> tuple[torch.Tensor, torch.Tensor]:
    """``_pair_rows`` for a ``[N, K, L]`` state: the rows of ``col``'s pairs, each ``[count, K, L]``."""
    rows = state[col.rows].unflatten(0, (col.count, 2))
    return rows[:, 0], rows[:, 1]


def _check_inputs(layout: MeshLayout, phases: torch.Tensor, bs_error, dtype) -> None:
    if not torch.is_tensor(phases) or phases.dtype not in (torch.float32, torch.float64):
        got = f"dtype {phases.dtype}" if torch.is_tensor(phases) else type(phases).__name__
        raise ValueError(f"mesh phases must be a float32 or float64 torch tensor, got {got}")
    if phases.shape[-1:] != (layout.n_phases,):
        raise ValueError(
            f"a {layout.kind} mesh on {layout.n} modes takes {layout.n_phases} phases in the last axis, "
            f"got shape {tuple(phases.shape)}"
        )
    if not torch.isfinite(phases).all():
        raise ValueError("mesh phases must be finite; found NaN or inf")
    if bs_error is not None and (not torch.is_tensor(bs_error) or bs_error.shape[-2:] != (layout.n_mzis, 2)):
        got = tuple(bs_error.shape) if torch.is_tensor(bs_error) else type(bs_error).__name__
        raise ValueError(
            f"bs_error must be a tensor [..., {layout.n_mzis}, 2] (two couplers per MZI), got {got}"
        )
    if dtype not in (torch.complex64, torch.complex128):
        raise ValueError(f"dtype must be torch.complex64 or torch.complex128, got {dtype}")


def mesh_matrix(
    layout: MeshLayout,
    phases: torch.Tensor,
    bs_error: torch.Tensor | None = None,
    amplitude: float | torch.Tensor = 1.0,
    dtype: torch.dtype = torch.complex64,
) -> torch.Tensor:
    """Transfer matrices ``U[..., N, N]`` for a batch of phase settings ``phases[..., P]``.

    ``bs_error`` (static coupler errors, ``[..., n_mzis, 2]``) and ``amplitude`` (insertion
    loss per MZI) broadcast against the leading axes of ``phases``.
    """
    _check_inputs(layout, phases, bs_error, dtype)
    u = _propagate(
        layout, phases, bs_error, amplitude, dtype, torch.eye(layout.n, dtype=dtype, device=phases.device)
    )
    return unit_phasor(phases[..., layout.screen_slice], dtype)[..., :, None] * u


def mesh_apply(
    layout: MeshLayout,
    phases: torch.Tensor,
    fields: torch.Tensor,
    bs_error: torch.Tensor | None = None,
    amplitude: float | torch.Tensor = 1.0,
    dtype: torch.dtype = torch.complex64,
) -> torch.Tensor:
    """Propagate ``fields[..., B, N]`` through meshes programmed with ``phases[..., P]``.

    Returns ``[..., B, N]`` (leading axes broadcast). When there are fewer fields than modes
    the fields are sent column by column (cost ~ B·N² per phase setting); otherwise the
    transfer matrix is built once and applied with one batched matmul (cost ~ N³ + B·N²).
    """
    _check_inputs(layout, phases, bs_error, dtype)
    if not torch.is_tensor(fields) or fields.ndim < 2 or fields.shape[-1] != layout.n:
        got = tuple(fields.shape) if torch.is_tensor(fields) else type(fields).__name__
        raise ValueError(
            f"fields must be a tensor [..., B, {layout.n}] (B fields of {layout.n} modes), got {got}"
        )
    fields = fields.to(dtype)
    if fields.shape[-2] >= layout.n:
        return fields @ mesh_matrix(layout, phases, bs_error, amplitude, dtype).transpose(-1, -2)
    out = _propagate(layout, phases, bs_error, amplitude, dtype, fields.transpose(-1, -2))
    return (unit_phasor(phases[..., layout.screen_slice], dtype)[..., :, None] * out).transpose(-1, -2)


# ---- a small mesh inside a larger one -----------------------------------------------------------
@dataclass(frozen=True, eq=False)
class MeshEmbedding:
    """Where an n-mode mesh's MZIs and phases sit in an N-mode mesh of the same kind (N ≥ n), on
    its first n modes: the other MZIs of the big mesh are *virtual*, programmed to the identity
    (θ = φ = 0, no loss, no coupler error), and its other screen phases are 0. The big mesh then
    realises diag(U_small, I), so blocks of several mesh sizes are built in one pass of the big
    layout (``layers.OpticalMatrix`` does this for its edge blocks)."""

    small: MeshLayout
    big: MeshLayout
    mzi_slots: np.ndarray  # [small.n_mzis]: each small MZI's index in the big mesh's numbering
    phase_index: np.ndarray  # [small.n_phases]: each small phase's index in the big phase vector


@functools.cache
def mesh_embedding(small: MeshLayout, big: MeshLayout) -> MeshEmbedding | None:
    """The embedding of ``small`` in ``big`` on its first modes (cached), or None where the big
    layout has no slots for it.

    The small MZIs are placed in the order light meets them, each in the earliest slot of its
    mode pair after the slots already used on either of its modes: every two MZIs that share a
    mode keep their order, and the virtual MZIs between them are identities, so the big mesh
    applies exactly the small one's sequence (Clements: its first n columns; Reck: a
    sub-sequence of the big triangle).
    """
    if small.kind != big.kind or small.n > big.n:
        return None
    free = {}  # top mode → the big mesh's columns with an MZI there, in order, and their slots
    for slot, (column, top) in enumerate(zip(big.mzi_columns, big.mzi_top_modes)):
        free.setdefault(int(top), []).append((int(column), slot))
    depth = np.zeros(big.n, dtype=np.int64)  # the first column still free on each mode
    slots = np.empty(small.n_mzis, dtype=np.int64)
    for k, top in enumerate(small.mzi_top_modes):  # small numbering: column by column, in light order
        after = max(depth[top], depth[top + 1])
        found = next(((c, s) for c, s in free.get(int(top), []) if c >= after), None)
        if found is None:
            return None
        depth[top] = depth[top + 1] = found[0] + 1
        slots[k] = found[1]
    phase_index = np.concatenate([slots, big.n_mzis + slots, 2 * big.n_mzis + np.arange(small.n)])
    return MeshEmbedding(small, big, slots, phase_index)


# ---- many U Σ V† blocks at once ---------------------------------------------------------------
BLOCK_MULTIPLE = 16  # blocks per call are padded to a multiple of this (see svd_block_matrices)


def svd_block_matrices(
    layout: MeshLayout,
    v_phases: torch.Tensor,
    theta: torch.Tensor,
    u_phases: torch.Tensor,
    v_bs: torch.Tensor | None = None,
    s_bs: torch.Tensor | None = None,
    u_bs: torch.Tensor | None = None,
    amplitude: float = 1.0,
    gains: torch.Tensor | None = None,
    dtype: torch.dtype = torch.complex64,
    u_layout: MeshLayout | None = None,
) -> torch.Tensor:
    """``g · U Σ V†`` of L blocks at once: ``[L, N_U, N]`` complex.

    ``layout`` is the V† mesh's (N modes), ``u_layout`` the U mesh's (N_U modes; None: the same).
    ``v_phases``, ``u_phases``: ``[L, P]`` phases of each block's V† and U mesh; ``theta``: its
    ``[L, min(N_U, N)]`` attenuator phases (Σ = their bar transmissions, on the first outputs of
    V† and the first inputs of U; a rectangular block's other V† outputs are dropped and its other
    U inputs dark); ``v_bs``, ``s_bs``, ``u_bs``: ``[L, MZIs, 2]`` coupler errors or None;
    ``amplitude``: the field transmission of every MZI and attenuator (insertion loss), or a
    triple (V† MZIs ``[L, MZIs]``, attenuators ``[L, m]``, U MZIs ``[L, MZIs]``, each a tensor or
    a float) for blocks embedded in larger meshes (``MeshEmbedding``: virtual MZIs transmit 1,
    virtual attenuators 0); ``gains``: ``[L]`` electronic gains or None (1). The caller has checked the inputs
    (``mesh_matrix`` checks its own): a chip's forward checks its phases once per call, not once
    per mesh. No autograd: the meshes are swept in place (``_sweep_blocks``); a differentiable
    forward builds its matrices with ``mesh_matrix`` (``layers.OpticalMatrix.block_matrices``).

    A block's matrix does not depend on which blocks share the call, bit for bit (worker processes
    rely on it, ``parallel.py``): torch's complex elementwise kernels round the SIMD body and the
    scalar tail of a tensor differently, so the blocks are padded to a multiple of
    ``BLOCK_MULTIPLE`` and every element falls in the body whatever the call's size.
    """
    u_layout = layout if u_layout is None else u_layout
    total = v_phases.shape[0]
    v_amp, s_amp, u_amp = amplitude if isinstance(amplitude, tuple) else (amplitude,) * 3
    pad = -total % BLOCK_MULTIPLE
    if pad:
        grow = lambda t: t if not torch.is_tensor(t) else torch.cat([t, t.new_zeros((pad, *t.shape[1:]))])
        v_phases, theta, u_phases, v_bs, s_bs, u_bs, gains, v_amp, s_amp, u_amp = map(
            grow, (v_phases, theta, u_phases, v_bs, s_bs, u_bs, gains, v_amp, s_amp, u_amp)
        )

    m = theta.shape[-1]
    sigma = mzi_coefficients(theta, torch.zeros_like(theta), s_bs, s_amp, dtype)[0]
    u = _sweep_blocks(u_layout, u_phases, u_bs, u_amp, dtype)[..., :m]
    if gains is not None:
        u = gains.to(u.real.dtype)[:, None, None] * u
    v = _sweep_blocks(layout, v_phases, v_bs, v_amp, dtype)[..., :m, :]
    return (u @ (sigma[..., :, None] * v))[:total]
