"""The fine-tuning step: deploy + in-situ at each (learning rate, μ), on a chip of coarse phase DACs.

Back-propagation weights deployed onto a chip lose accuracy to its DAC rounding and errors; in-situ
ZO fine-tuning is meant to win it back. How much it wins back depends on its step far more than on
the estimator: this benchmark measures the share of the deploy loss regained,
(kept − deployed) / (BP digital − deployed), for each ``--steps LR:MU`` and seed, the deployed
phases' and the kept phases' test accuracies read through the same chip. The leaderboard's
fine-tuning rows (``onchip_training.FINE_TUNE``) take the step chosen here.

    python benchmarks/fine_tune_step.py --phase-bits 6 12 --seeds 0 1 2     # the committed table
    python benchmarks/fine_tune_step.py --steps 0.01:0.025 0.001:0.025 0.01:0.1 0.003:0.1 0.001:0.1 \
        0.0003:0.1 0.001:0.2 --name onchip_fine_tune_grid                   # the seed-0 grid
    python benchmarks/fine_tune_step.py --dataset digits --chip typical --phase-bits 5 --budget 20000

Seed s: the BP initialisation and batches, the fabricated chip (its static errors and noise
streams) and the ZO run. Every cell is a ``run_training`` run directory under ``--work-dir``: a
finished one is read back, an interrupted one resumes, one of another configuration is refused.
Writes ``benchmarks/results/onchip_fine_tune.{json,md}`` (``--out``, ``--name``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

from photonzo.experiments.config import TrainConfig
from photonzo.experiments.run import prepare_data
from photonzo.io import atomic_write_json, atomic_write_text
from photonzo.photonics.hardware import PRESETS
from photonzo.photonics.network import build_network
from photonzo.training.backprop import deploy, digital_accuracy, train_backprop

sys.path.insert(0, str(Path(__file__).parent))
from mnist_table import _steps_for, chip_accuracy, run_or_read_back
from noise_sweep import phase_bits
from onchip_training import DATASETS, FROM_SCRATCH, SETTINGS, _positive_int, chip_name, regained_share
from provenance import git_commit

RESULTS = Path(__file__).parent / "results"
# the from-scratch step (TrainConfig's lr and μ), a tenth of its rate, and that with μ about one DAC
# step of 6-bit phases (2π/64 ≈ 0.098 rad)
STEPS = ((0.01, 0.025), (0.001, 0.025), (0.001, 0.1))


def step_pair(text: str) -> tuple[float, float]:
    """``LR:MU`` → (learning rate, perturbation step μ), both positive and finite."""
    lr, sep, mu = text.partition(":")
    try:
        pair = (float(lr), float(mu))
    except ValueError:
        pair = (-1.0, -1.0)
    if not sep or not all(0 < v < float("inf") for v in pair):
        raise argparse.ArgumentTypeError(f"--steps takes LR:MU, two positive numbers, got {text!r}")
    return pair


def cell_name(config: TrainConfig, estimator: str, lr: float, mu: float) -> str:
    chip = chip_name(config.hardware, config.phase_bits)
    return f"{config.dataset}-{chip}-s{config.seed}-{estimator}-lr{lr:g}-mu{mu:g}"


def run_seed(args, bits: int, seed: int, report) -> None:
    """BP, its deployment on the chip of ``bits``-bit phases and every (estimator, step) cell of one
    seed, each cell handed to ``report``."""
    base = dict(
        dataset=args.dataset,
        data_dir=args.data_dir,
        batch_size=64,
        eval_every=args.eval_every,
        seed=seed,
        chip_seed=seed,
        schedule="cosine",
        output_gain=1.0,  # deployed weights are read with no readout gain: their logits as trained
        hardware=args.chip,
        phase_bits=bits,
    ) | SETTINGS.get(args.dataset, {})
    probe = TrainConfig.of(**base)
    network = build_network(probe.model_name)
    train, _, test, _ = prepare_data(probe, network.in_features)
    weights, _ = train_backprop(
        network, train[0].numpy(), train[1].numpy(), epochs=args.bp_epochs, lr=3e-3, seed=seed
    )
    program = deploy(network, weights)
    bp_acc = digital_accuracy(network, weights, *test)
    deployed = chip_accuracy(probe, args.chip, program, test)
    print(f"[{bits} bits, seed {seed}] BP digital {bp_acc:.4f}, deployed {deployed:.4f}", flush=True)
    for estimator in args.estimators:
        for lr, mu in args.steps:
            config = TrainConfig.of(
                **base, **FROM_SCRATCH[estimator], lr=lr, mu=mu, max_queries=args.budget, steps=args.budget
            )
            config = config.replace(steps=_steps_for(config, args.budget))
            name = cell_name(config, estimator, lr, mu)
            print(
                f"[{bits} bits, seed {seed}] {name}: ≤ {config.steps} steps, {args.budget:,} queries",
                flush=True,
            )
            summary = run_or_read_back(config, args.work_dir / name, program)
            report(
                {
                    "estimator": estimator,
                    "phase_bits": bits,
                    "lr": lr,
                    "mu": mu,
                    "seed": seed,
                    "bp_acc": bp_acc,
                    "deployed_acc": deployed,
                    "start_test_acc": summary.get("start_test_acc"),
                    "test_acc": summary["test_acc"],
                    "final_test_acc": summary["final_test_acc"],
                    "regained": regained_share(summary["test_acc"], deployed, bp_acc),
                    "final_regained": regained_share(summary["final_test_acc"], deployed, bp_acc),
                    "queries": summary["train_queries"],
                    "wall_s": round(summary["train_wall_s"], 1),
                }
            )


# ---- report -----------------------------------------------------------------------------------------
def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _share(value) -> str:
    return "–" if value is None else f"{100 * value:.0f} %"


def _mean_std(values: list[float]) -> str:
    if len(values) < 2:
        return f"{100 * values[0]:.0f} % (n = 1)"
    return f"{100 * statistics.mean(values):.0f} ± {100 * statistics.stdev(values):.0f} % (n = {len(values)})"


def markdown(results: dict) -> str:
    rows = results["rows"]
    lines = [
        f"# The fine-tuning step: deploy + in-situ on the `{results['chip']}` chip ({results['dataset']})",
        "",
        f"`{results['command']}` — commit {results['commit']}",
        "",
        "Back-propagation weights (Adam, lr 3e-3, "
        f"{results['bp_epochs']} epochs) deployed onto the chip, then fine-tuned in situ by ZO for "
        f"{results['budget']:,} training queries at each learning rate (Adam, cosine schedule) and "
        "perturbation step μ (rad). Seed s: BP initialisation and batches, fabricated chip, ZO run. "
        "Kept: the phases best on validation, the start included; last: the last step's. Regained: "
        "(test − deployed) / (BP digital − deployed), both read through the same chip.",
        "",
        "| estimator | phase bits | lr | μ | seed | BP digital | deployed | kept (last) | regained (last) "
        "| queries | wall |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['estimator']} | {r['phase_bits']} | {r['lr']:g} | {r['mu']:g} | {r['seed']} "
            f"| {_pct(r['bp_acc'])} "
            f"| {_pct(r['deployed_acc'])} | {_pct(r['test_acc'])} ({_pct(r['final_test_acc'])}) "
            f"| {_share(r['regained'])} ({_share(r['final_regained'])}) | {r['queries']:,} "
            f"| {r['wall_s']} s |"
        )
    groups: dict = {}
    for r in rows:
        if r["regained"] is not None:
            groups.setdefault((r["estimator"], r["phase_bits"], r["lr"], r["mu"]), []).append(r)
    lines += ["", "Over seeds (mean ± std, n − 1):", ""]
    lines += ["| estimator | phase bits | lr | μ | regained, kept | last |", "|---|---:|---:|---:|---:|---:|"]
    for (estimator, bits, lr, mu), cells in groups.items():
        kept = _mean_std([c["regained"] for c in cells])
        last = _mean_std([c["final_regained"] for c in cells])
        lines.append(f"| {estimator} | {bits} | {lr:g} | {mu:g} | {kept} | {last} |")
    return "\n".join(lines) + "\n"


# ---- command line -----------------------------------------------------------------------------------
def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=DATASETS, default="mnist-8x8", help="(default: mnist-8x8)")
    p.add_argument("--chip", choices=list(PRESETS), default="measured", help="(default: measured)")
    p.add_argument(
        "--phase-bits",
        type=phase_bits,
        nargs="+",
        default=[6],
        help="phase-DAC bits of the chip instead of its preset's, each a chip of its own (default: 6)",
    )
    p.add_argument(
        "--estimators",
        nargs="+",
        choices=list(FROM_SCRATCH),
        default=["rge-tw"],
        help="in-situ estimators (default: rge-tw)",
    )
    p.add_argument(
        "--steps",
        nargs="+",
        type=step_pair,
        default=list(STEPS),
        metavar="LR:MU",
        help="learning rates and μ of the cells (default: "
        + " ".join(f"{a:g}:{b:g}" for a, b in STEPS)
        + ")",
    )
    p.add_argument("--seeds", nargs="+", type=int, default=[0], help="(default: 0)")
    p.add_argument(
        "--budget", type=_positive_int, default=50_000, help="training queries per cell (default: 50000)"
    )
    p.add_argument("--bp-epochs", type=_positive_int, default=20, help="(default: 20)")
    p.add_argument("--eval-every", type=_positive_int, default=50, help="(default: 50)")
    p.add_argument("--data-dir", default=None, help="IDX files (else $PHOTONZO_DATA)")
    p.add_argument("--work-dir", type=Path, default=Path("runs/fine_tune"), help="(default: runs/fine_tune)")
    p.add_argument("--threads", type=_positive_int, default=1, help="torch threads (default: 1)")
    p.add_argument("--out", type=Path, default=RESULTS, help="(default: benchmarks/results)")
    p.add_argument("--name", default="onchip_fine_tune", help="(default: onchip_fine_tune)")
    return p


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    bad = [s for s in args.seeds if s < 0]
    if bad:
        raise SystemExit(f"--seeds must be non-negative integers, got {bad}")
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    command = "python benchmarks/fine_tune_step.py " + " ".join(sys.argv[1:] if argv is None else argv)
    results = {
        "command": command,
        "commit": git_commit(),
        "dataset": args.dataset,
        "chip": args.chip,
        "budget": args.budget,
        "bp_epochs": args.bp_epochs,
        "rows": [],
    }

    def report(row: dict) -> None:  # after every cell: a sitting cut short keeps what it measured
        results["rows"].append(row)
        atomic_write_json(args.out / f"{args.name}.json", results)
        atomic_write_text(args.out / f"{args.name}.md", markdown(results))

    t0 = time.perf_counter()
    for bits in args.phase_bits:
        for seed in args.seeds:
            run_seed(args, bits, seed, report)
    print(markdown(results))
    print(f"wall {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
