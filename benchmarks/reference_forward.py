"""The chip forward as main had it before issue 15 (dfd7cf1), kept for the speed comparison only.

What it does differently from today's forward (photonzo/photonics/{network,layers,tensor_train}.py):
every optical matrix is built on its own (``mesh_matrix`` per V†/U group, then one bmm per block);
a TT layer's cores are applied one by one; all settings of a settings chunk run through each batch
chunk together, the batch chunk shrinking as the settings grow; nothing is reused across settings.
Its outputs equal today's to rounding (``tests/test_benchmarks.py`` checks).

    use_reference_forward(chip)          # the chip forwards the old way ...
    use_reference_forward(chip, False)   # ... and today's way again

It reaches into the chip's internals, as a copy of old internals must; the benchmarks themselves
use public names only (tests/test_benchmarks.py).
"""

from __future__ import annotations

import math

import torch

from photonzo.photonics.layers import OpticalLinear, RealisedMatrix, TTOpticalLinear
from photonzo.photonics.mesh import mesh_matrix
from photonzo.photonics.mzi import mzi_coefficients
from photonzo.photonics.tensor_train import tt_contract

# the batch-chunk budget (values) of the old forward: its own, not today's per-dtype ``cache_elements``
OLD_CACHE_ELEMENTS = 2**20


def _block_matrices(m, params, ctx, gain):
    nb, k = m.n_blocks, m.block
    if len(m.classes) != 1 or (m.classes[0].h, m.classes[0].w) != (k, k):
        raise ValueError(
            "the old forward knows full k×k blocks only: build the network with edge_blocks='padded'"
        )
    (blocks,) = m.classes
    lead = params.shape[:-1]
    pm, mm = m.layout.n_phases, m.layout.n_mzis

    def mesh(start, mzi_start):
        stop = mzi_start + nb * mm
        bs = None if ctx.bs_error is None else ctx.bs_error[mzi_start:stop].reshape(nb, mm, 2)
        phases = params[..., start : start + nb * pm].unflatten(-1, (nb, pm))
        return mesh_matrix(m.layout, phases, bs, ctx.amplitude, ctx.dtype)

    v, u = mesh(blocks.starts[0], blocks.mzi_starts[0]), mesh(blocks.starts[2], blocks.mzi_starts[2])
    s0, ms0 = blocks.starts[1], blocks.mzi_starts[1]
    theta = params[..., s0 : s0 + nb * k].unflatten(-1, (nb, k))
    att_bs = None if ctx.bs_error is None else ctx.bs_error[ms0 : ms0 + nb * k].reshape(nb, k, 2)
    sigma = mzi_coefficients(theta, torch.zeros_like(theta), att_bs, ctx.amplitude, ctx.dtype)[0]
    w = (gain * u) @ (sigma[..., :, None] * v)
    return m.assemble([w.reshape(*lead, m.rows, m.cols, k, k)])


def _run_layer(layer, params, x, ctx, readout, gains):
    mats = [
        RealisedMatrix(_block_matrices(m, params[..., p : p + m.n_params], ctx.sub(z, z + m.n_mzis), g))
        for (_, m, p, z), g in zip(layer._offsets(), layer._gains(gains))
    ]
    bias = params[..., None, layer.n_phases :] if layer.bias else None
    if isinstance(layer, OpticalLinear):
        y = ctx.detect(mats[0](ctx.encode(x), real_out=readout == "coherent"), readout)
    elif isinstance(layer, TTOpticalLinear):

        def apply_core(k, v):
            rows = v.shape[-3:-1]
            mode = readout if k == 0 else "iq"
            field = mats[k](ctx.encode(v.flatten(-3, -2)), real_out=mode == "coherent")
            return ctx.detect(field, mode).unflatten(-2, rows)

        y = tt_contract(x, layer.in_shape, layer.out_shape, layer.ranks, apply_core)
    else:
        raise TypeError(f"no reference forward for {type(layer).__name__}")
    return y if bias is None else y + bias.to(y.dtype)


def use_reference_forward(chip, on: bool = True) -> None:
    """Make ``chip`` forward the old way (``on``), or today's way again."""
    chip.__dict__.pop("_forward", None)
    if on:
        chip._forward = reference_forward(chip)


def reference_forward(chip):
    """A ``Chip._forward`` replacement computing the old way (taps included)."""
    network = chip.network

    def chunks(q, b):
        per_setting = 8 * sum(
            m.n_blocks * m.block**2 for layer in network.layers for _, m in layer._matrices()
        )
        per_setting += 2 * b * sum(layer.out_features for layer in network.layers)
        settings = max(1, min(q, chip.max_elements // per_setting))
        inputs = max(64, OLD_CACHE_ELEMENTS // (settings * 2 * network.widest))
        return settings, min(b, inputs)

    def forward(phases, x, taps=False, first_query=None):
        q, b = phases.shape[0], x.shape[0]
        step, batch_chunk = chunks(q, b)
        gains = network._layer_gains(chip.gains)
        parts = []
        with torch.inference_mode():
            for i in range(0, q, step):
                params = chip.program(phases[i : i + step])
                ctx = chip._context()
                outs = []
                for chunk in x.split(batch_chunk):
                    h, layer_outs = chunk, []
                    for j, ((layer, p, z), g) in enumerate(zip(network._offsets(), gains)):
                        lp = params[..., p : p + layer.n_params]
                        h = network.activation(j)(
                            _run_layer(layer, lp, h, ctx.sub(z, z + layer.n_mzis), network.readout, g)
                        )
                        layer_outs.append(h)
                    outs.append(layer_outs)
                parts.append([torch.cat(o, -2) for o in zip(*outs)])
            layers = [torch.cat(p) for p in zip(*parts)]
            if chip.output_gain != 1.0:
                layers[-1] = chip.output_gain * layers[-1]
        layers = [t.clone() for t in layers]
        chip._queries += q
        chip._inferences += q * b
        return layers if taps else layers[-1]

    return forward


def products_per_forward(chip, phases, x) -> tuple[int, float]:
    """(matrix products one ``outputs`` call performs, the seconds they take when replayed alone with
    operands of the same shapes and dtypes) — the forward's GEMM floor."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        chip.outputs(phases, x)
    calls = [
        (e.name, e.input_shapes, e.input_dtypes)
        for e in prof.events()
        if e.name in ("aten::bmm", "aten::mm") and e.input_shapes
    ]
    dtypes = {"float": torch.float32, "double": torch.float64}
    dtypes.update({"c10::complex<float>": torch.complex64, "c10::complex<double>": torch.complex128})
    operands = [
        tuple(torch.randn(*s, dtype=dtypes[types[0]]) for s in shapes[:2]) for _, shapes, types in calls
    ]
    op = {"aten::bmm": torch.bmm, "aten::mm": torch.mm}
    best = math.inf
    for _ in range(3):
        t0 = _now()
        for (name, _, _), (a, b) in zip(calls, operands):
            op[name](a, b)
        best = min(best, _now() - t0)
    return len(calls), best


def _now() -> float:
    import time

    return time.perf_counter()
