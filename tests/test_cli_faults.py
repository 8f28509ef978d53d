"""The failures a user meets, through the command line in a separate process, as a user meets them.

Each case checks four things: one clear line on stderr (no traceback), the documented exit code
(``photonzo/cli.py``: 2 refused before any work, 1 stopped by the system, 130 interrupted), that
nothing was lost (the files a refused run found are byte for byte as they were, no temporary files
are left), and that a rerun continues (in this process, through the same ``main``: a second torch
import per case would cost seconds). The commands are tiny digits runs; cases that can run side by
side are started together.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from photonzo.cli import main

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PHOTONZO_DATA") or ROOT.parent / "shared" / "data")
SMALL = ["--eval-every", "2", "--eval-size", "40", "--q", "1", "--quiet"]


def photonzo(*args, **popen) -> subprocess.Popen:
    """``python -m photonzo.cli ARGS`` in its own process (as the other subprocess tests start it)."""
    return subprocess.Popen(
        [sys.executable, "-m", "photonzo.cli", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1", **popen.pop("env", {})},
        **popen,
    )


def cli(*args) -> int:
    """``photonzo ARGS`` in this process."""
    return main([str(a) for a in args])


def finished(process: subprocess.Popen, timeout: float = 180) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def one_line(err: str) -> str:
    """The one line a failure prints: no traceback, nothing else."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def files(directory: Path) -> dict[str, bytes]:
    """Every file of ``directory`` and its bytes (temporary files included: none may be left)."""
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.name != ".lock"}


def steps(run: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A finished 4-step digits run (made in this process: torch is loaded here already)."""
    run = tmp_path_factory.mktemp("base") / "run"
    assert cli("train", "digits", "--steps", "4", *SMALL, "--run-dir", run) == 0
    return run


def test_damaged_run_files_are_one_line_and_the_restored_run_resumes(tmp_path, finished_run):
    def truncate(path):
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])

    def cut_first_line(path):
        lines = path.read_text().splitlines()
        path.write_text(lines[0][:-5] + "\n" + "\n".join(lines[1:]) + "\n")

    cases = {  # the file, how it is damaged, what the one line says
        "checkpoint.npz": (truncate, "checkpoint.npz is damaged or not a photonzo checkpoint"),
        "config.json": (lambda p: p.write_text("{not json"), "config.json is damaged"),
        "metrics.jsonl": (cut_first_line, "metrics.jsonl, line 1, is not a metrics record"),
    }
    runs, before, started = {}, {}, {}
    for name, (damage, _) in cases.items():
        runs[name] = shutil.copytree(finished_run, tmp_path / name)
        damage(runs[name] / name)
        before[name] = files(runs[name])
        # a resume that would train 2 more steps: refused, and side by side (one torch import each)
        started[name] = photonzo("train", "digits", "--steps", 6, *SMALL, "--run-dir", runs[name], "--resume")
    for name, (_, message) in cases.items():
        code, _, err = finished(started[name])
        line = one_line(err)
        assert code == 2 and message in line and str(runs[name] / name) in line, line
        assert "restore it" in line or "another --run-dir" in line, line  # says how to go on
        assert files(runs[name]) == before[name], f"a refused resume changed the run ({name})"
    for name in cases:  # restored from a copy, as the line says: the run continues where it stood
        shutil.copy(finished_run / name, runs[name] / name)
        assert cli("train", "digits", "--steps", 6, *SMALL, "--run-dir", runs[name], "--resume") == 0
        assert steps(runs[name]) == list(range(6))
        kept = (runs[name] / "metrics.jsonl").read_text().splitlines()[:4]
        assert kept == (finished_run / "metrics.jsonl").read_text().splitlines()


@pytest.mark.skipif(not (SHARED / "mnist").is_dir(), reason="needs the MNIST test set ($PHOTONZO_DATA)")
def test_a_damaged_data_file_is_one_line_and_a_fetched_one_is_read(tmp_path, monkeypatch):
    """A truncated and a bit-flipped copy of the MNIST test images, found first (``--data-dir``)."""
    good = (SHARED / "mnist" / "t10k-images-idx3-ubyte.gz").read_bytes()
    middle = len(good) // 2
    damaged = {
        "truncated": good[:middle],
        "flipped": good[:middle] + bytes([good[middle] ^ 0x10]) + good[middle + 1 :],
    }
    started, paths = {}, {}
    for name, data in damaged.items():
        paths[name] = tmp_path / name / "mnist" / "t10k-images-idx3-ubyte.gz"
        paths[name].parent.mkdir(parents=True)
        paths[name].write_bytes(data)
        run = tmp_path / f"run-{name}"
        env = {"PHOTONZO_DATA": str(SHARED), "XDG_CACHE_HOME": str(tmp_path / "cache")}
        args = ["train", "mnist", "--steps", 1, "--data-dir", tmp_path / name, *SMALL, "--run-dir", run]
        started[name] = photonzo(*args, env=env)
    for name in damaged:
        code, _, err = finished(started[name])
        line = one_line(err)
        assert code == 2 and str(paths[name]) in line, line
        assert "the gzip file is damaged" in line or "checksum mismatch" in line, line
        assert "delete it and fetch it again" in line, line
        assert not (tmp_path / f"run-{name}").exists()  # refused before the run directory was made
        assert paths[name].read_bytes() == damaged[name]  # and the evidence is left as it was

    # deleted as the line says: the rerun reads the next folder's good copy ($PHOTONZO_DATA) — shown
    # on the file a run reads first (a whole MNIST run here would take seconds more)
    from photonzo.data.datasets import read_part

    monkeypatch.setenv("PHOTONZO_DATA", str(SHARED))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    paths["truncated"].unlink()
    assert read_part("mnist", "test-images", tmp_path / "truncated", download=False).shape == (10_000, 28, 28)


def test_a_second_writer_is_refused_while_the_first_finishes(tmp_path):
    """Two ``--resume`` of one run directory started together: one trains, the other is refused."""
    run = tmp_path / "run"
    args = ["train", "digits", "--eval-every", 10, *SMALL[2:], "--run-dir", run]
    assert cli(*args, "--steps", 10) == 0
    old = (run / "metrics.jsonl").read_text().splitlines()
    first, second = (photonzo(*args, "--steps", 60, "--resume") for _ in range(2))
    results = {first.pid: finished(first), second.pid: finished(second)}
    (winner,) = [pid for pid, (code, _, _) in results.items() if code == 0]
    (loser,) = [pid for pid in results if pid != winner]
    code, _, err = results[loser]
    line = one_line(err)
    assert code == 2 and f"{run} is in use by photonzo process {winner}" in line, line
    assert "Traceback" not in results[winner][2] and "test accuracy" in results[winner][1]
    # one history, in order: the ten steps before the resume, then the winner's 50
    assert steps(run) == list(range(60))
    assert (run / "metrics.jsonl").read_text().splitlines()[:10] == old
    assert json.loads((run / "summary.json").read_text())["steps"] == 60


def test_a_run_dir_that_cannot_be_a_directory_is_refused_before_any_work(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    under = photonzo("train", "digits", "--steps", 2, *SMALL, "--run-dir", tmp_path / "a-file" / "run")
    code, _, err = finished(under)
    line = one_line(err)
    assert code == 2 and f"{tmp_path / 'a-file'} is a file; choose another --run-dir" in line, line
    assert (tmp_path / "a-file").read_text() == "not a folder"


def _small_files():
    """In the child: files may not grow past 16 KiB (RLIMIT_FSIZE; root too), as on a full disk —
    config.json fits, a checkpoint does not. Python ignores SIGXFSZ, so a write fails with EFBIG."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (16 * 1024, 16 * 1024))


def test_a_full_disk_is_one_line_and_the_run_starts_again(tmp_path):
    run = tmp_path / "run"
    code, _, err = finished(
        photonzo("train", "digits", "--steps", 4, *SMALL, "--run-dir", run, preexec_fn=_small_files)
    )
    line = one_line(err)
    assert code == 1 and f"File too large ({run / 'checkpoint.npz'})" in line, line
    assert f"{run} has no checkpoint yet: rerun with --resume" in line, line
    assert sorted(files(run)) == ["config.json"]  # no half-written checkpoint, no temporary file
    assert cli("train", "digits", "--steps", 4, *SMALL, "--run-dir", run, "--resume") == 0
    assert steps(run) == list(range(4))


def writes_into_read_only_folders(tmp_path: Path) -> bool:
    """Whether this process ignores a folder's permissions (root, unless it dropped CAP_DAC_OVERRIDE)."""
    probe = tmp_path / "probe"
    probe.mkdir(mode=0o555)
    try:
        (probe / "x").touch()
        return True
    except PermissionError:
        return False
    finally:
        probe.chmod(0o755)


def test_a_read_only_run_directory_is_one_line_and_resumes_once_writable(tmp_path, finished_run):
    if writes_into_read_only_folders(tmp_path):
        pytest.skip("this user writes into read-only folders (root)")
    run = shutil.copytree(finished_run, tmp_path / "run")
    before = files(run)
    run.chmod(0o555)
    try:
        code, _, err = finished(
            photonzo("train", "digits", "--steps", 6, *SMALL, "--run-dir", run, "--resume")
        )
        line = one_line(err)
        assert code == 1 and "Permission denied" in line and str(run) in line, line
        assert f"the last checkpoint, {run / 'checkpoint.npz'}, is of step 4" in line, line
        assert files(run) == before
    finally:
        run.chmod(0o755)
    assert cli("train", "digits", "--steps", 6, *SMALL, "--run-dir", run, "--resume") == 0
    assert steps(run) == list(range(6))


def test_ctrl_c_is_one_line_naming_the_last_checkpoint_and_resume_continues(tmp_path):
    run = tmp_path / "run"
    args = ["train", "digits", "--steps", 80, "--eval-every", 5, *SMALL[2:], "--run-dir", run]
    training = photonzo(*args)
    deadline = time.monotonic() + 120
    # past the checkpoint of step 5 (written right after the record of step 5)
    while not ((run / "metrics.jsonl").exists() and (run / "metrics.jsonl").read_text().count("\n") >= 7):
        assert training.poll() is None and time.monotonic() < deadline, training.communicate()
        time.sleep(0.05)
    training.send_signal(signal.SIGINT)
    code, _, err = finished(training)
    line = one_line(err)
    assert code == 130 and "photonzo train: interrupted; the last checkpoint, " in line, line
    step = int(line.split(" is of step ")[1].split(":")[0])
    assert step >= 5 and step % 5 == 0 and f"{run / 'checkpoint.npz'}" in line, line
    assert line.endswith("rerun with --resume to continue"), line
    history = (run / "metrics.jsonl").read_text().splitlines()
    assert cli(*args, "--resume") == 0
    assert steps(run) == list(range(80))
    assert (run / "metrics.jsonl").read_text().splitlines()[:step] == history[:step]  # nothing lost
