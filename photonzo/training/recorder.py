"""What a training loop leaves behind: ``metrics.jsonl``, checkpoints and a progress bar.

A ``Recorder`` without a run directory keeps the history in memory only (a calibration, a test).
With one, every record is appended to ``metrics.jsonl`` and a checkpoint is written when the loop
asks; resuming restores the checkpoint and truncates ``metrics.jsonl`` to it, so an interrupted run
continues as if it had not stopped. The one thing a checkpoint cannot restore is the chip's own
dynamic noise (phase jitter, detector noise): a real chip's noise is not replayable either.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..io import atomic_write_text
from ..progress import progress_bar
from .checkpoint import CheckpointError, checkpoint_path, load_checkpoint, read_meta, save_checkpoint
from .selection import Selection
from .step import TrainState

METRICS = "metrics.jsonl"
# the keys of a step's record (``training/step.py``, ``loop.py``); an evaluation adds its own results
STEP_KEYS = frozenset({"step", "loss", "lr", "method", "step_queries", "queries", "eval_queries", "wall"})


def parse_record(line: str, path: Path, number: int) -> dict:
    """One line of ``metrics.jsonl``; a damaged line is an error that names the file and the line."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as e:
        raise CheckpointError(
            f"{path}, line {number}, is not a metrics record ({e}); the run's history is "
            "damaged: restore it from a copy, or start the run again in another --run-dir"
        ) from None


def read_history(path: Path, lines: int) -> tuple[list[str], list[dict]]:
    """The first ``lines`` lines of ``metrics.jsonl`` (those a checkpoint holds), as text and as
    records; too few lines, or a damaged one, is an error that names the file."""
    text = path.read_text().splitlines(keepends=True) if path.exists() else []
    if len(text) < lines:
        raise CheckpointError(f"{path} has {len(text)} lines but the checkpoint expects {lines}")
    return text[:lines], [parse_record(line, path, i + 1) for i, line in enumerate(text[:lines])]


def check_resumable(run_dir: str | os.PathLike) -> None:
    """Refuse a damaged checkpoint or history before a resumed run loads its data and builds its chip
    (whether the checkpoint fits the chip is checked when it is loaded)."""
    path = checkpoint_path(run_dir)
    if path.exists():
        read_history(Path(run_dir) / METRICS, read_meta(path)["metric_lines"])


class Recorder:
    """metrics.jsonl, checkpoints and the progress bar of one run (see the module docstring)."""

    def __init__(
        self,
        run_dir: str | os.PathLike | None,
        *,
        fingerprint: dict | None = None,
        progress: bool = False,
        desc: str = "ZO training",
    ):
        self.run_dir = None if run_dir is None else Path(run_dir)
        self.fingerprint, self.progress, self.desc = fingerprint, progress, desc
        self.history: list[dict] = []
        self.bar = None

    def holds_a_run(self) -> bool:
        """Whether the run directory already holds a run (a checkpoint or metrics)."""
        return self.run_dir is not None and (
            checkpoint_path(self.run_dir).exists() or (self.run_dir / METRICS).exists()
        )

    def resume(self, method, streams, selection: Selection) -> TrainState:
        """The checkpointed state; ``metrics.jsonl`` cut back to it (a killed run's tail dropped)."""
        state, lines = load_checkpoint(
            checkpoint_path(self.run_dir), method, streams, self.fingerprint, selection
        )
        path = self.run_dir / METRICS
        kept, self.history = read_history(path, lines)  # read before cutting: a damaged one stays as it was
        atomic_write_text(path, "".join(kept))
        return state

    def start(self, total: int, initial: int) -> None:
        """Before the first step: make the run directory and the progress bar of ``total`` steps, ``initial``
        of them done."""
        if self.run_dir is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.bar is None:
            self.bar = progress_bar(enabled=self.progress, total=total, initial=initial, desc=self.desc)

    def record(self, record: dict, state: TrainState) -> None:
        """Append a step's ``record`` to ``metrics.jsonl`` and the history; update the progress bar."""
        if self.run_dir is not None:
            with open(self.run_dir / METRICS, "a") as f:
                f.write(json.dumps(record) + "\n")
        self.history.append(record)
        if self.bar is not None:  # the postfix first: the update draws it (set_postfix would draw again)
            shown = {
                "loss": f"{record['loss']:.4g}",
                **self._last_evaluation(),
                "queries": f"{state.train_queries:,}",
            }
            self.bar.set_postfix(shown, refresh=False)
            self.bar.update(1)

    def checkpoint(self, state: TrainState, method, streams) -> None:
        """Write ``checkpoint.npz`` of ``state`` (nothing without a run directory)."""
        if self.run_dir is not None:
            save_checkpoint(
                checkpoint_path(self.run_dir), state, method, streams, len(self.history), self.fingerprint
            )

    def close(self) -> None:
        """Close the progress bar."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def _last_evaluation(self) -> dict[str, str]:
        """What the last evaluation measured (``val_loss`` and ``val_acc``; a PINN's ``val_loss``,
        ``rel_l2``, ...): the scalar keys of the last record with a ``val_loss`` that a step's own
        record does not have; nothing before the first evaluation."""
        for record in reversed(self.history):
            if "val_loss" in record:
                return {
                    k: f"{v:.3g}"
                    for k, v in record.items()
                    if k not in STEP_KEYS and isinstance(v, (int, float)) and not isinstance(v, bool)
                }
        return {}
