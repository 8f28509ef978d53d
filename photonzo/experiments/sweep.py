"""Sweeps over chip non-idealities: how much noise and how few phase bits a network tolerates.

A sweep crosses hardware points (a grid over any ``HardwareModel`` fields, or listed points)
with training modes and seeds. Each (mode, point, seed) is a *cell* and each cell is an ordinary
run directory under the sweep directory:

* ``deploy``: the network's weights trained digitally by back-propagation (once per seed, shared
  by every point), programmed onto the noisy chip, and evaluated there;
* ``in-situ``: the same programmed phases, then trained by ZO on that chip through its Oracle
  (``in_situ_init = "random"`` starts from random phases instead);
* ``calibrated``: the same programmed phases, after an in-situ calibration of the chip towards
  what the design promises for them (``training/calibration.py``, settings in ``[calibration]``):
  the "before" of this mode is ``deploy`` on the same chip.

The seed picks the digital initialisation, the fabricated chip (its static errors) and the ZO
run. A sweep is resumable: a cell with ``summary.json`` is done and skipped; an interrupted
in-situ cell resumes from its checkpoint. A cell that crashes is reported (``failures.json``)
and the others go on. ``summary.csv`` holds mean ± std over seeds for every (mode, point).

Cells run in parallel: local processes by default, or on a Dask cluster (``engine = "dask"``,
the ``dask`` extra) when a sweep outgrows one machine. Dask because its futures API is the
standard ``concurrent.futures`` one, so one scheduling loop serves both engines; it is pure
Python (a light optional extra) and reaches clusters through ``dask.distributed`` schedulers
(SSH, SLURM/PBS via dask-jobqueue, Kubernetes) without changing this code.

The sweep file (TOML)::

    [sweep]
    modes = ["deploy", "in-situ"]
    seeds = [0, 1, 2]
    hardware = "ideal"            # the preset the points modify
    [grid]                        # or [[points]] tables, one per point
    phase_bits = [4, 6, 8]
    phase_noise_std = [0.0, 0.02]
    [train]                       # TrainConfig fields of the in-situ runs
    dataset = "digits"
    steps = 300
    [backprop]                    # the digital training of the deploy weights
    epochs = 20
    [calibration]                 # CalibrationConfig fields of the calibrated cells
    steps = 200
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import multiprocessing
import os
import shutil
import time
import tomllib
import traceback
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import as_completed as futures_completed
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..choices import ENGINES, SWEEP_HARDWARE_FIELDS, SWEEP_MODES  # torch-free, for the CLI
from ..io import atomic_file, atomic_write_json, atomic_write_text, exclusive
from ..photonics.chip import Chip
from ..photonics.hardware import HardwareModel
from ..photonics.network import Program, flatten_weights
from ..processes import exit_when_orphaned  # a worker's watch on the sweep that started it
from ..progress import progress_bar
from ..training.backprop import deploy, digital_accuracy, train_backprop
from ..training.calibration import calibrate, config_from_dict
from ..validation import check_positive_int
from .config import BackpropConfig, TrainConfig
from .results import DIGITAL, summary_csv
from .run import build_chip, evaluate_on_chip, prepare_data, run_training

MODES = SWEEP_MODES
HARDWARE_FIELDS = SWEEP_HARDWARE_FIELDS  # the HardwareModel fields a grid may sweep
BACKPROP_KEYS = tuple(f.name for f in dataclasses.fields(BackpropConfig))
SWEEP_KEYS = ("modes", "seeds", "hardware", "in_situ_init")
SECTIONS = ("sweep", "grid", "points", "train", "backprop", "calibration")


class SweepError(ValueError):
    """A sweep description that cannot run (raised before any cell starts)."""


@dataclass
class Sweep:
    """What a sweep runs (see the module docstring)."""

    points: list[dict]  # hardware field → value, one dict per point
    modes: list[str] = field(default_factory=lambda: ["deploy", "in-situ"])
    seeds: list[int] = field(default_factory=lambda: [0])
    hardware: str = "ideal"
    in_situ_init: str = "deployed"
    train: dict = field(default_factory=dict)
    backprop: dict = field(default_factory=lambda: dataclasses.asdict(BackpropConfig()))
    calibration: dict = field(default_factory=dict)  # CalibrationConfig fields (seed: the cell's)

    def validate(self) -> Sweep:
        """The sweep itself if it can run, else ``SweepError`` naming the first problem (checked before any
        cell starts: modes, seeds, hardware points, ``[train]``, ``[backprop]``, ``[calibration]``)."""
        if not self.points:
            raise SweepError(
                "the sweep has no hardware points: give a [grid] with at least one value per field, "
                "or [[points]]"
            )
        if not self.modes:
            raise SweepError(f"the sweep needs at least one mode; accepted: {', '.join(MODES)}")
        for mode in self.modes:
            if mode not in MODES:
                raise SweepError(f"unknown mode {mode!r}; accepted values are {', '.join(MODES)}")
        if not self.seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in self.seeds):
            raise SweepError(f"seeds must be a non-empty list of non-negative integers, got {self.seeds!r}")
        if len(set(self.seeds)) != len(self.seeds):
            raise SweepError(f"seeds must not repeat, got {self.seeds}")
        if self.in_situ_init not in ("deployed", "random"):
            raise SweepError(f"in_situ_init must be 'deployed' or 'random', got {self.in_situ_init!r}")
        try:
            base = HardwareModel.preset(self.hardware)
        except ValueError as e:
            raise SweepError(str(e)) from None
        for point in self.points:
            unknown = sorted(set(point) - set(HARDWARE_FIELDS))
            if unknown:
                raise SweepError(
                    f"unknown hardware field(s) {unknown}; sweepable fields are {', '.join(HARDWARE_FIELDS)}"
                )
            try:
                base.replace(**point)
            except (ValueError, TypeError) as e:
                raise SweepError(f"impossible hardware point {point}: {e}") from None
        unknown = sorted(set(self.train) - set(TrainConfig().flat()))
        if unknown:
            raise SweepError(
                f"unknown [train] field(s) {unknown}; see `photonzo train --help` for the options"
            )
        for key in ("hardware", "phase_bits", "hardware_overrides", "chip_seed", "seed"):
            if key in self.train:
                raise SweepError(f"[train] must not set {key!r}: the sweep sets it per cell")
        unknown = sorted(set(self.backprop) - set(BACKPROP_KEYS))
        if unknown:
            raise SweepError(f"unknown [backprop] field(s) {unknown}; accepted: {', '.join(BACKPROP_KEYS)}")
        try:
            BackpropConfig(**self.backprop)
        except (ValueError, TypeError) as e:
            raise SweepError(f"invalid [backprop] settings: {e}") from None
        try:
            self.train_config(self.points[0], self.seeds[0])
        except ValueError as e:
            raise SweepError(f"invalid [train] settings: {e}") from None
        if "seed" in self.calibration:
            raise SweepError("[calibration] must not set 'seed': the sweep sets it per cell")
        try:
            self.calibration_config(self.seeds[0])
        except (ValueError, TypeError) as e:
            raise SweepError(f"invalid [calibration] settings: {e}") from None
        return self

    def calibration_config(self, seed: int):
        """The ``CalibrationConfig`` of a calibrated cell of ``seed``."""
        return config_from_dict({**self.calibration, "seed": seed})

    # ---- cells ------------------------------------------------------------------------------
    def train_config(self, point: dict, seed: int):
        """The ``TrainConfig`` of the cell at hardware ``point`` and ``seed`` (which picks the chip, the
        initial phases and the ZO run); a deployed start keeps the digital logits (``output_gain`` 1)."""
        settings = {**self.train}
        if self.in_situ_init == "deployed":
            settings["output_gain"] = 1.0  # the digital weights' logits, as trained
        return TrainConfig.of(
            **settings, hardware=self.hardware, hardware_overrides=dict(point), chip_seed=seed, seed=seed
        )

    def cells(self) -> list[Cell]:
        """Every (mode, point, seed) cell, modes outermost."""
        return [
            Cell(mode, point, seed) for mode in self.modes for point in self.points for seed in self.seeds
        ]

    def describe(self) -> dict:
        """The sweep as a JSON-able mapping (``sweep.json``)."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Cell:
    mode: str
    point: dict
    seed: int

    @property
    def name(self) -> str:
        """``<mode>/<field=value,…>/seed<N>``: the cell's path under ``cells/`` and its name in the
        results."""
        point = ",".join(f"{k}={_fmt(v)}" for k, v in sorted(self.point.items())) or "base"
        return f"{self.mode}/{point}/seed{self.seed}"

    def __hash__(self):
        return hash(self.name)


def _fmt(value) -> str:
    return "none" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


# ---- reading a sweep ----------------------------------------------------------------------------


def grid_points(grid: dict) -> list[dict]:
    """The cartesian product of a grid {field: [values]}; a scalar counts as one value."""
    fields = list(grid)
    values = [v if isinstance(v, list) else [v] for v in grid.values()]
    for f, v in zip(fields, values):
        if not v:
            raise SweepError(f"grid field {f!r} has no values")
    return [dict(zip(fields, combo)) for combo in itertools.product(*values)]


def _none(value):
    """TOML has no null: the string "none" stands for None (e.g. phase_bits = "none": no quantisation)."""
    return None if isinstance(value, str) and value.lower() == "none" else value


def sweep_from_dict(data: dict) -> Sweep:
    """A validated ``Sweep`` from a sweep file's tables (see the module docstring); ``SweepError`` names what
    is wrong."""
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise SweepError(f"unknown section(s) {unknown}; a sweep file has {', '.join(SECTIONS)}")
    head = data.get("sweep", {})
    unknown = sorted(set(head) - set(SWEEP_KEYS))
    if unknown:
        raise SweepError(f"unknown [sweep] key(s) {unknown}; accepted: {', '.join(SWEEP_KEYS)}")
    if "grid" in data and "points" in data:
        raise SweepError("give either a [grid] or [[points]], not both")
    if "points" in data:
        if not isinstance(data["points"], list):
            raise SweepError("[[points]] must be an array of tables (one [[points]] header per point)")
        points = [{k: _none(v) for k, v in p.items()} for p in data["points"]]
    else:
        grid = {
            k: [_none(x) for x in v] if isinstance(v, list) else _none(v)
            for k, v in data.get("grid", {}).items()
        }
        points = grid_points(grid) if grid else []
    kwargs = {k: head[k] for k in SWEEP_KEYS if k in head}
    if "modes" in kwargs and isinstance(kwargs["modes"], str):
        kwargs["modes"] = [kwargs["modes"]]
    backprop = {**dataclasses.asdict(BackpropConfig()), **data.get("backprop", {})}
    return Sweep(
        points=points,
        train=dict(data.get("train", {})),
        backprop=backprop,
        calibration=dict(data.get("calibration", {})),
        **kwargs,
    ).validate()


def read_sweep_file(path) -> dict:
    """A sweep file's tables, not yet validated (the command line may still add to them)."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SweepError(f"no sweep file at {path}") from None
    except IsADirectoryError:
        raise SweepError(f"{path} is a folder, not a file: name the sweep's TOML file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise SweepError(f"{path} is not valid TOML: {e}") from None


def load_sweep(path) -> Sweep:
    """The validated ``Sweep`` of the TOML file at ``path``."""
    return sweep_from_dict(read_sweep_file(path))


def parse_assignment(text: str) -> tuple[str, list]:
    """``field=v1,v2,...`` from the command line → (field, values); numbers parsed, "none" → None."""
    name, sep, values = text.partition("=")
    if not sep or not name.strip() or not values.strip():
        raise SweepError(f"expected FIELD=VALUE[,VALUE...], got {text!r}")

    def parse(v: str):
        v = v.strip()
        if v.lower() == "none":
            return None
        try:
            return int(v)
        except ValueError:
            try:
                return float(v)
            except ValueError:
                raise SweepError(f"{name}: {v!r} is not a number (or 'none')") from None

    return name.strip(), [parse(v) for v in values.split(",")]


# ---- running one cell ---------------------------------------------------------------------------

BACKPROP_DIR = DIGITAL  # results.digital_results reads the records there


def _weights_path(sweep_dir: Path, seed: int) -> Path:
    return sweep_dir / BACKPROP_DIR / f"seed{seed}.npz"


def share_digital_weights(source_dir, target_dir) -> bool:
    """Give the sweep in ``target_dir`` the digital weights the sweep in ``source_dir`` trained, so that
    it deploys the very same ones (the caller vouches for the same seeds, ``[train]`` dataset and model,
    and ``[backprop]``); nothing happens if ``target_dir`` has its own. True if they were copied."""
    source, target = Path(source_dir) / BACKPROP_DIR, Path(target_dir) / BACKPROP_DIR
    if not source.exists() or target.exists():
        return False
    shutil.copytree(source, target)
    return True


def train_digital(sweep: Sweep, sweep_dir: Path, seed: int) -> dict:
    """The deploy weights of one seed: trained once, saved as a plain ``.npz`` (no pickles)."""
    path = _weights_path(sweep_dir, seed)
    if path.exists():
        return json.loads(path.with_suffix(".json").read_text())
    config = sweep.train_config(sweep.points[0], seed)
    network = build_chip(config).network
    train, _, test, _ = prepare_data(config, network.in_features)
    bp = sweep.backprop
    weights, stats = train_backprop(
        network,
        train[0].numpy(),
        train[1].numpy(),
        epochs=int(bp["epochs"]),
        lr=float(bp["lr"]),
        batch_size=int(bp["batch_size"]),
        seed=seed,
    )
    result = {
        "seed": seed,
        "digital_test_acc": digital_accuracy(network, weights, test[0], test[1]),
        "steps": stats["steps"],
        "wall_s": round(stats["wall"], 2),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(path, "wb") as f:
        np.savez(f, **flatten_weights(weights))
    atomic_write_json(path.with_suffix(".json"), result)
    return result


def _deployed(sweep: Sweep, sweep_dir: Path, cell: Cell) -> tuple[TrainConfig, Program]:
    """(config, the ``Program`` of the seed's digital weights: phases and electronic gains) of a cell."""
    config = sweep.train_config(cell.point, cell.seed)
    network = build_chip(config).network
    with np.load(_weights_path(sweep_dir, cell.seed), allow_pickle=False) as arrays:
        weights = network.unflatten_weights(dict(arrays))
    return config, deploy(network, weights)


def _calibrated(sweep: Sweep, cell: Cell, chip, phases, probe_x, evaluate, out: Path) -> dict:
    """Calibrate the chip through its Oracle towards the design's layer outputs for the deployed
    ``phases``, then ``evaluate`` the compensated program; the calibration is saved in ``out``."""
    design = Chip(
        chip.network,
        "ideal",
        seed=cell.seed,
        dtype=chip.dtype,
        output_gain=chip.output_gain,
        gains=chip.gains,
    )
    probe_order = torch.randperm(len(probe_x), generator=torch.Generator().manual_seed(cell.seed))
    result = calibrate(
        chip.oracle(), design, phases, probe_x[probe_order], sweep.calibration_config(cell.seed)
    )
    result.save(out)
    after = evaluate(result.apply(phases))
    return {
        "test_acc": after["val_acc"],
        "test_loss": after["val_loss"],
        "train_queries": result.queries,
        "calibration_loss_before": result.loss_before,
        "calibration_loss_after": result.loss_after,
    }


def cell_dir(sweep_dir: Path, cell: Cell) -> Path:
    """The directory of ``cell`` under ``sweep_dir``: ``cells/<cell.name>``."""
    return sweep_dir / "cells" / cell.name


def finished_cell(sweep_dir: Path, cell: Cell) -> dict | None:
    """The record of a finished cell, or None. An in-situ cell's directory holds its run, whose own
    ``summary.json`` comes first: a sweep killed between the two leaves the run's summary (no
    ``mode``), so the cell is not finished and reruns (its run resumes at once, being complete)."""
    path = cell_dir(sweep_dir, cell) / "summary.json"
    if not path.exists():
        return None
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None  # a write that never completed cannot be: the writes are atomic; treat it as not run
    return record if isinstance(record, dict) and record.get("mode") == cell.mode else None


def run_cell(sweep: Sweep, sweep_dir, cell: Cell) -> dict:
    """Run one cell (``run_sweep`` skips finished ones); writes ``summary.json`` in its directory last."""
    sweep_dir = Path(sweep_dir)
    out = cell_dir(sweep_dir, cell)
    t0 = time.perf_counter()
    record = {
        "cell": cell.name,
        "mode": cell.mode,
        "seed": cell.seed,
        **{f: cell.point.get(f) for f in cell.point},
    }
    if cell.mode in ("deploy", "calibrated"):
        config, program = _deployed(sweep, sweep_dir, cell)
        chip = build_chip(config, program.gains)
        train, _, test, _ = prepare_data(config, chip.network.in_features)
        phases = torch.as_tensor(program.params, dtype=chip.real_dtype)
        evaluate = lambda params: evaluate_on_chip(chip, params, test)
        result = evaluate(phases)
        record.update(test_acc=result["val_acc"], test_loss=result["val_loss"], train_queries=0)
        out.mkdir(parents=True, exist_ok=True)
        if cell.mode == "calibrated":  # the deployed accuracy is where it starts
            record.update(
                start_test_acc=record["test_acc"],
                **_calibrated(sweep, cell, chip, phases, train[0], evaluate, out),
            )
    else:
        if sweep.in_situ_init == "deployed":
            config, program = _deployed(sweep, sweep_dir, cell)
        else:
            config, program = sweep.train_config(cell.point, cell.seed), None
        resume = (out / "config.json").exists()
        summary = run_training(config, out, resume=resume, progress=False, start=program)
        record.update(
            test_acc=summary["test_acc"],
            test_loss=summary["test_loss"],
            train_queries=summary["train_queries"],
            start_test_acc=summary.get("start_test_acc"),
        )
    record["wall_s"] = round(time.perf_counter() - t0, 2)
    atomic_write_json(out / "summary.json", record)
    return record


# ---- running a sweep ----------------------------------------------------------------------------


def _call(job):
    """A worker's entry point (picklable): ("digital", seed) or ("cell", cell)."""
    kind, sweep, sweep_dir, item, threads = job
    if threads:
        torch.set_num_threads(threads)
    return (
        train_digital(sweep, Path(sweep_dir), item) if kind == "digital" else run_cell(sweep, sweep_dir, item)
    )


class Executor:
    """Where a sweep's jobs run: ``submit(job)`` → a future with ``exception()`` and ``result()``,
    and ``completed(futures)`` yielding them as they finish."""

    def __init__(self, submit, completed):
        self.submit, self.completed = submit, completed


@contextlib.contextmanager
def _local(workers: int, scheduler: str | None):
    """This process (one worker: simplest to debug, no start-up cost) or a pool of spawned processes;
    ``scheduler`` is for the dask engine."""
    if workers == 1:
        yield None
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=exit_when_orphaned, initargs=(os.getpid(),)
    ) as pool:
        yield Executor(lambda job: pool.submit(_call, job), futures_completed)


@contextlib.contextmanager
def _dask(workers: int, scheduler: str | None):
    """A Dask cluster: the one at ``scheduler``, or a local one of ``workers`` processes."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed  # optional extra
    except ImportError:
        raise SweepError("the dask engine needs the dask extra: pip install 'photonzo[dask]'") from None
    cluster = (
        None
        if scheduler
        else LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    )
    client = Client(scheduler or cluster)
    try:
        yield Executor(lambda job: client.submit(_call, job, pure=False), as_completed)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# engine name (ENGINES) → context manager (workers, scheduler) yielding an Executor, or None for this
# process
EXECUTORS = {"local": _local, "dask": _dask}


def _run_jobs(executor: Executor | None, jobs: list, progress, on_done) -> None:
    """Run ``jobs`` (each through ``_call``), calling ``on_done(job, result, error)`` as they finish."""
    if executor is None:
        for job in jobs:
            try:
                result, error = _call(job), None
            except Exception as e:
                result, error = None, e
            on_done(job, result, error)
            progress()
        return
    futures = {executor.submit(job): job for job in jobs}
    for future in executor.completed(futures):
        error = future.exception()
        on_done(futures[future], None if error else future.result(), error)
        progress()


def _resources(engine: str, workers: int | None, threads: int | None) -> tuple[int, int]:
    """(workers, torch threads per worker), checked before anything is written."""
    if engine not in ENGINES:
        raise SweepError(f"unknown engine {engine!r}; accepted engines are {', '.join(ENGINES)}")
    workers = (os.cpu_count() or 1) if workers is None else workers
    check_positive_int("workers", workers, error=SweepError)
    if threads is None:
        return workers, max(1, (os.cpu_count() or 1) // workers) if engine == "local" else 1
    check_positive_int("threads", threads, error=SweepError)
    return workers, threads


def _claim(sweep: Sweep, sweep_dir: Path) -> None:
    """``sweep_dir`` holds this sweep (a rerun resumes it) or nothing yet."""
    saved = sweep_dir / "sweep.json"
    if saved.exists() and json.loads(saved.read_text()) != json.loads(json.dumps(sweep.describe())):
        raise SweepError(
            f"{sweep_dir} holds a different sweep ({saved}); resume it with the same description "
            "or choose another output directory"
        )
    sweep_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(saved, sweep.describe())


class _Ledger:
    """What a sweep run has finished, what failed, and its progress bar."""

    def __init__(self, total: int, show_progress: bool):
        self.results: dict[str, dict] = {}
        self.failures: list[dict] = []
        self.bad_seeds: set[int] = set()
        self.bar = progress_bar(enabled=show_progress, total=total, desc="sweep", unit="cell")

    def tick(self) -> None:
        if self.bar is not None:
            self.bar.update()

    def failed(self, what: str, error: BaseException | str) -> None:
        if isinstance(error, str):
            self.failures.append({"job": what, "error": error})
            return
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        self.failures.append({"job": what, "error": f"{type(error).__name__}: {error}", "traceback": text})
        print(f"sweep: {what} failed: {type(error).__name__}: {error}", flush=True)

    def digital_done(self, job, result, error) -> None:
        if error is not None:
            self.bad_seeds.add(job[3])
            self.failed(f"digital training, seed {job[3]}", error)

    def cell_done(self, job, result, error) -> None:
        if error is not None:
            self.failed(job[3].name, error)
        else:
            self.results[job[3].name] = result


def _run_pending(sweep: Sweep, sweep_dir: Path, pending: list[Cell], ledger: _Ledger, executor, threads: int):
    """Stage 1: the digital weights the pending deploy (or deployed-start) cells need, one job per
    seed; stage 2: the cells (those whose seed's digital training failed are skipped)."""
    uses_digital = lambda cell: cell.mode != "in-situ" or sweep.in_situ_init == "deployed"
    missing = {c.seed for c in pending if uses_digital(c) and not _weights_path(sweep_dir, c.seed).exists()}
    jobs = [("digital", sweep, str(sweep_dir), seed, threads) for seed in sorted(missing)]
    _run_jobs(executor, jobs, lambda: None, ledger.digital_done)
    jobs = []
    for cell in pending:
        if cell.seed in ledger.bad_seeds and uses_digital(cell):
            ledger.failed(cell.name, f"skipped: the digital training of seed {cell.seed} failed")
            ledger.tick()
        else:
            jobs.append(("cell", sweep, str(sweep_dir), cell, threads))
    _run_jobs(executor, jobs, ledger.tick, ledger.cell_done)


def run_sweep(
    sweep: Sweep,
    sweep_dir,
    workers: int | None = None,
    engine: str = "local",
    scheduler: str | None = None,
    show_progress: bool = True,
    threads: int | None = None,
) -> dict:
    """Run every cell not yet done; returns {"results": [...], "failures": [...], "wall_s": ...}
    and writes ``sweep.json``, ``results.jsonl``, ``summary.csv`` and ``failures.json``.

    ``threads``: torch threads per worker (default: the cores shared among local workers, one
    per Dask worker)."""
    sweep.validate()
    workers, threads = _resources(engine, workers, threads)
    with exclusive(Path(sweep_dir), "sweep") as sweep_dir:  # one writer per sweep directory
        return _run_claimed(sweep, sweep_dir, workers, engine, scheduler, show_progress, threads)


def _run_claimed(sweep: Sweep, sweep_dir: Path, workers, engine, scheduler, show_progress, threads) -> dict:
    _claim(sweep, sweep_dir)
    cells, t0 = sweep.cells(), time.perf_counter()
    ledger = _Ledger(len(cells), show_progress)
    pending = []
    for cell in cells:
        record = finished_cell(sweep_dir, cell)
        if record is not None:  # finished in an earlier run of this sweep
            ledger.results[cell.name] = record
            ledger.tick()
        else:
            pending.append(cell)
    if pending:
        with EXECUTORS[engine](workers, scheduler) as executor:
            _run_pending(sweep, sweep_dir, pending, ledger, executor, threads)
    if ledger.bar is not None:
        ledger.bar.close()
    ordered = [ledger.results[c.name] for c in cells if c.name in ledger.results]
    with atomic_file(sweep_dir / "results.jsonl") as f:
        f.writelines(json.dumps(r) + "\n" for r in ordered)
    atomic_write_text(sweep_dir / "summary.csv", summary_csv(ordered, sweep.points, sweep.modes))
    atomic_write_json(sweep_dir / "failures.json", ledger.failures)
    return {"results": ordered, "failures": ledger.failures, "wall_s": round(time.perf_counter() - t0, 2)}
