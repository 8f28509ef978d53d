"""Worker processes: they end when the process that started them does, and a lost one is reported.

``WorkerProcesses(n)`` spawns n processes that serve calls ``fn(state, *args)`` (``fn`` travels by
reference, so a worker imports the module that defines it at its first call, not at start-up;
``state`` is a dict the calls of one worker share). ``run`` hands one call to each of the first
workers and gathers the results; a worker that dies meanwhile is a ``WorkerLost`` naming it, and
the processes are then closed. Nothing here imports torch: a worker starts in a fraction of a
second.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
import traceback
import weakref
from collections.abc import Callable
from multiprocessing.connection import wait

START_TIMEOUT = 120.0  # seconds for a spawned worker to say it is ready


class WorkerLost(RuntimeError):
    """A worker process died (or a cluster gave up on a task) during a call: its results are lost."""


def exit_when_orphaned(parent: int, every: float = 1.0) -> None:
    """A worker's watch on the process that started it: when that process is gone (killed, even by
    SIGKILL, which no handler sees), the worker ends too, instead of finishing work nobody records
    and then blocking forever. What it had started resumes from its checkpoints on a rerun."""

    def watch():
        while os.getppid() == parent:
            time.sleep(every)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="orphan watch").start()


def _serve(conn, parent: int, every: float) -> None:
    """A worker's life: watch the parent, then serve calls until told to stop (None) or orphaned."""
    exit_when_orphaned(parent, every)
    state: dict = {}
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the main process closed its end
            return
        except Exception as e:  # a call whose function cannot be imported here, say
            conn.send(("error", f"{type(e).__name__}: {e}", traceback.format_exc()))
            continue
        if message is None:
            return
        fn, args = message
        try:
            reply = ("ok", fn(state, *args))
        except Exception as e:  # reported to the main process, which raises it
            reply = ("error", f"{type(e).__name__}: {e}", traceback.format_exc())
        conn.send(reply)


def death(process) -> str:
    """How a worker process ended, in words."""
    code = process.exitcode
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return "exited" if code is None else f"exited with status {code}"


def _shutdown(processes, conns) -> None:
    for conn in conns:
        with contextlib.suppress(OSError, ValueError):  # already gone
            conn.send(None)
    for p in processes:
        p.join(timeout=5)
        if p.is_alive():
            p.terminate()
            p.join(timeout=5)
    for conn in conns:
        conn.close()


class WorkerProcesses:
    """``n`` spawned worker processes, started once (see the module docstring). ``every``: seconds
    between a worker's looks at its parent."""

    def __init__(self, n: int, start_timeout: float = START_TIMEOUT, every: float = 1.0):
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"workers must be an integer >= 1, got {n!r}")
        self.size = n
        self.closed: str | None = None  # why the workers are gone, once they are
        context = multiprocessing.get_context("spawn")
        self._processes, self._conns = [], []
        for i in range(n):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_serve, args=(theirs, os.getpid(), every), daemon=True, name=f"photonzo-worker-{i}"
            )
            process.start()
            theirs.close()
            self._processes.append(process)
            self._conns.append(ours)
        self._finalizer = weakref.finalize(self, _shutdown, self._processes, self._conns)
        for i, conn in enumerate(self._conns):
            if not conn.poll(start_timeout):
                self._lost(f"worker {i} did not start within {start_timeout:g} s")
            try:
                conn.recv()
            except (EOFError, OSError):
                self._processes[i].join(timeout=5)
                self._lost(f"worker {i} failed to start ({death(self._processes[i])})")

    @property
    def pids(self) -> list[int]:
        """The worker processes' ids."""
        return [p.pid for p in self._processes]

    def _lost(self, message: str):
        self.close(message)
        raise WorkerLost(message)

    def run(self, calls: list[tuple[Callable, tuple]], where: Callable[[int], str]) -> list:
        """Worker i runs ``calls[i]``; their results in order. ``where(i)`` names worker i's share in
        errors. A call that raised is a ``RuntimeError`` (the workers stay); a worker that died, a
        ``WorkerLost`` (the workers close)."""
        if self.closed:
            raise WorkerLost(f"the workers are gone: {self.closed}")
        if len(calls) > self.size:
            raise ValueError(f"{len(calls)} calls for {self.size} workers")
        for i, call in enumerate(calls):
            try:
                self._conns[i].send(call)
            except (OSError, ValueError):
                self._processes[i].join(timeout=5)
                self._lost(f"{where(i)}: {death(self._processes[i])} before the call reached it")
        results, errors, pending = [None] * len(calls), [], set(range(len(calls)))
        while pending:
            handles = {self._conns[i]: i for i in pending}
            handles.update({self._processes[i].sentinel: i for i in pending})
            for handle in wait(list(handles)):
                i = handles[handle]
                if i not in pending:
                    continue
                try:
                    # a worker that died has closed its end of the pipe: readable, at its end
                    reply = self._conns[i].recv() if self._conns[i].poll() else None
                except (EOFError, OSError):
                    reply = None
                if reply is None:
                    self._processes[i].join(timeout=5)
                    self._lost(f"{where(i)}, {death(self._processes[i])}")
                pending.discard(i)
                if reply[0] == "ok":
                    results[i] = reply[1]
                else:
                    errors.append(f"{where(i)} failed: {reply[1]}\n{reply[2]}")
        if errors:  # every worker has answered: the next call starts clean
            raise RuntimeError(errors[0])
        return results

    def close(self, reason: str = "the workers were closed") -> None:
        """End the workers (idempotent); ``reason`` is kept as ``closed`` and says why in later errors."""
        if self.closed is None:
            self.closed = reason
        self._finalizer()
