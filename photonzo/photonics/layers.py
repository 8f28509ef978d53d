"""Optical layers: dense matrices as blocks of U Σ V† meshes, and tensor-train (TT) layers.

Building block: ``OpticalMatrix``, an out×in matrix cut into k×k blocks; block (r, c) is
realised as  g · U_rc Σ_rc V_rc†  with two k-mode meshes (``mesh.py``), a column of k MZI
attenuators (transmission cos θ ∈ [−1, 1]) for Σ/g, and one electronic gain g per matrix.
A block at the bottom or right edge with h < k rows or w < k columns is an h-mode U, min(h, w)
attenuators and a w-mode V† (``EDGE_BLOCKS``: ``rectangular``, the default), or the h×w corner of
a full k×k block (``padded``); the chip builds the smaller meshes inside k-mode ones, their other
MZIs virtual identities (``grid_embedding``), so both cost one pass of k-mode meshes per call.
The blocks of one output row are combined coherently before detection, so each output port has
one detector. Parameter layout of a matrix whose blocks fall
into classes of one shape each (``BlockClass``: the k×k blocks, the right edge column, the bottom
edge row, the corner):

    [V† meshes of every class | attenuators of every class | U meshes of every class]

each group class by class, and a class's blocks row by row.

``OpticalLinear`` = one matrix + detection + electronic bias. ``TTOpticalLinear`` holds one
matrix per TT core, core k being the (r_{k−1}·n_k) × (m_k·r_k) unfolding of the core tensor
G_k[r_{k−1}, n_k, m_k, r_k]; the input is contracted core by core (last core first), each
contraction being one pass of all input slices through that core's meshes, read by I/Q
coherent receivers (both quadratures) and rearranged electronically to drive the next core's
IQ modulators. So an ideal TT layer computes exactly detect(W_TT x) with W_TT the dense
matrix of its (complex) cores, like a dense layer with that matrix.

A layer's ``forward(params, x, ctx, readout, gains)`` takes the *physical* phases (after the
chip applied its hardware model), a ``ForwardContext`` holding the chip's static MZI errors and
its detection and conversion model, and the electronic gain of each of its matrices (the chip
holds them; ``None``: every matrix's ``nominal_gain``). Layers hold layout only: nothing here
changes when a network is programmed.

Weight domain: each layer class owns its weight type (``DenseWeights``, ``TTWeights``), its
random initialisation, its digital forward (``digital``, detection mirrored by ``detected``),
the ideal weights a phase vector encodes (``weights_from_phases``) and the mapping of weights
onto phases and gains (``program``).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from ..choices import EDGE_BLOCKS  # the names, torch-free for the CLI
from ..validation import check_positive_int
from .decompose import matrix_to_svd_phases_batched
from .hardware import IDEAL, HardwareModel
from .mesh import MeshLayout, mesh_embedding, mesh_layout, mesh_matrix, svd_block_matrices
from .mzi import mzi_coefficients, real_dtype_of
from .noise import NoiseStreams
from .noise import stage as noise_stage
from .tensor_train import contraction_plan, merge_cores, merged_shapes, tt_contract, tt_dense

# What a network's layer outputs are read as: ``coherent`` — the signed in-phase quadrature
# Re(field) (homodyne); ``intensity`` — |field|² (a photodiode).
READOUTS = ("coherent", "intensity")
# Every detection a forward uses: the readouts, and ``iq`` — both quadratures of the field (a
# coherent I/Q receiver), kept complex. ``iq`` is used between TT cores only, so that the next
# core can be driven by IQ modulators; it is no network readout.
DETECTIONS = READOUTS + ("iq",)


def detected(field: torch.Tensor, mode: str) -> torch.Tensor:
    """The noise-free reading of output ``field`` under detection ``mode`` (see ``DETECTIONS``):
    ``iq`` the field itself, ``coherent`` Re(field), ``intensity`` |field|². The one rule the
    optical forward (``ForwardContext.detect`` adds noise and ADCs) and the digital mirror share."""
    if mode == "iq":
        return field
    if mode == "coherent":
        return field.real if field.is_complex() else field
    if mode == "intensity":
        return field.real**2 + field.imag**2 if field.is_complex() else field**2
    raise ValueError(f"unknown detection {mode!r}; accepted detections are {', '.join(DETECTIONS)}")


@dataclass(frozen=True)
class ParamSlice:
    """A named contiguous range of a flat parameter vector."""

    name: str
    start: int
    stop: int
    kind: str  # 'mesh', 'attenuator' (optical phases) or 'bias' (electronic)

    @property
    def size(self) -> int:
        """The number of entries, ``stop − start``."""
        return self.stop - self.start

    @property
    def slice(self) -> slice:
        """``slice(start, stop)``, to index the flat vector with: ``params[..., s.slice]``."""
        return slice(self.start, self.stop)

    def shifted(self, offset: int, prefix: str) -> ParamSlice:
        """The same range ``offset`` entries further on, named ``{prefix}.{name}``, its kind kept: how a
        network names its layers' slices in its own vector (``layer0.core1.V[3]``)."""
        return ParamSlice(f"{prefix}.{self.name}", self.start + offset, self.stop + offset, self.kind)


@dataclass
class ForwardContext:
    """What a layer needs from the chip during one forward: static MZI errors and detection."""

    hardware: HardwareModel = IDEAL
    bs_error: torch.Tensor | None = None  # [n_mzis of this component, 2]
    amplitude: float = 1.0  # field transmission per MZI (insertion loss)
    dtype: torch.dtype = torch.complex64
    # dynamic noise: per-query streams (noise.py); the chip makes them for each forward call. A
    # context with shot or detector noise and none given draws from seed 0, queries 0, 1, ...
    noise: NoiseStreams | None = None
    merge: bool = True  # may consecutive TT cores be applied merged where that is exact (linear_iq)?
    reuse: bool = True  # may settings reuse what they share with the call's first (see Chip)?
    # where a detection's noise stage is (noise.stage): the layer, and the detections it made so far
    layer: int = 0
    detections: int = 0

    def __post_init__(self):
        if self.noise is None and self.hardware.reads_noise:
            self.noise = NoiseStreams(0, 0, None)

    def at_layer(self, layer: int) -> ForwardContext:
        """This context for one pass of layer ``layer`` over a chunk: its detections counted from 0."""
        return dataclasses.replace(self, layer=layer, detections=0)

    def for_settings(self, start: int, stop: int) -> ForwardContext:
        """This context for settings ``start:stop`` of the call (their noise streams)."""
        return self if self.noise is None else dataclasses.replace(self, noise=self.noise.select(start, stop))

    @property
    def linear_iq(self) -> bool:
        """Whether merging is allowed and reading a field by I/Q receivers and re-modulating it is
        the identity (no noise, no converter quantisation): consecutive matrices may then be
        applied as their product."""
        hw = self.hardware
        return (
            self.merge
            and hw.shot_noise_photons is None
            and not hw.detector_noise_std
            and hw.output_bits is None
            and hw.input_bits is None
        )

    def sub(self, start: int, stop: int) -> ForwardContext:
        """The same context restricted to MZIs ``start:stop`` of this component."""
        bs = None if self.bs_error is None else self.bs_error[start:stop]
        return dataclasses.replace(self, bs_error=bs)

    @property
    def real_dtype(self) -> torch.dtype:
        """The real dtype that goes with ``dtype`` (float32 for complex64, float64 for complex128): what
        ``encode`` casts real input amplitudes to."""
        return real_dtype_of(self.dtype)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Input modulators: amplitudes (real, or complex for IQ modulators) through the input DACs."""
        bits = self.hardware.input_bits
        if x.is_complex():
            if bits is None:
                return x
            return _complex_from_parts(x, lambda part, _: self.hardware.quantise_signal(part, bits))
        return self.hardware.quantise_signal(x.to(self.real_dtype), bits)

    def detect(self, field: torch.Tensor, mode: str) -> torch.Tensor:
        """Photodetection of output fields (``detected``), then detector noise and the ADCs.

        ``iq`` (both quadratures, complex) gets the noise and ADC of a coherent receiver on each
        quadrature. A ``coherent`` field may already be real (a matrix applied with ``real_out``).
        """
        detection = self.detections  # this detection's place in the layer: its noise stage
        self.detections += 1
        reading = detected(field, mode)
        hw = self.hardware
        kinds = (hw.shot_noise_photons is not None) + bool(hw.detector_noise_std)  # noise draws per value
        if mode == "iq":
            if not kinds and hw.output_bits is None:
                return reading  # an ideal I/Q receiver reads the field itself; skip the copies
            noise = self._normal(reading.real, detection, 2 * kinds)  # both quadratures' draws
            read = lambda part, i: self._read(part, "coherent", noise, i * kinds)
            return _complex_from_parts(reading, read)
        return self._read(reading, mode, self._normal(reading, detection, kinds))

    def _read(self, signal: torch.Tensor, mode: str, noise=None, at: int = 0) -> torch.Tensor:
        """Noise and ADC of one reading; ``noise[..., at + j, :]`` is its j-th standard normal draw."""
        hw = self.hardware
        if hw.shot_noise_photons is not None:
            if mode == "coherent":  # homodyne vacuum noise on one quadrature
                std = torch.full_like(signal, 0.5 / math.sqrt(hw.shot_noise_photons))
            else:  # Poisson photon counting, Gaussian approximation
                std = torch.sqrt(signal.clamp_min(0) / hw.shot_noise_photons)
            signal = signal + std * noise[..., at, :]
            at += 1
        if hw.detector_noise_std:
            rms = signal.pow(2).mean(-1, keepdim=True).sqrt()
            signal = signal + hw.detector_noise_std * rms * noise[..., at, :]
        return hw.quantise_signal(signal, hw.output_bits)

    def _normal(self, like: torch.Tensor, detection: int, draws: int) -> torch.Tensor | None:
        """``draws`` standard normal values per value of ``like[Q, ..., W]``, as ``[Q, ..., draws, W]``,
        from each query's stream at this detection (None for none)."""
        return self.noise.normal(noise_stage(self.layer, detection), like, draws) if draws else None


def _complex_from_parts(z: torch.Tensor, fn) -> torch.Tensor:
    """``fn(Re z, 0) + i·fn(Im z, 1)``, written into one complex tensor (``torch.complex`` on the
    strided real/imag views is several times slower on CPU)."""
    out = torch.empty_like(z)
    parts = torch.view_as_real(out)
    parts[..., 0] = fn(z.real, 0)
    parts[..., 1] = fn(z.imag, 1)
    return out


def _numpy(t) -> np.ndarray:
    return t.detach().cpu().numpy() if torch.is_tensor(t) else np.asarray(t)


def _tensor(t) -> torch.Tensor:
    """``t`` as a tensor: the very tensor if it is one (autograd leaves stay leaves), else a view
    of the array where torch can share its memory."""
    return t if torch.is_tensor(t) else torch.as_tensor(np.asarray(t))


# ---- the weight domain --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class DenseWeights:
    """A dense layer's weights: the matrix ``weight[out, in]`` (real, or complex when read off
    phases) and the electronic bias ``[out]`` (None: no bias). Arrays are taken as tensors."""

    weight: torch.Tensor
    bias: torch.Tensor | None = None

    def __post_init__(self):
        object.__setattr__(self, "weight", _tensor(self.weight))
        object.__setattr__(self, "bias", None if self.bias is None else _tensor(self.bias))

    def tensors(self) -> list[torch.Tensor]:
        """Every tensor (the matrix, then the bias): what an autograd optimiser updates."""
        return [self.weight] + ([] if self.bias is None else [self.bias])

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> DenseWeights:
        """The same weights with ``fn`` applied to every tensor."""
        return DenseWeights(fn(self.weight), None if self.bias is None else fn(self.bias))

    def detached(self) -> DenseWeights:
        """A copy that shares nothing (no storage, no autograd graph) with these weights."""
        return self.map(lambda t: t.detach().clone())

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Plain arrays named ``{prefix}.weight`` and ``{prefix}.bias`` (see ``flatten_weights``)."""
        out = {f"{prefix}.weight": _numpy(self.weight)}
        if self.bias is not None:
            out[f"{prefix}.bias"] = _numpy(self.bias)
        return out


@dataclass(frozen=True, eq=False)
class TTWeights:
    """A TT layer's weights: cores ``G_k[r_{k−1}, n_k, m_k, r_k]`` in order and the electronic
    bias ``[Π n]`` (None: no bias). Arrays are taken as tensors."""

    cores: list[torch.Tensor]
    bias: torch.Tensor | None = None

    def __post_init__(self):
        object.__setattr__(self, "cores", [_tensor(c) for c in self.cores])
        object.__setattr__(self, "bias", None if self.bias is None else _tensor(self.bias))

    def tensors(self) -> list[torch.Tensor]:
        """Every tensor (the cores in order, then the bias): what an autograd optimiser updates."""
        return list(self.cores) + ([] if self.bias is None else [self.bias])

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> TTWeights:
        """The same weights with ``fn`` applied to every tensor."""
        return TTWeights([fn(c) for c in self.cores], None if self.bias is None else fn(self.bias))

    def detached(self) -> TTWeights:
        """A copy that shares nothing (no storage, no autograd graph) with these weights."""
        return self.map(lambda t: t.detach().clone())

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """Plain arrays named ``{prefix}.core{k}`` and ``{prefix}.bias`` (see ``flatten_weights``)."""
        out = {f"{prefix}.core{k}": _numpy(c) for k, c in enumerate(self.cores)}
        if self.bias is not None:
            out[f"{prefix}.bias"] = _numpy(self.bias)
        return out


LayerWeights = DenseWeights | TTWeights


def _array(arrays: Mapping, key: str):
    if key not in arrays:
        raise ValueError(f"the weight arrays have no {key!r} entry")
    return arrays[key]


def _check_features(name: str, value) -> int:
    return check_positive_int(name, value)


class RealisedMatrix:
    """A matrix ``w[..., out, in]`` realised for one forward, applied as *real* GEMMs.

    Why: torch's complex GEMM is slower than a real GEMM of the same work on CPU, and most
    products here have a real side — a layer's input amplitudes are real (after an electronic
    activation), and a coherent readout keeps only Re(field). A complex vector is read as its
    interleaved (re, im) real view, so no conversion copies are made. The real operand forms
    are built once and reused across batch chunks.
    """

    __slots__ = ("_forms", "w")

    def __init__(self, w: torch.Tensor):
        self.w = w
        self._forms: dict[tuple[bool, bool], torch.Tensor] = {}

    def _form(self, complex_in: bool, real_out: bool) -> torch.Tensor:
        key = (complex_in, real_out)
        if key not in self._forms:
            wr, wi = self.w.real.transpose(-1, -2), self.w.imag.transpose(-1, -2)  # [..., in, out]
            if complex_in and not real_out and self.w.dtype == torch.complex128:
                # MKL's complex128 GEMM beats its float64 GEMM on the 2×2 real form of tall
                # products (1.5-2x on this project's AMD VM); complex64 is the other way round
                form = self.w.transpose(-1, -2)
            elif not complex_in:  # x·Wᵀ for real x: Re, or (Re, Im) interleaved
                form = wr if real_out else torch.stack([wr, wi], -1).flatten(-2)
            elif real_out:  # Re(x·Wᵀ) = x_r·W_rᵀ − x_i·W_iᵀ
                form = torch.stack([wr, -wi], -2).flatten(-3, -2)
            else:  # the 2×2 real form of each complex entry
                form = (
                    torch.stack([torch.stack([wr, wi], -1), torch.stack([-wi, wr], -1)], -3)
                    .flatten(-4, -3)
                    .flatten(-2)
                )
            if form.shape[-1] == 1:
                # a one-column product runs another kernel for one setting than for several, which
                # rounds differently: padded to two columns, a setting's output does not depend on
                # which settings share its call (worker processes rely on that, parallel.py)
                form = torch.cat([form, torch.zeros_like(form)], -1)
            self._forms[key] = form.contiguous()
        return self._forms[key]

    def prepare(self, complex_in: bool, real_out: bool) -> RealisedMatrix:
        """Build the real GEMM form for inputs and outputs of these kinds now (for every setting at
        once, so that ``settings`` slices share it)."""
        self._form(complex_in, real_out)
        return self

    def settings(self, rows: slice) -> RealisedMatrix:
        """The same matrices for the settings ``rows`` of the leading axis (views, no copies)."""
        part = RealisedMatrix(self.w[rows])
        part._forms = {key: form[rows] for key, form in self._forms.items()}
        return part

    def __call__(self, x: torch.Tensor, real_out: bool = False) -> torch.Tensor:
        """``x[..., in] @ wᵀ`` — complex, or only its real part with ``real_out``."""
        form = self._form(x.is_complex(), real_out)
        columns = self.w.shape[-2] * (1 if real_out or form.is_complex() else 2)
        if form.is_complex():
            return (x @ form)[..., :columns]
        if x.is_complex():
            x = torch.view_as_real(x).flatten(-2)
        y = (x.to(form.dtype) @ form)[..., :columns]
        return y if real_out else torch.view_as_complex(y.unflatten(-1, (-1, 2)))


# EDGE_BLOCKS (photonzo/choices.py): how a block at a matrix's bottom or right edge, with fewer than
# k rows r or columns c, is realised. ``rectangular``: by an r-mode mesh U, min(r, c) attenuators and
# a c-mode mesh V† (an SVD of the r×c block: a 512→1 readout is 64 blocks of one 8-mode mesh and one
# attenuator each); ``padded``: as the r×c corner of a full k×k U Σ V† (the layout of photonzo
# before rectangular edges; run directories written then resume with it).
# The groups of a matrix's parameter vector, in order: (name, kind of its slices).
_GROUPS = (("V", "mesh"), ("sigma", "attenuator"), ("U", "mesh"))


class BlockClass(NamedTuple):
    """The blocks of one shape of an ``OpticalMatrix``: the grid ``rows × cols`` of h×w blocks that
    starts at block (row0, col0), each g · U Σ V† with an h-mode mesh ``u``, min(h, w) attenuators
    and a w-mode mesh ``v``; and where their phases (``starts``) and MZIs (``mzi_starts``) begin
    in each group (V†, Σ, U) of the matrix's parameter vector."""

    h: int
    w: int
    row0: int
    rows: int
    col0: int
    cols: int
    v: MeshLayout
    u: MeshLayout
    starts: tuple[int, int, int]
    mzi_starts: tuple[int, int, int]

    @property
    def count(self) -> int:  # shadows tuple.count: a count of blocks, not of occurrences
        """Blocks of this class."""
        return self.rows * self.cols

    @property
    def sizes(self) -> tuple[int, int, int]:
        """Phases per block in each group."""
        return (self.v.n_phases, min(self.h, self.w), self.u.n_phases)

    @property
    def mzis(self) -> tuple[int, int, int]:
        """MZIs per block in each group (an attenuator is one MZI)."""
        return (self.v.n_mzis, min(self.h, self.w), self.u.n_mzis)


class OpticalMatrix:
    """An out×in matrix as blocks of g · U Σ V† meshes, k×k but at its edges (see the module
    docstring and ``EDGE_BLOCKS``).

    The electronic gain g is no state of the matrix: it is passed to the forward (the chip holds
    it), ``nominal_gain`` when none is given; ``from_matrix`` returns the gain it programs.
    """

    def __init__(
        self,
        out_features: int,
        in_features: int,
        block: int = 8,
        mesh: str = "clements",
        edge_blocks: str = "rectangular",
    ):
        self.out_features = _check_features("out_features", out_features)
        self.in_features = _check_features("in_features", in_features)
        if isinstance(block, (int, np.integer)) and not isinstance(block, bool) and block < 2:
            raise ValueError(f"the block size k must be an integer >= 2, got {block!r}")
        self.layout = mesh_layout(mesh, block)  # validates the kind and the block size
        if edge_blocks not in EDGE_BLOCKS:
            raise ValueError(f"unknown edge_blocks {edge_blocks!r}; accepted: {', '.join(EDGE_BLOCKS)}")
        self.block = k = self.layout.n
        self.mesh, self.edge_blocks = mesh, edge_blocks
        self.rows = math.ceil(self.out_features / k)
        self.cols = math.ceil(self.in_features / k)
        self.n_blocks = self.rows * self.cols
        if edge_blocks == "padded":
            shapes = [(k, k, 0, self.rows, 0, self.cols)]
        else:
            full_rows, edge_h = divmod(self.out_features, k)
            full_cols, edge_w = divmod(self.in_features, k)
            shapes = [
                (h, w, row0, rows, col0, cols)
                for h, row0, rows in ((k, 0, full_rows), (edge_h, full_rows, 1))
                for w, col0, cols in ((k, 0, full_cols), (edge_w, full_cols, 1))
                if h and w and rows and cols
            ]
        # parameter order: the V† phases of every class, then every Σ, then every U; in a class, its
        # blocks row by row (one class of k×k blocks row by row: the padded layout of old)
        classes = [
            BlockClass(h, w, r0, nr, c0, nc, mesh_layout(mesh, w), mesh_layout(mesh, h), (), ())
            for h, w, r0, nr, c0, nc in shapes
        ]
        starts, mzi_starts, p, z = [[] for _ in classes], [[] for _ in classes], 0, 0
        for g in range(3):
            for i, c in enumerate(classes):
                starts[i].append(p)
                mzi_starts[i].append(z)
                p += c.count * c.sizes[g]
                z += c.count * c.mzis[g]
        self.classes = tuple(
            c._replace(starts=tuple(st), mzi_starts=tuple(mz))
            for c, st, mz in zip(classes, starts, mzi_starts)
        )
        self.n_params, self.n_mzis = p, z

    @property
    def nominal_gain(self) -> float:
        """The gain of a randomly initialised chip: it keeps a random-phase matrix's output variance
        equal to the input's (entries of a k×k U Σ V† have E|w|² = E[cos²θ]/k = 1/(2k) and each output
        sums cols·k inputs)."""
        return math.sqrt(2.0 / self.cols)

    # ---- sizes and layout ----------------------------------------------------------------
    @property
    def padded_mzis(self) -> int:
        """MZIs of this matrix with every block a full k×k U Σ V† (the padded edge blocks)."""
        return self.n_blocks * (2 * self.layout.n_mzis + self.block)

    def param_slices(self, level: str) -> list[ParamSlice]:
        """One slice for the whole matrix (``layer``, ``core``); per group V, sigma, U (``group``);
        or per block of each group (``mesh``), blocks numbered in parameter order: class by class
        (``classes``), row by row within a class (row-major over the grid when no edge block)."""
        if level in ("layer", "core"):
            return [ParamSlice("", 0, self.n_params, "mesh")]
        out = []
        for g, (name, kind) in enumerate(_GROUPS):
            if level == "group":
                last = self.classes[-1]
                stop = last.starts[g] + last.count * last.sizes[g]
                out.append(ParamSlice(name, self.classes[0].starts[g], stop, kind))
                continue
            b = 0
            for c in self.classes:
                size = c.sizes[g]
                for i in range(c.count):
                    out.append(
                        ParamSlice(f"{name}[{b}]", c.starts[g] + i * size, c.starts[g] + (i + 1) * size, kind)
                    )
                    b += 1
        return out

    @property
    def crosstalk_pairs(self) -> np.ndarray:
        """Thermal-neighbour pairs of phase shifters: inside each mesh (``MeshLayout.crosstalk_pairs``)
        and between adjacent attenuators of a block, both directions."""
        pairs = [np.zeros((0, 2), dtype=np.int64)]
        for g, (_, kind) in enumerate(_GROUPS):
            for c in self.classes:
                size = c.sizes[g]
                if kind == "mesh":
                    local = (c.v if g == 0 else c.u).crosstalk_pairs
                else:
                    local = np.stack([np.arange(size - 1), np.arange(1, size)], 1)
                    local = np.concatenate([local, local[:, ::-1]])
                per_block = c.starts[g] + (np.arange(c.count) * size)[:, None, None] + local[None]
                pairs.append(per_block.reshape(-1, 2))
        return np.concatenate(pairs).astype(np.int64)

    # ---- physics -------------------------------------------------------------------------
    def block_matrices(
        self, params: torch.Tensor, ctx: ForwardContext, gain: float | None = None
    ) -> list[torch.Tensor]:
        """Transfer matrices g · U Σ V† of every block, per class: ``[..., rows, cols, h, w]``
        (g: ``gain``, a Python float; ``nominal_gain`` if None)."""
        gain = self.nominal_gain if gain is None else gain
        lead = params.shape[:-1]
        if not _differentiable(params, ctx):
            out = []
            for c, blocks in zip(self.classes, self.block_inputs(params, ctx)):
                gains = torch.full((blocks.count,), gain, dtype=blocks.v.dtype, device=params.device)
                w = svd_block_matrices(c.v, *blocks, ctx.amplitude, gains, ctx.dtype, u_layout=c.u)
                out.append(w.reshape(*lead, c.rows, c.cols, c.h, c.w))
            return out

        def group(c: BlockClass, g: int) -> tuple[torch.Tensor, torch.Tensor | None]:
            start, nb, size, mzis, z = c.starts[g], c.count, c.sizes[g], c.mzis[g], c.mzi_starts[g]
            bs = None if ctx.bs_error is None else ctx.bs_error[z : z + nb * mzis].reshape(nb, mzis, 2)
            return params[..., start : start + nb * size].unflatten(-1, (nb, size)), bs

        out = []
        for c in self.classes:
            v = mesh_matrix(c.v, *group(c, 0), ctx.amplitude, ctx.dtype)
            u = mesh_matrix(c.u, *group(c, 2), ctx.amplitude, ctx.dtype)
            theta, att_bs = group(c, 1)
            sigma = mzi_coefficients(theta, torch.zeros_like(theta), att_bs, ctx.amplitude, ctx.dtype)[0]
            m = theta.shape[-1]
            w = (gain * u[..., :m]) @ (sigma[..., :, None] * v[..., :m, :])
            out.append(w.reshape(*lead, c.rows, c.cols, c.h, c.w))
        return out

    def block_inputs(self, params: torch.Tensor, ctx: ForwardContext) -> list[BlockInputs]:
        """Per class, every block's V† phases, Σ attenuator phases, U phases and coupler errors,
        for the physical ``params[..., P_matrix]``, the leading axes and blocks flattened into one
        axis."""
        return [_class_inputs(c, params, ctx) for c in self.classes]

    @functools.cached_property
    def grid_embedding(self) -> GridEmbedding | None:
        """Every block as a k×k one of the grid (``GridEmbedding``), its edge blocks' smaller meshes
        embedded in k-mode ones, so that the whole matrix is built in one pass of k-mode meshes as
        the padded layout is; None when the blocks are all k×k already, or a mesh kind's layout
        cannot hold its smaller meshes (``mesh_embedding``)."""
        if len(self.classes) == 1 and self.classes[0].h == self.classes[0].w == self.block:
            return None
        k, big = self.block, self.layout
        n_blocks, p_k, z_k = self.n_blocks, big.n_phases, big.n_mzis
        # the sentinels n_params and n_mzis point at a zero appended to the phases and errors
        phases = [np.full((n_blocks, size), self.n_params, dtype=np.int64) for size in (p_k, k, p_k)]
        mzis = [np.full((n_blocks, size), self.n_mzis, dtype=np.int64) for size in (z_k, k, z_k)]
        for c in self.classes:
            grid = ((c.row0 + np.arange(c.rows))[:, None] * self.cols + c.col0 + np.arange(c.cols)).ravel()
            for g, small in enumerate((c.v, None, c.u)):
                if small is None:  # the attenuators: the first min(h, w) of the block's k
                    phase_at = mzi_at = np.arange(c.sizes[g])
                else:
                    emb = mesh_embedding(small, big)
                    if emb is None:
                        return None
                    phase_at, mzi_at = emb.phase_index, emb.mzi_slots
                local = np.arange(c.count)[:, None]
                phases[g][grid[:, None], phase_at] = c.starts[g] + local * c.sizes[g] + np.arange(c.sizes[g])
                mzis[g][grid[:, None], mzi_at] = c.mzi_starts[g] + local * c.mzis[g] + np.arange(c.mzis[g])
        as_t = lambda arrays: tuple(torch.as_tensor(a) for a in arrays)
        return GridEmbedding(as_t(phases), as_t(mzis), as_t(z != self.n_mzis for z in mzis))

    def grid_inputs(self, params: torch.Tensor, ctx: ForwardContext) -> tuple[BlockInputs, tuple]:
        """``svd_block_matrices``' inputs for every block of the grid as a k×k block (``grid_embedding``;
        blocks row by row over the grid, the leading axes of ``params[..., P_matrix]`` outermost),
        and its amplitude triple: virtual MZIs transmit 1, virtual attenuators 0."""
        emb = self.grid_embedding
        lead = params.shape[:-1]
        count = math.prod(lead) * self.n_blocks
        device, real = params.device, real_dtype_of(ctx.dtype)  # the amplitudes multiply complex values
        padded = torch.cat([params, params.new_zeros((*lead, 1))], -1)
        phases = [padded[..., idx.to(device)].reshape(count, idx.shape[1]) for idx in emb.phases]
        errors = [None] * 3
        if ctx.bs_error is not None:
            bs = torch.cat([ctx.bs_error, ctx.bs_error.new_zeros((1, 2))])
            errors = [
                bs[idx.to(device)].expand(*lead, *idx.shape, 2).reshape(count, idx.shape[1], 2)
                for idx in emb.mzis
            ]
        real_mzi = [mask.to(device) for mask in emb.real]
        expand = lambda mask: mask.expand(*lead, *mask.shape).reshape(count, mask.shape[1])
        attenuators = expand(real_mzi[1].to(real) * ctx.amplitude)
        if ctx.amplitude == 1.0:
            amplitude = (1.0, attenuators, 1.0)
        else:
            one, lossy = (torch.tensor(a, dtype=real, device=device) for a in (1.0, ctx.amplitude))
            loss = lambda mask: expand(torch.where(mask, lossy, one))
            amplitude = (loss(real_mzi[0]), attenuators, loss(real_mzi[2]))
        return BlockInputs(*phases, *errors), amplitude

    def assemble(self, blocks: list[torch.Tensor]) -> torch.Tensor:
        """The ``[..., out, in]`` matrix of its blocks, per class ``[..., rows, cols, h, w]`` (or of every
        block of the grid as a k×k one, a list of one ``[..., rows, cols, k, k]``)."""
        if len(blocks) == 1:  # one class of k×k blocks: the grid, cropped where padded
            full = blocks[0].transpose(-3, -2).flatten(-4, -3).flatten(-2, -1)
            return full[..., : self.out_features, : self.in_features]
        # rectangular edges: each class copied once, straight into its place
        first = blocks[0]
        out = first.new_empty((*first.shape[:-4], self.out_features, self.in_features))
        k = self.block
        for c, b in zip(self.classes, blocks):
            rows = slice(c.row0 * k, c.row0 * k + c.rows * c.h)
            cols = slice(c.col0 * k, c.col0 * k + c.cols * c.w)
            out[..., rows, cols].unflatten(-1, (c.cols, c.w)).unflatten(-3, (c.rows, c.h)).copy_(
                b.transpose(-3, -2)
            )
        return out

    def matrix(
        self, params: torch.Tensor, ctx: ForwardContext | None = None, gain: float | None = None
    ) -> torch.Tensor:
        """The realised ``[..., out, in]`` complex matrix (with electronic ``gain``, nominal if None)."""
        ctx = ctx or ForwardContext(
            dtype=torch.complex128 if params.dtype == torch.float64 else torch.complex64
        )
        return self.assemble(self.block_matrices(params, ctx, gain))

    def realise(self, params: torch.Tensor, ctx: ForwardContext, gain: float | None = None) -> RealisedMatrix:
        """The matrix these physical phases realise on this chip, ready to apply."""
        return realise_matrices([(self, params, ctx, gain)])[0]

    def from_matrix(self, w) -> tuple[np.ndarray, float]:
        """Program this matrix to realise ``w`` (out×in): returns (phases, electronic gain).
        Nothing of the matrix changes."""
        w = np.asarray(w)
        if w.shape != (self.out_features, self.in_features):
            raise ValueError(f"expected a {self.out_features}×{self.in_features} matrix, got shape {w.shape}")
        k = self.block
        padded = np.zeros((self.rows * k, self.cols * k), dtype=np.result_type(w.dtype, np.float64))
        padded[: self.out_features, : self.in_features] = w
        # per class, all its blocks at once: one batched SVD, then the batched mesh decompositions
        decomposed = []
        for c in self.classes:
            part = padded[c.row0 * k : c.row0 * k + c.rows * c.h, c.col0 * k : c.col0 * k + c.cols * c.w]
            blocks = part.reshape(c.rows, c.h, c.cols, c.w).transpose(0, 2, 1, 3).reshape(-1, c.h, c.w)
            decomposed.append((blocks, *matrix_to_svd_phases_batched(blocks, self.mesh)))
        # the shared gain is the largest singular value of any non-zero block (a zero block's
        # nominal gain of 1 must not inflate it: Σ/g would then sit near 0, where DAC steps hurt)
        nonzero = [g[np.any(b != 0, axis=(1, 2))] for b, *_, g in decomposed]
        gain = max((float(g.max()) for g in nonzero if g.size), default=1.0)
        out = np.empty(self.n_params)
        for c, (_, v_phases, sigma_phases, u_phases, gains) in zip(self.classes, decomposed):
            v0, s0, u0 = c.starts
            out[v0 : v0 + v_phases.size] = v_phases.reshape(-1)
            # Each block's Σ was scaled by its own top singular value; rescale to the shared gain.
            amplitudes = (np.cos(sigma_phases) * gains[:, None] / gain).reshape(-1)
            out[s0 : s0 + amplitudes.size] = np.arccos(np.clip(amplitudes, -1.0, 1.0))
            out[u0 : u0 + u_phases.size] = u_phases.reshape(-1)
        return out, gain

    def init_params(self, rng: np.random.Generator) -> np.ndarray:
        """A random phase vector ``[n_params]``: every mesh and attenuator phase uniform in [0, 2π) rad,
        drawn from ``rng``."""
        return rng.uniform(0.0, 2 * np.pi, self.n_params)


class GridEmbedding(NamedTuple):
    """Index arrays that lay an ``OpticalMatrix``'s phases and coupler errors out as those of a grid of
    k×k blocks (``OpticalMatrix.grid_embedding``): per group (V†, Σ, U), ``[n_blocks, size]``
    indices into the parameter vector (``phases``) and into the MZIs' errors (``mzis``); the index
    ``n_params`` (``n_mzis``) marks a virtual phase (MZI), which reads a zero; ``real``: where the MZIs
    are not virtual (``mzis != n_mzis``), made once rather than on every call."""

    phases: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    mzis: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    real: tuple[torch.Tensor, torch.Tensor, torch.Tensor]


class BlockInputs(NamedTuple):
    """What ``svd_block_matrices`` takes for a set of blocks (see ``OpticalMatrix.block_inputs``)."""

    v: torch.Tensor  # [L, P_mesh] V† phases
    theta: torch.Tensor  # [L, k] Σ attenuator phases
    u: torch.Tensor  # [L, P_mesh] U phases
    v_bs: torch.Tensor | None  # [L, n_mzis, 2] coupler errors
    s_bs: torch.Tensor | None  # [L, k, 2]
    u_bs: torch.Tensor | None

    @property
    def count(self) -> int:
        """Blocks these inputs describe (their leading axis)."""
        return self.v.shape[0]


def _class_inputs(c: BlockClass, params: torch.Tensor, ctx: ForwardContext) -> BlockInputs:
    """``OpticalMatrix.block_inputs`` of one class of blocks."""
    lead = params.shape[:-1]
    count = math.prod(lead) * c.count
    phases, errors = [], []
    for start, size, z, mzis in zip(c.starts, c.sizes, c.mzi_starts, c.mzis):
        phases.append(params[..., start : start + c.count * size].reshape(count, size))
        if ctx.bs_error is None:
            errors.append(None)
        else:
            bs = ctx.bs_error[z : z + c.count * mzis].reshape(c.count, mzis, 2)
            errors.append(bs.expand(*lead, c.count, mzis, 2).reshape(count, mzis, 2))
    return BlockInputs(*phases, *errors)


def _differentiable(params: torch.Tensor, ctx: ForwardContext) -> bool:
    return torch.is_grad_enabled() and any(
        torch.is_tensor(t) and t.requires_grad for t in (params, ctx.bs_error)
    )


def realise_matrices(jobs) -> list[RealisedMatrix]:
    """``RealisedMatrix`` of every ``(matrix, params[Q, P_matrix], ctx, gain)`` job (gain None:
    nominal). The blocks of all jobs whose meshes share a layout are built in one pass
    (``svd_block_matrices``), however many matrices and settings they come from: a network's dozens
    of small matrices cost about what its largest one costs. A matrix's edge blocks are built inside
    k-mode meshes (``OpticalMatrix.grid_embedding``), so all its blocks share the k-mode layout:
    rectangular edges cost one pass, as padded ones do, not one per class of block shape."""
    out: list[RealisedMatrix | None] = [None] * len(jobs)
    by_layout: dict = {}
    built: dict[int, list] = {}  # job → its blocks, per class
    distinct: dict[int, tuple] = {}
    for i, (m, params, ctx, _) in enumerate(jobs):
        if _differentiable(params, ctx):
            out[i] = RealisedMatrix(m.matrix(params, ctx, jobs[i][3]))
            continue
        # settings whose phases of a matrix equal setting 0's, bit for bit, get setting 0's matrix:
        # a probe that perturbs one slice rebuilds only the matrices it touches
        distinct[i] = _distinct_settings(params) if ctx.reuse else (None, None)
        # edge blocks embedded in k-mode meshes: the matrix is one class of the grid's k×k blocks
        shapes = [(m.layout, m.layout)] if m.grid_embedding is not None else [(c.v, c.u) for c in m.classes]
        built[i] = [None] * len(shapes)
        for j, (v, u) in enumerate(shapes):
            by_layout.setdefault((v, u, ctx.dtype, ctx.amplitude), []).append((i, j))
    inputs = {}
    for i, (rows, _) in distinct.items():
        m, params, ctx, _ = jobs[i]
        params = params if rows is None else params[rows]
        if m.grid_embedding is not None:
            inputs[i] = [m.grid_inputs(params, ctx)]
        else:
            inputs[i] = [(b, None) for b in m.block_inputs(params, ctx)]
    for (v_layout, u_layout, dtype, amplitude), members in by_layout.items():
        parts = [inputs[i][j] for i, j in members]
        real = parts[0][0].v.dtype
        gain = torch.cat(
            [
                torch.full((p.count,), m.nominal_gain if g is None else g, dtype=real, device=p.v.device)
                for (p, _), (m, _, _, g) in zip(parts, (jobs[i] for i, _ in members))
            ]
        )
        joined = [_join([getattr(p, f) for p, _ in parts]) for f in BlockInputs._fields]
        amplitudes = _join_amplitudes(parts, amplitude, v_layout, u_layout, real_dtype_of(dtype))
        blocks = svd_block_matrices(v_layout, *joined, amplitudes, gain, dtype, u_layout=u_layout)
        for (i, j), b in zip(members, blocks.split([p.count for p, _ in parts])):
            built[i][j] = b
    for i, per_class in built.items():
        m, params = jobs[i][0], jobs[i][1]
        rows, where = distinct[i]
        lead = params.shape[:-1] if rows is None else (len(rows),)
        if m.grid_embedding is not None:
            w = m.assemble([per_class[0].reshape(*lead, m.rows, m.cols, m.block, m.block)])
        else:
            w = m.assemble([b.reshape(*lead, c.rows, c.cols, c.h, c.w) for c, b in zip(m.classes, per_class)])
        out[i] = RealisedMatrix(w if where is None else w[where])
    return out


def _join_amplitudes(parts, amplitude: float, v_layout: MeshLayout, u_layout: MeshLayout, real):
    """The amplitude argument of ``svd_block_matrices`` for blocks of several jobs: the chip's
    ``amplitude`` when none is embedded (``OpticalMatrix.grid_inputs``), else the triple of per-MZI
    tensors, the plain blocks' filled with ``amplitude``."""
    if all(a is None for _, a in parts):
        return amplitude
    sizes = (v_layout.n_mzis, min(v_layout.n, u_layout.n), u_layout.n_mzis)
    triple = []
    for g in range(3):
        values = [amplitude if a is None else a[g] for _, a in parts]
        if not any(torch.is_tensor(v) for v in values):
            triple.append(values[0])  # the meshes of a loss-free chip: a plain 1
            continue
        full = lambda p, v, size=sizes[g]: torch.full((p.count, size), v, dtype=real, device=p.v.device)
        triple.append(
            torch.cat([v if torch.is_tensor(v) else full(p, v) for v, (p, _) in zip(values, parts)])
        )
    return tuple(triple)


def _distinct_settings(params: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(the settings of ``params[Q, P]`` to build: 0 and those that differ from it; for every
    setting, the built one it uses) — (None, None) to build every setting as it is."""
    if params.ndim != 2 or params.shape[0] < 2:
        return None, None
    differs = (params != params[:1]).any(1)
    differs[0] = True
    if bool(differs.all()):
        return None, None
    rows = differs.nonzero()[:, 0]
    where = torch.cumsum(differs, 0) - 1
    where[~differs] = 0
    return rows, where


def _join(tensors: list) -> torch.Tensor | None:
    """Concatenate along the block axis (coupler errors: every job of one chip has them, or none)."""
    return None if tensors[0] is None else torch.cat(tensors)


@dataclass
class RealisedLayer:
    """A layer's realised matrices and its electronic bias ``[Q, 1, out]``. A TT layer's matrices
    are those of its ``plan``: the (start, stop) ranges of cores merged into one matrix each."""

    matrices: list[RealisedMatrix]
    bias: torch.Tensor | None
    plan: tuple[tuple[int, int], ...] | None = None

    def settings(self, rows: slice) -> RealisedLayer:
        """The same layer for the settings ``rows`` of the leading axis (views, no copies)."""
        bias = None if self.bias is None else self.bias[rows]
        return RealisedLayer([m.settings(rows) for m in self.matrices], bias, self.plan)


class OpticalLayer:
    """Common interface of optical layers: sizes, slices, crosstalk map and forward, and the
    weight domain (``weights_type``, ``random_weights``, ``digital``, ``weights_from_phases``,
    ``program``, ``unflatten``)."""

    in_features: int
    out_features: int
    bias: bool
    weights_type: type

    def _matrices(self) -> list[tuple[str, OpticalMatrix]]:
        raise NotImplementedError

    @property
    def n_matrices(self) -> int:
        """Optical matrices of this layer, each with its electronic gain."""
        return len(self._matrices())

    def nominal_gains(self) -> tuple[float, ...]:
        """Every matrix's ``nominal_gain``, in the layer's order."""
        return tuple(m.nominal_gain for _, m in self._matrices())

    def _gains(self, gains) -> tuple[float, ...]:
        if gains is None:
            return self.nominal_gains()
        if len(gains) != self.n_matrices:
            raise ValueError(
                f"a {type(self).__name__} has {self.n_matrices} optical matrices, got {len(gains)} gains"
            )
        return tuple(gains)

    @property
    def n_params(self) -> int:
        """Length of the layer's parameter vector: the phases of its matrices (``n_phases``), then
        ``out_features`` electronic biases if it has a bias."""
        return sum(m.n_params for _, m in self._matrices()) + (self.out_features if self.bias else 0)

    @property
    def n_phases(self) -> int:
        """Optical phases of the layer (rad): the mesh and attenuator phases of every matrix, the first
        ``n_phases`` entries of its parameter vector."""
        return sum(m.n_params for _, m in self._matrices())

    @property
    def n_mzis(self) -> int:
        """MZIs of the layer as laid out: every mesh's MZIs and every attenuator (one MZI each), its edge
        blocks realised as its ``EDGE_BLOCKS`` choice says (``padded_mzis``: with every block full)."""
        return sum(m.n_mzis for _, m in self._matrices())

    @property
    def padded_mzis(self) -> int:
        """MZIs with every block a full k×k U Σ V† (``EDGE_BLOCKS``' padded)."""
        return sum(m.padded_mzis for _, m in self._matrices())

    @property
    def widest(self) -> int:
        """The most values per input any stage of this layer holds."""
        return max(self.in_features, self.out_features)

    def _offsets(self):
        p = z = 0
        for name, m in self._matrices():
            yield name, m, p, z
            p += m.n_params
            z += m.n_mzis

    def param_slices(self, level: str) -> list[ParamSlice]:
        """Named slices of this layer's parameter vector (offsets within it) at ``level``: at ``core`` one
        per matrix (``matrix``; ``core0``, ``core1``, ... for a TT layer); at ``group`` each matrix's V,
        sigma and U (``core0.sigma``); at ``mesh`` one per block of each group (``core0.U[3]``,
        ``OpticalMatrix.param_slices``); then ``bias`` (kind ``bias``) if the layer has one. ``layer``
        gives what ``core`` gives: the one slice per layer is ``OpticalNetwork.param_slices``'."""
        out = []
        for name, m, p, _ in self._offsets():
            for s in m.param_slices(level):
                out.append(
                    ParamSlice(name + (f".{s.name}" if s.name else ""), s.start + p, s.stop + p, s.kind)
                )
        if self.bias:
            out.append(ParamSlice("bias", self.n_phases, self.n_params, "bias"))
        return out

    @property
    def phase_mask(self) -> np.ndarray:
        """``[n_params]`` booleans: True for the optical phases (the first ``n_phases`` entries), False for
        the electronic bias."""
        mask = np.zeros(self.n_params, dtype=bool)
        mask[: self.n_phases] = True
        return mask

    @property
    def crosstalk_pairs(self) -> np.ndarray:
        """Thermal-neighbour pairs ``[n_pairs, 2]`` (int64) of phase-shifter indices in the layer's vector,
        both directions: every matrix's ``OpticalMatrix.crosstalk_pairs`` at its offset. For a pair
        (i, j) the chip adds κ × the commanded phase j to phase i (κ: ``HardwareModel.crosstalk``)."""
        return np.concatenate([m.crosstalk_pairs + p for _, m, p, _ in self._offsets()])

    def realise(
        self,
        params: torch.Tensor,
        ctx: ForwardContext,
        gains=None,
        readout: str = "coherent",
        batch: int = 64,
        matrices: list[RealisedMatrix] | None = None,
    ) -> RealisedLayer:
        """Everything a forward needs from the physical parameters ``[Q, P_layer]`` and the
        matrices' electronic ``gains`` (nominal if None), built once for all Q settings so that
        settings and batch chunks of ``batch`` inputs reuse it: the realised matrices, ready for
        inputs read out as ``readout``, and the electronic bias. ``matrices``: the realised
        matrices, if already built (``realise_matrices``)."""
        mats = self._realised_matrices(params, ctx, gains, matrices)
        mats = [m.prepare(False, readout == "coherent") for m in mats]
        return RealisedLayer(mats, self._bias_of(params))

    def matrix_jobs(self, params: torch.Tensor, ctx: ForwardContext, gains) -> list[tuple]:
        """``(matrix, its params, its context, its gain)`` of every matrix (see ``realise_matrices``)."""
        return [
            (m, params[..., p : p + m.n_params], ctx.sub(z, z + m.n_mzis), g)
            for (_, m, p, z), g in zip(self._offsets(), self._gains(gains))
        ]

    def _realised_matrices(self, params: torch.Tensor, ctx: ForwardContext, gains, matrices=None):
        return matrices if matrices is not None else realise_matrices(self.matrix_jobs(params, ctx, gains))

    def _bias_of(self, params: torch.Tensor) -> torch.Tensor | None:
        return params[..., None, self.n_phases :] if self.bias else None

    def run(
        self,
        realised: RealisedLayer,
        x: torch.Tensor,
        ctx: ForwardContext,
        readout: str,
        start: int = 0,
        record: list | None = None,
    ) -> torch.Tensor:
        """Detected outputs ``[..., B, out]`` (bias added) for inputs ``x[..., B, in]``.

        A forward is a sequence of stages (``stages``): its matrices in the order light meets
        them, then the electronic bias. ``start`` > 0: ``x`` is what enters stage ``start``;
        ``record``: a list that receives what enters each stage after the first (the states a
        setting sharing the first stages can start from, ``OpticalNetwork._run_reusing``)."""
        raise NotImplementedError

    def stages(self, realised: RealisedLayer) -> list[tuple[int, int]]:
        """The parameter range ``(start, stop)`` each stage of ``run`` depends on, in stage order."""
        raise NotImplementedError

    def forward(
        self, params: torch.Tensor, x: torch.Tensor, ctx: ForwardContext, readout: str, gains=None
    ) -> torch.Tensor:
        """Detected outputs ``[Q, B, out]`` (electronic bias added, no activation) for the physical
        parameters ``params[Q, P_layer]`` (the phases, rad, as the chip's hardware model left them; then
        the biases) on inputs ``x[B, in]`` (or ``[Q, B, in]``), read out as ``readout``, on matrices
        with electronic ``gains`` (nominal if None): ``realise``, then ``run`` on the whole batch."""
        return self.run(self.realise(params, ctx, gains, readout, x.shape[-2]), x, ctx, readout)

    @staticmethod
    def _add_bias(y: torch.Tensor, realised: RealisedLayer) -> torch.Tensor:
        return y if realised.bias is None else y + realised.bias.to(y.dtype)

    def init_params(self, rng: np.random.Generator) -> np.ndarray:
        """A random parameter vector ``[n_params]``: every phase uniform in [0, 2π) rad (each matrix's
        ``OpticalMatrix.init_params`` in turn, from ``rng``), the biases zero."""
        parts = [m.init_params(rng) for _, m in self._matrices()]
        return np.concatenate(parts + ([np.zeros(self.out_features)] if self.bias else []))

    # ---- weight domain -------------------------------------------------------------------
    def _zero_bias(self) -> torch.Tensor | None:
        return torch.zeros(self.out_features, dtype=torch.float64) if self.bias else None

    def random_weights(self, generator: torch.Generator) -> LayerWeights:
        """Real He-scaled weights of this layer's shapes, drawn from ``generator``; zero bias."""
        raise NotImplementedError

    def weights_from_phases(self, params: torch.Tensor, gains=None) -> LayerWeights:
        """The ideal (noise-free) weights encoded by this layer's phases ``params[P_layer]`` on
        matrices with electronic ``gains`` (nominal if None): complex matrices or cores, and the bias."""
        raise NotImplementedError

    def check_weights(self, weights) -> LayerWeights:
        """``weights`` if they are of this layer's type and shapes, else ``ValueError``."""
        if not isinstance(weights, self.weights_type):
            raise ValueError(
                f"a {type(self).__name__} ({self.in_features}→{self.out_features}) takes "
                f"{self.weights_type.__name__}, got {type(weights).__name__}"
            )
        if weights.bias is not None and tuple(weights.bias.shape) != (self.out_features,):
            raise ValueError(
                f"expected a bias of shape ({self.out_features},), got {tuple(weights.bias.shape)}"
            )
        self._check_shapes(weights)
        return weights

    def _check_shapes(self, weights) -> None:
        raise NotImplementedError

    def program(self, weights: LayerWeights) -> tuple[np.ndarray, tuple[float, ...]]:
        """Phases (and biases) realising ``weights``, and the electronic gain of every matrix."""
        raise NotImplementedError

    def _phase_vector(self, parts: list[np.ndarray], weights: LayerWeights) -> np.ndarray:
        bias = None if weights.bias is None else _numpy(weights.bias)
        return np.concatenate(parts + ([_bias_vector(bias, self.out_features)] if self.bias else []))

    def digital(self, weights: LayerWeights, x: torch.Tensor, readout: str) -> torch.Tensor:
        """This layer in the weight domain, before the activation: ``[B, out]`` for ``x[B, in]``.

        Detection is mirrored exactly (``detected``): I/Q between TT cores, ``readout`` at the
        layer's output, then the electronic bias."""
        y = self._digital_detected(weights, x, readout)
        return y + weights.bias.to(y.dtype) if weights.bias is not None else y

    def _digital_detected(self, weights, x: torch.Tensor, readout: str) -> torch.Tensor:
        raise NotImplementedError

    def unflatten(self, arrays: Mapping, prefix: str) -> LayerWeights:
        """This layer's weights from plain arrays named as the weight type's ``arrays(prefix)``."""
        raise NotImplementedError

    def summary(self) -> dict:
        """A JSON-able description: the layer's ``type``, its ``in`` and ``out`` widths, ``mzis``,
        ``padded_mzis``, optical ``phases`` and ``electronic_params`` (its biases); subclasses add their
        shapes."""
        return {
            "type": type(self).__name__,
            "in": self.in_features,
            "out": self.out_features,
            "mzis": self.n_mzis,
            "padded_mzis": self.padded_mzis,
            "phases": self.n_phases,
            "electronic_params": self.n_params - self.n_phases,
        }


class OpticalLinear(OpticalLayer):
    """A dense layer y = W x + b, W realised as k×k blocks of g · U Σ V† meshes."""

    weights_type = DenseWeights

    def __init__(
        self,
        in_features: int,
        out_features: int,
        block: int = 8,
        mesh: str = "clements",
        bias: bool = True,
        edge_blocks: str = "rectangular",
    ):
        self.matrix = OpticalMatrix(out_features, in_features, block, mesh, edge_blocks)
        self.in_features, self.out_features, self.bias = (
            self.matrix.in_features,
            self.matrix.out_features,
            bool(bias),
        )

    def _matrices(self):
        return [("matrix", self.matrix)]

    def run(self, realised, x, ctx, readout, start=0, record=None):
        if start == 0:
            x = ctx.detect(realised.matrices[0](ctx.encode(x), real_out=readout == "coherent"), readout)
        if record is not None:
            record.append(x)
        return self._add_bias(x, realised)

    def stages(self, realised):
        return [(0, self.n_phases), (self.n_phases, self.n_params)]

    def weight_matrix(self, params: torch.Tensor, gains=None) -> torch.Tensor:
        """The ideal (noise-free) complex weight matrix these phases encode."""
        return self.matrix.matrix(params[..., : self.n_phases], gain=self._gains(gains)[0])

    def random_weights(self, generator: torch.Generator) -> DenseWeights:
        """W ~ N(0, 2/in), zero bias."""
        weight = math.sqrt(2.0 / self.in_features) * torch.randn(
            self.out_features, self.in_features, generator=generator, dtype=torch.float64
        )
        return DenseWeights(weight, self._zero_bias())

    def weights_from_phases(self, params: torch.Tensor, gains=None) -> DenseWeights:
        bias = params[..., self.n_phases :].clone() if self.bias else None
        return DenseWeights(self.weight_matrix(params, gains), bias)

    def _check_shapes(self, weights: DenseWeights) -> None:
        if tuple(weights.weight.shape) != (self.out_features, self.in_features):
            raise ValueError(
                f"expected a {self.out_features}×{self.in_features} matrix, "
                f"got shape {tuple(weights.weight.shape)}"
            )

    def program(self, weights: DenseWeights) -> tuple[np.ndarray, tuple[float, ...]]:
        weights = self.check_weights(weights)
        phases, gain = self.matrix.from_matrix(_numpy(weights.weight))
        return self._phase_vector([phases], weights), (gain,)

    def _digital_detected(self, weights: DenseWeights, x: torch.Tensor, readout: str) -> torch.Tensor:
        w = weights.weight
        return detected(x.to(w.dtype) @ w.transpose(-1, -2), readout)

    def unflatten(self, arrays: Mapping, prefix: str) -> DenseWeights:
        bias = arrays.get(f"{prefix}.bias")
        return self.check_weights(DenseWeights(_array(arrays, f"{prefix}.weight"), bias))

    def summary(self) -> dict:
        """``OpticalLayer.summary`` and the block size k (``block``), the number of blocks (``blocks``),
        ``mesh``, ``edge_blocks`` and ``weights`` (in × out, the entries of the dense matrix)."""
        return {
            **super().summary(),
            "block": self.matrix.block,
            "blocks": self.matrix.n_blocks,
            "mesh": self.matrix.mesh,
            "edge_blocks": self.matrix.edge_blocks,
            "weights": self.in_features * self.out_features,
        }


def _bias_vector(bias, n: int) -> np.ndarray:
    if bias is None:
        return np.zeros(n)
    bias = np.asarray(bias, dtype=np.float64)
    if bias.shape != (n,):
        raise ValueError(f"expected a bias of shape ({n},), got {bias.shape}")
    return bias


class TTOpticalLinear(OpticalLayer):
    """A tensor-train layer: in-shape (m₁..m_d) → out-shape (n₁..n_d), ranks (1, r₁, .., r_{d−1}, 1)."""

    weights_type = TTWeights

    def __init__(
        self,
        in_shape,
        out_shape,
        ranks,
        block: int = 8,
        mesh: str = "clements",
        bias: bool = True,
        in_features: int | None = None,
        out_features: int | None = None,
        edge_blocks: str = "rectangular",
    ):
        in_shape, out_shape = tuple(in_shape), tuple(out_shape)
        if len(in_shape) != len(out_shape) or len(in_shape) < 2:
            raise ValueError(
                f"TT in-shape and out-shape need the same number (>= 2) of factors, "
                f"got {in_shape} and {out_shape}"
            )
        for name, shape in (("in_shape", in_shape), ("out_shape", out_shape)):
            for f in shape:
                _check_features(f"every factor of {name}", f)
        d = len(in_shape)
        if isinstance(ranks, (int, np.integer)) and not isinstance(ranks, bool):
            ranks = (1,) + (int(ranks),) * (d - 1) + (1,)
        if not isinstance(ranks, (tuple, list)):
            raise ValueError(
                f"TT ranks must be an int or a sequence (1, r₁, .., r_{{d−1}}, 1), got {ranks!r}"
            )
        ranks = tuple(ranks)
        if len(ranks) != d + 1 or ranks[0] != 1 or ranks[-1] != 1:
            raise ValueError(
                "TT ranks must be an int or a sequence (1, r₁, .., r_{d−1}, 1) "
                f"of length {d + 1}, got {ranks}"
            )
        for r in ranks:
            _check_features("every TT rank", r)
        self.in_shape, self.out_shape, self.ranks = in_shape, out_shape, ranks
        self.in_features, self.out_features, self.bias = math.prod(in_shape), math.prod(out_shape), bool(bias)
        if (in_features, out_features) != (None, None) and (in_features, out_features) != (
            self.in_features,
            self.out_features,
        ):
            raise ValueError(
                f"TT shapes {in_shape}→{out_shape} give a {self.in_features}→{self.out_features} "
                f"layer, but the layer must be {in_features}→{out_features}"
            )
        self.cores = [
            OpticalMatrix(ranks[k] * out_shape[k], in_shape[k] * ranks[k + 1], block, mesh, edge_blocks)
            for k in range(d)
        ]

    def _matrices(self):
        return [(f"core{k}", m) for k, m in enumerate(self.cores)]

    def realise(
        self,
        params: torch.Tensor,
        ctx: ForwardContext,
        gains=None,
        readout: str = "coherent",
        batch: int = 64,
        matrices: list[RealisedMatrix] | None = None,
    ) -> RealisedLayer:
        """The layer's realised matrices, its cores merged as ``contraction_plan`` finds cheapest for
        ``batch`` inputs where the chip computes nothing non-linear between them (``ctx.linear_iq``):
        the merged forward is then exactly the core-by-core one, in fewer and larger products."""
        cores = self._realised_matrices(params, ctx, gains, matrices)
        plan = contraction_plan(
            self.in_shape, self.out_shape, self.ranks, batch, readout == "coherent", merge=ctx.linear_iq
        )
        mats = []
        for a, b in plan:
            m = cores[a] if b - a == 1 else RealisedMatrix(self._merged(cores, a, b))
            mats.append(m.prepare(b < len(self.cores), a == 0 and readout == "coherent"))
        return RealisedLayer(mats, self._bias_of(params), plan)

    def _merged(self, cores: list[RealisedMatrix], a: int, b: int) -> torch.Tensor:
        """The matrix of cores a..b−1 merged, from their realised matrices."""
        tensors = [
            cores[k]
            .w.unflatten(-1, (self.in_shape[k], self.ranks[k + 1]))
            .unflatten(-3, (self.ranks[k], self.out_shape[k]))
            for k in range(a, b)
        ]
        return merge_cores(tensors).flatten(-2, -1).flatten(-3, -2)

    def stages(self, realised):
        """The merged cores in the order light meets them (last first), then the bias."""
        plan = self._plan(realised)
        starts = [p for _, _, p, _ in self._offsets()] + [self.n_phases]
        return [(starts[a], starts[b]) for a, b in reversed(plan)] + [(self.n_phases, self.n_params)]

    def _plan(self, realised: RealisedLayer) -> tuple[tuple[int, int], ...]:
        return realised.plan or tuple((k, k + 1) for k in range(len(self.cores)))

    def run(self, realised, x, ctx, readout, start=0, record=None):
        plan = self._plan(realised)
        in_shape, out_shape, ranks = merged_shapes(self.in_shape, self.out_shape, self.ranks, plan)

        def apply_core(k, v):
            # batch and slice axes as one row axis: one [rows, in] @ [in, out] product per
            # setting, not one tiny product per (setting, input). Core 0 (applied last) makes
            # the layer output; the others are read by I/Q receivers.
            rows = v.shape[-3:-1]
            mode = readout if k == 0 else "iq"
            field = realised.matrices[k](ctx.encode(v.flatten(-3, -2)), real_out=mode == "coherent")
            return ctx.detect(field, mode).unflatten(-2, rows)

        if start < len(plan):
            x = tt_contract(x, in_shape, out_shape, ranks, apply_core, start, record)
        if record is not None:
            record.append(x)
        return self._add_bias(x, realised)

    @property
    def widest(self) -> int:
        """The most values per input any stage holds (TT intermediates can exceed in and out)."""
        width, done = self.in_features, 1
        for k in reversed(range(len(self.cores))):
            done *= self.out_shape[k]
            width = max(width, math.prod(self.in_shape[:k]) * done * self.ranks[k])
        return width

    def core_shape(self, k: int) -> tuple[int, int, int, int]:
        """The shape (r_{k−1}, n_k, m_k, r_k) of core k."""
        return (self.ranks[k], self.out_shape[k], self.in_shape[k], self.ranks[k + 1])

    def core_tensors(self, params: torch.Tensor, gains=None) -> list[torch.Tensor]:
        """The ideal complex TT cores G_k[..., r_{k−1}, n_k, m_k, r_k] these phases encode."""
        out = []
        for k, ((_, m, p, _), g) in enumerate(zip(self._offsets(), self._gains(gains))):
            mat = m.matrix(params[..., p : p + m.n_params], gain=g)
            out.append(
                mat.unflatten(-1, (self.in_shape[k], self.ranks[k + 1])).unflatten(
                    -3, (self.ranks[k], self.out_shape[k])
                )
            )
        return out

    def weight_matrix(self, params: torch.Tensor, gains=None) -> torch.Tensor:
        """The ideal dense matrix of the TT these phases encode."""
        return tt_dense(self.core_tensors(params, gains))

    def random_weights(self, generator: torch.Generator) -> TTWeights:
        """Cores scaled so that the contracted matrix has the He variance 2/in per entry; zero bias."""
        d = len(self.in_shape)
        # Var(W_ij) = Π_k r_k · Var(core entries)^d over the summed ranks → per-core std
        rank_product = math.prod(self.ranks[1:-1])
        std = (2.0 / self.in_features / rank_product) ** (1 / (2 * d))
        cores = [
            std * torch.randn(*self.core_shape(k), generator=generator, dtype=torch.float64) for k in range(d)
        ]
        return TTWeights(cores, self._zero_bias())

    def weights_from_phases(self, params: torch.Tensor, gains=None) -> TTWeights:
        bias = params[..., self.n_phases :].clone() if self.bias else None
        return TTWeights(self.core_tensors(params, gains), bias)

    def _check_shapes(self, weights: TTWeights) -> None:
        if len(weights.cores) != len(self.cores):
            raise ValueError(f"expected {len(self.cores)} TT cores, got {len(weights.cores)}")
        for k, g in enumerate(weights.cores):
            if tuple(g.shape) != self.core_shape(k):
                raise ValueError(
                    f"TT core {k} must have shape (r_k-1, n_k, m_k, r_k) = {self.core_shape(k)}, "
                    f"got {tuple(g.shape)}"
                )

    def program(self, weights: TTWeights) -> tuple[np.ndarray, tuple[float, ...]]:
        weights = self.check_weights(weights)
        parts, gains = [], []
        for g, m in zip(weights.cores, self.cores):
            phases, gain = m.from_matrix(_numpy(g).reshape(m.out_features, m.in_features))
            parts.append(phases)
            gains.append(gain)
        return self._phase_vector(parts, weights), tuple(gains)

    def _digital_detected(self, weights: TTWeights, x: torch.Tensor, readout: str) -> torch.Tensor:
        mats = [g.reshape(m.out_features, m.in_features) for g, m in zip(weights.cores, self.cores)]
        return tt_contract(
            x,
            self.in_shape,
            self.out_shape,
            self.ranks,
            lambda k, v: detected(
                v.to(mats[k].dtype) @ mats[k].transpose(-1, -2), readout if k == 0 else "iq"
            ),
        )

    def unflatten(self, arrays: Mapping, prefix: str) -> TTWeights:
        cores = [_array(arrays, f"{prefix}.core{k}") for k in range(len(self.cores))]
        return self.check_weights(TTWeights(cores, arrays.get(f"{prefix}.bias")))

    def summary(self) -> dict:
        """``OpticalLayer.summary`` and the TT's ``in_shape`` (m₁..m_d), ``out_shape`` (n₁..n_d) and
        ``ranks``, the block size k (``block``), ``mesh``, ``edge_blocks``, ``weights`` (the entries of
        all cores, Σ_k r_{k−1}·n_k·m_k·r_k) and ``core_shapes`` (each core's realised
        [r_{k−1}·n_k, m_k·r_k] matrix)."""
        return {
            **super().summary(),
            "in_shape": list(self.in_shape),
            "out_shape": list(self.out_shape),
            "ranks": list(self.ranks),
            "block": self.cores[0].block,
            "mesh": self.cores[0].mesh,
            "edge_blocks": self.cores[0].edge_blocks,
            "weights": sum(m.in_features * m.out_features for m in self.cores),
            "core_shapes": [[m.out_features, m.in_features] for m in self.cores],
        }
