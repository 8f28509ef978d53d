"""The progress bar: what its postfix shows, and what it writes where there is no terminal."""

import io
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from photonzo import progress
from photonzo.progress import progress_bar
from photonzo.training.recorder import Recorder


class Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def test_a_bar_without_a_terminal_writes_a_few_lines_and_no_carriage_returns(monkeypatch):
    log = Stream(tty=False)
    monkeypatch.setattr(sys, "stderr", log)
    bar = progress_bar(total=5000, desc="work")
    for _ in range(5000):
        bar.update(1)
    bar.close()
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and len(lines) == 2  # the start and the end
    assert "0/5000" in lines[0] and "5000/5000" in lines[1]
    monkeypatch.setattr(progress, "LOG_INTERVAL", 0.0)  # a line at every refresh, none repeated
    bar = progress_bar(range(3), desc="work")
    assert list(bar) == [0, 1, 2]
    lines = log.getvalue().splitlines()[2:]
    assert len(lines) == len(set(lines)) >= 2 and "3/3" in lines[-1]


def test_a_bar_on_a_terminal_redraws_in_place(monkeypatch):
    terminal = Stream(tty=True)
    monkeypatch.setattr(sys, "stderr", terminal)
    bar = progress_bar(total=3, desc="work")
    bar.update(3)
    bar.close()
    assert "\r" in terminal.getvalue()


def record(step, loss, **evaluation):
    return {
        "step": step,
        "loss": loss,
        "lr": 0.01,
        "method": "rge",
        "step_queries": 21,
        "queries": 21,
        **evaluation,
    }


def test_the_postfix_shows_what_the_last_evaluation_measured(monkeypatch):
    monkeypatch.setattr(sys, "stderr", Stream(tty=False))
    recorder = Recorder(None, progress=True)
    recorder.start(total=3, initial=0)
    recorder.record(record(0, 0.5), SimpleNamespace(train_queries=21))
    assert recorder.bar.postfix == "loss=0.5, queries=21"  # no evaluation yet: nothing, not "acc=-"
    pinn = {"val_loss": 0.0123456, "rel_l2": 0.25, "rel_l2_learned": 0.5, "eval_queries": 4}
    recorder.record(record(1, 0.25, **pinn, wall=0.1), SimpleNamespace(train_queries=42))
    shown = "loss=0.25, val_loss=0.0123, rel_l2=0.25, rel_l2_learned=0.5, queries=42"
    assert recorder.bar.postfix == shown
    recorder.record(record(2, 0.125, local_losses=[0.1, 0.2]), SimpleNamespace(train_queries=1234))
    assert recorder.bar.postfix == shown.replace("0.25,", "0.125,", 1).replace("=42", "=1,234")
    recorder.close()


def test_a_training_run_with_stderr_to_a_pipe_writes_lines_not_a_bar_stream(tmp_path):
    args = ["train", "digits", "--steps", "20", "--eval-every", "5", "--eval-size", "50", "--q", "1"]
    done = subprocess.run(
        [sys.executable, "-m", "photonzo.cli", *args, "--run-dir", str(tmp_path / "run")],
        capture_output=True,
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr.decode()
    assert b"\r" not in done.stderr and len(done.stderr) < 2000, done.stderr  # was 4 kB of \r redraws
    last = done.stderr.decode().splitlines()[-1]
    assert "20/20" in last and "val_acc=" in last and "acc=-" not in last
