"""OpticalNetwork: optical layers with electronic activations between them, plus named models.

The network's trainable state is one flat vector: every layer's phases (mesh phases and
attenuator phases) and its electronic biases, layer after layer. ``param_slices(level)``
names contiguous pieces of it at four levels: ``layer``, ``core`` (a TT core, a dense layer's
matrix, or a bias), ``group`` (the V† meshes, Σ attenuators or U meshes of one core) and
``mesh`` (one mesh, one block's attenuator column, one bias vector).

Besides that vector, every optical matrix (a dense layer's matrix, each core of a TT layer)
has one electronic gain, held by the chip, not by the network: ``nominal_gains()`` are those of
a randomly initialised chip, and deploying weights (``from_weights``) returns a ``Program`` —
the flat vector and the gains — leaving the network untouched, so one network can back several
chips with different deployments.

Readout: every layer's outputs are detected — coherently (signed field, homodyne) or as
intensity (|field|²) — chosen once per network; between TT cores the field is always read by I/Q
receivers (both quadratures, kept complex: ``layers.DETECTIONS``). The electronic activation follows
detection.

``digital_forward(weights, x)`` is the same network in the weight domain (torch autograd
works through it), on one weight object per layer of the layer's type (``DenseWeights``,
``TTWeights``); ``weights(phases, gains)`` reads the ideal weights a phase vector encodes, and
``flatten_weights`` / ``unflatten_weights`` turn weights into plain named arrays and back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..choices import LEVELS  # the names, torch-free for the CLI
from ..validation import check_seed
from .layers import (
    READOUTS,
    ForwardContext,
    LayerWeights,
    OpticalLayer,
    OpticalLinear,
    ParamSlice,
    TTOpticalLinear,
    realise_matrices,
)

ACTIVATIONS = {
    "relu": torch.relu,
    "sin": torch.sin,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "identity": lambda x: x,
}


@dataclass(frozen=True, eq=False)
class Program:
    """A deployment of weights onto a network: the flat phase/bias vector ``params`` and the
    electronic gain of every optical matrix (``gains``, Python floats, in network order: layer
    by layer, matrix by matrix — TT cores in order). A ``Chip`` built with these gains and
    programmed with these params realises the weights."""

    params: np.ndarray
    gains: tuple[float, ...]

    def __post_init__(self):
        object.__setattr__(self, "params", np.asarray(self.params))
        object.__setattr__(self, "gains", tuple(float(g) for g in self.gains))


class OpticalNetwork:
    """Optical layers with electronic activations between them."""

    def __init__(
        self,
        layers: list[OpticalLayer],
        activations: list[str],
        readout: str = "coherent",
        name: str = "network",
    ):
        if not layers:
            raise ValueError("a network needs at least one layer")
        if len(activations) != len(layers) - 1:
            raise ValueError(
                f"{len(layers)} layers need {len(layers) - 1} activations between them, "
                f"got {len(activations)}"
            )
        for a in activations:
            if a not in ACTIVATIONS:
                raise ValueError(
                    f"unknown activation {a!r}; accepted activations are {', '.join(ACTIVATIONS)}"
                )
        if readout not in READOUTS:
            raise ValueError(f"unknown readout {readout!r}; accepted readouts are {', '.join(READOUTS)}")
        for i, (a, b) in enumerate(zip(layers, layers[1:])):
            if a.out_features != b.in_features:
                raise ValueError(
                    f"layer {i} outputs {a.out_features} features but layer {i + 1} takes {b.in_features}"
                )
        self.layers, self.activations, self.readout, self.name = (
            list(layers),
            list(activations),
            readout,
            name,
        )

    # ---- sizes and the flat parameter vector ---------------------------------------------
    @property
    def in_features(self) -> int:
        """Input width: the first layer's ``in_features`` (one input modulator each)."""
        return self.layers[0].in_features

    @property
    def out_features(self) -> int:
        """Output width: the last layer's ``out_features`` (one output detector each)."""
        return self.layers[-1].out_features

    @property
    def n_params(self) -> int:
        """Length P of the flat parameter vector: every layer's phases (rad) and electronic biases, layer
        after layer (``phase_mask`` tells them apart)."""
        return sum(layer.n_params for layer in self.layers)

    @property
    def n_mzis(self) -> int:
        """MZIs of the network as laid out, attenuators included (one MZI each; ``padded_mzis``: with every
        block full)."""
        return sum(layer.n_mzis for layer in self.layers)

    @property
    def padded_mzis(self) -> int:
        """MZIs with every block a full k×k U Σ V† (``layers.EDGE_BLOCKS``' padded)."""
        return sum(layer.padded_mzis for layer in self.layers)

    @property
    def n_matrices(self) -> int:
        """Optical matrices of the network, each with one electronic gain."""
        return sum(layer.n_matrices for layer in self.layers)

    def nominal_gains(self) -> tuple[float, ...]:
        """The electronic gains of a randomly initialised chip, one per matrix in network order."""
        return tuple(g for layer in self.layers for g in layer.nominal_gains())

    def _layer_gains(self, gains: Sequence[float] | None) -> list[tuple[float, ...] | None]:
        """``gains`` (one per matrix, network order) split by layer; ``None`` for every layer if None."""
        if gains is None:
            return [None] * len(self.layers)
        gains = tuple(gains)
        if len(gains) != self.n_matrices:
            raise ValueError(f"the network has {self.n_matrices} optical matrices, got {len(gains)} gains")
        out, g = [], 0
        for layer in self.layers:
            out.append(gains[g : g + layer.n_matrices])
            g += layer.n_matrices
        return out

    def _offsets(self):
        p = z = 0
        for layer in self.layers:
            yield layer, p, z
            p += layer.n_params
            z += layer.n_mzis

    def param_slices(self, level: str = "layer") -> list[ParamSlice]:
        """Named contiguous slices of the flat parameter vector at ``level`` (see module docstring)."""
        if level not in LEVELS:
            raise ValueError(f"unknown slice level {level!r}; accepted levels are {', '.join(LEVELS)}")
        out = []
        for i, (layer, p, _) in enumerate(self._offsets()):
            if level == "layer":
                out.append(ParamSlice(f"layer{i}", p, p + layer.n_params, "layer"))
            else:
                out += [s.shifted(p, f"layer{i}") for s in layer.param_slices(level)]
        return out

    @property
    def phase_mask(self) -> np.ndarray:
        """True where the flat vector holds an optical phase, False for electronic parameters."""
        return np.concatenate([layer.phase_mask for layer in self.layers])

    @property
    def crosstalk_pairs(self) -> np.ndarray:
        """Index pairs (i, j) of neighbouring phase shifters in the flat vector, both directions."""
        return np.concatenate([layer.crosstalk_pairs + p for layer, p, _ in self._offsets()])

    def init_params(self, seed: int = 0) -> np.ndarray:
        """Random phases in [0, 2π) and zero biases."""
        rng = np.random.default_rng(check_seed("the seed of the initial phases", seed))
        return np.concatenate([layer.init_params(rng) for layer in self.layers])

    # ---- optical forward -----------------------------------------------------------------
    def forward(
        self,
        params: torch.Tensor,
        x: torch.Tensor,
        ctx: ForwardContext,
        taps: bool = False,
        batch_chunk: int | None = None,
        gains: Sequence[float] | None = None,
        settings_chunk: int | None = None,
    ) -> torch.Tensor | list[torch.Tensor]:
        """Detected outputs ``[Q, B, out]`` for physical parameters ``[Q, P]`` and inputs ``[B, in]``,
        on matrices with electronic ``gains`` (one Python float per matrix; nominal if None).

        With ``taps``, every layer's output as a list: hidden layers after their electronic
        activation (what the next layer's modulators receive), the last layer as detected.
        The matrices of all Q settings are realised at once; the inputs then run through in
        chunks of ``settings_chunk`` settings × ``batch_chunk`` inputs, so that a chunk's
        intermediates stay in cache (a large call is memory-bound otherwise).
        """
        q, b = params.shape[0], x.shape[-2]
        batch_chunk = b if batch_chunk is None else min(batch_chunk, b)
        settings_chunk = q if settings_chunk is None else min(settings_chunk, q)
        realised = self.realise(params, ctx, gains, batch_chunk)
        chunks = x.split(batch_chunk, -2)
        starts = self._shared_stages(params, realised, ctx)
        if starts is not None:
            return self._run_reusing(realised, chunks, ctx, taps, starts, settings_chunk)
        rows = [slice(i, i + settings_chunk) for i in range(0, q, settings_chunk)]
        parts = []
        for r in rows:
            part = realised if len(rows) == 1 else [layer.settings(r) for layer in realised]
            part_ctx = ctx if len(rows) == 1 else ctx.for_settings(r.start, min(r.stop, q))  # their noise
            parts.append(_cat([self._run(part, chunk, part_ctx, taps) for chunk in chunks], -2))
        outs = _cat(parts, 0)
        return outs if taps else outs[-1]

    def realise(self, params: torch.Tensor, ctx: ForwardContext, gains, batch: int) -> list:
        """Every layer's ``RealisedLayer`` for physical parameters ``[Q, P]``, for chunks of ``batch``
        inputs; every matrix of the network built in one pass per mesh layout (``realise_matrices``)."""
        layers = [
            (layer, params[..., p : p + layer.n_params], ctx.sub(z, z + layer.n_mzis), g)
            for (layer, p, z), g in zip(self._offsets(), self._layer_gains(gains))
        ]
        jobs = [layer.matrix_jobs(lp, lc, g) for layer, lp, lc, g in layers]
        matrices = iter(realise_matrices([job for part in jobs for job in part]))
        return [
            layer.realise(lp, lc, g, self.readout, batch, [next(matrices) for _ in part])
            for (layer, lp, lc, g), part in zip(layers, jobs)
        ]

    def _shared_stages(self, params: torch.Tensor, realised, ctx: ForwardContext) -> torch.Tensor | None:
        """Per setting, how many leading stages of the forward (every layer's ``stages``, in order)
        it shares with setting 0 — their parameters equal bit for bit, on a chip whose detection is
        deterministic, so that what they compute is equal too (a tensor-wise probe perturbs one
        slice). None when no setting shares any."""
        if not ctx.reuse or params.shape[0] < 2 or ctx.hardware.reads_noise:
            return None
        same = [
            (params[:, p + a : p + b] == params[:1, p + a : p + b]).all(1)
            for (layer, p, _), r in zip(self._offsets(), realised)
            for a, b in layer.stages(r)
        ]
        starts = torch.stack(same, 1).cumprod(1).sum(1)
        starts[0] = 0  # the reference setting runs in full
        return starts if bool((starts > 0).any()) else None

    def _run_reusing(self, realised, chunks, ctx, taps: bool, starts: torch.Tensor, settings_chunk: int):
        """The forward of settings that share their first ``starts[i]`` stages with setting 0: what
        enters their first own stage is setting 0's (computed once), the rest runs from there. Bit
        for bit what the plain forward gives, on a deterministic chip."""
        n = len(self.layers)
        stage = [
            (i, s)
            for i, (layer, r) in enumerate(zip(self.layers, realised))
            for s in range(len(layer.stages(r)))
        ]
        reference = []  # per batch chunk: (layer outputs, per layer what enters each stage)
        for c in chunks:
            records = [[] for _ in range(n)]
            reference.append(
                (
                    self._run([r.settings(slice(0, 1)) for r in realised], c, ctx, True, records=records),
                    records,
                )
            )
        outs = [torch.cat([ref[0][i] for ref in reference], -2) for i in range(n)]  # [1, B, out_i]
        outs = [o.expand(starts.shape[0], *o.shape[1:]).clone() for o in outs]
        for shared in torch.unique(starts[1:]).tolist():
            rows = (starts == shared).nonzero()[:, 0]
            rows = rows[rows > 0]
            if shared == len(stage):
                continue  # the same setting as the reference: its outputs are already there
            i, s = stage[shared]
            for sub in rows.split(settings_chunk):
                part = [r.settings(sub) for r in realised]
                ran = []
                for c, (ref_outs, records) in zip(chunks, reference):
                    entering = records[i][s - 1] if s else (c if i == 0 else ref_outs[i - 1])
                    x = entering if entering is c else entering.expand(len(sub), *entering.shape[1:])
                    ran.append(self._run(part, x, ctx, True, i, s))
                for j, out in enumerate(_cat(ran, -2), i):
                    outs[j][sub] = out
        return outs if taps else outs[-1]

    def _run(self, realised, x, ctx: ForwardContext, taps: bool, start=0, stage=0, records=None) -> list:
        """Layers ``start..`` on ``x`` (what enters layer ``start``'s stage ``stage``): every one's
        output with ``taps``, else the last's; ``records[i]`` receives what enters each later stage
        of layer i."""
        outs = []
        for i in range(start, len(self.layers)):
            layer, r = self.layers[i], realised[i]
            # each layer's detections are counted from 0 in every chunk: a detection's noise stage
            y = layer.run(
                r,
                x,
                ctx.at_layer(i),
                self.readout,
                stage if i == start else 0,
                None if records is None else records[i],
            )
            x = self.activation(i)(y)
            if taps or i == len(self.layers) - 1:
                outs.append(x)
        return outs

    @property
    def widest(self) -> int:
        """The most values per input any stage of the network holds (sizes batch chunks)."""
        return max(layer.widest for layer in self.layers)

    # ---- weight domain -------------------------------------------------------------------
    def weights(self, params, gains: Sequence[float] | None = None) -> list[LayerWeights]:
        """The ideal digital weights encoded by a phase vector ``[P]`` on matrices with electronic
        ``gains`` (nominal if None): complex matrices / cores, real biases."""
        params = torch.as_tensor(np.asarray(params), dtype=torch.float64)
        return [
            layer.weights_from_phases(params[p : p + layer.n_params], g)
            for (layer, p, _), g in zip(self._offsets(), self._layer_gains(gains))
        ]

    def from_weights(self, weights: Sequence[LayerWeights]) -> Program:
        """The ``Program`` realising digital ``weights`` (one ``layer.weights_type`` per layer):
        phases and biases, and every matrix's electronic gain. The network is left untouched."""
        if len(weights) != len(self.layers):
            raise ValueError(f"expected weights for {len(self.layers)} layers, got {len(weights)}")
        parts, gains = [], []
        for layer, w in zip(self.layers, weights):
            phases, g = layer.program(w)
            parts.append(phases)
            gains += g
        return Program(np.concatenate(parts), tuple(gains))

    def digital_layer(self, i: int, w: LayerWeights, x: torch.Tensor) -> torch.Tensor:
        """Layer ``i`` in the weight domain, before its activation: ``[B, out_i]`` (``layer.digital``)."""
        return self.layers[i].digital(w, x, self.readout)

    def activation(self, i: int):
        """The electronic activation after layer ``i`` (identity after the last layer)."""
        return ACTIVATIONS[self.activations[i]] if i < len(self.activations) else ACTIVATIONS["identity"]

    def digital_forward(self, weights: Sequence[LayerWeights], x: torch.Tensor) -> torch.Tensor:
        """The network in the weight domain (ideal, differentiable): ``[B, out]``."""
        for i, w in enumerate(weights):
            x = self.activation(i)(self.digital_layer(i, w, x))
        return x

    def random_weights(self, seed: int = 0, requires_grad: bool = False) -> list[LayerWeights]:
        """Real weights with He-style scale (``layer.random_weights``, layer by layer from one
        generator seeded by ``seed``): dense W ~ N(0, 2/in); TT cores scaled so that the
        contracted matrix has the same per-entry variance; zero biases. ``requires_grad``
        makes them leaves of an autograd graph (for the digital trainers)."""
        g = torch.Generator().manual_seed(check_seed("the seed of the random weights", seed))
        out = [layer.random_weights(g) for layer in self.layers]
        for t in self.weight_tensors(out):
            t.requires_grad_(requires_grad)
        return out

    @staticmethod
    def weight_tensors(weights: Sequence[LayerWeights]) -> list[torch.Tensor]:
        """Every tensor of a weight list (cores or matrix, then bias, layer by layer)."""
        return [t for w in weights for t in w.tensors()]

    def unflatten_weights(self, arrays: Mapping[str, np.ndarray]) -> list[LayerWeights]:
        """The weights ``flatten_weights`` wrote (``layer{i}.weight`` or ``layer{i}.core{k}``, and
        ``layer{i}.bias`` where there is one), checked against this network's shapes."""
        return [layer.unflatten(arrays, f"layer{i}") for i, layer in enumerate(self.layers)]

    def summary(self) -> dict:
        """A JSON-able description (``photonzo info`` prints it): ``name``, ``readout``, ``in``, ``out``,
        ``mzis``, ``padded_mzis``, optical ``phases``, ``params`` (P, biases included), ``weights`` (the
        entries of the digital weights: dense matrices and TT cores) and ``layers``: per layer its
        ``OpticalLayer.summary``, its name (``layer{i}``) and the activation after it (the last has
        none)."""
        layers = []
        for i, layer in enumerate(self.layers):
            entry = {"name": f"layer{i}", **layer.summary()}
            if i < len(self.activations):
                entry["activation"] = self.activations[i]
            layers.append(entry)
        return {
            "name": self.name,
            "readout": self.readout,
            "in": self.in_features,
            "out": self.out_features,
            "mzis": self.n_mzis,
            "padded_mzis": self.padded_mzis,
            "phases": int(self.phase_mask.sum()),
            "params": self.n_params,
            "weights": sum(entry["weights"] for entry in layers),
            "layers": layers,
        }


def flatten_weights(weights: Sequence[LayerWeights]) -> dict[str, np.ndarray]:
    """Weights as plain named arrays (for ``np.savez``, no pickles): ``layer{i}.weight`` or
    ``layer{i}.core{k}``, and ``layer{i}.bias``; ``OpticalNetwork.unflatten_weights`` reads them."""
    return {key: a for i, w in enumerate(weights) for key, a in w.arrays(f"layer{i}").items()}


# ---- named models --------------------------------------------------------------------------

MODELS = {
    # The tensorized MNIST MLP of the TONN reference code: 784 → 1024 → 10, ReLU.
    "mnist-tt": dict(
        layers=[
            ("tt", 784, 1024, (7, 4, 4, 7), (8, 4, 4, 8), 6),
            ("tt", 1024, 10, (8, 4, 4, 8), (1, 5, 2, 1), 6),
        ],
        activations=["relu"],
        doc="784→1024→10 TT MLP (rank 6), the TONN reference MNIST model",
    ),
    "mnist-dense": dict(
        layers=[("dense", 784, 1024), ("dense", 1024, 10)],
        activations=["relu"],
        doc="784→1024→10 dense optical MLP, the dense counterpart of mnist-tt",
    ),
    # The reference TT-PINN for the 20-dim HJB equation: 21 → 512 → 512 → 1, sine activations.
    "hjb-tt": dict(
        layers=[
            ("tt", 21, 512, (1, 1, 3, 7), (8, 4, 4, 4), 2),
            ("tt", 512, 512, (4, 4, 4, 8), (8, 4, 4, 4), 2),
            ("dense", 512, 1),
        ],
        activations=["sin", "sin"],
        doc="21→512→512→1 TT-PINN (rank 2, sine) for HJB-20",
    ),
    "hjb-dense": dict(
        layers=[("dense", 21, 512), ("dense", 512, 512), ("dense", 512, 1)],
        activations=["sin", "sin"],
        doc="21→512→512→1 dense optical PINN, the dense counterpart of hjb-tt",
    ),
    # Small models for the 8×8 digits that work offline and in seconds.
    "digits-tt": dict(
        layers=[("tt", 64, 64, (4, 4, 4), (4, 4, 4), 4), ("dense", 64, 10)],
        activations=["relu"],
        doc="64→64→10, first layer TT (rank 4), for the 8×8 digits",
    ),
    "digits-dense": dict(
        layers=[("dense", 64, 64), ("dense", 64, 10)],
        activations=["relu"],
        doc="64→64→10 dense optical MLP for the 8×8 digits",
    ),
    # MixedTrain's setting (Gu et al., AAAI 2021): MNIST downsampled to 8×8 on a small optical MLP.
    "mnist8-dense": dict(
        layers=[("dense", 64, 24), ("dense", 24, 24), ("dense", 24, 10)],
        activations=["relu", "relu"],
        doc="64→24→24→10 dense optical MLP for 8×8 MNIST, MixedTrain's on-chip training setting",
    ),
}


def build_network(
    name: str,
    block: int = 8,
    mesh: str = "clements",
    readout: str = "coherent",
    edge_blocks: str = "rectangular",
) -> OpticalNetwork:
    """One of the named models in ``MODELS`` (``edge_blocks``: see ``layers.EDGE_BLOCKS``)."""
    try:
        spec = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; accepted models are {', '.join(MODELS)}") from None
    layers = []
    for kind, n_in, n_out, *tt in spec["layers"]:
        if kind == "tt":
            layers.append(
                TTOpticalLinear(
                    *tt, block=block, mesh=mesh, in_features=n_in, out_features=n_out, edge_blocks=edge_blocks
                )
            )
        else:
            layers.append(OpticalLinear(n_in, n_out, block=block, mesh=mesh, edge_blocks=edge_blocks))
    return OpticalNetwork(layers, spec["activations"], readout=readout, name=name)


def dense_equivalent_mzis(network: OpticalNetwork) -> int:
    """MZIs of one N×N-style SVD realisation per layer: meshes of out and in modes plus min(out, in)
    attenuators."""
    return sum(
        o * (o - 1) // 2 + i * (i - 1) // 2 + min(o, i)
        for o, i in ((layer.out_features, layer.in_features) for layer in network.layers)
    )


def _cat(parts: list[list[torch.Tensor]], dim: int) -> list[torch.Tensor]:
    """Per layer, the parts' outputs joined along ``dim`` (the one part itself if alone)."""
    return parts[0] if len(parts) == 1 else [torch.cat(layer, dim) for layer in zip(*parts)]
