"""The ``photonzo`` command line.

Each command's options are built only when that command runs (or asks for its ``--help``), from
modules that do not import torch (``choices.py``, ``experiments/config.py``), so every ``--help``
answers at once; torch is imported when a command runs.

Exit codes: 0 done; 2 refused before any work (an option out of range, a damaged or missing file, a
directory in use by another photonzo process); 1 stopped by the system (a full disk, a read-only
folder, a lost worker) or a sweep with failed cells; 130 interrupted (Ctrl-C). Each failure is one
line on stderr that says what failed and, for a run, where its last checkpoint is and how to go on.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def _print_presets(as_json: bool) -> None:
    """Every hardware preset's values and every energy model's constants (``info --hardware``)."""
    from .photonics.energy import ENERGY_MODELS
    from .photonics.hardware import PRESETS

    presets = {name: hw.describe() for name, hw in PRESETS.items()}
    energy = {name: m.describe() for name, m in ENERGY_MODELS.items()}
    if as_json:
        print(json.dumps({"hardware_presets": presets, "energy_models": energy}, indent=2))
        return
    for title, table in (("hardware presets", presets), ("energy models (SI units)", energy)):
        names = list(table)
        fields = [f for f in next(iter(table.values())) if f != "name"]
        width = max(12, *(len(n) + 1 for n in names))
        print(f"{title:22s}" + "".join(f"{n:>{width}s}" for n in names))
        for f in fields:
            cells = ("-" if v is None else f"{v:g}" for v in (table[n][f] for n in names))
            print(f"{f:22s}" + "".join(f"{c:>{width}s}" for c in cells))
        print()
    print("sources and conventions: photonzo/photonics/hardware.py and photonzo/photonics/energy.py")


def _query_costs(network, hardware, batch: int) -> dict:
    """One query of ``batch`` inputs on ``network``'s chip, per energy model (random phases)."""
    from .photonics.energy import ENERGY_MODELS, estimate, workload

    work = workload(network)
    return {name: estimate(work, hardware, batch, 1, model=m).as_json() for name, m in ENERGY_MODELS.items()}


def _si(value: float, unit: str) -> str:
    """``value`` with an SI prefix: 1.2e-05 s → '12 µs'."""
    for scale, prefix in ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def _print_query_costs(costs: dict) -> None:
    for name, cost in costs.items():
        top = sorted(cost["energy_terms_j"].items(), key=lambda kv: -kv[1])[:3]
        print(
            f"one query of {cost['batch']:,} input{'s' * (cost['batch'] != 1)} on silicon, {name} phase "
            "shifters: "
            f"{_si(cost['time_s'], 's')}, {_si(cost['energy_j'], 'J')} (mostly "
            + ", ".join(f"{k} {_si(v, 'J')}" for k, v in top)
            + "; photonics/energy.py)"
        )


def _info(args) -> int:
    from .photonics.hardware import HardwareModel
    from .photonics.network import MODELS, build_network, dense_equivalent_mzis

    if args.list:
        for name, spec in MODELS.items():
            print(f"{name:14s} {spec['doc']}")
        return 0
    presets = args.hardware is None  # --hardware alone: list the presets
    if args.model is None and presets:
        _print_presets(args.json)
        return 0
    if args.model is None:
        print("photonzo info: name a model (or --list to see them; --hardware: the presets)", file=sys.stderr)
        return 2
    network = build_network(
        args.model, block=args.block, mesh=args.mesh, readout=args.readout, edge_blocks=args.edge_blocks
    )
    hardware = HardwareModel.preset(args.hardware or "typical")
    summary = {
        **network.summary(),
        "hardware": hardware.describe(),
        "dense_svd_mzis": dense_equivalent_mzis(network),
        "per_query": _query_costs(network, hardware, args.batch),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(
        f"model {summary['name']}: {summary['in']} → {summary['out']}, {summary['readout']} readout, "
        f"{args.mesh} meshes of {args.block} modes, {args.edge_blocks} edge blocks"
    )
    _print_layers(summary)
    active = {k: v for k, v in hardware.describe().items() if k != "name" and v not in (None, 0, 0.0)}
    print(
        f"hardware preset {hardware.name}: "
        + (", ".join(f"{k}={v}" for k, v in active.items()) or "no non-idealities")
    )
    _print_query_costs(summary["per_query"])
    if presets:
        print()
        _print_presets(False)
    return 0


def _print_layers(summary: dict) -> None:
    """The layer table of ``info`` and the MZI count against one full-size SVD mesh per layer."""
    header = (
        f"{'layer':8s} {'type':16s} {'shape':28s} {'weights':>9s} {'MZIs':>9s} {'phases':>9s} "
        f"{'electr.':>8s}  activation"
    )
    print(header)
    print("-" * len(header))
    for layer in summary["layers"]:
        if "in_shape" in layer:
            shape = f"{layer['in_shape']}→{layer['out_shape']} r={max(layer['ranks'])}"
        else:
            shape = f"{layer['in']}→{layer['out']} ({layer['blocks']} blocks)"
        print(
            f"{layer['name']:8s} {layer['type']:16s} {shape.replace(' ', ''):28s} {layer['weights']:9d} "
            f"{layer['mzis']:9d} {layer['phases']:9d} {layer['electronic_params']:8d}  "
            f"{layer.get('activation', '-')}"
        )
    print("-" * len(header))
    print(
        f"{'total':8s} {'':16s} {'':28s} {summary['weights']:9d} {summary['mzis']:9d} {summary['phases']:9d} "
        f"{summary['params'] - summary['phases']:8d}"
    )
    dense, padded = summary["dense_svd_mzis"], summary["padded_mzis"]
    print(
        f"one full-size SVD mesh per layer would take {dense:,} MZIs ({dense / summary['mzis']:.1f}× this "
        f"chip); with every edge block a full k×k one this chip would have {padded:,} ({dense / padded:.1f}×)"
    )


def _train(args) -> int:
    from .experiments.config import TrainConfig, from_arguments
    from .io import check_directory

    config, execution = from_arguments(TrainConfig, args), _execution(args)  # refused before torch loads
    tw = "-tw" if config.tensorwise else ""
    run_dir = args.run_dir = (
        args.run_dir or f"runs/{config.dataset}-{config.model}-{config.estimator}{tw}-{config.hardware}"
    )
    check_directory(run_dir)
    _set_threads(args)
    from .experiments.run import run_training  # torch: seconds to import

    summary = run_training(config, run_dir, resume=args.resume, progress=not args.quiet, **execution)
    from .experiments.plots import plot_run  # matplotlib only once there is something to draw

    plot_run(run_dir)
    print(
        f"{summary['model']} on {summary['dataset']} ({summary['hardware']['name']} chip): "
        f"test accuracy {100 * summary['test_acc']:.1f}% (phases of step {summary['kept_step']}, the best on "
        f"validation; last step {100 * summary['final_test_acc']:.1f}%) after {summary['steps']} steps, "
        f"{summary['train_queries']:,} training queries, {summary['train_wall_s']:.0f} s"
    )
    if "deployed" in summary:  # a fine-tuning run: what the deployment alone gave, and the digital weights
        print(
            f"deployed back-propagation weights: {100 * summary['start_test_acc']:.1f}% on this chip "
            f"(digital {100 * summary['deployed']['digital_test_acc']:.1f}%)"
        )
    print(_on_chip_line(summary))
    print(f"run directory: {run_dir} (config.json, metrics.jsonl, checkpoint.npz, curves.png, summary.json)")
    return 0


def _on_chip_line(summary: dict) -> str:
    """What the run's training queries would cost on silicon (summary.json's ``on_chip``)."""
    mems = summary["on_chip"]["mems"]
    return (
        f"estimated on silicon: {_si(summary['on_chip_time_s'], 's')} and "
        f"{_si(summary['on_chip_energy_j'], 'J')} for the {summary['train_queries']:,} training queries "
        f"with thermal phase shifters ({_si(mems['time_s'], 's')}, {_si(mems['energy_j'], 'J')} with MEMS; "
        "photonzo/photonics/energy.py)"
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {value}")
    return value


def _run_options(parser) -> None:
    """The options every run command has besides its configuration."""
    parser.add_argument("--run-dir", default=None, help="run directory (default runs/<what it trains>)")
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --run-dir from its checkpoint"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        help="intra-op threads for this run (default: for each shape of chip call, one thread or all "
        "cores, whichever measured faster; see photonzo/photonics/threads.py)",
    )
    from .experiments.config import RunOptions, add_arguments

    add_arguments(parser, RunOptions)  # --workers, --scheduler: where the chip calls are evaluated


def _execution(args) -> dict:
    """``--workers`` and ``--scheduler`` as the keyword arguments of ``run_training`` / ``run_pinn``."""
    from .experiments.config import RunOptions, from_arguments

    execution = from_arguments(RunOptions, args).execution
    return {"workers": execution.workers, "scheduler": execution.scheduler}


def _set_threads(args) -> None:
    """``--threads N`` fixes the chip's thread count (photonics/threads.py) and torch's own."""
    if args.threads is not None:
        import os

        import torch

        os.environ["PHOTONZO_THREADS"] = str(args.threads)
        torch.set_num_threads(args.threads)


def _add_train(train) -> None:
    from .experiments.config import TrainConfig, add_arguments

    add_arguments(train, TrainConfig)  # one option per configuration field: the two cannot drift
    _run_options(train)


def _hjb(args) -> int:
    from .experiments.config import PINNConfig, from_arguments
    from .io import check_directory

    config, execution = from_arguments(PINNConfig, args), _execution(args)
    run_dir = args.run_dir = (
        args.run_dir or f"runs/{config.pde}{config.dim}-{config.model}-{config.estimator}-{config.hardware}"
    )
    check_directory(run_dir)
    _set_threads(args)
    from .experiments.run import run_pinn

    s = run_pinn(config, run_dir, resume=args.resume, progress=not args.quiet, **execution)
    from .experiments.plots import plot_run  # matplotlib only once there is something to draw

    plot_run(run_dir)
    print(
        f"{s['pde']['name']}-{s['pde']['dim']} on the {s['hardware']} chip ({s['model']}, "
        f"{s['mzis']:,} MZIs): relative l2 {s['rel_l2']:.3g} (learned part {s['rel_l2_learned']:.3g}) "
        f"after {s['steps']} steps, {s['train_queries']:,} queries of {s['inferences_per_query']:,} inputs "
        f"each, {s['train_wall_s']:.0f} s"
    )
    print(_on_chip_line(s))
    print(f"run directory: {run_dir} (config.json, metrics.jsonl, checkpoint.npz, curves.png, summary.json)")
    return 0


def _add_hjb(hjb) -> None:
    from .experiments.config import PINNConfig, add_arguments

    add_arguments(hjb, PINNConfig)
    _run_options(hjb)


def _sweep(args) -> int:
    from .experiments.sweep import parse_assignment, read_sweep_file, run_sweep, sweep_from_dict
    from .io import check_directory

    data = read_sweep_file(args.file) if args.file else {}
    if args.grid:
        data.pop("points", None)
        data["grid"] = dict(parse_assignment(g) for g in args.grid)
    head = data.setdefault("sweep", {})
    for key in ("modes", "seeds", "hardware"):
        if getattr(args, key) is not None:
            head[key] = getattr(args, key)
    if args.in_situ_init is not None:
        head["in_situ_init"] = args.in_situ_init
    train = data.setdefault("train", {})
    for key in ("dataset", "model", "steps", "q", "lr"):
        if getattr(args, key) is not None:
            train[key] = getattr(args, key)
    if args.bp_epochs is not None:
        data.setdefault("backprop", {})["epochs"] = args.bp_epochs
    if args.cal_steps is not None:
        data.setdefault("calibration", {})["steps"] = args.cal_steps
    sweep = sweep_from_dict(data)
    if args.scheduler is not None and args.engine != "dask":  # the local engine would ignore it
        raise ValueError(f"--scheduler {args.scheduler} is for --engine dask, not {args.engine}")
    out = args.out = args.out or f"runs/sweep-{Path(args.file).stem if args.file else 'cli'}"
    check_directory(out, "--out")
    print(
        f"sweep: {len(sweep.cells())} cells ({len(sweep.points)} hardware points × {len(sweep.modes)} "
        f"modes × {len(sweep.seeds)} seeds) in {out}, engine {args.engine}",
        flush=True,
    )
    result = run_sweep(
        sweep,
        out,
        workers=args.workers,
        engine=args.engine,
        scheduler=args.scheduler,
        show_progress=not args.quiet,
        threads=args.threads,
    )
    if not args.no_plots and result["results"]:
        from .experiments.plots import plot_sweep

        for path in plot_sweep(sweep, result["results"], Path(out)):
            print(f"plot: {path}")
    print(
        f"sweep: {len(result['results'])} cells done, {len(result['failures'])} failed, "
        f"{result['wall_s']:.0f} s; summary: {out}/summary.csv"
        + (f"; failures: {out}/failures.json" if result["failures"] else "")
    )
    return 1 if result["failures"] else 0


def _sweep_execution(sweep, engines) -> None:
    """Where and how a sweep's cells run, and what it prints and plots."""
    sweep.add_argument(
        "--workers", type=_positive_int, default=None, help="parallel cells (default: the CPU cores)"
    )
    sweep.add_argument(
        "--threads",
        type=_positive_int,
        default=None,
        help="torch threads per worker (default: the cores shared among the local workers)",
    )
    sweep.add_argument(
        "--engine",
        choices=engines,
        default="local",
        help="local processes, or a Dask cluster (the dask extra; default local)",
    )
    sweep.add_argument("--scheduler", default=None, help="address of a running Dask scheduler (engine dask)")
    sweep.add_argument("--out", default=None, help="sweep directory (default runs/sweep-<file>)")
    sweep.add_argument("--no-plots", action="store_true", help="no sweep plots (PNG and SVG)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")


def _add_sweep(sweep) -> None:
    from .choices import ENGINES, SWEEP_HARDWARE_FIELDS, SWEEP_MODES
    from .photonics.hardware import PRESETS

    sweep.add_argument("file", nargs="?", default=None, help="sweep description (TOML)")
    sweep.add_argument(
        "--grid",
        action="append",
        metavar="FIELD=V1,V2,...",
        help="a grid axis (repeatable; replaces the file's grid); fields: "
        + ", ".join(SWEEP_HARDWARE_FIELDS),
    )
    # each default below: the file's value, else the one named (the sweep's, photonzo train's)
    sweep.add_argument(
        "--modes",
        nargs="+",
        choices=SWEEP_MODES,
        default=None,
        help="training modes (default deploy in-situ)",
    )
    sweep.add_argument(
        "--seeds", nargs="+", type=int, default=None, help="seeds, each a chip and a start (default 0)"
    )
    sweep.add_argument(
        "--hardware", choices=list(PRESETS), default=None, help="the preset the points modify (default ideal)"
    )
    sweep.add_argument(
        "--in-situ-init",
        choices=("deployed", "random"),
        default=None,
        help="where in-situ training starts (default deployed)",
    )
    sweep.add_argument("--dataset", default=None, help="dataset of every cell (default digits)")
    sweep.add_argument("--model", choices=["tt", "dense"], default=None, help="optical network (default tt)")
    sweep.add_argument("--steps", type=_positive_int, default=None, help="in-situ ZO steps (default 1500)")
    sweep.add_argument("--q", type=_positive_int, default=None, help="in-situ RGE directions (default 10)")
    sweep.add_argument(
        "--lr", type=_positive_float, default=None, help="in-situ learning rate (default 0.01)"
    )
    sweep.add_argument(
        "--bp-epochs", type=_positive_int, default=None, help="epochs of the digital training (default 20)"
    )
    sweep.add_argument(
        "--cal-steps",
        type=_positive_int,
        default=None,
        help="ZO steps of each calibrated cell's calibration (more in a [calibration] table; default 200)",
    )
    _sweep_execution(sweep, ENGINES)


def _add_info(info) -> None:
    from .choices import EDGE_BLOCKS, MESH_KINDS, MODEL_NAMES
    from .photonics.hardware import PRESETS

    info.add_argument(
        "model",
        nargs="?",
        choices=list(MODEL_NAMES),
        metavar="MODEL",
        help=f"named model config: {', '.join(MODEL_NAMES)}",
    )
    info.add_argument("--list", action="store_true", help="list the named models and exit")
    info.add_argument("--block", type=int, default=8, help="mesh size k of the U Σ V† blocks (default 8)")
    info.add_argument(
        "--mesh", choices=MESH_KINDS, default="clements", help="mesh topology (default clements)"
    )
    info.add_argument(
        "--edge-blocks",
        choices=EDGE_BLOCKS,
        default="rectangular",
        help="blocks at a matrix's edge: rectangular meshes, or corners of full k×k blocks "
        "(default rectangular)",
    )
    info.add_argument(
        "--readout",
        choices=["coherent", "intensity"],
        default="coherent",
        help="detection (default coherent)",
    )
    info.add_argument(
        "--hardware",
        nargs="?",
        choices=list(PRESETS),
        const=None,
        default="typical",
        help="hardware preset (default typical); --hardware alone lists every preset's values and the "
        "energy models' constants",
    )
    info.add_argument(
        "--batch",
        type=_positive_int,
        default=1,
        help="inputs per query of the time and energy estimate (default 1)",
    )
    info.add_argument("--json", action="store_true", help="print the summary as JSON")


# command → (help, description, the function that adds its options, the function that runs it,
# whether argparse appends the defaults to the help texts)
COMMANDS = {
    "info": (
        "summarise a named model on the simulated chip",
        "Print a chip's layers, shapes, MZI count, phase count and hardware preset, and the estimated "
        "time and energy of one query on silicon (photonzo/photonics/energy.py). `--hardware` alone "
        "lists every hardware preset's values and the energy models' constants.",
        _add_info,
        _info,
        False,
    ),
    "train": (
        "train an optical network on the simulated chip by zeroth-order optimisation",
        "Train a network's phases through forward queries of the simulated chip only (zeroth-order). "
        "Writes a run directory: config.json, metrics.jsonl, checkpoint.npz, curves.png and, when "
        "finished, summary.json.",
        _add_train,
        _train,
        False,
    ),
    "hjb": (
        "solve a high-dimensional PDE (HJB-20) with a PINN trained on the simulated chip",
        "Train a physics-informed network on the chip by zeroth-order optimisation; the PDE's derivatives "
        "are estimated from forward queries (Stein's identity on a sparse grid, Monte Carlo, or finite "
        "differences). Writes a run directory like `photonzo train`.",
        _add_hjb,
        _hjb,
        False,
    ),
    "sweep": (
        "sweep noise and phase precision: deploy vs in-situ training vs calibration, in parallel",
        "Cross hardware points (a grid over HardwareModel fields) with training modes (deploy: "
        "back-propagation-trained weights programmed onto the noisy chip; in-situ: then trained by ZO on "
        "that chip; calibrated: deployed after an in-situ calibration of the chip's static errors) and "
        "seeds. Each cell is a run directory; completed cells are skipped on a rerun; summary.csv holds "
        "mean ± std over seeds. Describe the sweep in a TOML file (see photonzo/experiments/sweep.py) "
        "and/or on the command line.",
        _add_sweep,
        _sweep,
        False,
    ),
}


class _Parser(argparse.ArgumentParser):
    """argparse with a refused option as one line, like every other refusal (the usage it would print
    first is 30 lines for ``train``; ``--help`` still shows it)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser(command: str | None = "all") -> argparse.ArgumentParser:
    """The parser, with the options of ``command`` (``"all"``: every command's; None: none, which is
    all ``photonzo --help`` needs)."""
    parser = _Parser(prog="photonzo", description="Photonic-chip simulator and BP-free trainers.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (help_text, description, add, run, show_defaults) in COMMANDS.items():
        formatter = argparse.ArgumentDefaultsHelpFormatter if show_defaults else argparse.HelpFormatter
        command_parser = sub.add_parser(
            name, help=help_text, description=description, formatter_class=formatter
        )
        if command in ("all", name):
            add(command_parser)
        command_parser.set_defaults(func=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``photonzo`` command line on ``argv`` (default ``sys.argv[1:]``) and return its exit code
    (see the module docstring): 0 done (or what the command returns: 1 for a sweep with failed
    cells); 2 refused (an unrecognised option, a bad value, a missing or damaged file, a run
    directory in use); 1 stopped by the system (a full or read-only disk, a lost worker); 130
    interrupted. Each failure is one line on stderr. argparse's own refusals and ``--help`` exit by
    ``SystemExit`` (codes 2 and 0); other errors propagate with their traceback."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the command, not by `photonzo`, with the option meant if it is a near miss
        print(f"photonzo {args.command}: {_unrecognized(parser, args.command, unknown)}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except (ValueError, FileExistsError, FileNotFoundError, FloatingPointError, ImportError) as e:
        # bad options, data that is missing or fails its checksum, a run directory in use:
        # one clear line, no traceback
        print(f"photonzo {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"photonzo {args.command}: interrupted{_how_to_continue(args)}", file=sys.stderr)
        return 130
    except RuntimeError as e:
        from .photonics.parallel import WorkerLost  # loaded already if a run used workers

        if not isinstance(e, WorkerLost):
            raise
        # a worker process (or the Dask cluster) lost mid-step: the step's results are lost, not the run
        print(f"photonzo {args.command}: {e}{_how_to_continue(args)}", file=sys.stderr)
        return 1
    except OSError as e:  # a read-only or full file system, a lost mount: say what and where
        where = f" ({e.filename})" if e.filename else ""
        print(f"photonzo {args.command}: {e.strerror or e}{where}{_how_to_continue(args)}", file=sys.stderr)
        return 1


def _unrecognized(parser: argparse.ArgumentParser, command: str, unknown: list[str]) -> str:
    import difflib

    (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    options = list(commands.choices[command]._option_string_actions)
    near = difflib.get_close_matches(unknown[0].split("=")[0], options, n=1)
    hint = f"did you mean {near[0]}? " if near and unknown[0].startswith("-") else ""
    return f"unrecognized arguments: {' '.join(unknown)} ({hint}see photonzo {command} --help)"


def _how_to_continue(args) -> str:
    """Where the last checkpoint is and how to continue from it (atomic writes keep it intact)."""
    run_dir = getattr(args, "run_dir", None) or getattr(args, "out", None)
    if run_dir is None or not Path(run_dir).is_dir():
        return ""
    if args.command not in ("train", "hjb"):  # a sweep: its finished cells are skipped on a rerun
        return f"; {run_dir} keeps its finished cells: rerun the same command to continue"
    from .training.checkpoint import checkpoint_step

    step = checkpoint_step(Path(run_dir))
    if step is None:  # stopped before its first checkpoint: it starts again, with or without --resume
        return f"; {run_dir} has no checkpoint yet: rerun with --resume to start it again"
    last = Path(run_dir) / "checkpoint.npz"
    return f"; the last checkpoint, {last}, is of step {step}: rerun with --resume to continue"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
