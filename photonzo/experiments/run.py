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
from pathlib import Path

import numpy as np
import torch

from ..data.datasets import fit_features, load_dataset
from ..io import atomic_write_json, exclusive
from ..photonics.chip import Chip
from ..photonics.hardware import HardwareModel
from ..photonics.layers import OpticalLinear
from ..photonics.network import OpticalNetwork, Program, build_network, dense_equivalent_mzis
from ..pinn.objective import PINNObjective
from ..pinn.pde import build_pde
from ..pinn.quadrature import make_rule, sparse_grid_size
from ..pinn.stein import FiniteDifference, LeastSquaresEstimator, SteinEstimator
from ..training.estimators import RGE, build_estimators
from ..training.loop import Extension, LoopConfig
from ..training.methods import hybrid, method
from ..training.objectives import Classification
from ..training.optim import adam, build_optimizer, phase_mask, run_schedule
from ..training.tpsgd import build_layer_local
from ..training.zo import ZOTrainer
from ..validation import check_memory
from .config import RETIRED, PINNConfig, TrainConfig


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


def build_chip(config: TrainConfig, gains=None) -> Chip:
    """The configured chip; ``gains``: its matrices' electronic gains (e.g. a deployed ``Program``'s),
    the network's nominal ones if None."""
    network = build_network(config.model_name, block=config.block, mesh=config.mesh, readout=config.readout)
    return Chip(
        network,
        config.hardware_model(),
        seed=config.chip_seed,
        output_gain=config.output_gain,
        gains=gains,
    )


def evaluate_on_chip(chip: Chip, params, data, eval_batch: int = 1000) -> dict:
    """Cross-entropy and accuracy (``val_loss``, ``val_acc``) of the phases ``params`` on ``data`` =
    (inputs, labels), read through ``chip``'s Oracle with its noise on — how a run measures its test
    accuracy. For a deployed ``Program``: ``evaluate_on_chip(build_chip(config, program.gains),
    program.params, test)``."""
    params = torch.as_tensor(params, dtype=chip.real_dtype)
    return Classification(data, data, eval_batch).evaluate(chip.oracle(), params, data)


def make_estimators(config: TrainConfig, oracle) -> tuple:
    """The configured estimator(s) for ``oracle``'s parameter layout (a hybrid's: its two phases)."""
    if config.estimator == "layer-local":
        level = config.level if config.tensorwise else "layer"
        return (
            build_layer_local(
                oracle,
                q=config.q,
                mu=config.mu,
                distribution=config.distribution,
                scheme=config.scheme,
                level=level,
                local_loss=config.local_loss,
                joint=config.joint,
                projection_seed=config.projection_seed,
                target_scale=config.target_scale,
            ),
        )
    return build_estimators(
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
    )


def make_method(config: TrainConfig, oracle):
    """The configured estimator with its optimiser; a hybrid gets one optimiser state per phase."""
    schedule = run_schedule(config.schedule, config.steps)
    mask = phase_mask(oracle.param_slices("mesh"), oracle.n_params)
    optimizer = build_optimizer(config.optimizer, config.lr, schedule, mask=mask)
    phases = [method(estimator, optimizer) for estimator in make_estimators(config, oracle)]
    if config.estimator != "hybrid":
        return phases[0]
    return hybrid(*phases, switch_step=config.switch_step, patience=config.patience)


def make_trainer(
    config: TrainConfig,
    oracle,
    train,
    valid,
    run_dir,
    progress: bool = True,
    params: torch.Tensor | None = None,
) -> ZOTrainer:
    loop = LoopConfig(
        steps=config.steps,
        batch_size=config.batch_size,
        eval_every=config.eval_every,
        max_queries=config.max_queries,
    )
    return ZOTrainer(
        oracle,
        make_method(config, oracle),
        Classification(train, valid),
        run_dir,
        loop,
        seed=config.seed,
        params=params,
        progress=progress,
    )


def read_config(path: Path) -> dict:
    """A run's ``config.json``; a damaged one is an error that names it."""
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is damaged ({e}); restore it or start a new run directory") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path} is not a run configuration (a JSON object)")
    return config


def check_run_dir(run_dir: Path, config: dict, resume: bool, free: tuple[str, ...]) -> bool:
    """Before a run starts: a resumed run must have a ``config.json`` equal to ``config`` but for
    the ``free`` keys; a new run must not land in a directory that already holds one. Returns
    whether there is something to resume: a run stopped before its first checkpoint (killed
    during its start evaluation) left only ``config.json``, so it simply starts again, with or
    without ``--resume`` (no dead end either way)."""
    saved = run_dir / "config.json"
    started = (run_dir / "checkpoint.npz").exists() or (run_dir / "metrics.jsonl").exists()
    if resume:
        if not saved.exists():
            raise FileNotFoundError(f"nothing to resume in {run_dir}: no config.json")
        before = {
            k: v
            for k, v in read_config(saved).items()
            if k not in free and k != "extensions" and RETIRED.get(k, ()) != v
        }
        now = {k: v for k, v in config.items() if k not in free}
        if before != now:
            changed = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
            raise ValueError(
                f"{saved} differs from this run's options ({', '.join(changed)}); resume with the same "
                "options (or start a new run directory)"
            )
        return started
    if started:
        raise FileExistsError(
            f"{run_dir} already holds a run; pass --resume to continue it or choose another --run-dir"
        )
    return False


def _execute(run, run_dir, free: tuple[str, ...], resume: bool) -> dict:
    """The skeleton every run shares: check ``run_dir``; ``run.build(run_dir)`` → trainer; write
    ``config.json``; train; ``run.summarise(trainer, history)`` → ``summary.json``, written last.
    The caller draws the curves (``plots.plot_run``): a run never imports the plots."""
    run_dir = Path(run_dir)
    check_run_dir(run_dir, run.config.flat(), resume, free)  # refuse before anything is created
    with exclusive(run_dir):
        resume = check_run_dir(run_dir, run.config.flat(), resume, free)  # again, now that it is ours
        trainer = run.build(run_dir, resume)
        if resume:
            extend(trainer, run_dir, run.config.flat())
        else:
            atomic_write_json(run_dir / "config.json", run.config.flat())
        t0 = time.perf_counter()
        history = trainer.run(resume=resume)
        summary = run.summarise(trainer, history)
        summary["wall_s_this_session"] = round(time.perf_counter() - t0, 3)
        atomic_write_json(run_dir / "summary.json", summary)
    return summary


def extend(trainer: ZOTrainer, run_dir: Path, config: dict) -> None:
    """A resumed run's length. When ``steps`` or ``max_queries`` differ from those in ``config.json``,
    the run is extended (or shortened) from its checkpoint on: its learning-rate schedule goes on
    from where it was and ends at the new length, with no restart (``training/loop.py``), and
    ``config.json`` records the new length and, in ``extensions``, each change (where the run stood,
    the old and the new values), so a later resume reads the same schedule. The trainer's loop gets
    the recorded extensions."""
    saved = read_config(run_dir / "config.json")
    recorded = saved.get("extensions", [])
    extensions = [Extension.from_json(e) for e in (recorded if isinstance(recorded, list) else [recorded])]
    before, now = (saved.get("steps"), saved.get("max_queries")), (config["steps"], config["max_queries"])
    if before != now:
        trainer.load_checkpoint()  # where the run stands (trainer.run loads it again: the same state)
        last = trainer.history[-1] if trainer.history else {}
        state = trainer.state
        change = {
            "step": state.step,
            "queries": state.train_queries,
            "last_queries": last.get("queries", state.train_queries) - last.get("step_queries", 0),
            "steps": [before[0], now[0]],
            "max_queries": [before[1], now[1]],
        }
        extensions.append(Extension.from_json(change))
        atomic_write_json(
            run_dir / "config.json", {**config, "extensions": [e.as_json() for e in extensions]}
        )
    trainer.loop = dataclasses.replace(trainer.loop, extensions=tuple(extensions))


def check_run_memory(network, batch: int, queries_per_call: int, directions: int) -> None:
    """The largest arrays a run allocates, sized before it starts: a batch of inputs, the outputs of
    one Oracle call (``queries_per_call`` settings × the batch), the random directions of a step."""
    check_memory(
        batch * network.in_features * 8, f"a batch of {batch:,} inputs", "lower --batch-size (or --points)"
    )
    check_memory(
        queries_per_call * batch * max(layer.out_features for layer in network.layers) * 16,
        f"one chip call of {queries_per_call} settings × {batch:,} inputs",
        "lower --batch-size (or --points)",
    )
    check_memory(
        2 * directions * network.n_params * 8,
        f"{directions:,} random directions over {network.n_params:,} parameters",
        "lower --q",
    )


class _TrainingRun:
    """A classification run: chip, data, trainer, summary (for ``_execute``)."""

    def __init__(self, config: TrainConfig, start: Program | None, progress: bool):
        self.config, self.start, self.progress = config, start, progress

    def build(self, run_dir: Path, resume: bool) -> ZOTrainer:
        config, start = self.config, self.start
        self.chip = build_chip(config, None if start is None else start.gains)
        check_run_memory(self.chip.network, config.batch_size, 257, config.q)
        train, valid, self.test, self.source = prepare_data(config, self.chip.network.in_features)
        params = (
            None if start is None else torch.as_tensor(np.asarray(start.params), dtype=self.chip.real_dtype)
        )
        trainer = make_trainer(
            config, self.chip.oracle(), train, valid, run_dir, self.progress, params=params
        )
        self.before = trainer.evaluate(data=self.test) if params is not None and not resume else None
        return trainer

    def summarise(self, trainer: ZOTrainer, history: list[dict]) -> dict:
        config, network = self.config, self.chip.network
        # test accuracy through the same Oracle, of the phases a user keeps (the best on validation,
        # the start included) and of the last step's
        kept, final = trainer.evaluate_kept_and_final(data=self.test)
        best = trainer.best or {
            "step": trainer.step,
            "val_acc": history[-1].get("val_acc"),
        }  # older checkpoints
        summary = {
            "dataset": config.dataset,
            "data_source": self.source,
            "model": config.model_name,
            "hardware": config.hardware_model().describe(),
            "estimator": trainer.method.describe(trainer.state.method_state),
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
            "phases": int(network.phase_mask.sum()),
            "params": self.chip.n_params,
            "mzis": network.n_mzis,
        }
        if self.before is not None:
            summary["start_test_acc"] = self.before["val_acc"]
        return summary


def run_training(
    config: TrainConfig,
    run_dir,
    resume: bool = False,
    progress: bool = True,
    start: Program | None = None,
) -> dict:
    """Train on the simulated chip; writes config.json, metrics.jsonl, checkpoint.npz and (last)
    summary.json into ``run_dir`` (``plots.plot_run`` adds curves.png). Returns the summary.

    ``start`` starts from a deployed ``Program`` instead of random phases (e.g. digital weights
    programmed by ``deploy``, for in-situ fine-tuning): its gains go to the chip, its params are
    the starting phases. A resumed run must be given the same start. It may be given other ``steps``
    or ``max_queries``: it is then extended (or shortened), its schedule going on from where it was
    to its end at the new length, and ``config.json`` records the change (``extend``)."""
    # a run may be extended (steps, budget) or its data moved; everything else must match
    free = ("steps", "max_queries", "data_dir")
    return _execute(_TrainingRun(config, start, progress), run_dir, free, resume)


# ---- one PINN run from a configuration ---------------------------------------------------------
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
    if config.estimator in ("sparse-grid", "least-squares"):
        rule = make_rule(config.rule, input_dim, level=config.level, force=config.force)
        if config.estimator == "least-squares":
            return LeastSquaresEstimator(rule, config.sigma, spatial=spatial)
    else:
        n = config.nodes or sparse_grid_size("gauss-hermite", input_dim, config.level)  # counted, not built
        rule = make_rule(
            "antithetic" if config.rule == "antithetic" else "monte-carlo",
            input_dim,
            nodes=n + n % 2 if config.rule == "antithetic" else n,
            seed=config.seed,
        )
    return SteinEstimator(rule, config.sigma, spatial=spatial)


class _PINNRun:
    """A PINN run: chip, derivative estimator, objective, trainer, summary (for ``_execute``)."""

    def __init__(self, config: PINNConfig, progress: bool):
        self.config, self.progress = config, progress
        self.pde = build_pde(config.pde, config.dim)

    def build(self, run_dir: Path, resume: bool) -> ZOTrainer:
        config, pde = self.config, self.pde
        self.network = build_pinn_network(config)
        dtype = torch.complex128 if config.float64 else torch.complex64
        chip = Chip(
            self.network,
            HardwareModel.preset(config.hardware),
            seed=config.chip_seed,
            dtype=dtype,
            loss="mse",
        )
        oracle = chip.oracle()
        check_run_memory(self.network, 1, 1, config.q)  # the directions, before any sparse grid is built
        self.derivatives = build_derivatives(config, pde.input_dim, pde.dim)
        check_run_memory(self.network, config.points * self.derivatives.evaluations, 32, config.q)
        objective = PINNObjective(pde, self.derivatives, test_points=config.test_points, seed=config.seed)
        mask = phase_mask(oracle.param_slices("mesh"), oracle.n_params)
        optimizer = adam(config.lr, run_schedule("cosine", config.steps), mask=mask)
        loop = LoopConfig(
            steps=config.steps,
            batch_size=config.points,
            eval_every=config.eval_every,
            max_settings=32,
            max_queries=config.max_queries,
        )
        chosen = method(RGE(config.q, mu=config.mu), optimizer)
        return ZOTrainer(oracle, chosen, objective, run_dir, loop, seed=config.seed, progress=self.progress)

    def summarise(self, trainer: ZOTrainer, history: list[dict]) -> dict:
        config, network, derivatives, final = self.config, self.network, self.derivatives, history[-1]
        rule = derivatives.rule.describe() if hasattr(derivatives, "rule") else {"h": config.sigma}
        return {
            "pde": self.pde.describe(),
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


def run_pinn(config: PINNConfig, run_dir, resume: bool = False, progress: bool = True) -> dict:
    """Train a PINN on the chip by ZO; writes config.json, metrics.jsonl, checkpoint.npz and (last)
    summary.json into ``run_dir`` (``plots.plot_run`` adds curves.png). A resume with other ``steps``
    or ``max_queries`` extends the run (``extend``)."""
    return _execute(_PINNRun(config, progress), run_dir, ("steps", "max_queries"), resume)
