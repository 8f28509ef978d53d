"""The ``photonzo`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .photonics.hardware import PRESETS, HardwareModel
from .photonics.mesh import MESH_KINDS
from .photonics.network import MODELS, build_network, dense_equivalent_mzis


def _info(args) -> int:
    if args.list:
        for name, spec in MODELS.items():
            print(f"{name:14s} {spec['doc']}")
        return 0
    if args.model is None:
        print("photonzo info: name a model (or --list to see them)", file=sys.stderr)
        return 2
    network = build_network(args.model, block=args.block, mesh=args.mesh, readout=args.readout)
    hardware = HardwareModel.preset(args.hardware)
    summary = {
        **network.summary(),
        "hardware": hardware.describe(),
        "dense_svd_mzis": dense_equivalent_mzis(network),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(
        f"model {summary['name']}: {summary['in']} → {summary['out']}, {summary['readout']} readout, "
        f"{args.mesh} meshes of {args.block} modes"
    )
    header = f"{'layer':8s} {'type':16s} {'shape':28s} {'weights':>9s} {'MZIs':>9s} {'phases':>9s} {'electr.':>8s}  activation"
    print(header)
    print("-" * len(header))
    for layer in summary["layers"]:
        if "in_shape" in layer:
            shape = f"{layer['in_shape']}→{layer['out_shape']} r={max(layer['ranks'])}"
        else:
            shape = f"{layer['in']}→{layer['out']} ({layer['blocks']} blocks)"
        print(
            f"{layer['name']:8s} {layer['type']:16s} {shape.replace(' ', ''):28s} {layer['weights']:9d} "
            f"{layer['mzis']:9d} {layer['phases']:9d} {layer['electronic_params']:8d}  {layer.get('activation', '-')}"
        )
    print("-" * len(header))
    print(
        f"{'total':8s} {'':16s} {'':28s} {summary['weights']:9d} {summary['mzis']:9d} {summary['phases']:9d} "
        f"{summary['params'] - summary['phases']:8d}"
    )
    print(
        f"one full-size SVD mesh per layer would take {summary['dense_svd_mzis']:,} MZIs "
        f"({summary['dense_svd_mzis'] / summary['mzis']:.1f}× this chip)"
    )
    active = {k: v for k, v in hardware.describe().items() if k != "name" and v not in (None, 0, 0.0)}
    print(
        f"hardware preset {hardware.name}: "
        + (", ".join(f"{k}={v}" for k, v in active.items()) or "no non-idealities")
    )
    return 0


def _train(args) -> int:
    from .experiments.run import TrainConfig, run_training

    config = TrainConfig(
        dataset=args.dataset,
        model=args.model,
        estimator=args.estimator,
        tensorwise=args.tensorwise,
        level=args.level,
        q=args.q,
        mu=args.mu,
        distribution=args.distribution,
        scheme=args.scheme,
        per_group=args.per_group,
        cge_subset=args.cge_subset,
        switch_step=args.switch_step,
        patience=args.patience or None,
        max_queries=args.max_queries,
        local_loss=args.local_loss,
        joint=args.joint,
        projection_seed=args.projection_seed,
        target_scale=args.target_scale,
        output_gain=args.output_gain,
        hardware=args.hardware,
        phase_bits=args.phase_bits,
        chip_seed=args.chip_seed,
        optimizer=args.optimizer,
        lr=args.lr,
        schedule=args.schedule,
        steps=args.steps,
        batch_size=args.batch_size,
        eval_every=args.eval_every,
        eval_size=args.eval_size,
        seed=args.seed,
        data_dir=args.data_dir,
    )
    run_dir = (
        args.run_dir
        or f"runs/{args.dataset}-{config.model}-{args.estimator}{'-tw' if args.tensorwise else ''}-{args.hardware}"
    )
    summary = run_training(config, run_dir, resume=args.resume, progress=not args.quiet)
    print(
        f"{summary['model']} on {summary['dataset']} ({summary['hardware']['name']} chip): "
        f"test accuracy {100 * summary['test_acc']:.1f}% (phases of step {summary['kept_step']}, the best on "
        f"validation; last step {100 * summary['final_test_acc']:.1f}%) after {summary['steps']} steps, "
        f"{summary['train_queries']:,} training queries, {summary['train_wall_s']:.0f} s"
    )
    print(f"run directory: {run_dir} (config.json, metrics.jsonl, checkpoint.npz, curves.png, summary.json)")
    return 0


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


def _add_train(sub) -> None:
    from .data.datasets import DATASETS
    from .experiments.run import TRAIN_ESTIMATORS
    from .training.estimators import DISTRIBUTIONS, SCHEMES
    from .training.optim import OPTIMIZERS, SCHEDULES
    from .training.tpsgd import LOCAL_LOSSES

    train = sub.add_parser(
        "train",
        help="train an optical network on the simulated chip by zeroth-order optimisation",
        description="Train a network's phases through forward queries of the simulated chip only "
        "(zeroth-order). Writes a run directory: config.json, metrics.jsonl, checkpoint.npz, "
        "curves.png and, when finished, summary.json.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    train.add_argument("dataset", choices=DATASETS, help="dataset (digits works offline)")
    train.add_argument(
        "--model", choices=["tt", "dense"], default="tt", help="tensor-train or dense optical MLP"
    )
    train.add_argument(
        "--estimator",
        choices=TRAIN_ESTIMATORS,
        default="rge",
        help="rge: randomised; cge: coordinate-wise; hybrid: sign-RGE, then CGE when validation stalls; "
        "layer-local: target projection (tpSGD), each layer's RGE on its own local loss, read "
        "from per-layer detector taps",
    )
    train.add_argument(
        "--tensorwise",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="perturb each named slice (see --level) with its own directions",
    )
    train.add_argument(
        "--level",
        choices=["layer", "core", "group", "mesh"],
        default="core",
        help="slices of the tensor-wise estimator",
    )
    train.add_argument("--q", type=_positive_int, default=10, help="RGE directions per slice and step")
    train.add_argument("--mu", type=_positive_float, default=0.025, help="perturbation step (rad)")
    train.add_argument("--distribution", choices=DISTRIBUTIONS, default="rademacher", help="RGE directions")
    train.add_argument(
        "--scheme", choices=SCHEMES, default="central", help="RGE differences (central = antithetic)"
    )
    train.add_argument(
        "--per-group", action="store_true", help="CGE on small attenuator/bias groups, RGE on the meshes"
    )
    train.add_argument(
        "--cge-subset", type=_positive_int, default=None, help="coordinates per CGE step (default: all)"
    )
    train.add_argument(
        "--switch-step",
        type=int,
        default=None,
        help="hybrid: switch to CGE at this step at the latest (earlier if validation stalls)",
    )
    train.add_argument(
        "--patience",
        type=int,
        default=3,
        help="hybrid: switch after this many evaluations without a better validation loss (0: never)",
    )
    train.add_argument(
        "--local-loss",
        choices=list(LOCAL_LOSSES),
        default="mse",
        help="layer-local: hidden layers' loss against their projected targets (linear = DRTP)",
    )
    train.add_argument(
        "--joint",
        action="store_true",
        help="layer-local: perturb all layers at once and read every local loss from the same queries",
    )
    train.add_argument(
        "--projection-seed", type=int, default=1, help="layer-local: seed of the target projections"
    )
    train.add_argument(
        "--target-scale",
        type=_positive_float,
        default=1.0,
        help="layer-local: scale of the projected targets (a passive layer's outputs are small)",
    )
    train.add_argument(
        "--max-queries",
        type=_positive_int,
        default=None,
        help="stop when this many training queries are spent",
    )
    train.add_argument(
        "--hardware", choices=list(PRESETS), default="ideal", help="hardware preset of the chip"
    )
    train.add_argument(
        "--output-gain",
        type=_positive_float,
        default=10.0,
        help="electronic gain after the output detectors (a passive chip's outputs are small; "
        "the gain lets the cross-entropy saturate)",
    )
    train.add_argument(
        "--phase-bits", type=_positive_int, default=None, help="override the preset's phase DAC bits"
    )
    train.add_argument(
        "--chip-seed", type=int, default=0, help="seed of the chip's fabrication errors and noise"
    )
    train.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    train.add_argument(
        "--lr", type=_positive_float, default=0.01, help="learning rate (rad per step for Adam)"
    )
    train.add_argument("--schedule", choices=SCHEDULES, default="cosine", help="learning-rate schedule")
    train.add_argument("--steps", type=_positive_int, default=1500, help="training steps")
    train.add_argument("--batch-size", type=_positive_int, default=64)
    train.add_argument(
        "--eval-every", type=_positive_int, default=100, help="validate (and checkpoint) every N steps"
    )
    train.add_argument(
        "--eval-size", type=_positive_int, default=None, help="validation images per evaluation"
    )
    train.add_argument(
        "--seed", type=int, default=0, help="seed of the initial phases, batches and directions"
    )
    train.add_argument(
        "--data-dir", default=None, help="folder with the IDX files (else $PHOTONZO_DATA, the cache)"
    )
    train.add_argument(
        "--run-dir", default=None, help="run directory (default runs/<dataset>-<model>-<estimator>-...)"
    )
    train.add_argument(
        "--resume", action="store_true", help="continue the run in --run-dir from its checkpoint"
    )
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=_train)


def _hjb(args) -> int:
    from .experiments.run import PINNConfig, run_pinn

    config = PINNConfig(
        pde=args.pde,
        dim=args.dim,
        model=args.model,
        estimator=args.estimator,
        rule=args.rule,
        level=args.level,
        nodes=args.nodes,
        sigma=args.sigma,
        force=args.force,
        q=args.q,
        mu=args.mu,
        lr=args.lr,
        steps=args.steps,
        points=args.points,
        eval_every=args.eval_every,
        test_points=args.test_points,
        hardware=args.hardware,
        chip_seed=args.chip_seed,
        seed=args.seed,
        float64=args.float64,
        max_queries=args.max_queries,
    )
    run_dir = args.run_dir or f"runs/{args.pde}{args.dim}-{args.model}-{args.estimator}-{args.hardware}"
    s = run_pinn(config, run_dir, resume=args.resume, progress=not args.quiet)
    print(
        f"{s['pde']['name']}-{s['pde']['dim']} on the {s['hardware']} chip ({s['model']}, {s['mzis']:,} MZIs): "
        f"relative l2 {s['rel_l2']:.3g} (learned part {s['rel_l2_learned']:.3g}) after {s['steps']} steps, "
        f"{s['train_queries']:,} queries of {s['inferences_per_query']:,} inputs each, {s['train_wall_s']:.0f} s"
    )
    print(f"run directory: {run_dir} (config.json, metrics.jsonl, checkpoint.npz, curves.png, summary.json)")
    return 0


def _add_hjb(sub) -> None:
    from .experiments.run import DERIVATIVES, PINN_MODELS
    from .pinn.pde import PDES
    from .pinn.quadrature import RULES

    hjb = sub.add_parser(
        "hjb",
        help="solve a high-dimensional PDE (HJB-20) with a PINN trained on the simulated chip",
        description="Train a physics-informed network on the chip by zeroth-order optimisation; the PDE's "
        "derivatives are estimated from forward queries (Stein's identity on a sparse grid, Monte "
        "Carlo, or finite differences). Writes a run directory like `photonzo train`.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    hjb.add_argument(
        "--pde", choices=list(PDES), default="hjb", help="hjb: HJB-20 of the reference; heat: u_t = Δu"
    )
    hjb.add_argument("--dim", type=_positive_int, default=20, help="spatial dimension")
    hjb.add_argument(
        "--model",
        choices=PINN_MODELS,
        default="tt",
        help="tt / dense: the reference 21→512→512→1 networks (dim 20); small: (d+1)→32→32→1",
    )
    hjb.add_argument("--estimator", choices=DERIVATIVES, default="sparse-grid", help="derivative estimator")
    hjb.add_argument(
        "--rule", choices=RULES, default="gauss-hermite", help="quadrature rule of the Stein estimator"
    )
    hjb.add_argument("--level", type=int, default=2, help="sparse-grid level")
    hjb.add_argument(
        "--nodes",
        type=_positive_int,
        default=None,
        help="monte-carlo nodes per point (default: as many as the sparse grid)",
    )
    hjb.add_argument(
        "--sigma", type=_positive_float, default=0.1, help="smoothing radius (and finite-difference step)"
    )
    hjb.add_argument("--force", action="store_true", help="build a sparse grid past the node limit")
    hjb.add_argument("--q", type=_positive_int, default=10, help="RGE directions per step")
    hjb.add_argument("--mu", type=_positive_float, default=0.025, help="phase perturbation (rad)")
    hjb.add_argument("--lr", type=_positive_float, default=0.01)
    hjb.add_argument("--steps", type=_positive_int, default=200)
    hjb.add_argument("--points", type=_positive_int, default=100, help="collocation points per step")
    hjb.add_argument("--eval-every", type=_positive_int, default=20)
    hjb.add_argument("--test-points", type=_positive_int, default=10_000)
    hjb.add_argument("--hardware", choices=list(PRESETS), default="ideal")
    hjb.add_argument("--chip-seed", type=int, default=0)
    hjb.add_argument("--seed", type=int, default=0)
    hjb.add_argument(
        "--float64",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="simulate in complex128 (the default: the sparse grid's negative weights amplify float32 "
        "rounding in the Laplacian); --no-float64 for complex64, about 2x faster",
    )
    hjb.add_argument("--max-queries", type=_positive_int, default=None)
    hjb.add_argument("--run-dir", default=None)
    hjb.add_argument("--resume", action="store_true")
    hjb.add_argument("--quiet", action="store_true")
    hjb.set_defaults(func=_hjb)


def _sweep(args) -> int:
    from .experiments.sweep import parse_assignment, read_sweep_file, run_sweep, sweep_from_dict

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
    out = args.out or f"runs/sweep-{Path(args.file).stem if args.file else 'cli'}"
    print(
        f"sweep: {len(sweep.cells())} cells ({len(sweep.points)} hardware points × {len(sweep.modes)} modes × "
        f"{len(sweep.seeds)} seeds) in {out}, engine {args.engine}",
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
        f"sweep: {len(result['results'])} cells done, {len(result['failures'])} failed, {result['wall_s']:.0f} s; "
        f"summary: {out}/summary.csv" + (f"; failures: {out}/failures.json" if result["failures"] else "")
    )
    return 1 if result["failures"] else 0


def _add_sweep(sub) -> None:
    from .experiments.sweep import ENGINES, HARDWARE_FIELDS, MODES

    sweep = sub.add_parser(
        "sweep",
        help="sweep noise and phase precision: deploy vs in-situ training vs calibration, in parallel",
        description="Cross hardware points (a grid over HardwareModel fields) with training modes (deploy: "
        "back-propagation-trained weights programmed onto the noisy chip; in-situ: then trained by ZO "
        "on that chip; calibrated: deployed after an in-situ calibration of the chip's static errors) and seeds. Each cell is a run directory; completed cells are skipped on a rerun; "
        "summary.csv holds mean ± std over seeds. Describe the sweep in a TOML file (see "
        "photonzo/experiments/sweep.py) and/or on the command line.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    sweep.add_argument("file", nargs="?", default=None, help="sweep description (TOML)")
    sweep.add_argument(
        "--grid",
        action="append",
        metavar="FIELD=V1,V2,...",
        help=f"a grid axis (repeatable; replaces the file's grid); fields: {', '.join(HARDWARE_FIELDS)}",
    )
    sweep.add_argument("--modes", nargs="+", choices=MODES, default=None)
    sweep.add_argument("--seeds", nargs="+", type=int, default=None)
    sweep.add_argument("--hardware", choices=list(PRESETS), default=None, help="the preset the points modify")
    sweep.add_argument(
        "--in-situ-init",
        choices=("deployed", "random"),
        default=None,
        help="where in-situ training starts (default deployed)",
    )
    sweep.add_argument("--dataset", default=None)
    sweep.add_argument("--model", choices=["tt", "dense"], default=None)
    sweep.add_argument("--steps", type=_positive_int, default=None, help="in-situ ZO steps")
    sweep.add_argument("--q", type=_positive_int, default=None, help="in-situ RGE directions")
    sweep.add_argument("--lr", type=_positive_float, default=None, help="in-situ learning rate")
    sweep.add_argument("--bp-epochs", type=_positive_int, default=None, help="epochs of the digital training")
    sweep.add_argument(
        "--cal-steps",
        type=_positive_int,
        default=None,
        help="ZO steps of each calibrated cell's calibration (more in a [calibration] table)",
    )
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
        choices=ENGINES,
        default="local",
        help="local processes, or a Dask cluster (the dask extra)",
    )
    sweep.add_argument("--scheduler", default=None, help="address of a running Dask scheduler (engine dask)")
    sweep.add_argument("--out", default=None, help="sweep directory (default runs/sweep-<file>)")
    sweep.add_argument("--no-plots", action="store_true")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.set_defaults(func=_sweep)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="photonzo", description="Photonic-chip simulator and BP-free trainers."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    info = sub.add_parser(
        "info",
        help="summarise a named model on the simulated chip",
        description="Print a chip's layers, shapes, MZI count, phase count and hardware preset.",
    )
    info.add_argument(
        "model",
        nargs="?",
        choices=list(MODELS),
        metavar="MODEL",
        help=f"named model config: {', '.join(MODELS)}",
    )
    info.add_argument("--list", action="store_true", help="list the named models and exit")
    info.add_argument("--block", type=int, default=8, help="mesh size k of the U Σ V† blocks (default 8)")
    info.add_argument(
        "--mesh", choices=MESH_KINDS, default="clements", help="mesh topology (default clements)"
    )
    info.add_argument(
        "--readout",
        choices=["coherent", "intensity"],
        default="coherent",
        help="detection (default coherent)",
    )
    info.add_argument(
        "--hardware", choices=list(PRESETS), default="typical", help="hardware preset (default typical)"
    )
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.set_defaults(func=_info)
    _add_train(sub)
    _add_hjb(sub)
    _add_sweep(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileExistsError, FileNotFoundError, FloatingPointError, ImportError) as e:
        # bad options, data that is missing or fails its checksum, a run directory in use:
        # one clear line, no traceback
        print(f"photonzo {args.command}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
