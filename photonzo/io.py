"""Atomic writes: a result file is either the old one or the complete new one, never half-written;
and one writer per run or sweep directory."""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "w"):
    """Open a temporary file beside ``path``; on success it atomically replaces ``path``, on
    any error it is removed and ``path`` is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:  # a read-only folder: name the file meant, not the temporary one
        raise OSError(e.errno, e.strerror or str(e), str(path)) from e
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; results are ordinary files
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:  # a full disk, a read-only folder: say which file could not be written
        Path(tmp).unlink(missing_ok=True)
        if e.filename not in (None, tmp):  # the caller's own error, about another file
            raise
        raise OSError(e.errno, e.strerror or str(e), str(path)) from e  # errno keeps the subclass
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cache_dir() -> Path:
    """photonzo's cache: ``$XDG_CACHE_HOME/photonzo``, else ``~/.cache/photonzo``."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "photonzo"


def check_directory(directory: str | os.PathLike, option: str = "--run-dir") -> Path:
    """Refuse, before any work, a directory that cannot be made: one that is a file, or one under a
    file (the OS would say only "File exists" or "Not a directory", once a run had started)."""
    directory = Path(directory)
    for path in (directory, *directory.parents):
        if path.is_dir():
            return directory
        if path.exists() or path.is_symlink():  # a file, a dangling link, a device: not a folder
            what = "a file" if path.is_file() else "not a directory"
            where = "" if path == directory else f" cannot be made: {path}"
            raise ValueError(f"{option} {directory}{where} is {what}; choose another {option}")
    return directory


class DirectoryInUse(FileExistsError):
    """Another process holds the directory (a run or a sweep being written)."""


@contextmanager
def exclusive(directory: str | os.PathLike, what: str = "run"):
    """Hold ``directory`` for this process: a second photonzo process on it is refused at once (two
    writers would interleave ``metrics.jsonl``). An OS lock on ``.lock``, released when the process
    ends however it ends, so a killed run leaves nothing to clean up."""
    directory = check_directory(directory, "--out" if what == "sweep" else "--run-dir")
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    try:
        with _locked(directory, what):
            yield directory
    except BaseException:
        # a directory this call made, left holding nothing but the lock: nothing to keep
        if created and [p.name for p in directory.iterdir()] == [".lock"]:
            (directory / ".lock").unlink()
            directory.rmdir()
        raise


@contextmanager
def _locked(directory: Path, what: str):
    with open(directory / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(handle)
            raise DirectoryInUse(
                f"{directory} is in use by {holder} (a {what} is being written there); "
                "wait for it to finish or stop it first"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"photonzo process {os.getpid()}")
        handle.flush()
        try:
            yield directory
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _holder(handle, wait: float = 1.0) -> str:
    """Who holds a lock file: the holder writes its pid just after it locks, so a process refused in
    between waits a moment for the name rather than saying "another process"."""
    deadline = time.monotonic() + wait
    while True:
        handle.seek(0)
        holder = handle.read().strip()
        if holder or time.monotonic() > deadline:
            return holder or "another process"
        time.sleep(0.01)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file in the same folder and an atomic rename."""
    with atomic_file(path) as f:
        f.write(text)
    return Path(path)


def atomic_write_json(path: str | os.PathLike, data) -> Path:
    """Write ``data`` as indented JSON (and a final newline) to ``path`` atomically; returns the path."""
    return atomic_write_text(path, json.dumps(data, indent=2) + "\n")
