"""Runs from a configuration: a classification run (``run_training``) and a PINN run (``run_pinn``).

This is the only place where a chip is built for training; the trainer gets its Oracle. Both runs
share one skeleton (``_execute``): check the run directory, build the chip and the trainer, write
``config.json``, train, write the summary and the curves. A run directory is complete when
``summary.json`` exists (written last, atomically); a run that stopped early has ``config.json``,
``metrics.jsonl`` and ``checkpoint.npz`` and is continued with ``resume=True``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from ..data.datasets import fit_features, load_dataset
from ..io import atomic_file, atomic_write_json, check_directory, exclusive
from ..photonics.chip import Chip
from ..photonics.energy import run_estimate
from ..photonics.layers import OpticalLinear
from ..photonics.network import OpticalNetwork, Program, build_network, dense_equivalent_mzis
from ..photonics.parallel import ParallelOracle, open_workers
from ..pinn.objective import PINNObjective
from ..pinn.pde import build_pde
from ..pinn.quadrature import MAX_NODES, make_rule, sparse_grid_size
from ..pinn.stein import FiniteDifference, LeastSquaresEstimator, SteinEstimator
from ..training.backprop import deploy, digital_accuracy, train_backprop
from ..training.estimators import build_estimators, settings_per_call
from ..training.literature import TRAINERS, build_trainer, build_trainer_estimator
from ..training.loop import Extension, LoopConfig
from ..training.methods import hybrid, method
from ..training.objectives import Classification
from ..training.optim import adam, build_optimizer, phase_mask, run_schedule
from ..training.recorder import check_resumable
from ..training.tpsgd import build_layer_local
from ..training.zo import ZOTrainer
from ..validation import check_memory
from .config import ADDED, RETIRED, BackpropConfig, ExecutionConfig, PINNConfig, TrainConfig
from .provenance import software


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
    network = build_network(
        config.model_name,
        block=config.block,
        mesh=config.mesh,
        readout=config.readout,
        edge_blocks=config.edge_blocks,
    )
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


def trainer_options(config: TrainConfig) -> dict:
    """The options of a literature trainer (``training/literature.py``) in ``config``."""
    names = ("q", "mu", "distribution", "scheme", "tensorwise", "level")
    return {
        **{name: getattr(config, name) for name in names},
        "active_fraction": config.active_fraction,
        "coordinate_fraction": config.coordinate_fraction,
        "seed": config.seed,
    }


def make_estimators(config: TrainConfig, oracle) -> tuple:
    """The configured estimator(s) for ``oracle``'s parameter layout (a hybrid's: its two phases)."""
    if config.estimator in TRAINERS:
        return (build_trainer_estimator(config.estimator, oracle, **trainer_options(config)),)
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
        density=config.density,
    )


def make_method(config: TrainConfig, oracle):
    """The configured estimator with its optimiser; a hybrid gets one optimiser state per phase."""
    schedule = run_schedule(config.schedule, config.steps)
    mask = phase_mask(oracle.param_slices("mesh"), oracle.n_params)
    optimizer = build_optimizer(config.optimizer, config.lr, schedule, mask=mask)
    if config.estimator in TRAINERS:  # with its paper's step rule (subspace: the configured optimiser)
        options = trainer_options(config)
        return build_trainer(
            config.estimator, oracle, optimizer, lr=config.lr, schedule=schedule, mask=mask, **options
        )
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
    """The ``ZOTrainer`` of a classification run: ``config``'s method (estimator and optimiser) on ``oracle``,
    the ``Classification`` of ``train`` and ``valid`` (inputs, labels), ``config``'s loop, recording in
    ``run_dir``; ``params``: the starting phases (default: random, from ``config.seed``)."""
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


def config_differences(saved: dict, config: dict, free: tuple[str, ...] = ()) -> dict[str, tuple]:
    """The settings in which a run directory's ``config.json`` (``saved``) and ``config`` differ, but
    for the ``free`` ones, in name order: name → (value there, value now). A setting added since the
    run was written is absent there: it had the value ``ADDED`` names (where this kind of run has
    it), or else it was unset (None)."""
    added = {k: v for k, v in ADDED.items() if k in config}
    before = {
        k: v
        for k, v in {**added, **saved}.items()
        if k not in free and k != "extensions" and RETIRED.get(k, ()) != v
    }
    now = {k: v for k, v in config.items() if k not in free}
    changed = sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))
    return {k: (before.get(k), now.get(k)) for k in changed}


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
        changed = config_differences(read_config(saved), config, free)
        if changed:
            values = "; ".join(f"{k}: {there!r} there, {now!r} now" for k, (there, now) in changed.items())
            options = " ".join(
                f"--{k.replace('_', '-')} {there}" for k, (there, _) in changed.items() if k in ADDED
            )
            hint = f" ({options} for a run written before the option existed)" if options else ""
            raise ValueError(
                f"{saved} differs from this run's options ({values}); resume with the same "
                f"options{hint} (or start a new run directory)"
            )
        check_resumable(run_dir)  # a damaged checkpoint or history: refused before the data is loaded
        return started
    if started:
        raise FileExistsError(
            f"{run_dir} already holds a run; pass --resume to continue it or choose another --run-dir"
        )
    return False


def _execute(
    run, run_dir, free: tuple[str, ...], resume: bool, execution: ExecutionConfig | None = None
) -> dict:
    """The skeleton every run shares: check ``run_dir``; start the run's workers (``execution``);
    ``run.build(run_dir)`` → trainer; write ``config.json``; train; ``run.summarise(trainer,
    history)`` → ``summary.json``, written last. The caller draws the curves (``plots.plot_run``): a
    run never imports the plots."""
    run_dir = check_directory(run_dir)  # a file, or a path under one: refused before the workers start
    check_run_dir(run_dir, run.config.flat(), resume, free)  # refuse before anything is created
    with _workers(run, execution or ExecutionConfig()), exclusive(run_dir):
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
        summary["software"] = software()  # of the session that finished the run (a resume may differ)
        atomic_write_json(run_dir / "summary.json", summary)
    return summary


@contextlib.contextmanager
def _workers(run, execution: ExecutionConfig):
    """``run.pool``: the run's worker processes or Dask cluster (None: the chip in this process),
    checked and started before the run directory is touched, stopped when the run ends. More
    workers than the settings of one chip call of the step are refused: some would never work."""
    workers = execution.workers
    if workers is not None and workers > 1:
        most = run.settings_per_call()
        if workers > most:
            raise ValueError(
                f"--workers {workers} is more than the {most} setting{'s' * (most > 1)} of one chip call "
                f"of this run's step, so {workers - most} of them would never get any: use --workers "
                f"{most} or fewer"
            )
    run.pool = open_workers(workers, execution.scheduler)  # an unreachable scheduler is refused here
    try:
        yield run.pool
    finally:
        if run.pool is not None:
            run.pool.close()


def oracle_for(chip: Chip, pool) -> object:
    """The trainer's Oracle: the chip's own, or one whose settings ``pool``'s workers evaluate."""
    return chip.oracle() if pool is None else ParallelOracle(chip, pool=pool)


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


DEPLOYED = "deployed.npz"  # a deployed start's Program: its BP weights' phases, biases, gains


def deployed_program(config: TrainConfig, run_dir: Path, resume: bool) -> tuple[Program, dict]:
    """The start of a subspace or ``init="deployed"`` run and its record: back-propagation weights
    trained on the run's training split (``config.bp_epochs`` epochs, else ``BackpropConfig``'s; the
    rest of ``BackpropConfig``), deployed (``deploy``) and saved in ``run_dir``, so that a resumed run
    programs the very same ``Program``."""
    path = Path(run_dir) / DEPLOYED
    if resume and path.exists():
        with np.load(path, allow_pickle=False) as saved:
            program = Program(saved["params"], tuple(saved["gains"].tolist()))
            return program, json.loads(str(saved["record"]))
    bp = BackpropConfig() if config.bp_epochs is None else BackpropConfig(epochs=config.bp_epochs)
    network = build_chip(config).network
    train, _, test, _ = prepare_data(config, network.in_features)
    x, y = train[0].numpy(), train[1].numpy()
    weights, stats = train_backprop(
        network, x, y, epochs=bp.epochs, lr=bp.lr, batch_size=bp.batch_size, seed=config.seed
    )
    program = deploy(network, weights)
    record = {
        "bp_epochs": bp.epochs,
        "digital_test_acc": digital_accuracy(network, weights, test[0], test[1]),
        "bp_wall_s": round(stats["wall"], 2),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, "wb") as f:
        gains = np.asarray(program.gains)
        np.savez(f, params=np.asarray(program.params), gains=gains, record=json.dumps(record))
    return program, record


class _TrainingRun:
    """A classification run: chip, data, trainer, summary (for ``_execute``)."""

    pool = None  # the run's workers, if any (``_workers``)

    def __init__(self, config: TrainConfig, start: Program | None, progress: bool):
        self.config, self.start, self.progress = config, start, progress

    def settings_per_call(self) -> int:
        """The most settings one chip call of a step holds."""
        config = self.config
        oracle = build_chip(config, None if self.start is None else self.start.gains).oracle()
        most = LoopConfig(steps=1).max_settings  # what make_trainer's loop allows
        return max(settings_per_call(e, oracle.n_params, most) for e in make_estimators(config, oracle))

    def build(self, run_dir: Path, resume: bool) -> ZOTrainer:
        config, start = self.config, self.start
        self.deployed = None  # subspace or deployed-init runs: deploy back-propagation weights first
        if start is None and (config.estimator == "subspace" or config.init == "deployed"):
            start, self.deployed = deployed_program(config, run_dir, resume)
        self.chip = build_chip(config, None if start is None else start.gains)
        check_run_memory(self.chip.network, config.batch_size, 257, config.q)
        train, valid, self.test, self.source = prepare_data(config, self.chip.network.in_features)
        params = (
            None if start is None else torch.as_tensor(np.asarray(start.params), dtype=self.chip.real_dtype)
        )
        trainer = make_trainer(
            config, oracle_for(self.chip, self.pool), train, valid, run_dir, self.progress, params=params
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
            # what the training queries would cost on silicon (photonics/energy.py)
            **run_estimate(
                network,
                config.hardware_model(),
                config.batch_size,
                trainer.train_queries,
                trainer.state.params,
            ),
        }
        if self.before is not None:
            summary["start_test_acc"] = self.before["val_acc"]
        if self.deployed is not None:
            summary["deployed"] = self.deployed
        return summary


def run_training(
    config: TrainConfig,
    run_dir,
    resume: bool = False,
    progress: bool = True,
    start: Program | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
) -> dict:
    """Train on the simulated chip; writes config.json, metrics.jsonl, checkpoint.npz and (last)
    summary.json into ``run_dir`` (``plots.plot_run`` adds curves.png). Returns the summary.

    ``workers`` local worker processes, or the Dask cluster at ``scheduler``, share every chip
    call's settings (``photonics/parallel.py``; the results are the same, so a run may resume with
    others).

    ``start`` starts from a deployed ``Program`` instead of random phases (e.g. digital weights
    programmed by ``deploy``, for in-situ fine-tuning): its gains go to the chip, its params are
    the starting phases. A resumed run must be given the same start. It may be given other ``steps``
    or ``max_queries``: it is then extended (or shortened), its schedule going on from where it was
    to its end at the new length, and ``config.json`` records the change (``extend``)."""
    # a run may be extended (steps, budget) or its data moved; everything else must match
    free = ("steps", "max_queries", "data_dir")
    execution = ExecutionConfig(workers, scheduler)
    return _execute(_TrainingRun(config, start, progress), run_dir, free, resume, execution)


# ---- one PINN run from a configuration ---------------------------------------------------------
def scaled_gains(network: OpticalNetwork, scale: float) -> tuple[float, ...] | None:
    """The electronic gains of a chip whose matrices have ``scale`` times their nominal gains
    (``--gain-scale``); None (the nominal chip itself) at 1."""
    return None if scale == 1 else tuple(scale * g for g in network.nominal_gains())


def build_pinn_network(config: PINNConfig):
    """The PINN's network: ``small`` is (d+1) → 32 → 32 → 1 dense with sine activations; ``tt`` and ``dense``
    are the reference ``hjb-tt`` and ``hjb-dense`` (21 → 512 → 512 → 1)."""
    if config.model == "small":
        d, edges = config.dim + 1, config.edge_blocks
        return OpticalNetwork(
            [OpticalLinear(n_in, n_out, edge_blocks=edges) for n_in, n_out in ((d, 32), (32, 32), (32, 1))],
            ["sin", "sin"],
            name=f"pinn-small-{d}",
        )
    return build_network(f"hjb-{config.model}", edge_blocks=config.edge_blocks)


def pinn_chip(config: PINNConfig, network: OpticalNetwork) -> Chip:
    """The chip of a PINN run: ``network`` on the configured hardware, chip seed and gains, read in
    complex128 (``float64``) or complex64 with a mean-squared-error loss."""
    return Chip(
        network,
        config.chip.hardware_model(),
        seed=config.chip_seed,
        dtype=torch.complex128 if config.float64 else torch.complex64,
        loss="mse",
        gains=scaled_gains(network, config.chip.gain_scale),
    )


def pinn_optimizer(config: PINNConfig, oracle):
    """A PINN run's optimiser: Adam at ``lr`` on a cosine schedule over its ``steps``, phases wrapped."""
    mask = phase_mask(oracle.param_slices("mesh"), oracle.n_params)
    return adam(config.lr, run_schedule("cosine", config.steps), mask=mask)


def build_derivatives(config: PINNConfig, input_dim: int, spatial: int):
    """The configured derivative estimator for inputs of ``input_dim`` coordinates, ``spatial`` of them
    spatial: Stein on a sparse grid or on sampled nodes, the least-squares fit, or finite differences, with
    smoothing radius (or step) ``config.sigma``, every node read ``config.repeats`` times (the centre
    ``config.centre_repeats``). Refuses more than ``MAX_NODES`` evaluations per point unless ``force``."""
    reads = {"repeats": config.repeats, "centre_repeats": config.centre_repeats}
    if config.estimator == "fd":
        estimator = FiniteDifference(input_dim, config.sigma, spatial=spatial, **reads)
    elif config.estimator in ("sparse-grid", "least-squares"):
        rule = make_rule(config.rule, input_dim, level=config.level, force=config.force)
        kind = LeastSquaresEstimator if config.estimator == "least-squares" else SteinEstimator
        estimator = kind(rule, config.sigma, spatial=spatial, **reads)
    else:
        n = config.nodes or sparse_grid_size("gauss-hermite", input_dim, config.level)  # counted, not built
        rule = make_rule(
            "antithetic" if config.rule == "antithetic" else "monte-carlo",
            input_dim,
            nodes=n + n % 2 if config.rule == "antithetic" else n,
            seed=config.seed,
        )
        estimator = SteinEstimator(rule, config.sigma, spatial=spatial, **reads)
    if estimator.evaluations > MAX_NODES and not config.force:
        raise ValueError(
            f"the {config.estimator} estimator with --repeats {config.repeats} and --centre-repeats "
            f"{estimator.centre_repeats} reads {estimator.evaluations:,} inputs per point, more than the "
            f"limit of {MAX_NODES:,}; read fewer times, or pass --force"
        )
    return estimator


def pinn_estimators(config: PINNConfig, oracle) -> tuple:
    """The PINN's gradient estimator for ``oracle``'s parameter layout: RGE (Rademacher, central),
    whole-vector or tensor-wise over ``config.tensor_level`` slices, with CGE on the small groups if
    ``config.per_group`` (``estimators.build_estimators``)."""
    return build_estimators(
        "rge",
        oracle,
        q=config.q,
        mu=config.mu,
        tensorwise=config.tensorwise,
        level=config.tensor_level,
        per_group=config.per_group,
        cge_scheme=config.cge_scheme,
        cge_max=config.cge_max,
        density=config.density,
    )


PINN_SETTINGS = 32  # settings per chip call of a PINN step (each reads points × evaluations inputs)


class _PINNRun:
    """A PINN run: chip, derivative estimator, objective, trainer, summary (for ``_execute``)."""

    pool = None  # the run's workers, if any (``_workers``)

    def __init__(self, config: PINNConfig, progress: bool):
        self.config, self.progress = config, progress
        self.pde = build_pde(config.pde, config.dim, **config.problem.pde_params())

    def settings_per_call(self) -> int:
        """The most settings one chip call of a step holds."""
        network = build_pinn_network(self.config)
        (estimator,) = pinn_estimators(self.config, Chip(network).oracle())
        return settings_per_call(estimator, network.n_params, PINN_SETTINGS)

    def build(self, run_dir: Path, resume: bool) -> ZOTrainer:
        config, pde = self.config, self.pde
        self.network = build_pinn_network(config)
        oracle = oracle_for(pinn_chip(config, self.network), self.pool)
        check_run_memory(self.network, 1, 1, config.q)  # the directions, before any sparse grid is built
        self.derivatives = build_derivatives(config, pde.input_dim, pde.dim)
        check_run_memory(self.network, config.points * self.derivatives.evaluations, 32, config.q)
        objective = PINNObjective(pde, self.derivatives, test_points=config.test_points, seed=config.seed)
        optimizer = pinn_optimizer(config, oracle)
        loop = LoopConfig(
            steps=config.steps,
            batch_size=config.points,
            eval_every=config.eval_every,
            max_settings=PINN_SETTINGS,
            max_queries=config.max_queries,
        )
        chosen = method(*pinn_estimators(config, oracle), optimizer)
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
                "repeats": derivatives.repeats,
                "centre_repeats": derivatives.centre_repeats,
                **rule,
            },
            "steps": trainer.step,
            "train_queries": trainer.train_queries,
            "inferences_per_query": config.points * derivatives.evaluations,
            "train_wall_s": round(trainer.wall, 3),
            "rel_l2": final.get("rel_l2"),
            "rel_l2_learned": final.get("rel_l2_learned"),
            "val_loss": final.get("val_loss"),
            **run_estimate(
                network,
                config.chip.hardware_model(),
                config.points * derivatives.evaluations,
                trainer.train_queries,
                trainer.state.params,
            ),
        }


def run_pinn(
    config: PINNConfig,
    run_dir,
    resume: bool = False,
    progress: bool = True,
    workers: int | None = None,
    scheduler: str | None = None,
) -> dict:
    """Train a PINN on the chip by ZO; writes config.json, metrics.jsonl, checkpoint.npz and (last)
    summary.json into ``run_dir`` (``plots.plot_run`` adds curves.png). A resume with other ``steps``
    or ``max_queries`` extends the run (``extend``). ``workers``, ``scheduler``: as ``run_training``."""
    execution = ExecutionConfig(workers, scheduler)
    return _execute(_PINNRun(config, progress), run_dir, ("steps", "max_queries"), resume, execution)
