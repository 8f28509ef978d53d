"""Checkpoints of a training run: ``checkpoint.npz``, written atomically, read without pickles.

Members: ``params``, ``best_params`` (the kept parameters, once measured), ``data_rng`` and
``estimator_rng`` (the two generators' states), ``opt.<name>`` (the method's state tensors: Adam's
``t``, ``m``, ``v``; SGD's ``velocity``) and ``meta``, a JSON document (UTF-8 bytes) with ``step``,
``train_queries``, ``eval_queries``, ``wall``, ``metric_lines`` (how many lines of ``metrics.jsonl``
belong to it), ``fingerprint`` (the parameter layout it belongs to), ``estimator_state`` (a hybrid's
switch: ``switched_at``, ``best``, ``stale``, ``phase``) and ``best`` (the kept parameters'
evaluation record). This is the layout of the checkpoints written before the training core was
reshaped (d44960e); those lack only the hybrid's ``phase``, which is derived from ``switched_at``.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import torch

from ..io import atomic_file
from .selection import Kept, Selection
from .step import TrainState

CHECKPOINT = "checkpoint.npz"


class CheckpointError(ValueError):
    """A checkpoint that does not belong to this run (other model, other layout) or is damaged."""


def layout_fingerprint(oracle) -> dict:
    """What a checkpoint must match: the parameter count and the named slices."""
    return {
        "n_params": int(oracle.n_params),
        "slices": [[s.name, s.start, s.stop, s.kind] for s in oracle.param_slices("group")],
    }


def save_checkpoint(
    path: Path, state: TrainState, method, streams, metric_lines: int, fingerprint: dict
) -> Path:
    """Write ``checkpoint.npz`` at ``path`` atomically: ``state``'s parameters and counters, the method's
    state, the two generators of ``streams``, the ``metrics.jsonl`` lines it covers and the layout
    ``fingerprint`` (members: the module docstring). Returns the path."""
    method_arrays, method_meta = method.save(state.method_state)
    arrays = {
        "params": state.params.numpy(),
        "data_rng": streams.data.get_state().numpy(),
        "estimator_rng": streams.directions.get_state().numpy(),
        **{f"opt.{k}": v.detach().cpu().numpy() for k, v in method_arrays.items()},
    }
    if state.kept is not None:
        arrays["best_params"] = state.kept.params.numpy()
    meta = {
        "step": state.step,
        "train_queries": state.train_queries,
        "eval_queries": state.eval_queries,
        "wall": state.wall,
        "metric_lines": metric_lines,
        "fingerprint": fingerprint,
        "estimator_state": method_meta,
        "best": None if state.kept is None else state.kept.record,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with atomic_file(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def _read(path: Path) -> tuple[dict, dict]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode())
        for key in ("step", "train_queries", "eval_queries", "wall", "metric_lines", "estimator_state"):
            meta[key]  # a missing key is a damaged checkpoint
        for key in ("params", "data_rng", "estimator_rng"):
            arrays[key]
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint to resume from at {path}; start without --resume") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, zipfile.BadZipFile, EOFError) as e:
        raise CheckpointError(
            f"checkpoint {path} is damaged or not a photonzo checkpoint ({e!r}); restore it from a copy, "
            "or start the run again in another --run-dir"
        ) from None
    return arrays, meta


def _check_fingerprint(path: Path, fingerprint, expected: dict) -> None:
    if fingerprint == expected:
        return
    theirs = fingerprint.get("n_params") if isinstance(fingerprint, dict) else None
    what = (
        "the same number of parameters but other named slices"
        if theirs == expected["n_params"]
        else f"{theirs} parameters; this chip has {expected['n_params']}"
    )
    raise CheckpointError(
        f"checkpoint {path} belongs to a different model or parameter layout ({what}); "
        "use a fresh run directory or the matching --model"
    )


def load_checkpoint(
    path: Path, method, streams, fingerprint: dict, selection: Selection
) -> tuple[TrainState, int]:
    """(the saved state, its metrics line count); restores the generators in ``streams``."""
    arrays, meta = _read(path)
    _check_fingerprint(path, meta.get("fingerprint"), fingerprint)
    params = torch.from_numpy(arrays["params"]).to(torch.float64)
    method_arrays = {k[4:]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith("opt.")}
    try:
        method_state = method.restore(method_arrays, meta["estimator_state"], params, meta["step"])
        streams.data.set_state(torch.from_numpy(arrays["data_rng"]))
        streams.directions.set_state(torch.from_numpy(arrays["estimator_rng"]))
    except (RuntimeError, KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"checkpoint {path} does not fit this estimator/optimiser ({e!r})") from None
    best = meta.get("best")
    kept = None
    if best is not None and "best_params" in arrays:
        kept = Kept(
            float(best[selection.key]), best, torch.from_numpy(arrays["best_params"]).to(torch.float64)
        )
    state = TrainState(
        params,
        method_state,
        step=meta["step"],
        train_queries=meta["train_queries"],
        eval_queries=meta["eval_queries"],
        wall=meta["wall"],
        kept=kept,
    )
    return state, meta["metric_lines"]


def checkpoint_path(run_dir: str | os.PathLike) -> Path:
    """``checkpoint.npz`` in ``run_dir``."""
    return Path(run_dir) / CHECKPOINT


def read_meta(path: Path) -> dict:
    """A checkpoint's ``meta`` (its step, its share of ``metrics.jsonl``, …); a damaged checkpoint is
    a ``CheckpointError`` that names it."""
    return _read(path)[1]


def checkpoint_step(run_dir: str | os.PathLike) -> int | None:
    """The step of ``run_dir``'s checkpoint, None when it has none that can be read (what the CLI
    tells a user whose run stopped)."""
    try:
        return int(read_meta(checkpoint_path(run_dir))["step"])
    except (CheckpointError, TypeError, ValueError):
        return None
