"""One run's queries spread over worker processes or a Dask cluster, behind the same Oracle.

``ParallelOracle(chip, workers=N)`` (or ``scheduler="tcp://host:8786"``) is a ``LayerTapOracle``
like ``chip.oracle()``: the Q settings of every call are cut into contiguous ranges, one per worker,
and each worker evaluates its range on its own replica of the chip::

    main process                              worker i (one torch thread, its replica of the chip)
    check phases, inputs, targets ──────────▶ settings a..b−1 as queries n+a .. n+b−1
    count Q queries, Q·B inferences ◀──────── their detected outputs
    the loss, from the gathered outputs

A replica is built once per worker from a ``ChipSpec`` (network, hardware, seed, dtype, the loss
by name, output gain, gains). The chip's dynamic noise depends only on the seed and the query's
index (``noise.py``), and each range is evaluated with the *global* index of its first setting,
so one worker, N workers, a Dask cluster and the chip itself return the same numbers, bit for
bit, as long as the chip's forward of one setting rounds the same whichever settings share its
call (tested on a noisy ``digits-tt``: the products of one setting must not change with Q). The
main process keeps the query counters and computes the loss from the gathered outputs with the
chip's own loss function.

Local workers are spawned processes (``processes.WorkerProcesses``), started once and kept for
every call; each watches the main process and ends when it dies. A worker that dies mid-call is
reported (``WorkerLost``, naming it and the settings it held) and the workers close: the call's
results are lost, nothing else, and a run resumes from its last checkpoint. On Dask, a task of a
lost worker is rerun on another worker by the scheduler (same result: the noise follows the query
index), and ``WorkerLost`` is raised only when the cluster gives up. Workers simulate on the CPU.
"""

from __future__ import annotations

import threading
import time
import uuid
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import torch

from ..processes import START_TIMEOUT, WorkerLost, WorkerProcesses
from ..validation import check_non_negative_int, check_positive_int
from .chip import LOSSES, Chip
from .hardware import HardwareModel
from .layers import ParamSlice
from .network import OpticalNetwork
from .threads import ThreadPolicy

CONNECT_TIMEOUT = 5.0  # seconds to reach a Dask scheduler (and to find a worker there)
LOST_AFTER = 30.0  # seconds a Dask call waits without any worker in the cluster before giving up
__all__ = ["ChipSpec", "DaskWorkers", "LocalWorkers", "ParallelOracle", "WorkerLost", "open_workers", "split"]


@dataclass(frozen=True, eq=False)
class ChipSpec:
    """Everything a worker needs to build a replica of a chip (picklable). ``of(chip)`` reads it
    off a chip; a chip with a callable loss has none (a function need not survive pickling, and
    the loss is computed in the main process from a name both sides know)."""

    network: OpticalNetwork
    hardware: HardwareModel
    seed: int = 0
    dtype: torch.dtype = torch.complex64
    loss: str = "cross_entropy"
    output_gain: float = 1.0
    gains: tuple[float, ...] | None = None
    max_elements: int = 2**26
    cache_elements: int | None = None  # None: the Chip's default
    merge_cores: bool | None = None  # None: the Chip's default

    def __post_init__(self):
        if not isinstance(self.loss, str) or self.loss not in LOSSES:
            raise ValueError(
                f"parallel evaluation needs a named loss ({', '.join(LOSSES)}), got {self.loss!r}: the "
                "workers return outputs and the main process computes the loss by name; for another "
                "loss, compute it from the oracle's outputs"
            )

    @classmethod
    def of(cls, chip: Chip) -> ChipSpec:
        """The spec of ``chip`` (its network, hardware, seed, dtype, named loss, gains and chunk sizes)."""
        if chip.loss_name is None:
            raise ValueError(
                "this chip has a callable loss, which parallel evaluation cannot use: build the chip "
                f"with a named loss ({', '.join(LOSSES)}), or compute the loss from the oracle's outputs"
            )
        return cls(
            chip.network,
            chip.hardware,
            chip.seed,
            chip.dtype,
            chip.loss_name,
            chip.output_gain,
            chip.gains,
            chip.max_elements,
            chip.cache_elements,
            chip.merge_cores,
        )

    def build(self) -> Chip:
        """A replica of the chip: the same static errors and the same per-query noise streams."""
        chip = Chip(
            self.network,
            self.hardware,
            seed=self.seed,
            dtype=self.dtype,
            loss=self.loss,
            max_elements=self.max_elements,
            output_gain=self.output_gain,
            gains=self.gains,
        )
        if self.cache_elements is not None:
            chip.cache_elements = self.cache_elements
        if self.merge_cores is not None:
            chip.merge_cores = self.merge_cores
        return chip


def _replica(spec: ChipSpec) -> Chip:
    """A worker's chip: one intra-op thread, whatever the environment asks for. The worker process
    is set to one thread for good: switching torch's thread count around every call (the policy
    restoring the default after each) cost more than a small call's forward."""
    torch.set_num_threads(1)
    chip = spec.build()
    chip.threads = ThreadPolicy(fixed=1)
    return chip


def _evaluate(chip: Chip, phases: np.ndarray, x: np.ndarray, first: int, taps: bool) -> list[np.ndarray]:
    out = chip._evaluate(torch.from_numpy(phases), torch.from_numpy(x), first, taps)
    return [t.numpy() for t in (out if taps else [out])]


def split(q: int, workers: int) -> list[tuple[int, int]]:
    """Q settings as contiguous ranges ``(start, stop)``, one per worker while there are settings
    (sizes differing by at most one; workers beyond Q get none)."""
    n = min(q, workers)
    sizes = [q // n + (i < q % n) for i in range(n)]
    bounds = [sum(sizes[:i]) for i in range(n + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


# ---- local worker processes -------------------------------------------------------------------


def _local_task(state: dict, token: str, spec: ChipSpec | None, phases, x, first: int, taps: bool):
    """A local worker's share of a call (``processes.WorkerProcesses``): its replica for ``token``
    is built from ``spec`` the first time (the spec travels once per worker)."""
    replicas = state.setdefault("replicas", OrderedDict())
    if token not in replicas:
        if spec is None:
            raise RuntimeError("this worker holds no replica of the chip (it was never sent the spec)")
        replicas[token] = _replica(spec)
        while len(replicas) > 4:  # replicas of closed oracles
            replicas.popitem(last=False)
    return _evaluate(replicas[token], phases, x, first, taps)


class LocalWorkers:
    """``n`` spawned worker processes, one torch thread each, started once (see the module docstring)."""

    def __init__(self, n: int, start_timeout: float = START_TIMEOUT):
        self.size = check_positive_int("workers", n)
        self._processes = WorkerProcesses(n, start_timeout)
        self._sent = [set() for _ in range(n)]  # the tokens whose spec each worker has

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids."""
        return self._processes.pids

    @property
    def closed(self) -> str | None:
        """Why the workers are gone (None while they run)."""
        return self._processes.closed

    def describe(self) -> str:
        """``N local worker processes``, for messages."""
        return f"{self.size} local worker process{'es' if self.size > 1 else ''}"

    def evaluate(self, token, spec, phases, x, first, ranges, taps) -> list[list[np.ndarray]]:
        """Worker i evaluates ``phases[ranges[i]]`` as queries from ``first + ranges[i][0]``."""
        calls = [
            (_local_task, (token, None if token in self._sent[i] else spec, phases[a:b], x, first + a, taps))
            for i, (a, b) in enumerate(ranges)
        ]
        where = lambda i: (
            f"local worker {i} of {self.size} (pid {self.pids[i]}), evaluating settings "
            f"{ranges[i][0]}..{ranges[i][1] - 1} of this call (queries {first + ranges[i][0]}.."
            f"{first + ranges[i][1] - 1})"
        )
        results = self._processes.run(calls, where)
        for sent in self._sent[: len(ranges)]:
            sent.add(token)
        return results

    def close(self, reason: str = "the workers were closed") -> None:
        """End the workers (idempotent); ``reason`` says why in later errors."""
        self._processes.close(reason)


# ---- a Dask cluster ---------------------------------------------------------------------------

# on a Dask worker: idle replicas by oracle token (a worker with several threads runs several tasks
# at once, each on a replica of its own; replicas outlive the threads, which Dask may replace)
_replicas: OrderedDict[str, list[Chip]] = OrderedDict()
_replicas_lock = threading.Lock()


def _dask_task(token: str, spec: ChipSpec, phases, x, first: int, taps: bool) -> list[np.ndarray]:
    with _replicas_lock:
        idle = _replicas.setdefault(token, [])
        _replicas.move_to_end(token)
        while len(_replicas) > 4:  # replicas of closed oracles
            _replicas.popitem(last=False)
        chip = idle.pop() if idle else None
    chip = chip or _replica(spec)
    try:
        return _evaluate(chip, phases, x, first, taps)
    finally:
        with _replicas_lock:
            _replicas.setdefault(token, []).append(chip)


class DaskWorkers:
    """The workers of the Dask cluster at ``address``: one range per worker thread."""

    def __init__(self, address: str, timeout: float | None = None):
        timeout = CONNECT_TIMEOUT if timeout is None else timeout
        try:
            from distributed import Client  # optional: the dask extra
        except ImportError:
            raise ImportError("--scheduler needs the dask extra: pip install 'photonzo[dask]'") from None
        if not isinstance(address, str) or not address.strip():
            raise ValueError(f"a Dask scheduler address is a string like tcp://host:8786, got {address!r}")
        self.address = address
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except Exception as e:  # OSError, TimeoutError, a malformed address: one clear message
            raise ValueError(
                f"cannot reach the Dask scheduler at {address!r} within {timeout:g} s ({type(e).__name__}: "
                f"{e}); start it (`dask scheduler`, then `dask worker {address}`) or check the address"
            ) from None
        try:
            self.client.wait_for_workers(1, timeout=timeout)
        except Exception:
            self.client.close()
            raise ValueError(
                f"the Dask scheduler at {address!r} has no workers (waited {timeout:g} s); start some "
                f"with `dask worker {address}`"
            ) from None
        self.size = sum(self.client.nthreads().values())
        self.lost_after = LOST_AFTER
        self.closed: str | None = None

    def describe(self) -> str:
        """The cluster's address and worker threads, for messages."""
        return f"the Dask cluster at {self.address} ({self.size} worker threads)"

    def evaluate(self, token, spec, phases, x, first, ranges, taps) -> list[list[np.ndarray]]:
        """As ``LocalWorkers.evaluate``, on the cluster's workers."""
        if self.closed:
            raise WorkerLost(f"the Dask cluster is no longer in use: {self.closed}")
        from distributed import KilledWorker

        client, lost = self.client, None
        try:
            # every worker gets the inputs, so that losing one loses no data (the spec is small and
            # travels with each task); a task of a lost worker is rerun on another
            inputs = client.scatter(x, broadcast=True, hash=False)
            futures = [
                client.submit(_dask_task, token, spec, phases[a:b], inputs, first + a, taps, pure=False)
                for a, b in ranges
            ]
            alone_since, pause, looked = None, 1e-3, time.monotonic()
            while not all(f.done() for f in futures):
                time.sleep(pause)
                pause = min(2 * pause, 0.05)
                if time.monotonic() - looked < 1.0:
                    continue
                looked = time.monotonic()  # still running: is there anyone left to run it?
                if client.nthreads():
                    alone_since = None
                elif alone_since is None:
                    alone_since = looked
                elif looked - alone_since > self.lost_after:
                    lost = f"has had no workers for {self.lost_after:g} s"
                    break
            if lost is None:
                return client.gather(futures)
        except Exception as e:
            what = (
                "lost the workers evaluating one of its ranges (each several times)"
                if isinstance(e, KilledWorker)
                else f"failed ({type(e).__name__}: {e})"
            )
            raise WorkerLost(
                f"the Dask cluster at {self.address} {what} during a call of {len(phases)} settings "
                f"(queries {first}..{first + len(phases) - 1})"
            ) from e
        client.cancel(futures)
        raise WorkerLost(
            f"the Dask cluster at {self.address} {lost}, during a call of {len(phases)} settings "
            f"(queries {first}..{first + len(phases) - 1})"
        )

    def close(self, reason: str = "the client was closed") -> None:
        """Close the client (the cluster itself is left running)."""
        if self.closed is None:
            self.closed = reason
            self.client.close()


def open_workers(workers: int | None = None, scheduler: str | None = None, timeout: float | None = None):
    """``LocalWorkers(workers)``, or ``DaskWorkers(scheduler)`` (whose cluster decides how many);
    None for one worker and no scheduler: the chip in this process does the work."""
    if workers is not None:
        check_positive_int("workers", workers)
    if scheduler is not None:
        if workers not in (None, 1):
            raise ValueError(
                f"--workers {workers} starts local worker processes; with --scheduler the Dask cluster's "
                "workers evaluate the settings: give one or the other"
            )
        return DaskWorkers(scheduler, timeout)
    return None if workers in (None, 1) else LocalWorkers(workers)


class ParallelOracle:
    """A ``LayerTapOracle`` whose settings are evaluated by workers (see the module docstring).

    ``chip``: a ``Chip`` or a ``ChipSpec``; ``workers``: local worker processes (1 is one worker
    process); ``scheduler``: a Dask scheduler's address instead; ``pool``: workers already started
    (``open_workers``), shared, and left open by ``close`` (``workers`` then: use at most that many)."""

    def __init__(
        self,
        chip: Chip | ChipSpec,
        workers: int | None = None,
        scheduler: str | None = None,
        pool: LocalWorkers | DaskWorkers | None = None,
    ):
        self._spec = chip if isinstance(chip, ChipSpec) else ChipSpec.of(chip)
        # this side's chip: the checks, the layout and the loss, never a forward
        self._chip = chip if isinstance(chip, Chip) else self._spec.build()
        self._owned = None
        if pool is None:
            pool = DaskWorkers(scheduler) if scheduler is not None else LocalWorkers(workers or 1)
            self._owned = weakref.finalize(self, pool.close)
        self._pool = pool
        self._size = pool.size if workers is None else min(check_positive_int("workers", workers), pool.size)
        self._token = uuid.uuid4().hex
        self._queries = self._inferences = 0

    # ---- bookkeeping -------------------------------------------------------------------------
    @property
    def workers(self) -> int:
        """How many ranges a call is cut into (at most)."""
        return self._size

    def describe(self) -> str:
        """Where the settings are evaluated (the pool's description)."""
        return self._pool.describe()

    @property
    def n_params(self) -> int:
        """The length P of the parameter vector (``Oracle.n_params``)."""
        return self._chip.n_params

    @property
    def queries(self) -> int:
        """Settings evaluated so far, each on one batch (``Oracle.queries``)."""
        return self._queries

    @property
    def inferences(self) -> int:
        """Single-input forwards so far (queries × batch size)."""
        return self._inferences

    def continue_from(self, queries: int) -> None:
        """As ``Chip.continue_from``: the next call's settings see the noise of queries ``queries`` on."""
        self._queries = check_non_negative_int("queries", queries)

    @property
    def layer_features(self) -> list[int]:
        """The output width of every layer (``LayerTapOracle.layer_features``)."""
        return self._chip.layer_features

    def param_slices(self, level: str = "layer") -> list[ParamSlice]:
        """Named slices of the parameter vector at ``level`` (``Oracle.param_slices``)."""
        return self._chip.param_slices(level)

    def initial_params(self, seed: int = 0) -> torch.Tensor:
        """A random start ``[P]``: phases uniform in [0, 2π) rad, biases zero."""
        return self._chip.initial_params(seed)

    def close(self) -> None:
        """Stop the workers this oracle started (a shared ``pool`` is left to its owner)."""
        if self._owned is not None:
            self._owned()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- the forward calls -------------------------------------------------------------------
    def _gather(self, phases: torch.Tensor, x: torch.Tensor, taps: bool) -> list[torch.Tensor]:
        q, first = phases.shape[0], self._queries
        ranges = split(q, self._size)
        arrays = phases.detach().cpu().numpy(), x.detach().cpu().numpy()
        parts = self._pool.evaluate(self._token, self._spec, *arrays, first, ranges, taps)
        device = self._chip.device
        layers = [
            torch.from_numpy(p[0] if len(p) == 1 else np.concatenate(p)).to(device) for p in zip(*parts)
        ]
        self._queries += q
        self._inferences += q * x.shape[0]
        return layers

    def outputs(self, phases, x) -> torch.Tensor:
        """Detected outputs ``[Q, B, out]`` of ``phases[Q, P]`` on ``x[B, in]``, the settings cut into
        contiguous ranges, one per worker; Q queries, the same numbers as the chip's own."""
        chip = self._chip
        return self._gather(chip._check_phases(phases), chip._check_inputs(x), False)[0]

    def layer_outputs(self, phases, x) -> list[torch.Tensor]:
        """Every layer's outputs ``[Q, B, out_i]`` (``LayerTapOracle.layer_outputs``), evaluated by the
        workers; Q queries."""
        chip = self._chip
        return self._gather(chip._check_phases(phases), chip._check_inputs(x), True)

    def loss(self, phases, batch) -> torch.Tensor:
        """As ``Chip.loss``: the targets are checked before any query, the loss computed here."""
        chip = self._chip
        x, y = batch
        phases, x = chip._check_phases(phases), chip._check_inputs(x)
        y = torch.as_tensor(y, device=chip.device)
        if chip._check_targets is not None:
            chip._check_targets(y, x.shape[0], chip.network.out_features)
        return chip.loss_fn(self._gather(phases, x, False)[0], y)
