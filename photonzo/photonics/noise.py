"""Per-query noise streams: every dynamic noise draw depends only on (chip seed, query, stage).

A chip's dynamic noise (phase jitter, shot and detector noise) is fresh for every query, and
reproducible: query n always sees the same noise, whichever call, settings chunk, batch chunk or
worker process evaluates it. So one call of Q settings returns, bit for bit, what Q calls of one
setting return, and a run spread over worker processes (``parallel.py``) equals the run in one.

Each (query n, stage s) has its own stream: numpy's SFC64 generator seeded by the SeedSequence of
(chip seed, ``DOMAIN``, s, n) — independent streams by numpy's seeding design. (A Philox keyed
by the seed with (s, n) in its counter would make them disjoint by construction, but draws its
normals ~1.3× slower here and costs about as much to make, ~15 µs: numpy builds a seed sequence
for every bit generator anyway.) The normals are numpy's ziggurat: table lookups and scalar
arithmetic, no vectorised transcendental functions whose last bits differ between CPUs (as
torch's ``randn`` has), so workers on other machines draw the same noise. A *stage* is one draw
site of a forward (``stage``):

    phase jitter when programming      PHASE
    a detection                        stage(layer, detection):
      layer      index of the layer in the network
      detection  j-th detection of that layer in one pass (a dense layer has one; a TT layer one
                 per core, in the order the cores are applied)

A detection draws all its noise at once, ``draws`` values per detected value: its shot noise,
then its detector noise (those that are on), for the in-phase quadrature, then for the
quadrature of an I/Q receiver — as ``[Q, rows..., draws, W]`` for a reading ``[Q, rows..., W]``.

Batch chunks: a stage's generators are made once per forward call and kept across its batch
chunks; numpy's ``standard_normal`` is prefix-consistent (n₁ draws then n₂ equal n₁ + n₂ draws,
tested), so the draws for the rows of one chunk are exactly those rows of one full-batch draw —
provided the batch is the outermost axis after the query axis, as in every forward here
(``[Q, B, out]``, TT cores ``[Q, B·S, width]``).

A chip without dynamic noise creates none of this.
"""

from __future__ import annotations

import numpy as np
import torch

from ..validation import check_seed

# a word of every stream's seed: keeps these streams apart from any other use of the chip seed
DOMAIN = 0x70686F746F6E7A6F  # "photonzo"

PHASE = 0  # the stage of the phase jitter drawn when a chip is programmed
_DETECTION = 1 << 56  # detection stages: this bit, then the layer (24 bits) and the detection (16)


def stage(layer: int, detection: int) -> int:
    """The stage key of a detection's noise (see the module docstring)."""
    for name, value, bits in (("layer", layer, 24), ("detection", detection, 16)):
        if not 0 <= value < 2**bits:
            raise ValueError(f"a noise stage's {name} must lie in 0..{2**bits - 1}, got {value}")
    return _DETECTION | layer << 16 | detection


def stream(seed: int, query: int, stage_key: int) -> np.random.Generator:
    """The generator of query ``query``'s noise at ``stage_key`` on the chip of ``seed``."""
    return np.random.Generator(np.random.SFC64(np.random.SeedSequence([seed, DOMAIN, stage_key, query])))


class NoiseStreams:
    """The noise of queries ``first .. first + count − 1`` in one forward (see the module docstring).

    ``count`` None: taken from the first draw (a forward whose query count the caller left open).
    ``select`` gives the streams of some of these queries; views share the generators, so a query's
    draws go on where they stopped whichever view draws them."""

    __slots__ = ("_store", "count", "first", "seed")

    def __init__(self, seed: int, first: int, count: int | None, _store: dict | None = None):
        self.seed = check_seed("the noise seed", seed)
        if isinstance(first, bool) or not isinstance(first, (int, np.integer)) or first < 0:
            raise ValueError(f"the first query index must be an integer >= 0, got {first!r}")
        if count is not None and (
            isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1
        ):
            raise ValueError(f"the query count must be a positive integer, got {count!r}")
        self.first, self.count = int(first), None if count is None else int(count)
        # stage → query → its generator, made at the first draw and kept for the whole call
        self._store: dict[int, dict[int, np.random.Generator]] = {} if _store is None else _store

    def select(self, start: int, stop: int) -> NoiseStreams:
        """The streams of this call's settings ``start:stop`` (queries ``first + start ..``)."""
        if not 0 <= start < stop or (self.count is not None and stop > self.count):
            raise ValueError(f"settings {start}:{stop} are not among the {self.count} of these streams")
        return NoiseStreams(self.seed, self.first + start, stop - start, self._store)

    def normal(self, stage_key: int, like: torch.Tensor, draws: int | None = None) -> torch.Tensor:
        """Standard normal values for ``like[count, ..., W]`` (its real dtype and device): shaped
        like it, or with ``draws`` values per value as ``[count, ..., draws, W]``. Row q comes from
        query ``first + q``'s stream at ``stage_key``, going on where its last draw stopped."""
        if self.count is None:
            self.count = int(like.shape[0])
        if like.ndim < 2 or like.shape[0] != self.count:
            raise RuntimeError(
                f"noise for {self.count} queries was asked for a tensor of shape {tuple(like.shape)}: "
                "the forward must keep the query axis first"
            )
        if like.dtype not in (torch.float32, torch.float64):
            raise TypeError(f"noise is drawn as float32 or float64, not {like.dtype}")
        shape = tuple(like.shape) if draws is None else (*like.shape[:-1], draws, like.shape[-1])
        dtype = np.float32 if like.dtype == torch.float32 else np.float64
        streams = self._store.setdefault(stage_key, {})
        out = np.empty((self.count, int(np.prod(shape[1:]))), dtype=dtype)
        for q, row in enumerate(out, self.first):
            g = streams.get(q)
            if g is None:
                g = streams[q] = stream(self.seed, q, stage_key)
            g.standard_normal(out=row, dtype=dtype)
        return torch.from_numpy(out).view(shape).to(like.device)
