"""Optical layers: dense matrices as blocks of U Σ V† meshes, and tensor-train (TT) layers.

Building block: ``OpticalMatrix``, an out×in matrix cut into k×k blocks; block (r, c) is
realised as  g · U_rc Σ_rc V_rc†  with two k-mode meshes (``mesh.py``), a column of k MZI
attenuators (transmission cos θ ∈ [−1, 1]) for Σ/g, and one electronic gain g per matrix.
The blocks of one output row are combined coherently before detection, so each output port
has one detector. Parameter layout of a matrix with nb blocks:

    [V† meshes: nb × P_mesh | attenuators: nb × k | U meshes: nb × P_mesh]

``OpticalLinear`` = one matrix + detection + electronic bias. ``TTOpticalLinear`` holds one
matrix per TT core, core k being the (r_{k−1}·n_k) × (m_k·r_k) unfolding of the core tensor
G_k[r_{k−1}, n_k, m_k, r_k]; the input is contracted core by core (last core first), each
contraction being one pass of all input slices through that core's meshes, read by I/Q
coherent receivers (both quadratures) and rearranged electronically to drive the next core's
IQ modulators. So an ideal TT layer computes exactly detect(W_TT x) with W_TT the dense
matrix of its (complex) cores, like a dense layer with that matrix.

A layer's ``forward(params, x, ctx)`` takes the *physical* phases (after the chip applied
its hardware model) and a ``ForwardContext`` holding the chip's static MZI errors and its
detection and conversion model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .decompose import matrix_to_svd_phases
from .hardware import IDEAL, HardwareModel
from .mesh import mesh_layout, mesh_matrix
from .mzi import mzi_coefficients, real_dtype_of

READOUTS = ("coherent", "intensity")


@dataclass(frozen=True)
class ParamSlice:
    """A named contiguous range of a flat parameter vector."""

    name: str
    start: int
    stop: int
    kind: str  # 'mesh', 'attenuator' (optical phases) or 'bias' (electronic)

    @property
    def size(self) -> int:
        return self.stop - self.start

    @property
    def slice(self) -> slice:
        return slice(self.start, self.stop)

    def shifted(self, offset: int, prefix: str) -> ParamSlice:
        return ParamSlice(f"{prefix}.{self.name}", self.start + offset, self.stop + offset, self.kind)


@dataclass
class ForwardContext:
    """What a layer needs from the chip during one forward: static MZI errors and detection."""

    hardware: HardwareModel = IDEAL
    bs_error: torch.Tensor | None = None  # [n_mzis of this component, 2]
    amplitude: float = 1.0  # field transmission per MZI (insertion loss)
    dtype: torch.dtype = torch.complex64
    generator: torch.Generator | None = None  # dynamic (detector) noise

    def sub(self, start: int, stop: int) -> ForwardContext:
        """The same context restricted to MZIs ``start:stop`` of this component."""
        bs = None if self.bs_error is None else self.bs_error[start:stop]
        return ForwardContext(self.hardware, bs, self.amplitude, self.dtype, self.generator)

    @property
    def real_dtype(self) -> torch.dtype:
        return real_dtype_of(self.dtype)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Input modulators: amplitudes (real, or complex for IQ modulators) through the input DACs."""
        bits = self.hardware.input_bits
        if x.is_complex():
            if bits is None:
                return x
            return _complex_from_parts(x, lambda part: self.hardware.quantise_signal(part, bits))
        return self.hardware.quantise_signal(x.to(self.real_dtype), bits)

    def detect(self, field: torch.Tensor, mode: str) -> torch.Tensor:
        """Photodetection of output fields, then detector noise and the ADCs.

        ``coherent``: the signed in-phase quadrature Re(field) (homodyne); ``intensity``:
        |field|²; ``iq``: both quadratures (a coherent I/Q receiver), returned complex — used
        between TT cores so that the next core can be driven by IQ modulators.
        """
        if mode == "iq":
            hw = self.hardware
            if hw.shot_noise_photons is None and not hw.detector_noise_std and hw.output_bits is None:
                return field  # an ideal I/Q receiver reads the field itself; skip the copies
            return _complex_from_parts(field, lambda part: self._read(part, "coherent"))
        if mode == "coherent":  # a matrix applied with real_out already gave Re(field)
            return self._read(field.real if field.is_complex() else field, mode)
        return self._read(field.real**2 + field.imag**2, mode)

    def _read(self, signal: torch.Tensor, mode: str) -> torch.Tensor:
        hw = self.hardware
        if hw.shot_noise_photons is not None:
            if mode == "coherent":  # homodyne vacuum noise on one quadrature
                std = torch.full_like(signal, 0.5 / math.sqrt(hw.shot_noise_photons))
            else:  # Poisson photon counting, Gaussian approximation
                std = torch.sqrt(signal.clamp_min(0) / hw.shot_noise_photons)
            signal = signal + std * self._randn(signal)
        if hw.detector_noise_std:
            rms = signal.pow(2).mean(-1, keepdim=True).sqrt()
            signal = signal + hw.detector_noise_std * rms * self._randn(signal)
        return hw.quantise_signal(signal, hw.output_bits)

    def _randn(self, like: torch.Tensor) -> torch.Tensor:
        return torch.randn(like.shape, dtype=like.dtype, device=like.device, generator=self.generator)


def _complex_from_parts(z: torch.Tensor, fn) -> torch.Tensor:
    """``fn(Re z) + i·fn(Im z)``, written into one complex tensor (``torch.complex`` on the strided
    real/imag views is several times slower on CPU)."""
    out = torch.empty_like(z)
    parts = torch.view_as_real(out)
    parts[..., 0] = fn(z.real)
    parts[..., 1] = fn(z.imag)
    return out


def _check_features(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


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
            if not complex_in:  # x·Wᵀ for real x: Re, or (Re, Im) interleaved
                form = wr if real_out else torch.stack([wr, wi], -1).flatten(-2)
            elif real_out:  # Re(x·Wᵀ) = x_r·W_rᵀ − x_i·W_iᵀ
                form = torch.stack([wr, -wi], -2).flatten(-3, -2)
            else:  # the 2×2 real form of each complex entry
                form = (
                    torch.stack([torch.stack([wr, wi], -1), torch.stack([-wi, wr], -1)], -3)
                    .flatten(-4, -3)
                    .flatten(-2)
                )
            self._forms[key] = form.contiguous()
        return self._forms[key]

    def __call__(self, x: torch.Tensor, real_out: bool = False) -> torch.Tensor:
        """``x[..., in] @ wᵀ`` — complex, or only its real part with ``real_out``."""
        form = self._form(x.is_complex(), real_out)
        if x.is_complex():
            x = torch.view_as_real(x).flatten(-2)
        y = x.to(form.dtype) @ form
        return y if real_out else torch.view_as_complex(y.unflatten(-1, (-1, 2)))


class OpticalMatrix:
    """An out×in matrix as k×k blocks of g · U Σ V† meshes (see the module docstring)."""

    def __init__(self, out_features: int, in_features: int, block: int = 8, mesh: str = "clements"):
        self.out_features = _check_features("out_features", out_features)
        self.in_features = _check_features("in_features", in_features)
        self.layout = mesh_layout(mesh, block)  # validates kind and block >= 2
        self.block = self.layout.n
        self.mesh = mesh
        self.rows = math.ceil(self.out_features / self.block)
        self.cols = math.ceil(self.in_features / self.block)
        self.n_blocks = self.rows * self.cols
        # A random-phase init keeps the output variance equal to the input's with this gain:
        # entries of U Σ V† have E|w|² = E[cos²θ]/k = 1/(2k) and each output sums cols·k inputs.
        self.gain = math.sqrt(2.0 / self.cols)

    # ---- sizes and layout ----------------------------------------------------------------
    @property
    def mesh_params(self) -> int:
        return self.n_blocks * self.layout.n_phases

    @property
    def n_params(self) -> int:
        return 2 * self.mesh_params + self.n_blocks * self.block

    @property
    def n_mzis(self) -> int:
        return self.n_blocks * (2 * self.layout.n_mzis + self.block)

    def _groups(self):
        """(name, kind, param start, param size per item, mzi start, mzis per item) of V, Σ, U."""
        pm, mm, k, nb = self.layout.n_phases, self.layout.n_mzis, self.block, self.n_blocks
        return [
            ("V", "mesh", 0, pm, 0, mm),
            ("sigma", "attenuator", nb * pm, k, nb * mm, k),
            ("U", "mesh", nb * pm + nb * k, pm, nb * mm + nb * k, mm),
        ]

    def param_slices(self, level: str) -> list[ParamSlice]:
        if level in ("layer", "core"):
            return [ParamSlice("", 0, self.n_params, "mesh")]
        out = []
        for name, kind, start, size, _, _ in self._groups():
            if level == "group":
                out.append(ParamSlice(name, start, start + self.n_blocks * size, kind))
            else:
                out += [
                    ParamSlice(f"{name}[{b}]", start + b * size, start + (b + 1) * size, kind)
                    for b in range(self.n_blocks)
                ]
        return out

    @property
    def crosstalk_pairs(self) -> np.ndarray:
        pm, k, nb = self.layout.n_phases, self.block, self.n_blocks
        mesh_pairs = self.layout.crosstalk_pairs
        per_mesh = (np.arange(nb) * pm)[:, None, None] + mesh_pairs[None]
        att = np.stack([np.arange(k - 1), np.arange(1, k)], 1)
        att = np.concatenate([att, att[:, ::-1]])
        per_att = nb * pm + (np.arange(nb) * k)[:, None, None] + att[None]
        u_offset = nb * pm + nb * k
        return np.concatenate(
            [per_mesh.reshape(-1, 2), per_att.reshape(-1, 2), u_offset + per_mesh.reshape(-1, 2)]
        )

    # ---- physics -------------------------------------------------------------------------
    def block_matrices(self, params: torch.Tensor, ctx: ForwardContext) -> torch.Tensor:
        """Transfer matrices g · U Σ V† of every block: ``[..., rows, cols, k, k]``."""
        (_, _, v0, pm, mv0, mm), (_, _, s0, k, ms0, _), (_, _, u0, _, mu0, _) = self._groups()
        nb = self.n_blocks
        lead = params.shape[:-1]

        def bs(start, count, per):
            return (
                None if ctx.bs_error is None else ctx.bs_error[start : start + nb * per].reshape(nb, per, 2)
            )

        v = mesh_matrix(
            self.layout,
            params[..., v0 : v0 + nb * pm].unflatten(-1, (nb, pm)),
            bs(mv0, nb, mm),
            ctx.amplitude,
            ctx.dtype,
        )
        u = mesh_matrix(
            self.layout,
            params[..., u0 : u0 + nb * pm].unflatten(-1, (nb, pm)),
            bs(mu0, nb, mm),
            ctx.amplitude,
            ctx.dtype,
        )
        theta = params[..., s0 : s0 + nb * k].unflatten(-1, (nb, k))
        att_bs = None if ctx.bs_error is None else ctx.bs_error[ms0 : ms0 + nb * k].reshape(nb, k, 2)
        sigma = mzi_coefficients(theta, torch.zeros_like(theta), att_bs, ctx.amplitude, ctx.dtype)[0]
        w = (self.gain * u) @ (sigma[..., :, None] * v)
        return w.reshape(*lead, self.rows, self.cols, k, k)

    def matrix(self, params: torch.Tensor, ctx: ForwardContext | None = None) -> torch.Tensor:
        """The realised ``[..., out, in]`` complex matrix."""
        ctx = ctx or ForwardContext(
            dtype=torch.complex128 if params.dtype == torch.float64 else torch.complex64
        )
        w = self.block_matrices(params, ctx)
        full = w.transpose(-3, -2).flatten(-4, -3).flatten(-2, -1)  # [..., rows·k, cols·k]
        return full[..., : self.out_features, : self.in_features]

    def realise(self, params: torch.Tensor, ctx: ForwardContext) -> RealisedMatrix:
        """The matrix these physical phases realise on this chip, ready to apply."""
        return RealisedMatrix(self.matrix(params, ctx))

    def from_matrix(self, w) -> np.ndarray:
        """Program this matrix to realise ``w`` (out×in): returns phases and sets the gain."""
        w = np.asarray(w)
        if w.shape != (self.out_features, self.in_features):
            raise ValueError(f"expected a {self.out_features}×{self.in_features} matrix, got shape {w.shape}")
        k = self.block
        padded = np.zeros((self.rows * k, self.cols * k), dtype=np.result_type(w.dtype, np.float64))
        padded[: self.out_features, : self.in_features] = w
        blocks = padded.reshape(self.rows, k, self.cols, k).transpose(0, 2, 1, 3).reshape(-1, k, k)
        parts = [matrix_to_svd_phases(b, self.mesh) for b in blocks]
        # the shared gain is the largest singular value of any non-zero block (a zero block's
        # nominal gain of 1 must not inflate it: Σ/g would then sit near 0, where DAC steps hurt)
        gain = max([p[3] for p, b in zip(parts, blocks) if np.any(b)], default=1.0)
        out = np.empty(self.n_params)
        (_, _, v0, pm, _, _), (_, _, s0, _, _, _), (_, _, u0, _, _, _) = self._groups()
        nb = self.n_blocks
        out[v0 : v0 + nb * pm] = np.concatenate([p[0] for p in parts])
        # Each block's Σ was scaled by its own top singular value; rescale to the shared gain.
        amplitudes = np.concatenate([np.cos(p[1]) * p[3] / gain for p in parts])
        out[s0 : s0 + nb * k] = np.arccos(np.clip(amplitudes, -1.0, 1.0))
        out[u0 : u0 + nb * pm] = np.concatenate([p[2] for p in parts])
        self.gain = float(gain)
        return out

    def init_params(self, rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(0.0, 2 * np.pi, self.n_params)


@dataclass
class RealisedLayer:
    """A layer's realised matrices (in the layer's order) and its electronic bias ``[..., 1, out]``."""

    matrices: list[RealisedMatrix]
    bias: torch.Tensor | None


class OpticalLayer:
    """Common interface of optical layers (sizes, slices, crosstalk map, forward)."""

    in_features: int
    out_features: int
    bias: bool

    def _matrices(self) -> list[tuple[str, OpticalMatrix]]:
        raise NotImplementedError

    @property
    def n_params(self) -> int:
        return sum(m.n_params for _, m in self._matrices()) + (self.out_features if self.bias else 0)

    @property
    def n_phases(self) -> int:
        return sum(m.n_params for _, m in self._matrices())

    @property
    def n_mzis(self) -> int:
        return sum(m.n_mzis for _, m in self._matrices())

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
        mask = np.zeros(self.n_params, dtype=bool)
        mask[: self.n_phases] = True
        return mask

    @property
    def crosstalk_pairs(self) -> np.ndarray:
        return np.concatenate([m.crosstalk_pairs + p for _, m, p, _ in self._offsets()])

    def realise(self, params: torch.Tensor, ctx: ForwardContext) -> RealisedLayer:
        """Everything a forward needs from the physical parameters ``[..., P_layer]``, built once
        so that batch chunks can reuse it: the realised matrices and the electronic bias."""
        mats = [
            m.realise(params[..., p : p + m.n_params], ctx.sub(z, z + m.n_mzis))
            for _, m, p, z in self._offsets()
        ]
        return RealisedLayer(mats, params[..., None, self.n_phases :] if self.bias else None)

    def run(
        self, realised: RealisedLayer, x: torch.Tensor, ctx: ForwardContext, readout: str
    ) -> torch.Tensor:
        """Detected outputs ``[..., B, out]`` (bias added) for inputs ``x[..., B, in]``."""
        raise NotImplementedError

    def forward(
        self, params: torch.Tensor, x: torch.Tensor, ctx: ForwardContext, readout: str
    ) -> torch.Tensor:
        return self.run(self.realise(params, ctx), x, ctx, readout)

    @staticmethod
    def _add_bias(y: torch.Tensor, realised: RealisedLayer) -> torch.Tensor:
        return y if realised.bias is None else y + realised.bias.to(y.dtype)

    def init_params(self, rng: np.random.Generator) -> np.ndarray:
        parts = [m.init_params(rng) for _, m in self._matrices()]
        return np.concatenate(parts + ([np.zeros(self.out_features)] if self.bias else []))

    def summary(self) -> dict:
        return {
            "type": type(self).__name__,
            "in": self.in_features,
            "out": self.out_features,
            "mzis": self.n_mzis,
            "phases": self.n_phases,
            "electronic_params": self.n_params - self.n_phases,
        }


class OpticalLinear(OpticalLayer):
    """A dense layer y = W x + b, W realised as k×k blocks of g · U Σ V† meshes."""

    def __init__(
        self, in_features: int, out_features: int, block: int = 8, mesh: str = "clements", bias: bool = True
    ):
        self.matrix = OpticalMatrix(out_features, in_features, block, mesh)
        self.in_features, self.out_features, self.bias = (
            self.matrix.in_features,
            self.matrix.out_features,
            bool(bias),
        )

    def _matrices(self):
        return [("matrix", self.matrix)]

    def run(
        self, realised: RealisedLayer, x: torch.Tensor, ctx: ForwardContext, readout: str
    ) -> torch.Tensor:
        field = realised.matrices[0](ctx.encode(x), real_out=readout == "coherent")
        return self._add_bias(ctx.detect(field, readout), realised)

    def weight_matrix(self, params: torch.Tensor) -> torch.Tensor:
        """The ideal (noise-free) complex weight matrix these phases encode."""
        return self.matrix.matrix(params[..., : self.n_phases])

    def from_weights(self, weight, bias=None) -> np.ndarray:
        phases = self.matrix.from_matrix(weight)
        return np.concatenate([phases] + ([_bias_vector(bias, self.out_features)] if self.bias else []))

    def summary(self) -> dict:
        return {
            **super().summary(),
            "block": self.matrix.block,
            "blocks": self.matrix.n_blocks,
            "mesh": self.matrix.mesh,
            "weights": self.in_features * self.out_features,
        }


def _bias_vector(bias, n: int) -> np.ndarray:
    if bias is None:
        return np.zeros(n)
    bias = np.asarray(bias, dtype=np.float64)
    if bias.shape != (n,):
        raise ValueError(f"expected a bias of shape ({n},), got {bias.shape}")
    return bias


def tt_contract(x: torch.Tensor, in_shape, out_shape, ranks, apply_core) -> torch.Tensor:
    """Contract ``x[..., B, Π m]`` with a TT matrix, last core first.

    ``apply_core(k, v)`` maps the slices ``v[..., B, S, m_k·r_k]`` to ``[..., B, S, r_{k−1}·n_k]``
    (it may prepend leading axes, e.g. the query axis). Returns ``[..., B, Π n]``.

    The rows S are (J, I): J the input indices still to contract, I the output indices done
    (n_k outermost). One permutation per core moves m_{k−1} out of the rows and n_k into them,
    the one copy a TT mat-vec needs.
    """
    d = len(in_shape)
    done = 1  # Π of the output factors already produced (the I axis)
    v = x.unflatten(-1, (math.prod(in_shape[:-1]), in_shape[-1]))  # [..., B, J, m_{d−1}] (r_d = 1, I = 1)
    for k in reversed(range(d)):
        out = apply_core(k, v)  # [..., B, J·I, r_{k−1}·n_k]
        if k == 0:  # J = 1 and r_{−1} = 1: [..., B, I, n_0] → [..., B, n_0·I]
            return out.transpose(-1, -2).flatten(-2, -1)
        rest, m = math.prod(in_shape[: k - 1]), in_shape[k - 1]
        out = out.unflatten(-2, (rest, m, done)).unflatten(
            -1, (ranks[k], out_shape[k])
        )  # [..., J', m, I, r, n]
        nd = out.ndim
        v = out.permute(*range(nd - 5), nd - 5, nd - 1, nd - 3, nd - 4, nd - 2)  # [..., J', n, I, m, r]
        done *= out_shape[k]
        v = v.reshape(*v.shape[:-5], rest * done, m * ranks[k])
    raise AssertionError("unreachable: a TT has at least one core")


def tt_dense(cores: list[torch.Tensor]) -> torch.Tensor:
    """The dense ``[..., Π n, Π m]`` matrix of TT cores ``G_k[..., r_{k−1}, n_k, m_k, r_k]``."""
    w = cores[0][..., 0, :, :, :]  # [..., n1, m1, r1]
    for g in cores[1:]:
        w = torch.einsum("...ija,...aklb->...ikjlb", w, g).flatten(-5, -4).flatten(-3, -2)
    return w[..., 0]


class TTOpticalLinear(OpticalLayer):
    """A tensor-train layer: in-shape (m₁..m_d) → out-shape (n₁..n_d), ranks (1, r₁, .., r_{d−1}, 1)."""

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
                f"TT ranks must be an int or a sequence (1, r₁, .., r_{{d−1}}, 1) of length {d + 1}, got {ranks}"
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
            OpticalMatrix(ranks[k] * out_shape[k], in_shape[k] * ranks[k + 1], block, mesh) for k in range(d)
        ]

    def _matrices(self):
        return [(f"core{k}", m) for k, m in enumerate(self.cores)]

    def run(
        self, realised: RealisedLayer, x: torch.Tensor, ctx: ForwardContext, readout: str
    ) -> torch.Tensor:
        def apply_core(k, v):
            # batch and slice axes as one row axis: one [rows, in] @ [in, out] product per
            # setting, not one tiny product per (setting, input). Core 0 (applied last) makes
            # the layer output; the others are read by I/Q receivers.
            rows = v.shape[-3:-1]
            mode = readout if k == 0 else "iq"
            field = realised.matrices[k](ctx.encode(v.flatten(-3, -2)), real_out=mode == "coherent")
            return ctx.detect(field, mode).unflatten(-2, rows)

        return self._add_bias(tt_contract(x, self.in_shape, self.out_shape, self.ranks, apply_core), realised)

    @property
    def widest(self) -> int:
        """The most values per input any stage holds (TT intermediates can exceed in and out)."""
        width, done = self.in_features, 1
        for k in reversed(range(len(self.cores))):
            done *= self.out_shape[k]
            width = max(width, math.prod(self.in_shape[:k]) * done * self.ranks[k])
        return width

    def core_tensors(self, params: torch.Tensor) -> list[torch.Tensor]:
        """The ideal complex TT cores G_k[..., r_{k−1}, n_k, m_k, r_k] these phases encode."""
        out = []
        for k, (_, m, p, _) in enumerate(self._offsets()):
            mat = m.matrix(params[..., p : p + m.n_params])
            out.append(
                mat.unflatten(-1, (self.in_shape[k], self.ranks[k + 1])).unflatten(
                    -3, (self.ranks[k], self.out_shape[k])
                )
            )
        return out

    def weight_matrix(self, params: torch.Tensor) -> torch.Tensor:
        """The ideal dense matrix of the TT these phases encode."""
        return tt_dense(self.core_tensors(params))

    def from_weights(self, cores, bias=None) -> np.ndarray:
        if len(cores) != len(self.cores):
            raise ValueError(f"expected {len(self.cores)} TT cores, got {len(cores)}")
        parts = []
        for k, (g, m) in enumerate(zip(cores, self.cores)):
            g = np.asarray(g)
            want = (self.ranks[k], self.out_shape[k], self.in_shape[k], self.ranks[k + 1])
            if g.shape != want:
                raise ValueError(
                    f"TT core {k} must have shape (r_k-1, n_k, m_k, r_k) = {want}, got {g.shape}"
                )
            parts.append(m.from_matrix(g.reshape(m.out_features, m.in_features)))
        if self.bias:
            parts.append(_bias_vector(bias, self.out_features))
        return np.concatenate(parts)

    def summary(self) -> dict:
        return {
            **super().summary(),
            "in_shape": list(self.in_shape),
            "out_shape": list(self.out_shape),
            "ranks": list(self.ranks),
            "block": self.cores[0].block,
            "mesh": self.cores[0].mesh,
            "weights": sum(m.in_features * m.out_features for m in self.cores),
            "core_shapes": [[m.out_features, m.in_features] for m in self.cores],
        }
