"""Runs from a configuration: a classification run (``run_training``) and a PINN run (``run_pinn``).

This is the only place where a chip is built for training; the trainer gets its Oracle. Both runs
share one skeleton (``_execute``): check the run directory, build the chip and the trainer, write
``config.json``, train, write the summary and the curves. A run directory is complete when
``summary.json`` exists (written last, atomically); a run that stopped early has ``config.json``,
``metrics.jsonl`` and ``checkpoint.npz`` and is continued with ``resume=True``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..data.datasets import DATASETS, fit_features, load_dataset
from ..io import atomic_write_json
from ..photonics.chip import Chip
from ..photonics.hardware import PRESETS, HardwareModel
from ..photonics.layers import OpticalLinear
from ..photonics.network import OpticalNetwork, build_network, dense_equivalent_mzis
from ..pinn.objective import PINNObjective
from ..pinn.pde import build_pde
from ..pinn.quadrature import make_rule, sparse_grid
from ..pinn.stein import FiniteDifference, SteinEstimator
from ..training.estimators import ESTIMATORS, RGE, build_estimator
from ..training.optim import OPTIMIZERS, SCHEDULES, Adam, Schedule, build_optimizer, phase_mask
from ..training.tpsgd import LOCAL_LOSSES, build_layer_local
from ..training.zo import ZOTrainer
from .plots import plot_training

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

    def validate(self) -> TrainConfig:
        checks = [
            ("dataset", self.dataset, DATASETS),
            ("model", self.model, ("tt", "dense")),
            ("estimator", self.estimator, TRAIN_ESTIMATORS),
            ("local loss", self.local_loss, tuple(LOCAL_LOSSES)),
            ("hardware", self.hardware, tuple(PRESETS)),
            ("optimizer", self.optimizer, OPTIMIZERS),
            ("schedule", self.schedule, SCHEDULES),
        ]
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
        valid = valid[: config.eval_size]
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))
    return (
        (t(x_train[train]), t(ds.y_train[train])),
        (t(x_train[valid]), t(ds.y_train[valid])),
        (t(x_test), t(ds.y_test)),
        ds.source,
    )


def build_chip(config: TrainConfig, network=None) -> Chip:
    network = network or build_network(
        config.model_name, block=config.block, mesh=config.mesh, readout=config.readout
    )
    return Chip(network, config.hardware_model(), seed=config.chip_seed, output_gain=config.output_gain)


def make_estimator(config: TrainConfig, oracle):
    """The configured estimator for ``oracle``'s parameter layout."""
    if config.estimator == "layer-local":
        return build_layer_local(
            oracle,
            q=config.q,
            mu=config.mu,
            distribution=config.distribution,
            scheme=config.scheme,
            level=config.level if config.tensorwise else "layer",
            local_loss=config.local_loss,
            joint=config.joint,
            projection_seed=config.projection_seed,
            target_scale=config.target_scale,
        )
    return build_estimator(
        config.estimator,
        oracle,
        q=config.q,
        mu=config.mu,
        distribution=config.distribution,
        scheme=config.scheme,
        tensorwise=config.tensorwise,
        level=config.level,
        cge_scheme=config.cge_scheme,
        cge_subset=config.cge_subset,
        per_group=config.per_group,
        cge_max=config.cge_max,
        switch_step=config.switch_step,
        patience=config.patience,
    )


def make_trainer(
    config: TrainConfig,
    oracle,
    train,
    valid,
    run_dir,
    progress: bool = True,
    params: torch.Tensor | None = None,
) -> ZOTrainer:
    estimator = make_estimator(config, oracle)
    schedule = (
        Schedule(config.schedule, total=config.steps)
        if config.schedule == "cosine"
        else (Schedule("step", every=max(1, config.steps // 3)) if config.schedule == "step" else Schedule())
    )
    optimizer = build_optimizer(
        config.optimizer, config.lr, schedule, mask=phase_mask(oracle.param_slices("mesh"), oracle.n_params)
    )
    return ZOTrainer(
        oracle,
        estimator,
        optimizer,
        train,
        valid,
        run_dir,
        steps=config.steps,
        batch_size=config.batch_size,
        eval_every=config.eval_every,
        seed=config.seed,
        progress=progress,
        params=params,
        max_queries=config.max_queries,
    )


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
            raise ValueError(
                f"{saved} differs from this run's options ({', '.join(changed)}); resume with the same "
                "options (or start a new run directory)"
            )
    elif saved.exists() or (run_dir / "checkpoint.npz").exists():
        raise FileExistsError(
            f"{run_dir} already holds a run; pass --resume to continue it or choose another --run-dir"
        )


def _execute(run_dir, config: dict, free: tuple[str, ...], resume: bool, build, summarise, plot) -> dict:
    """The skeleton every run shares: check ``run_dir``; ``build()`` → (trainer, context); write
    ``config.json``; train; ``summarise(trainer, history, context)`` → summary; ``plot(history, path)``
    if given; ``summary.json`` last."""
    run_dir = Path(run_dir)
    check_run_dir(run_dir, config, resume, free)
    trainer, context = build(run_dir)
    if not resume:
        run_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_json(run_dir / "config.json", config)
    t0 = time.perf_counter()
    history = trainer.run(resume=resume)
    summary = summarise(trainer, history, context)
    summary["wall_s_this_session"] = round(time.perf_counter() - t0, 3)
    if plot is not None:
        plot(history, run_dir / "curves.png")
    atomic_write_json(run_dir / "summary.json", summary)
    return summary


def run_training(
    config: TrainConfig,
    run_dir,
    resume: bool = False,
    progress: bool = True,
    plot: bool = True,
    network=None,
    params=None,
) -> dict:
    """Train on the simulated chip; writes config.json, metrics.jsonl, checkpoint.npz,
    curves.png and (last) summary.json into ``run_dir``. Returns the summary.

    ``network`` and ``params`` start from a given point instead of random phases: e.g. phases
    programmed from digital weights (with the network whose electronic gains they set), for
    in-situ fine-tuning. A resumed run must be given the same start."""
    config.validate()

    def build(run_dir):
        chip = build_chip(config, network)
        train, valid, test, source = prepare_data(config, chip.network.in_features)
        start = None if params is None else torch.as_tensor(np.asarray(params), dtype=chip.real_dtype)
        trainer = make_trainer(config, chip.oracle(), train, valid, run_dir, progress, params=start)
        before = trainer.evaluate(data=test) if start is not None and not resume else None
        return trainer, (chip, test, source, before)

    def summarise(trainer, history, context):
        chip, test, source, before = context
        # test accuracy through the same Oracle, of the phases a user keeps (the best on validation,
        # the start included) and of the last step's
        kept, final = trainer.evaluate_kept_and_final(data=test)
        best = trainer.best or {
            "step": trainer.step,
            "val_acc": history[-1].get("val_acc"),
        }  # older checkpoints
        summary = {
            "dataset": config.dataset,
            "data_source": source,
            "model": config.model_name,
            "hardware": config.hardware_model().describe(),
            "estimator": trainer.estimator.describe(),
            "steps": trainer.step,
            "train_queries": trainer.train_queries,
            "eval_queries": trainer.eval_queries,
            "train_wall_s": round(trainer.wall, 3),
            "test_acc": kept["val_acc"],
            "test_loss": kept["val_loss"],
            "kept_step": best["step"],
            "kept_val_acc": best["val_acc"],
            "final_test_acc": final["val_acc"],
            "final_val_acc": history[-1].get("val_acc"),
            "phases": int(chip.network.phase_mask.sum()),
            "params": chip.n_params,
            "mzis": chip.network.n_mzis,
        }
        if before is not None:
            summary["start_test_acc"] = before["val_acc"]
        return summary

    title = (
        f"{config.model_name} on {config.dataset}, {config.estimator}"
        f"{' tensor-wise' if config.tensorwise else ''}, {config.hardware} chip"
    )
    curves = (lambda history, path: plot_training(history, path, title=title)) if plot else None
    # a run may be extended (steps, budget) or its data moved; everything else must match
    return _execute(
        run_dir, _jsonable(config), ("steps", "max_queries", "data_dir"), resume, build, summarise, curves
    )


def _jsonable(config: TrainConfig) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(config)))


# ---- one PINN run from a configuration ---------------------------------------------------------
DERIVATIVES = ("sparse-grid", "monte-carlo", "fd")
PINN_MODELS = ("tt", "dense", "small")


@dataclass
class PINNConfig:
    pde: str = "hjb"
    dim: int = 20
    model: str = "tt"  # tt / dense: the reference 21→512→512→1 pair (dim 20); small: (d+1)→32→32→1
    estimator: str = "sparse-grid"  # how the PDE's derivatives are estimated
    rule: str = "gauss-hermite"
    level: int = 2
    nodes: int | None = None  # monte-carlo: nodes per point (default: the sparse grid's count)
    sigma: float = 0.1  # smoothing radius (also the finite-difference step)
    force: bool = False  # build a sparse grid past the node limit
    q: int = 10
    mu: float = 0.025
    lr: float = 0.01
    steps: int = 200
    points: int = 100  # collocation points per step
    eval_every: int = 20
    test_points: int = 10_000
    hardware: str = "ideal"
    chip_seed: int = 0
    seed: int = 0
    float64: bool = True  # complex128: float32 rounding, amplified by Σ|w|/σ², swamps the Laplacian
    max_queries: int | None = None

    def validate(self) -> PINNConfig:
        for name, value, accepted in (
            ("derivative estimator", self.estimator, DERIVATIVES),
            ("model", self.model, PINN_MODELS),
            ("hardware", self.hardware, tuple(PRESETS)),
        ):
            if value not in accepted:
                raise ValueError(f"unknown {name} {value!r}; accepted values are {', '.join(accepted)}")
        if self.model != "small" and self.dim != 20:
            raise ValueError(
                f"the {self.model} reference network takes 21 inputs (dim 20); use --model small "
                f"for dim {self.dim}"
            )
        if not self.sigma > 0:
            raise ValueError(f"sigma must be positive, got {self.sigma}")
        for name in ("q", "steps", "points", "eval_every", "test_points"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)}")
        return self


def build_pinn_network(config: PINNConfig):
    if config.model == "small":
        d = config.dim + 1
        return OpticalNetwork(
            [OpticalLinear(d, 32), OpticalLinear(32, 32), OpticalLinear(32, 1)],
            ["sin", "sin"],
            name=f"pinn-small-{d}",
        )
    return build_network(f"hjb-{config.model}")


def build_derivatives(config: PINNConfig, input_dim: int, spatial: int):
    if config.estimator == "fd":
        return FiniteDifference(input_dim, config.sigma, spatial=spatial)
    if config.estimator == "sparse-grid":
        rule = make_rule(config.rule, input_dim, level=config.level, force=config.force)
    else:
        n = config.nodes or sparse_grid("gauss-hermite", input_dim, config.level, force=config.force).n_nodes
        rule = make_rule(
            "antithetic" if config.rule == "antithetic" else "monte-carlo",
            input_dim,
            nodes=n + n % 2 if config.rule == "antithetic" else n,
            seed=config.seed,
        )
    return SteinEstimator(rule, config.sigma, spatial=spatial)


def run_pinn(
    config: PINNConfig, run_dir, resume: bool = False, progress: bool = True, plot: bool = True
) -> dict:
    """Train a PINN on the chip by ZO; writes config.json, metrics.jsonl, checkpoint.npz,
    curves.png and (last) summary.json into ``run_dir``."""
    config.validate()
    pde = build_pde(config.pde, config.dim)

    def build(run_dir):
        network = build_pinn_network(config)
        chip = Chip(
            network,
            HardwareModel.preset(config.hardware),
            seed=config.chip_seed,
            dtype=torch.complex128 if config.float64 else torch.complex64,
            loss="mse",
        )
        oracle = chip.oracle()
        derivatives = build_derivatives(config, pde.input_dim, pde.dim)
        objective = PINNObjective(pde, derivatives, test_points=config.test_points, seed=config.seed)
        optimizer = Adam(
            config.lr,
            schedule=Schedule("cosine", total=config.steps),
            mask=phase_mask(oracle.param_slices("mesh"), oracle.n_params),
        )
        trainer = ZOTrainer(
            oracle,
            RGE(config.q, mu=config.mu),
            optimizer,
            None,
            None,
            run_dir,
            steps=config.steps,
            batch_size=config.points,
            eval_every=config.eval_every,
            seed=config.seed,
            progress=progress,
            max_queries=config.max_queries,
            objective=objective,
            max_settings=32,
        )
        return trainer, (network, derivatives)

    def summarise(trainer, history, context):
        network, derivatives = context
        final = history[-1]
        rule = derivatives.rule.describe() if hasattr(derivatives, "rule") else {"h": config.sigma}
        return {
            "pde": pde.describe(),
            "model": network.name,
            "mzis": network.n_mzis,
            "dense_equivalent_mzis": dense_equivalent_mzis(network),
            "hardware": config.hardware,
            "derivatives": {
                "estimator": config.estimator,
                "evaluations_per_point": derivatives.evaluations,
                **rule,
            },
            "steps": trainer.step,
            "train_queries": trainer.train_queries,
            "inferences_per_query": config.points * derivatives.evaluations,
            "train_wall_s": round(trainer.wall, 3),
            "rel_l2": final.get("rel_l2"),
            "rel_l2_learned": final.get("rel_l2_learned"),
            "val_loss": final.get("val_loss"),
        }

    def curves(history, path):
        plot_training(
            history,
            path,
            title=f"{config.pde}-{config.dim} on the {config.hardware} chip, {config.estimator} derivatives",
            loss_label="mean squared residual",
            metrics={"rel_l2": "u", "rel_l2_learned": "learned part"},
            metric_label="relative ℓ2 error",
            scale=1,
            log=True,
        )

    return _execute(
        run_dir, asdict(config), ("steps", "max_queries"), resume, build, summarise, curves if plot else None
    )
