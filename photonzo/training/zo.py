"""ZOTrainer: trains a chip's phases through its Oracle alone.

The trainer receives an ``Oracle`` (program phases, read detector outputs or a loss), an
estimator and an optimiser. It never sees a weight, a gradient of the network or the chip's
errors — the Oracle is the only door, as in ``DESIGN.md``.

A run directory holds:

* ``metrics.jsonl``: one line per step — training loss on the step's batch (the estimator's
  centre query), learning rate, estimator used, queries (cumulative and this step), wall
  time; evaluation steps add validation loss and accuracy read through the same Oracle
  (noise on). Evaluation queries are counted apart from training queries.
* ``checkpoint.npz``: phases, the best-validated phases so far (the start included: the
  objective's ``selection``, validation accuracy for classification), optimiser and
  estimator state, random-generator states, step,
  counters, the metrics line count and a fingerprint of the parameter layout — written
  atomically (temporary file + rename), read with ``allow_pickle=False``.

Resuming restores all of that and truncates ``metrics.jsonl`` to the checkpoint, so an
interrupted run continues as if it had not stopped. The one thing a checkpoint cannot
restore is the chip's own dynamic noise (phase jitter, detector noise): a real chip's noise
is not replayable either, so a resumed run on a noisy chip continues with fresh noise.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..io import atomic_file, atomic_write_text
from ..progress import progress_bar
from .estimators import Estimator
from .optim import Optimizer

CHECKPOINT = "checkpoint.npz"
METRICS = "metrics.jsonl"


class CheckpointError(ValueError):
    """A checkpoint that does not belong to this run (other model, other layout) or is damaged."""


def layout_fingerprint(oracle) -> dict:
    """What a checkpoint must match: the parameter count and the named slices."""
    return {
        "n_params": int(oracle.n_params),
        "slices": [[s.name, s.start, s.stop, s.kind] for s in oracle.param_slices("group")],
    }


def _as_tensor(a, dtype=None):
    t = torch.as_tensor(np.asarray(a))
    return t if dtype is None else t.to(dtype)


class Classification:
    """The default objective: minibatches of (inputs, labels) and the Oracle's own loss;
    evaluation reads cross-entropy and accuracy from the chip's outputs."""

    def __init__(self, train: tuple, valid: tuple, eval_batch: int = 1000):
        self.x_train, self.y_train = (torch.as_tensor(a) for a in train)
        self.x_valid, self.y_valid = (torch.as_tensor(a) for a in valid)
        if len(self.x_train) != len(self.y_train) or len(self.x_valid) != len(self.y_valid):
            raise ValueError("inputs and labels must have the same length")
        if len(self.x_train) < 1 or len(self.x_valid) < 1:
            raise ValueError("training and validation data must not be empty")
        self.eval_batch = eval_batch

    selection = ("val_acc", "max")  # the evaluation that picks the kept parameters

    def sample(self, generator: torch.Generator, batch_size: int):
        idx = torch.randint(0, len(self.x_train), (batch_size,), generator=generator)
        return self.x_train[idx], self.y_train[idx]

    def loss_fn(self, oracle, batch):
        return None  # the Oracle's loss on the batch

    def evaluate(self, oracle, params: torch.Tensor, data: tuple | None = None) -> dict:
        x, y = (self.x_valid, self.y_valid) if data is None else (torch.as_tensor(a) for a in data)
        outs = [
            oracle.outputs(params[None], x[i : i + self.eval_batch])[0]
            for i in range(0, len(x), self.eval_batch)
        ]
        out = torch.cat(outs).to(torch.float64)
        y = y.long()
        return {
            "val_loss": float(F.cross_entropy(out, y)),
            "val_acc": float((out.argmax(-1) == y).double().mean()),
        }


class ZOTrainer:
    """Zeroth-order training loop over an Oracle (see the module docstring).

    What is trained is an *objective*: by default classification on ``train``/``valid``; any
    object with ``sample(generator, batch_size)``, ``loss_fn(oracle, batch)`` (a function of
    parameter settings [Q, P] → [Q], or None for ``oracle.loss``) and ``evaluate(oracle,
    params, data)`` (a dict with at least ``val_loss``) will do — the PINN trainer passes one.
    """

    def __init__(
        self,
        oracle,
        estimator: Estimator,
        optimizer: Optimizer,
        train: tuple | None,
        valid: tuple | None,
        run_dir: str | os.PathLike,
        *,
        steps: int,
        batch_size: int = 64,
        eval_every: int = 50,
        checkpoint_every: int | None = None,
        seed: int = 0,
        init_seed: int | None = None,
        eval_batch: int = 1000,
        max_settings: int = 256,
        progress: bool = True,
        params: torch.Tensor | None = None,
        max_queries: int | None = None,
        objective=None,
    ):
        for name, value in (
            ("steps", steps),
            ("batch_size", batch_size),
            ("eval_every", eval_every),
            ("eval_batch", eval_batch),
            ("max_settings", max_settings),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        self.oracle, self.estimator, self.optimizer = oracle, estimator, optimizer
        self.objective = objective if objective is not None else Classification(train, valid, eval_batch)
        self.run_dir = Path(run_dir)
        self.steps, self.batch_size, self.eval_every = steps, batch_size, eval_every
        if checkpoint_every is not None and (
            isinstance(checkpoint_every, bool)
            or not isinstance(checkpoint_every, int)
            or checkpoint_every < 1
        ):
            raise ValueError(f"checkpoint_every must be a positive integer, got {checkpoint_every!r}")
        self.checkpoint_every = checkpoint_every or eval_every
        self.seed, self.eval_batch, self.max_settings, self.progress = (
            seed,
            eval_batch,
            max_settings,
            progress,
        )
        if max_queries is not None and (
            isinstance(max_queries, bool) or not isinstance(max_queries, int) or max_queries < 1
        ):
            raise ValueError(
                f"max_queries must be a positive integer (a training query budget), got {max_queries!r}"
            )
        self.max_queries = max_queries
        self.fingerprint = layout_fingerprint(oracle)
        start = oracle.initial_params(seed if init_seed is None else init_seed) if params is None else params
        # the trainer's state lives on the CPU in float64; the chip moves phases to its device
        self.params = torch.as_tensor(start).detach().to("cpu", torch.float64).clone()
        if self.params.shape != (oracle.n_params,):
            raise ValueError(
                f"initial parameters must have shape ({oracle.n_params},), got {tuple(self.params.shape)}"
            )
        self.data_generator = torch.Generator().manual_seed(seed)
        self.estimator_generator = torch.Generator().manual_seed(seed + 1)
        self.step = 0
        self.train_queries = 0
        self.eval_queries = 0
        self.wall = 0.0
        self.metric_lines = 0
        self.history: list[dict] = []
        # the best evaluation so far (the start included) and its parameters: what a user keeps
        self.best: dict | None = None
        self.best_params: torch.Tensor | None = None
        self.selection = getattr(self.objective, "selection", ("val_loss", "min"))

    # ---- evaluation through the Oracle ---------------------------------------------------
    def evaluate(self, params: torch.Tensor | None = None, data: tuple | None = None) -> dict:
        """The objective's evaluation of ``params`` (default: current) on ``data`` (default: its
        validation set), read from the chip; the queries count as evaluation queries."""
        params = self.params if params is None else params
        before = self.oracle.queries
        result = self.objective.evaluate(self.oracle, params, data)
        self.eval_queries += self.oracle.queries - before
        return result

    def _consider(self, result: dict, queries: int) -> None:
        """Keep ``self.params`` if ``result`` is the best evaluation so far (ties: the earlier)."""
        key, sense = self.selection
        value = result[key]
        if self.best is not None and not (
            value > self.best[key] if sense == "max" else value < self.best[key]
        ):
            return
        self.best = {"step": self.step, "queries": queries, **result}
        self.best_params = self.params.clone()

    def evaluate_kept_and_final(self, data: tuple | None = None) -> tuple[dict, dict]:
        """(evaluation of the kept — best-validated — parameters, of the current ones) on ``data``;
        one evaluation when they are the same (or when a checkpoint from before best-keeping has none)."""
        final = self.evaluate(data=data)
        if self.best is None or self.best["step"] == self.step:
            return final, final
        return self.evaluate(self.best_params, data=data), final

    # ---- checkpoints ---------------------------------------------------------------------
    def _checkpoint_path(self) -> Path:
        return self.run_dir / CHECKPOINT

    def save_checkpoint(self) -> Path:
        arrays = {
            "params": self.params.numpy(),
            "data_rng": self.data_generator.get_state().numpy(),
            "estimator_rng": self.estimator_generator.get_state().numpy(),
        }
        if self.best_params is not None:
            arrays["best_params"] = self.best_params.numpy()
        arrays.update({f"opt.{k}": v.detach().cpu().numpy() for k, v in self.optimizer.state_dict().items()})
        meta = {
            "step": self.step,
            "train_queries": self.train_queries,
            "eval_queries": self.eval_queries,
            "wall": self.wall,
            "metric_lines": self.metric_lines,
            "fingerprint": self.fingerprint,
            "estimator_state": self.estimator.state_dict(),
            "best": self.best,
        }
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        path = self._checkpoint_path()
        with atomic_file(path, "wb") as f:
            np.savez(f, **arrays)
        return path

    def load_checkpoint(self, path: str | os.PathLike | None = None) -> None:
        path = Path(path) if path is not None else self._checkpoint_path()
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
            meta = json.loads(arrays.pop("meta").tobytes().decode())
            fingerprint = meta.get("fingerprint")
            params = torch.from_numpy(arrays.pop("params")).to(torch.float64)
            data_rng, estimator_rng = (torch.from_numpy(arrays.pop(k)) for k in ("data_rng", "estimator_rng"))
            counters = [meta[k] for k in ("step", "train_queries", "eval_queries", "wall", "metric_lines")]
            estimator_state = meta["estimator_state"]
            best = meta.get("best")
            best_params = arrays.pop("best_params", None)
            best_params = None if best_params is None else torch.from_numpy(best_params).to(torch.float64)
        except FileNotFoundError:
            raise CheckpointError(f"no checkpoint to resume from at {path}; start without --resume") from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError, json.JSONDecodeError) as e:
            raise CheckpointError(
                f"checkpoint {path} is damaged or not a photonzo checkpoint ({e!r})"
            ) from None
        if fingerprint != self.fingerprint:
            theirs = (fingerprint or {}).get("n_params") if isinstance(fingerprint, dict) else None
            what = (
                "the same number of parameters but other named slices"
                if theirs == self.fingerprint["n_params"]
                else f"{theirs} parameters; this chip has {self.fingerprint['n_params']}"
            )
            raise CheckpointError(
                f"checkpoint {path} belongs to a different model or parameter layout ({what}); "
                "use a fresh run directory or the matching --model"
            )
        try:
            self.data_generator.set_state(data_rng)
            self.estimator_generator.set_state(estimator_rng)
            self.optimizer.load_state_dict(
                {k[4:]: torch.from_numpy(v) for k, v in arrays.items() if k.startswith("opt.")}
            )
            self.estimator.load_state_dict(estimator_state)
        except (RuntimeError, KeyError, TypeError, ValueError) as e:
            raise CheckpointError(
                f"checkpoint {path} does not fit this estimator/optimiser ({e!r})"
            ) from None
        self.params, self.best, self.best_params = params, best, best_params
        self.step, self.train_queries, self.eval_queries, self.wall, self.metric_lines = counters
        self._truncate_metrics()

    def _truncate_metrics(self) -> None:
        """Keep the metrics written up to the checkpoint; drop lines of the interrupted tail."""
        path = self.run_dir / METRICS
        lines = path.read_text().splitlines(keepends=True) if path.exists() else []
        if len(lines) < self.metric_lines:
            raise CheckpointError(
                f"{path} has {len(lines)} lines but the checkpoint expects {self.metric_lines}"
            )
        kept = lines[: self.metric_lines]
        atomic_write_text(path, "".join(kept))
        self.history = [json.loads(line) for line in kept]

    # ---- the loop ------------------------------------------------------------------------
    def _batch(self):
        return self.objective.sample(self.data_generator, self.batch_size)

    def _log(self, record: dict) -> None:
        with open(self.run_dir / METRICS, "a") as f:
            f.write(json.dumps(record) + "\n")
        self.metric_lines += 1
        self.history.append(record)

    def run(self, resume: bool = False) -> list[dict]:
        """Train to ``steps``; returns the metrics history (also in ``metrics.jsonl``)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if resume:
            self.load_checkpoint()
        elif self._checkpoint_path().exists() or (self.run_dir / METRICS).exists():
            raise FileExistsError(
                f"{self.run_dir} already holds a run; resume it (--resume) or choose another run directory"
            )
        else:
            self._consider(
                self.evaluate(), queries=0
            )  # the start competes too: training never makes it worse
            self.save_checkpoint()  # from step 0 on, a killed run can always be resumed
        bar = progress_bar(enabled=self.progress, total=self.steps, initial=self.step, desc="ZO training")
        try:
            while self.step < self.steps and not self._budget_spent():
                t0 = time.perf_counter()
                batch = self._batch()
                estimate = self.estimator.estimate(
                    self.oracle,
                    self.params,
                    batch,
                    self.step,
                    self.estimator_generator,
                    self.max_settings,
                    loss_fn=self.objective.loss_fn(self.oracle, batch),
                )
                if not math.isfinite(estimate.loss) or not torch.isfinite(estimate.grad).all():
                    raise FloatingPointError(
                        f"step {self.step}: the loss or its estimate is not finite "
                        f"(loss {estimate.loss}); lower the learning rate or the step mu"
                    )
                if self.history and estimate.method != self.history[-1]["method"]:
                    # a new estimator (a hybrid's switch) estimates on another scale — sign-RGE's ±1
                    # against CGE's true slopes — so the old moments would mis-scale its steps for
                    # about 1/(1 − β₂) steps; it starts with a fresh optimiser state instead
                    self.optimizer.reset()
                at = self._schedule_step()
                lr = self.optimizer.lr_at(at)
                self.params = self.optimizer.step(self.params, estimate.grad, at)
                if not torch.isfinite(self.params).all():
                    raise FloatingPointError(
                        f"step {self.step}: the parameters became non-finite; lower the learning rate"
                    )
                self.train_queries += estimate.queries
                self.wall += time.perf_counter() - t0
                record = {
                    "step": self.step,
                    "loss": estimate.loss,
                    "lr": lr,
                    "method": estimate.method,
                    "step_queries": estimate.queries,
                    "queries": self.train_queries,
                    **estimate.extra,
                }
                self.step += 1
                last = self.step == self.steps or self._budget_spent()
                if self.step % self.eval_every == 0 or last:
                    result = self.evaluate()
                    record.update(result, eval_queries=self.eval_queries)
                    self.estimator.observe(self.step - 1, record["val_loss"])
                    self._consider(result, queries=self.train_queries)
                record["wall"] = round(self.wall, 4)
                self._log(record)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(
                        loss=f"{estimate.loss:.3f}",
                        acc=_last(self.history, "val_acc"),
                        queries=f"{self.train_queries:,}",
                    )
                if self.step % self.checkpoint_every == 0 or last:
                    self.save_checkpoint()
        finally:
            if bar is not None:
                bar.close()
        return self.history

    def _schedule_step(self) -> int:
        """Where the learning-rate schedule stands: the step, or — when a query budget will end the
        run first — the same fraction of ``steps`` as the fraction of the budget spent, so that a
        decaying schedule has decayed when the budget runs out even if steps grow dearer on the way
        (a hybrid's switch to CGE)."""
        if self.max_queries is None:
            return self.step
        return max(self.step, min(self.steps, self.steps * self.train_queries // self.max_queries))

    def _budget_spent(self) -> bool:
        # checked before each step: the last step may overshoot the budget by at most its own cost,
        # which the logged query counts include
        return self.max_queries is not None and self.train_queries >= self.max_queries


def _last(history, key):
    for record in reversed(history):
        if key in record:
            return f"{record[key]:.3f}"
    return "-"
