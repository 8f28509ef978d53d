"""The Chip and its one door, the Oracle.

``Chip(network, hardware, seed)`` is one fabricated chip: its static errors are drawn once
from ``seed``; its dynamic noise is fresh for every query, drawn from streams that depend only
on the seed and the query's index (``noise.py``): the same sequence of calls on a chip built the
same way returns the same numbers, one call of Q settings returns what Q calls of one setting
return, and worker processes holding replicas of the chip (``parallel.py``) return what the chip
itself would. The chip also holds
the electronic gain of every optical matrix (``gains``: the network's nominal ones, or those of
a deployed ``Program``); the network holds layout only, so it can back several chips.

Trainers see only the ``Oracle`` protocol: the size of the parameter vector, its named
slices, and two forward calls, each evaluating Q parameter settings at once:

    outputs(phases[Q, P], x[B, in]) → detected outputs [Q, B, out]
    loss(phases[Q, P], (x, y))      → loss per setting  [Q]

Layer-local trainers (tpSGD on the chip) also read every layer's output — a hardware
assumption, stated here once: each layer's outputs are detected anyway, because the
activation between layers is electronic (optical → electronic → optical), so the detector
readings of every layer can be tapped; no optical signal is read that the chip does not
already convert. ``LayerTapOracle`` adds:

    layer_features                 → output width of every layer
    layer_outputs(phases[Q, P], x) → [[Q, B, out_i] for each layer]: hidden layers after their
                                     electronic activation, the last as ``outputs`` returns it

Every call counts Q queries (one query = one forward of one parameter setting on one batch)
and Q·B inferences. ``Chip.oracle()`` hands out a view that exposes only that protocol.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F

from ..validation import check_non_negative_int, check_seed
from .hardware import HardwareModel
from .layers import ForwardContext, ParamSlice
from .mzi import insertion_loss_amplitude, real_dtype_of
from .network import OpticalNetwork
from .noise import PHASE, NoiseStreams
from .threads import ThreadPolicy


def check_labels(labels: torch.Tensor, batch: int, classes: int) -> None:
    """Refuse (``ValueError``) ``labels`` unless they are integer class indices of shape ``[batch]`` in
    ``0 .. classes − 1``: the target check of the ``cross_entropy`` loss, run before the forward so
    that a refused call costs no query."""
    if labels.shape != (batch,) or labels.is_floating_point() or labels.is_complex():
        raise ValueError(
            f"cross_entropy needs integer class labels of shape [{batch}], "
            f"got {labels.dtype} {tuple(labels.shape)}"
        )
    if labels.min() < 0 or labels.max() >= classes:
        raise ValueError(
            f"class labels must lie in 0..{classes - 1}, got {labels.min().item()}..{labels.max().item()}"
        )


def cross_entropy(out: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per setting: outputs ``[Q, B, C]`` (logits), integer labels ``[B]`` → ``[Q]``."""
    return F.cross_entropy(
        out.transpose(1, 2), labels.long().expand(out.shape[0], -1), reduction="none"
    ).mean(1)


def check_targets(targets: torch.Tensor, batch: int, outputs: int) -> None:
    """Refuse (``ValueError``) ``targets`` unless their shape is ``[batch, outputs]``: the target check
    of the ``mse`` loss, run before the forward so that a refused call costs no query."""
    if targets.shape != (batch, outputs):
        raise ValueError(f"mse needs targets of shape [{batch}, {outputs}], got {list(targets.shape)}")


def mean_squared_error(out: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean squared error per setting: outputs ``[Q, B, C]``, targets ``[B, C]`` → ``[Q]``."""
    return (out - targets.to(out.dtype)).pow(2).flatten(1).mean(1)


# name → (loss, check of the targets against (batch, outputs)); the check runs before the
# forward, so that a call rejected for its targets costs no query
LOSSES = {
    "cross_entropy": (cross_entropy, check_labels),
    "mse": (mean_squared_error, check_targets),
}


@runtime_checkable
class Oracle(Protocol):
    """What a BP-free trainer may use: program parameters, read detector outputs."""

    @property
    def n_params(self) -> int:
        """The length P of a parameter setting: every layer's phases (rad) and electronic biases, in
        network order (``param_slices`` names its pieces)."""

    def param_slices(self, level: str = "layer") -> list[ParamSlice]:
        """Named contiguous slices (``ParamSlice``: name, start, stop, kind) of the parameter vector at
        ``level``, one of ``layer``, ``core``, ``group``, ``mesh`` (``OpticalNetwork.param_slices``); at
        every level they cover ``0 .. P`` in order."""

    def initial_params(self, seed: int = 0) -> torch.Tensor:
        """A random starting setting ``[P]`` (real, in the chip's real dtype and on its device): phases
        uniform in [0, 2π) rad, electronic biases zero; the same ``seed`` gives the same vector. Costs no
        query."""

    def outputs(self, phases, x) -> torch.Tensor:
        """Detected outputs ``[Q, B, out]`` of Q parameter settings ``phases[Q, P]`` (commanded phases in
        rad, and the biases; a float32 or float64 tensor or array, Q ≥ 1) on the same real input
        amplitudes ``x[B, in]``, after the chip's electronic output gain. Each setting counts one query
        (``queries`` grows by Q) and sees its own dynamic noise; arguments refused (``ValueError``) cost
        none."""

    def loss(self, phases, batch) -> torch.Tensor:
        """The loss per setting ``[Q]`` of ``phases[Q, P]`` on one ``batch = (x[B, in], targets)``, from
        its ``outputs``: integer labels ``[B]`` for the ``cross_entropy`` loss, targets ``[B, out]`` for
        ``mse``. Q queries; targets a named loss refuses (``check_labels``, ``check_targets``) cost
        none."""

    @property
    def queries(self) -> int:
        """Parameter settings evaluated so far, each on one batch: a call of ``outputs``, ``loss`` or
        ``layer_outputs`` with Q settings adds Q, whatever its batch size B (what a query budget
        counts)."""


@runtime_checkable
class LayerTapOracle(Oracle, Protocol):
    """An Oracle whose chip also exposes every layer's detector readings (see the module docstring)."""

    @property
    def layer_features(self) -> list[int]:
        """The output width of every layer, in order: ``out_i`` of each tensor ``layer_outputs`` returns
        (the last is ``out``)."""

    def layer_outputs(self, phases, x) -> list[torch.Tensor]:
        """Every layer's output ``[Q, B, out_i]``, in order, for ``phases[Q, P]`` on ``x[B, in]`` from one
        forward: hidden layers after their electronic activation (what the next layer's modulators
        receive), the last as ``outputs`` returns it. Q queries, like ``outputs``."""


class Chip:
    """A simulated photonic chip: an ``OpticalNetwork`` with a ``HardwareModel`` and a seed."""

    def __init__(
        self,
        network: OpticalNetwork,
        hardware: HardwareModel | str = "ideal",
        seed: int = 0,
        dtype: torch.dtype = torch.complex64,
        device: str | torch.device = "cpu",
        loss: str | Callable = "cross_entropy",
        max_elements: int = 2**26,
        output_gain: float = 1.0,
        gains: Sequence[float] | None = None,
    ):
        if isinstance(hardware, str):
            hardware = HardwareModel.preset(hardware)
        if dtype not in (torch.complex64, torch.complex128):
            raise ValueError(f"dtype must be torch.complex64 or torch.complex128, got {dtype}")
        if isinstance(loss, str) and loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; accepted losses are {', '.join(LOSSES)} or a callable")
        self.network, self.hardware, self.seed = network, hardware, check_seed("the chip seed", seed)
        self.dtype, self.device = dtype, torch.device(device)
        self.real_dtype = real_dtype_of(dtype)
        self.loss_fn, self._check_targets = LOSSES[loss] if isinstance(loss, str) else (loss, None)
        self.loss_name = loss if isinstance(loss, str) else None  # a named loss travels to workers
        self.max_elements = int(max_elements)
        self.cache_elements = self.cache_bytes // self.real_dtype.itemsize
        self.threads = ThreadPolicy()  # intra-op threads per call shape, chosen by timing (threads.py)
        # the electronic amplifier after the output detectors: a passive chip's outputs are bounded
        # by the input power, and a readout gain brings them to where the loss can saturate
        if not (isinstance(output_gain, (int, float)) and np.isfinite(output_gain) and output_gain > 0):
            raise ValueError(f"output_gain must be a positive finite number, got {output_gain!r}")
        self.output_gain = float(output_gain)
        # the electronic gain after each optical matrix (see the module docstring)
        self._gains = _check_gains(network, gains)

        static = hardware.draw_static(network.n_params, network.n_mzis, self.seed)
        as_t = lambda a: None if a is None else torch.as_tensor(a, dtype=self.real_dtype, device=self.device)
        self._gain, self._bias, self._bs_error = (
            as_t(static.phase_gain),
            as_t(static.phase_bias),
            as_t(static.bs_error),
        )
        self._amplitude = insertion_loss_amplitude(hardware.insertion_loss_db)
        self._phase_mask = torch.as_tensor(network.phase_mask, device=self.device)
        self._all_phases = bool(self._phase_mask.all())
        pairs = network.crosstalk_pairs if hardware.crosstalk else np.zeros((0, 2), dtype=np.int64)
        self._xt_dst = torch.as_tensor(pairs[:, 0], device=self.device)
        self._xt_src = torch.as_tensor(pairs[:, 1], device=self.device)
        # dynamic noise is drawn per query from streams of (seed, query index, stage): noise.py
        self._dynamic = hardware.draws_noise
        self._queries = 0
        self._inferences = 0

    # ---- bookkeeping ---------------------------------------------------------------------
    @property
    def n_params(self) -> int:
        """The length P of the parameter vector: the network's phases and electronic biases
        (``OpticalNetwork.n_params``)."""
        return self.network.n_params

    @property
    def queries(self) -> int:
        """Parameter settings evaluated so far (each on one batch)."""
        return self._queries

    @property
    def inferences(self) -> int:
        """Single-input forward passes so far (queries × batch size)."""
        return self._inferences

    def continue_from(self, queries: int) -> None:
        """Count on from ``queries``: the next query sees the per-query noise of query ``queries``, as in
        a run that had made them (a checkpointed run resumes its noise streams where it stood, so a
        killed and resumed run reads what an uninterrupted one reads). Simulator bookkeeping: a real
        chip's noise does not repeat."""
        self._queries = check_non_negative_int("queries", queries)

    @property
    def gains(self) -> tuple[float, ...]:
        """The electronic gain of every optical matrix, in network order."""
        return self._gains

    def param_slices(self, level: str = "layer") -> list[ParamSlice]:
        """Named slices of the parameter vector at ``level`` (``OpticalNetwork.param_slices``; see
        ``Oracle.param_slices``)."""
        return self.network.param_slices(level)

    def initial_params(self, seed: int = 0) -> torch.Tensor:
        """A random starting point: phases uniform in [0, 2π), electronic biases zero."""
        return torch.as_tensor(self.network.init_params(seed), dtype=self.real_dtype, device=self.device)

    def oracle(self) -> ChipOracle:
        """A view of this chip that exposes only the ``Oracle`` protocol."""
        return ChipOracle(self)

    # ---- validation ----------------------------------------------------------------------
    def _check_phases(self, phases) -> torch.Tensor:
        if isinstance(phases, np.ndarray):
            phases = torch.from_numpy(phases)
        if not torch.is_tensor(phases):
            raise ValueError(
                f"phases must be a torch tensor or numpy array of shape [Q, {self.n_params}], "
                f"got {type(phases).__name__}"
            )
        if phases.dtype not in (torch.float32, torch.float64):  # float16 would round phases by ~2e-3 rad
            raise ValueError(
                f"phases must be real floating point (float32 or float64), got dtype {phases.dtype}"
            )
        if phases.ndim != 2 or phases.shape[1] != self.n_params:
            raise ValueError(
                f"phases must have shape [Q, P] with P = {self.n_params} (Q >= 1 settings), "
                f"got shape {tuple(phases.shape)}"
            )
        if phases.shape[0] < 1:
            raise ValueError("phases must hold at least one setting (Q >= 1)")
        phases = phases.to(device=self.device, dtype=self.real_dtype)
        if not torch.isfinite(phases).all():
            bad = (~torch.isfinite(phases)).nonzero()[0].tolist()
            raise ValueError(f"phases must be finite; found NaN/inf, first at [q={bad[0]}, p={bad[1]}]")
        return phases

    def _check_inputs(self, x) -> torch.Tensor:
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(x)
        if not torch.is_tensor(x) or x.ndim != 2 or x.shape[1] != self.network.in_features or x.shape[0] < 1:
            shape = tuple(x.shape) if hasattr(x, "shape") else type(x).__name__
            raise ValueError(
                f"inputs must have shape [B, {self.network.in_features}] with B >= 1, got {shape}"
            )
        if x.is_complex() or not torch.isfinite(x).all():
            raise ValueError("inputs must be finite real amplitudes")
        return x.to(device=self.device, dtype=self.real_dtype)

    # ---- the physics of programming and reading the chip ---------------------------------
    def _noise(self, first: int, count: int) -> NoiseStreams | None:
        """The dynamic noise of queries ``first .. first + count − 1`` (None on a chip without any)."""
        return NoiseStreams(self.seed, first, count) if self._dynamic else None

    def program(
        self, phases: torch.Tensor, noise: NoiseStreams | None = None, straight_through: bool = False
    ) -> torch.Tensor:
        """Phases light actually sees for commanded ``phases[Q, P]``: with phase noise, that of
        ``noise``'s queries (default: the chip's next Q queries; programming alone counts none).
        ``straight_through``: the DACs' rounding passes the gradient of the unrounded phase
        (``model_outputs``), since a rounded phase's own gradient is zero almost everywhere."""
        hw = self.hardware
        commanded = hw.quantise_phases(phases)  # what the DACs set; it drives the heaters
        if straight_through:
            commanded = phases + (commanded - phases).detach()
        actual = commanded if self._gain is None else commanded * self._gain
        if len(self._xt_dst):
            actual = actual.index_add(1, self._xt_dst, hw.crosstalk * commanded[:, self._xt_src])
        if self._bias is not None:
            actual = actual + self._bias
        if hw.phase_noise_std:
            noise = noise if noise is not None else self._noise(self._queries, actual.shape[0])
            actual = actual + hw.phase_noise_std * noise.normal(PHASE, actual)
        # Electronic parameters (biases) are neither wrapped, quantised nor perturbed.
        return actual if self._all_phases else torch.where(self._phase_mask, actual, phases)

    def _context(self, noise: NoiseStreams | None = None) -> ForwardContext:
        return ForwardContext(
            self.hardware,
            self._bs_error,
            self._amplitude,
            self.dtype,
            noise=noise,
            merge=self.merge_cores,
            reuse=self.reuse_settings,
        )

    # A chunk's intermediates (settings × inputs × widest stage) stay within this many bytes, about
    # a core's L2, so that they live in cache: a forward over many settings or a large batch is
    # otherwise bound by memory traffic, not arithmetic (a batched call of 21 settings ran 2x
    # slower than 21 calls of one before its settings were chunked too; hjb-tt's 9 × 2,000 call
    # in complex128 ran 1.1-1.3x faster in chunks of 1 MiB than of 8 MiB). ``cache_elements``, the
    # same budget in real values of the chip's dtype, is what ``_chunks`` reads (settable).
    cache_bytes = 2**20
    # The settings whose matrices are realised at once keep their block matrices within this many
    # complex values (~2 MB as complex64): a mesh build is a few elementwise passes per MZI column
    # over all of them, bound by memory traffic once they leave cache (the dense 784→1024 layer,
    # 21 settings: 1.3-1.4x the time of 21 calls of one when 10 settings were built at once).
    realise_elements = 2**18
    # Apply a TT layer's cores merged where that is exact and cheaper (tensor_train.py); False keeps
    # the chip's own core-by-core order (same results to rounding; the recorded histories of the
    # golden tests were made that way).
    merge_cores = True
    # Settings of one call that share a matrix's phases (or the first layers) with the call's first
    # setting reuse its realised matrix (or those layers' outputs), bit for bit (network.py); False
    # computes every setting in full (for timing the reuse).
    reuse_settings = True

    def _chunks(self, q: int, b: int) -> tuple[int, int, int]:
        """(settings realised at once, settings per chunk, inputs per chunk): the realised matrices
        and outputs of the settings realised at once stay within ``max_elements``, their block
        matrices within ``realise_elements``; a chunk's intermediates within ``cache_elements`` (at
        least 64 inputs of one setting)."""
        net = self.network
        # per setting: ~4 complex k×k matrices per block (V†, U, Σ V†, the product), their real
        # GEMM forms, and the detected outputs of every layer
        blocks = sum(m.n_blocks * m.block**2 for layer in net.layers for _, m in layer._matrices())
        per_setting = 8 * blocks + 2 * b * sum(layer.out_features for layer in net.layers)
        realised = max(1, min(q, self.max_elements // per_setting, self.realise_elements // blocks))
        per_input = 2 * net.widest
        inputs = min(b, max(64, self.cache_elements // per_input))
        settings = max(1, min(realised, self.cache_elements // (inputs * per_input)))
        return realised, settings, inputs

    def _threads(self, phases, x, taps: bool = False):
        """The thread count for this call, for all of it: the input checks and the copies of a small
        call pay a fork/join per operation too (see threads.py)."""
        shape = lambda a: a.shape[0] if hasattr(a, "shape") and len(a.shape) else 1
        return self.threads.apply(self.threads.key(shape(phases), shape(x), taps))

    def outputs(self, phases, x) -> torch.Tensor:
        """Detected outputs ``[Q, B, out]`` of Q settings on the same inputs ``x[B, in]``."""
        with self._threads(phases, x):
            return self._forward(self._check_phases(phases), self._check_inputs(x))

    def model_outputs(self, phases, x) -> torch.Tensor:
        """The chip's simulation model, differentiable in ``phases[Q, P]`` by autograd: the outputs
        ``[Q, B, out]`` that ``outputs`` returns, its static errors included, the DACs' rounding
        passed straight through. Not a query (it counts none and is not in the Oracle): a first-order
        reference that trains on the chip's own parameters — what in-situ backpropagation on the chip
        or training on its calibrated model would compute. A chip with per-query noise is refused:
        the gradient of one noisy reading is not the gradient of what the chip computes."""
        if self._dynamic:
            raise ValueError(
                "model_outputs differentiates a noise-free chip; this chip draws per-query noise "
                f"(hardware {self.hardware.name!r}): use its preset without readout and phase noise"
            )
        phases, x = self._check_phases(phases), self._check_inputs(x)
        with self._threads(phases, x):
            out = self.network.forward(
                self.program(phases, straight_through=True), x, self._context(), gains=self._gains
            )
        return self.output_gain * out if self.output_gain != 1.0 else out

    @property
    def layer_features(self) -> list[int]:
        """Output width of every layer (the detectors ``layer_outputs`` reads)."""
        return [layer.out_features for layer in self.network.layers]

    def layer_outputs(self, phases, x) -> list[torch.Tensor]:
        """Every layer's output ``[Q, B, out_i]`` for Q settings on the same inputs: hidden layers
        after their electronic activation, the last as ``outputs`` returns it (with ``output_gain``).
        Costs Q queries, like ``outputs``."""
        with self._threads(phases, x, taps=True):
            return self._forward(self._check_phases(phases), self._check_inputs(x), taps=True)

    def _evaluate(self, phases, x, first_query: int, taps: bool = False):
        """``outputs`` (``layer_outputs`` with ``taps``) as if the chip had answered ``first_query``
        queries before: the settings see the noise of queries ``first_query, first_query + 1, ...``.
        How a worker's replica evaluates its share of a call (``parallel.py``); counts Q queries."""
        with self._threads(phases, x, taps):
            return self._forward(self._check_phases(phases), self._check_inputs(x), taps, first_query)

    def _forward(self, phases: torch.Tensor, x: torch.Tensor, taps: bool = False, first_query=None):
        q, b = phases.shape[0], x.shape[0]
        step, settings_chunk, batch_chunk = self._chunks(q, b)
        first = self._queries if first_query is None else first_query  # whose noise the settings see
        with torch.inference_mode():
            parts = []
            for i in range(0, q, step):
                noise = self._noise(first + i, min(step, q - i))
                out = self.network.forward(
                    self.program(phases[i : i + step], noise),
                    x,
                    self._context(noise),
                    taps=taps,
                    batch_chunk=batch_chunk,
                    gains=self._gains,
                    settings_chunk=settings_chunk,
                )
                parts.append(out if taps else [out])
            layers = [p[0] if len(parts) == 1 else torch.cat(p) for p in zip(*parts)]
            if self.output_gain != 1.0:
                layers[-1] = self.output_gain * layers[-1]
        # cloned outside inference mode: ordinary tensors callers may edit or use in autograd
        layers = [t.clone() for t in layers]
        self._queries += q
        self._inferences += q * b
        return layers if taps else layers[0]

    def loss(self, phases, batch) -> torch.Tensor:
        """Loss per setting ``[Q]`` on one batch ``(x, targets)``."""
        x, y = batch
        with self._threads(phases, x):
            phases, x = self._check_phases(phases), self._check_inputs(x)
            y = torch.as_tensor(y, device=self.device)
            if self._check_targets is not None:
                self._check_targets(y, x.shape[0], self.network.out_features)
            return self.loss_fn(self._forward(phases, x), y)

    def summary(self) -> dict:
        """A JSON-able description of the chip: its network's ``OpticalNetwork.summary``, its ``hardware``
        (``HardwareModel.describe``), ``seed``, ``output_gain``, the electronic gain of every optical
        matrix (``gains``, network order) and the simulation ``dtype`` (``complex64`` or ``complex128``)."""
        return {
            **self.network.summary(),
            "hardware": self.hardware.describe(),
            "seed": self.seed,
            "output_gain": self.output_gain,
            "gains": list(self._gains),
            "dtype": str(self.dtype).replace("torch.", ""),
        }


def _check_gains(network: OpticalNetwork, gains) -> tuple[float, ...]:
    """``gains`` (default: the network's nominal ones) as Python floats, one positive finite
    number per optical matrix."""
    if gains is None:
        return network.nominal_gains()
    n = network.n_matrices
    values = tuple(gains) if isinstance(gains, (Sequence, np.ndarray)) else ()
    ok = len(values) == n and all(
        isinstance(g, (int, float, np.integer, np.floating))
        and not isinstance(g, (bool, np.bool_))
        and math.isfinite(g)
        and g > 0
        for g in values
    )
    if not ok:
        raise ValueError(
            f"gains must be {n} positive finite numbers (one electronic gain per optical matrix "
            f"of the network), got {gains!r}"
        )
    return tuple(float(g) for g in values)


class ChipOracle:
    """The Oracle a trainer receives (a ``LayerTapOracle``): it forwards to a chip and exposes
    nothing else of it."""

    __slots__ = ("_call",)

    def __init__(self, chip: Chip):
        methods = {
            "n_params": lambda: chip.n_params,
            "queries": lambda: chip.queries,
            "inferences": lambda: chip.inferences,
            "continue_from": chip.continue_from,
            "param_slices": chip.param_slices,
            "initial_params": chip.initial_params,
            "outputs": chip.outputs,
            "loss": chip.loss,
            "layer_features": lambda: chip.layer_features,
            "layer_outputs": chip.layer_outputs,
        }
        object.__setattr__(self, "_call", lambda name, *a, **k: methods[name](*a, **k))

    @property
    def n_params(self) -> int:
        """``Chip.n_params``: the length P of the parameter vector (``Oracle.n_params``)."""
        return self._call("n_params")

    @property
    def queries(self) -> int:
        """``Chip.queries``: the settings the chip has evaluated so far, through this view or otherwise
        (``Oracle.queries``)."""
        return self._call("queries")

    @property
    def inferences(self) -> int:
        """``Chip.inferences``: single-input forwards so far (queries × batch size); not part of the Oracle
        protocol."""
        return self._call("inferences")

    def continue_from(self, queries: int) -> None:
        """``Chip.continue_from``: not part of the Oracle protocol, a simulated chip's bookkeeping that
        lets a resumed run continue its noise streams (``ZOTrainer.load_checkpoint``)."""
        self._call("continue_from", queries)

    def param_slices(self, level: str = "layer") -> list[ParamSlice]:
        """``Chip.param_slices``: named slices of the parameter vector at ``level``
        (``Oracle.param_slices``)."""
        return self._call("param_slices", level)

    def initial_params(self, seed: int = 0) -> torch.Tensor:
        """``Chip.initial_params``: a random start ``[P]``, phases uniform in [0, 2π) rad, biases zero
        (``Oracle.initial_params``)."""
        return self._call("initial_params", seed)

    def outputs(self, phases, x) -> torch.Tensor:
        """``Chip.outputs``: detected outputs ``[Q, B, out]`` of ``phases[Q, P]`` on ``x[B, in]``; Q queries
        (``Oracle.outputs``)."""
        return self._call("outputs", phases, x)

    def loss(self, phases, batch) -> torch.Tensor:
        """``Chip.loss``: the loss per setting ``[Q]`` on one ``batch = (x, targets)``; Q queries
        (``Oracle.loss``)."""
        return self._call("loss", phases, batch)

    @property
    def layer_features(self) -> list[int]:
        """``Chip.layer_features``: the output width of every layer (``LayerTapOracle.layer_features``)."""
        return self._call("layer_features")

    def layer_outputs(self, phases, x) -> list[torch.Tensor]:
        """``Chip.layer_outputs``: every layer's output ``[Q, B, out_i]``; Q queries
        (``LayerTapOracle.layer_outputs``)."""
        return self._call("layer_outputs", phases, x)

    def __setattr__(self, name, value):
        raise AttributeError("the Oracle is read-only")
