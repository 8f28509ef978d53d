"""Tensor-train (TT) matrix algebra: contraction with an input, the dense matrix, merging cores,
and the cheapest grouping of cores for a forward.

A TT matrix of cores ``G_k[r_{k−1}, n_k, m_k, r_k]`` (k = 0..d−1, r_{−1} = r_{d−1} = 1) maps an
input indexed (m_0, .., m_{d−1}) (m_0 most significant) to an output indexed (n_0, .., n_{d−1}).
Core k is realised on the chip as the (r_{k−1}·n_k) × (m_k·r_k) matrix of its unfolding.

Merging consecutive cores a..b into one core of shape (r_{a−1}, Π n, Π m, r_b) gives the same
TT matrix with fewer, larger cores. When nothing non-linear happens between two cores (ideal
I/Q receivers, no converter quantisation or detector noise), a forward through the merged cores
computes exactly what the chip computes core by core, in fewer and larger matrix products;
``contraction_plan`` chooses the grouping that costs least for a batch.
"""

from __future__ import annotations

import itertools
import math

import torch

# Cost model of one real GEMM [rows, K] @ [K, N] on a CPU, in flop-equivalents: its flops, plus
# a charge per value read or written (small K or N make a product memory-bound, and each stage
# of a contraction also permutes its output once). Measured on a 2-core AVX2 VM: ~60 GFLOP/s on
# large products, a few GB/s of strided copies — about 30 flops per value moved.
_FLOPS_PER_VALUE_MOVED = 30
# A merged core realised for every setting of a call must stay small (complex values per setting).
MAX_MERGED_VALUES = 2**20


def tt_contract(
    x: torch.Tensor, in_shape, out_shape, ranks, apply_core, start=0, record=None
) -> torch.Tensor:
    """Contract ``x[..., B, Π m]`` with a TT matrix, last core first.

    ``apply_core(k, v)`` maps the slices ``v[..., B, S, m_k·r_k]`` to ``[..., B, S, r_{k−1}·n_k]``
    (it may prepend leading axes, e.g. the query axis). Returns ``[..., B, Π n]``.

    The rows S are (J, I): J the input indices still to contract, I the output indices done
    (n_k outermost). One permutation per core moves m_{k−1} out of the rows and n_k into them,
    the one copy a TT mat-vec needs.

    ``start`` > 0: ``x`` is the slices ``v`` after the last ``start`` cores were applied;
    ``record``: a list that receives ``v`` after each core but the last one applied.
    """
    d = len(in_shape)
    if start:
        v, done = x, math.prod(out_shape[d - start :])
    else:  # [..., B, J, m_{d−1}] (r_d = 1, I = 1); done: Π of the output factors produced (I)
        v, done = x.unflatten(-1, (math.prod(in_shape[:-1]), in_shape[-1])), 1
    for k in reversed(range(d - start)):
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
        if record is not None:
            record.append(v)
    raise AssertionError("unreachable: a TT has at least one core")


def tt_dense(cores: list[torch.Tensor]) -> torch.Tensor:
    """The dense ``[..., Π n, Π m]`` matrix of TT cores ``G_k[..., r_{k−1}, n_k, m_k, r_k]``."""
    return merge_cores(cores)[..., 0, :, :, 0]


def merge_cores(cores: list[torch.Tensor]) -> torch.Tensor:
    """Consecutive cores ``G_k[..., r, n_k, m_k, r']`` contracted over their shared ranks into one
    core ``[..., r_first, Π n, Π m, r_last]`` (the first core's indices most significant)."""
    w = cores[0]
    for g in cores[1:]:
        w = torch.einsum("...pija,...aklb->...pikjlb", w, g).flatten(-5, -4).flatten(-3, -2)
    return w


def merged_shapes(in_shape, out_shape, ranks, groups):
    """(in_shape, out_shape, ranks) of the TT whose cores are ``groups`` (ranges of cores) merged."""
    return (
        tuple(math.prod(in_shape[a:b]) for a, b in groups),
        tuple(math.prod(out_shape[a:b]) for a, b in groups),
        tuple(ranks[a] for a, _ in groups) + (1,),
    )


def _stage_cost(in_shape, out_shape, ranks, a: int, b: int, batch: int, real_readout: bool) -> float:
    """Cost of applying the merged cores a..b−1 to a batch (see ``_FLOPS_PER_VALUE_MOVED``)."""
    rows = batch * math.prod(in_shape[:a]) * math.prod(out_shape[b:])
    k = math.prod(in_shape[a:b]) * ranks[b] * (2 if b < len(in_shape) else 1)  # complex unless x
    n = ranks[a] * math.prod(out_shape[a:b]) * (1 if a == 0 and real_readout else 2)
    return 2 * rows * k * n + _FLOPS_PER_VALUE_MOVED * rows * (k + n)


def _merge_cost(in_shape, out_shape, ranks, a: int, b: int) -> float:
    """Cost of merging cores a..b−1 (complex multiply-adds, and the merged core's values)."""
    cost, size = 0.0, 0
    for c in range(a + 1, b):
        size = ranks[a] * math.prod(out_shape[a : c + 1]) * math.prod(in_shape[a : c + 1]) * ranks[c + 1]
        cost += 8 * size * ranks[c] + _FLOPS_PER_VALUE_MOVED * 2 * size
    return cost


def contraction_plan(in_shape, out_shape, ranks, batch: int, real_readout: bool, merge: bool = True):
    """The grouping of cores into merged cores that makes a forward of ``batch`` inputs cheapest.

    Returns a tuple of (start, stop) core ranges covering 0..d. ``merge=False`` (or a TT whose
    merges would exceed ``MAX_MERGED_VALUES``) keeps every core on its own: the chip's own order.
    ``real_readout``: the layer's output is read as a real quadrature (half the output values).
    """
    d = len(in_shape)
    singles = tuple((k, k + 1) for k in range(d))
    if not merge:
        return singles
    best, best_cost = singles, math.inf
    for cuts in itertools.product((False, True), repeat=d - 1):
        bounds = [0] + [k + 1 for k, cut in enumerate(cuts) if cut] + [d]
        groups = tuple(zip(bounds[:-1], bounds[1:]))
        sizes = [
            ranks[a] * math.prod(out_shape[a:b]) * math.prod(in_shape[a:b]) * ranks[b] for a, b in groups
        ]
        if any(b - a > 1 and s > MAX_MERGED_VALUES for (a, b), s in zip(groups, sizes)):
            continue
        cost = sum(
            _stage_cost(in_shape, out_shape, ranks, a, b, batch, real_readout)
            + _merge_cost(in_shape, out_shape, ranks, a, b)
            for a, b in groups
        )
        if cost < best_cost:
            best, best_cost = groups, cost
    return best
