"""One training run from a configuration: data, chip, Oracle, estimator, optimiser, run directory.

This is the only place where a chip is built for training; the ``ZOTrainer`` gets its Oracle.
A run directory is complete when ``summary.json`` exists (written last, atomically); a run
that stopped early has ``config.json``, ``metrics.jsonl`` and ``checkpoint.npz`` and is
continued with ``resume=True``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..data.datasets import DATASETS, fit_features, load_dataset
from ..io import atomic_write_json
from ..photonics.chip import Chip
from ..photonics.hardware import PRESETS, HardwareModel
from ..photonics.network import build_network
from .estimators import ESTIMATORS, build_estimator
from .optim import OPTIMIZERS, SCHEDULES, Schedule, build_optimizer, phase_mask
from .tpsgd import LOCAL_LOSSES, build_layer_local
from .zo import ZOTrainer

# the whole-network estimators, and the layer-local one of target projection (tpSGD on the chip)
TRAIN_ESTIMATORS = ESTIMATORS + ("layer-local",)

MODEL_FOR = {"digits": "digits", "mnist": "mnist", "fashion-mnist": "mnist"}  # dataset → model family


@dataclass
class TrainConfig:
    dataset: str = "digits"
    model: str = "tt"  # tt | dense
    estimator: str = "rge"
    tensorwise: bool = True
    level: str = "core"
    q: int = 10
    mu: float = 0.025
    distribution: str = "rademacher"
    scheme: str = "central"
    per_group: bool = False
    cge_scheme: str = "forward"
    cge_subset: int | None = None
    cge_max: int = 128
    switch_step: int | None = None
    patience: int | None = 3
    local_loss: str = "mse"  # layer-local: the hidden layers' loss against their projected targets
    joint: bool = False  # layer-local: perturb all layers at once (2q + 1 queries per step)
    projection_seed: int = 1  # layer-local: seed of the fixed random target projections
    target_scale: float = 1.0  # layer-local: scale of the projected targets
    output_gain: float = 10.0  # the electronic amplifier after the output detectors (a chip setting)
    hardware: str = "ideal"
    phase_bits: int | None = None  # overrides the preset's DAC resolution
    hardware_overrides: dict = field(default_factory=dict)  # any other HardwareModel fields (sweeps)
    chip_seed: int = 0
    optimizer: str = "adam"
    lr: float = 0.01
    schedule: str = "cosine"
    steps: int = 1500
    batch_size: int = 64
    eval_every: int = 100
    valid_fraction: float = 0.1
    eval_size: int | None = None  # validation images per evaluation (None: all)
    max_queries: int | None = None  # stop when this many training queries are spent
    seed: int = 0
    block: int = 8
    mesh: str = "clements"
    readout: str = "coherent"
    data_dir: str | None = None
    extra: dict = field(default_factory=dict)

    def validate(self) -> "TrainConfig":
        checks = [("dataset", self.dataset, DATASETS), ("model", self.model, ("tt", "dense")),
                  ("estimator", self.estimator, TRAIN_ESTIMATORS),
                  ("local loss", self.local_loss, tuple(LOCAL_LOSSES)), ("hardware", self.hardware, tuple(PRESETS)),
                  ("optimizer", self.optimizer, OPTIMIZERS), ("schedule", self.schedule, SCHEDULES)]
        for name, value, accepted in checks:
            if value not in accepted:
                raise ValueError(f"unknown {name} {value!r}; accepted values are {', '.join(accepted)}")
        for name in ("q", "steps", "batch_size", "eval_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name.replace('_', '-')} must be a positive integer, got {value!r}")
        for name in ("lr", "mu"):
            if not self.__dict__[name] > 0:
                raise ValueError(f"{name} must be positive, got {self.__dict__[name]!r}")
        if self.phase_bits is not None and self.phase_bits < 1:
            raise ValueError(f"phase-bits must be at least 1, got {self.phase_bits}")
        self.hardware_model()  # unknown fields or impossible values fail here, before any work
        if not 0 < self.valid_fraction < 1:
            raise ValueError(f"valid-fraction must lie in (0, 1), got {self.valid_fraction}")
        return self

    @property
    def model_name(self) -> str:
        return f"{MODEL_FOR[self.dataset]}-{self.model}"

    def hardware_model(self) -> HardwareModel:
        hw = HardwareModel.preset(self.hardware)
        changes = dict(self.hardware_overrides)
        if self.phase_bits is not None:
            changes["phase_bits"] = self.phase_bits
        return hw.replace(**changes) if changes else hw


def prepare_data(config: TrainConfig, in_features: int):
    """(train, valid, test, source): validation is a fixed slice of the training split."""
    ds = load_dataset(config.dataset, config.data_dir)
    x_train, x_test = fit_features(ds.x_train, in_features), fit_features(ds.x_test, in_features)
    order = np.random.default_rng(12345).permutation(len(x_train))
    n_valid = max(1, int(round(config.valid_fraction * len(x_train))))
    valid, train = order[:n_valid], order[n_valid:]
    if config.eval_size is not None:
        valid = valid[:config.eval_size]
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))
    return ((t(x_train[train]), t(ds.y_train[train])), (t(x_train[valid]), t(ds.y_train[valid])),
            (t(x_test), t(ds.y_test)), ds.source)


def build_chip(config: TrainConfig, network=None) -> Chip:
    network = network or build_network(config.model_name, block=config.block, mesh=config.mesh, readout=config.readout)
    return Chip(network, config.hardware_model(), seed=config.chip_seed, output_gain=config.output_gain)


def make_estimator(config: TrainConfig, oracle):
    """The configured estimator for ``oracle``'s parameter layout."""
    if config.estimator == "layer-local":
        return build_layer_local(oracle, q=config.q, mu=config.mu, distribution=config.distribution,
                                 scheme=config.scheme, level=config.level if config.tensorwise else "layer",
                                 local_loss=config.local_loss, joint=config.joint,
                                 projection_seed=config.projection_seed, target_scale=config.target_scale)
    return build_estimator(config.estimator, oracle, q=config.q, mu=config.mu, distribution=config.distribution,
                           scheme=config.scheme, tensorwise=config.tensorwise, level=config.level,
                           cge_scheme=config.cge_scheme, cge_subset=config.cge_subset, per_group=config.per_group,
                           cge_max=config.cge_max, switch_step=config.switch_step, patience=config.patience)


def make_trainer(config: TrainConfig, oracle, train, valid, run_dir, progress: bool = True,
                 params: torch.Tensor | None = None) -> ZOTrainer:
    estimator = make_estimator(config, oracle)
    schedule = Schedule(config.schedule, total=config.steps) if config.schedule == "cosine" else (
        Schedule("step", every=max(1, config.steps // 3)) if config.schedule == "step" else Schedule())
    optimizer = build_optimizer(config.optimizer, config.lr, schedule,
                                mask=phase_mask(oracle.param_slices("mesh"), oracle.n_params))
    return ZOTrainer(oracle, estimator, optimizer, train, valid, run_dir, steps=config.steps,
                     batch_size=config.batch_size, eval_every=config.eval_every, seed=config.seed,
                     progress=progress, params=params, max_queries=config.max_queries)


def check_run_dir(run_dir: Path, config: dict, resume: bool, free: tuple[str, ...]) -> None:
    """Before a run starts: a resumed run must have a ``config.json`` equal to ``config`` but for
    the ``free`` keys; a new run must not land in a directory that already holds one."""
    saved = run_dir / "config.json"
    if resume:
        if not saved.exists():
            raise FileNotFoundError(f"nothing to resume in {run_dir}: no config.json")
        before = {k: v for k, v in json.loads(saved.read_text()).items() if k not in free}
        now = {k: v for k, v in config.items() if k not in free}
        if before != now:
            changed = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
            raise ValueError(f"{saved} differs from this run's options ({', '.join(changed)}); resume with the same "
                             "options (or start a new run directory)")
    elif saved.exists() or (run_dir / "checkpoint.npz").exists():
        raise FileExistsError(f"{run_dir} already holds a run; pass --resume to continue it or choose another --run-dir")


def run_training(config: TrainConfig, run_dir, resume: bool = False, progress: bool = True, plot: bool = True,
                 network=None, params=None) -> dict:
    """Train on the simulated chip; writes config.json, metrics.jsonl, checkpoint.npz,
    curves.png and (last) summary.json into ``run_dir``. Returns the summary.

    ``network`` and ``params`` start from a given point instead of random phases: e.g. phases
    programmed from digital weights (with the network whose electronic gains they set), for
    in-situ fine-tuning. A resumed run must be given the same start."""
    config.validate()
    run_dir = Path(run_dir)
    # a run may be extended (steps, budget) or its data moved; everything else must match
    check_run_dir(run_dir, _jsonable(config), resume, free=("steps", "max_queries", "data_dir"))
    chip = build_chip(config, network)
    train, valid, test, source = prepare_data(config, chip.network.in_features)
    start = None if params is None else torch.as_tensor(np.asarray(params), dtype=chip.real_dtype)
    trainer = make_trainer(config, chip.oracle(), train, valid, run_dir, progress, params=start)
    before = trainer.evaluate(data=test) if start is not None and not resume else None
    if not resume:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(run_dir / "config.json", _jsonable(config))
    t0 = time.perf_counter()
    history = trainer.run(resume=resume)
    # test accuracy through the same Oracle, of the phases a user keeps (the best on validation, the
    # start included) and of the last step's
    kept, final = trainer.evaluate_kept_and_final(data=test)
    best = trainer.best or {"step": trainer.step, "val_acc": history[-1].get("val_acc")}  # older checkpoints had none
    summary = {
        "dataset": config.dataset, "data_source": source, "model": config.model_name,
        "hardware": config.hardware_model().describe(), "estimator": trainer.estimator.describe(),
        "steps": trainer.step, "train_queries": trainer.train_queries, "eval_queries": trainer.eval_queries,
        "train_wall_s": round(trainer.wall, 3), "wall_s_this_session": round(time.perf_counter() - t0, 3),
        "test_acc": kept["val_acc"], "test_loss": kept["val_loss"], "kept_step": best["step"],
        "kept_val_acc": best["val_acc"], "final_test_acc": final["val_acc"],
        "final_val_acc": history[-1].get("val_acc"), "phases": int(chip.network.phase_mask.sum()),
        "params": chip.n_params, "mzis": chip.network.n_mzis,
    }
    if before is not None:
        summary["start_test_acc"] = before["val_acc"]
    if plot:
        from ..plots import plot_training

        plot_training(history, run_dir / "curves.png", title=f"{config.model_name} on {config.dataset}, "
                      f"{config.estimator}{' tensor-wise' if config.tensorwise else ''}, {config.hardware} chip")
    atomic_write_json(run_dir / "summary.json", summary)
    return summary


def _jsonable(config: TrainConfig) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(config)))
