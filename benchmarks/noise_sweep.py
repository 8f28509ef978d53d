"""The standard noise and phase-precision sweep, in-situ calibration, and sweep throughput.

    python benchmarks/noise_sweep.py                      # everything (about 1.5 h on 2 cores)
    python benchmarks/noise_sweep.py --part throughput    # one part
    python benchmarks/noise_sweep.py --smoke --datasets digits --part sweep calibration --workers 1 \
        --work-dir /tmp/noise_smoke/runs --out /tmp/noise_smoke   # a smoke run (seconds)
    python benchmarks/noise_sweep.py --part sweep --datasets digits --hardware measured \
        --points 6:0.02 12:0.001 12:0.002 12:0.005 --name noise_measured \
        --work-dir runs/noise_measured                            # some points on the measured chip

Parts (each a resumable sweep under ``--work-dir``; rerunning skips finished cells):

* ``sweep``: phase bits {4, 5, 6, 8, 10, 16} × phase noise σ {0, 0.01, 0.02, 0.05} (rad), deploy
  (BP-trained weights programmed onto the chip) vs in-situ (the same phases, then ZO on that
  chip), 3 seeds, on digits and Fashion-MNIST. On Fashion-MNIST an in-situ cell costs minutes
  (8,514 parameters, a 784→1024→10 network), so by default in-situ runs only on the σ = 0.02 row
  there (``--fashion-in-situ full`` runs the whole grid).
* ``calibration``: static phase bias × beam-splitter error on the ``typical`` chip (digits),
  deploy vs deploy after an in-situ calibration through the Oracle.
* ``throughput``: the same in-situ sweep with one worker and with two; cells per second.

The sweep's points modify the ``ideal`` chip unless ``--hardware`` names another preset (each
point's phase bits and σ replace the preset's, every other value of it stays); ``--bits``,
``--sigmas`` or a list of ``--points`` replace the grid, ``--seeds`` the seeds.

Writes ``benchmarks/results/noise_sweep.{json,md}`` and, per sweep, ``summary.csv`` and the plots
(PNG + SVG) under ``benchmarks/results/noise_sweep/`` (``--out`` for another folder, ``--name`` for
another stem of the files and the plots' folder). ``--smoke``
runs a tiny plan (one seed, a point or two, runs of two steps) that checks the benchmark end to end;
its numbers mean nothing, so it needs ``--out``. Fashion-MNIST is read from ``$PHOTONZO_DATA``
(e.g. ``PHOTONZO_DATA=../shared/data``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photonzo.experiments.plots import plot_sweep
from photonzo.experiments.results import digital_results, summarise, summary_csv
from photonzo.experiments.sweep import (
    Sweep,
    cell_dir,
    grid_points,
    run_sweep,
    share_digital_weights,
    train_digital,
)
from photonzo.io import atomic_write_json, atomic_write_text
from photonzo.photonics.hardware import PRESETS

sys.path.insert(0, str(Path(__file__).parent))
from provenance import git_commit

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_POINT = {"phase_bits": 6, "phase_noise_std": 0.02}
PARTS = ["sweep", "calibration", "throughput"]
BACKPROP_BASE = {"epochs": 20, "lr": 3e-3, "batch_size": 64}


@dataclass(frozen=True)
class Plan:
    """What the parts run: the grids, seeds and the settings of every training."""

    bits: list
    sigmas: list
    seeds: list
    in_situ: dict  # dataset → TrainConfig fields of the in-situ runs
    backprop: dict  # dataset → BackpropConfig fields (over BACKPROP_BASE)
    cal_bias: list
    cal_bs: list
    calibration: dict
    throughput: dict  # the in-situ sweep timed: bits, seeds, steps
    points: list | None = None  # listed (phase bits, σ) points of the sweep part instead of bits × σ
    hardware: str = "ideal"  # the preset the sweep part's points modify


# In-situ ZO fine-tuning from the deployed phases. μ = 0.1 rad is about one DAC step at 6 bits:
# a smaller probe is mostly rounded away by the quantiser and measures noise, not slope.
STANDARD = Plan(
    bits=[4, 5, 6, 8, 10, 16],
    sigmas=[0.0, 0.01, 0.02, 0.05],
    seeds=[0, 1, 2],
    in_situ={
        "digits": dict(steps=300, q=20, batch_size=128, lr=3e-3, mu=0.1, eval_every=100),
        "fashion-mnist": dict(
            steps=150, q=8, level="layer", batch_size=128, lr=3e-3, mu=0.1, eval_every=50, eval_size=1000
        ),
    },
    backprop={"digits": {"epochs": 20}, "fashion-mnist": {"epochs": 3}},
    cal_bias=[0.0, 0.05, 0.1, 0.2],
    cal_bs=[0.0, 0.03, 0.05],
    calibration={"steps": 200},
    throughput={"bits": [5, 6, 8, 10], "seeds": [0, 1], "steps": 100},
)
TINY_RUN = dict(steps=2, q=2, batch_size=32, lr=3e-3, mu=0.1, eval_every=1, eval_size=50)
SMOKE = Plan(
    bits=[6, 8],
    sigmas=[TARGET_POINT["phase_noise_std"]],
    seeds=[0],
    in_situ={"digits": TINY_RUN, "fashion-mnist": {**TINY_RUN, "level": "layer"}},
    backprop={"digits": {"epochs": 1, "batch_size": 256}, "fashion-mnist": {"epochs": 1, "batch_size": 256}},
    cal_bias=[0.1],
    cal_bs=[0.03],
    calibration={"steps": 2},
    throughput={"bits": [6], "seeds": [0], "steps": 2},
)


def digital_accuracy(sweep_dir: Path) -> float:
    """Mean digital (BP) test accuracy over the seeds a sweep trained."""
    return float(np.mean([r["digital_test_acc"] for r in digital_results(sweep_dir)]))


def run(sweep: Sweep, out: Path, workers: int, threads: int | None = None) -> dict:
    print(f"-- {out}: {len(sweep.cells())} cells", flush=True)
    result = run_sweep(sweep, out, workers=workers, threads=threads)
    if result["failures"]:
        print(f"   {len(result['failures'])} cells failed: see {out}/failures.json", flush=True)
    return result


def publish(
    results_dir: Path, name: str, sweep: Sweep, results: list[dict], stem: str = "noise_sweep"
) -> list[str]:
    """summary.csv and the plots of one sweep into <results_dir>/<stem>/<name>/."""
    target = results_dir / stem / name
    target.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target / "summary.csv", summary_csv(results, sweep.points, sweep.modes))
    return [str(p.relative_to(results_dir)) for p in plot_sweep(sweep, results, target)]


def target_gain(digital: float, rows: list[dict]) -> dict | None:
    """What deploy loses against digital at TARGET_POINT, and what in-situ regains of it (None: the
    sweep did not run that point)."""
    at = {r["mode"]: r for r in rows if all(r[k] == v for k, v in TARGET_POINT.items())}
    if "deploy" not in at:
        return None
    lost = digital - at["deploy"]["test_acc_mean"]
    regained = at["in-situ"]["test_acc_mean"] - at["deploy"]["test_acc_mean"] if "in-situ" in at else None
    return {
        "point": TARGET_POINT,
        "deploy_acc": at["deploy"]["test_acc_mean"],
        "in_situ_acc": at.get("in-situ", {}).get("test_acc_mean"),
        "deploy_loss": lost,
        "in_situ_regained": regained,
        "fraction_recovered": None if regained is None or lost <= 0 else regained / lost,
    }


def part_sweep(
    dataset: str,
    work: Path,
    workers: int,
    fashion_full: bool,
    plan: Plan,
    out: Path,
    threads: int | None = None,
    stem: str = "noise_sweep",
) -> dict:
    if plan.points is None:
        points = grid_points({"phase_bits": plan.bits, "phase_noise_std": plan.sigmas})
    else:
        points = [{"phase_bits": b, "phase_noise_std": s} for b, s in plan.points]
    base = dict(
        points=points,
        seeds=plan.seeds,
        hardware=plan.hardware,
        train={"dataset": dataset, **plan.in_situ[dataset]},
        backprop={**BACKPROP_BASE, **plan.backprop[dataset]},
    )
    if dataset == "fashion-mnist" and not fashion_full:
        in_situ_points = [p for p in points if p["phase_noise_std"] == TARGET_POINT["phase_noise_std"]]
    else:
        in_situ_points = points
    deploy = Sweep(**{**base, "modes": ["deploy"]})
    in_situ = Sweep(**{**base, "points": in_situ_points, "modes": ["in-situ"]})
    deploy_dir, in_situ_dir = work / dataset / "deploy", work / dataset / "in-situ"
    done_deploy = run(deploy, deploy_dir, workers, threads)
    share_digital_weights(deploy_dir, in_situ_dir)  # in-situ deploys the very weights deploy trained
    done_in_situ = run(in_situ, in_situ_dir, workers, threads)
    both = Sweep(**{**base, "modes": ["deploy", "in-situ"]})
    results = done_deploy["results"] + done_in_situ["results"]
    rows = summarise(results, both.points, both.modes)
    digital = digital_accuracy(deploy_dir)
    chip = {} if plan.hardware == "ideal" else {"hardware": plan.hardware, "seeds": plan.seeds}
    return {
        **chip,  # recorded only off the default chip: the committed reports render as they were
        "dataset": dataset,
        "digital_test_acc": digital,
        "in_situ": plan.in_situ[dataset],
        "backprop": plan.backprop[dataset],
        "in_situ_points": len(in_situ_points),
        "rows": rows,
        "plots": publish(out, dataset, both, results, stem),
        "target": target_gain(digital, rows),
        "grid": len(both.points) if plan.points is not None else None,
        "wall_s": done_deploy["wall_s"] + done_in_situ["wall_s"],
        "failures": len(done_deploy["failures"]) + len(done_in_situ["failures"]),
    }


def part_calibration(work: Path, workers: int, plan: Plan, out: Path) -> dict:
    sweep = Sweep(
        points=grid_points({"phase_bias": plan.cal_bias, "bs_error_std": plan.cal_bs}),
        modes=["deploy", "calibrated"],
        seeds=plan.seeds,
        hardware="typical",
        train={"dataset": "digits"},
        backprop={**BACKPROP_BASE, **plan.backprop["digits"]},
        calibration=plan.calibration,
    )
    sweep_dir = work / "calibration"
    share_digital_weights(work / "digits" / "deploy", sweep_dir)
    done = run(sweep, sweep_dir, workers)
    return {
        "hardware": "typical",
        "calibration": plan.calibration,
        "rows": summarise(done["results"], sweep.points, sweep.modes),
        "plots": publish(out, "calibration", sweep, done["results"]),
        "digital_test_acc": digital_accuracy(sweep_dir),
        "wall_s": done["wall_s"],
        "failures": len(done["failures"]),
    }


def part_throughput(work: Path, plan: Plan) -> dict:
    """Wall time of one in-situ sweep (8 cells), from scratch each time, the digital weights
    already trained: one worker with one torch thread, one worker with two (what ``--workers 1``
    does on 2 cores), and two workers with one thread each (``--workers 2``)."""
    steps = plan.throughput["steps"]
    sweep = Sweep(
        points=grid_points({"phase_bits": plan.throughput["bits"]}),
        modes=["in-situ"],
        seeds=plan.throughput["seeds"],
        train={"dataset": "digits", **plan.in_situ["digits"], "steps": steps},
        backprop={**BACKPROP_BASE, **plan.backprop["digits"]},
    )
    runs = {}
    cores = os.cpu_count() or 1
    for workers, threads in ((1, 1), (1, cores), (2, max(1, cores // 2))):
        key = f"{workers} worker{'s' if workers > 1 else ''} x {threads} thread{'s' if threads > 1 else ''}"
        out = work / "throughput" / f"workers{workers}-threads{threads}"
        for cell in sweep.cells():  # from scratch: the cells run again
            shutil.rmtree(cell_dir(out, cell), ignore_errors=True)
        for seed in sweep.seeds:  # outside the timing: both runs deploy the same trained weights
            train_digital(sweep, out, seed)
        t0 = time.perf_counter()
        done = run(sweep, out, workers, threads)
        wall = time.perf_counter() - t0
        runs[key] = {
            "workers": workers,
            "threads": threads,
            "cells": len(done["results"]),
            "wall_s": round(wall, 2),
            "cells_per_min": round(60 * len(done["results"]) / wall, 3),
        }
    one_thread, one_worker, two_workers = (r["wall_s"] for r in runs.values())
    return {
        "cells": len(sweep.cells()),
        "steps": steps,
        "runs": runs,
        "speed_up_per_core": round(one_thread / two_workers, 3),
        "speed_up_over_workers_1": round(one_worker / two_workers, 3),
    }


# ---- report ---------------------------------------------------------------------------------------


def pct(v) -> str:
    return "–" if v is None else f"{100 * v:.1f}"


def mode_table(
    rows: list[dict], modes: tuple[str, str], row: tuple[str, str, list], column: tuple[str, str, list]
) -> list[str]:
    """Accuracy (mean ± std) by row value × column value, two modes side by side in each column.

    ``row`` and ``column``: (field, label, values)."""
    (row_field, row_label, row_values), (col_field, col_label, col_values) = row, column
    by = {(r["mode"], r[row_field], r[col_field]): r for r in rows}
    lines = [
        f"| {row_label} | "
        + " | ".join(f"{col_label} = {c:g}: {modes[0]} | {modes[1]}" for c in col_values)
        + " |",
        "|---:|" + "---:|---:|" * len(col_values),
    ]
    for v in row_values:
        cells = []
        for c in col_values:
            for mode in modes:
                r = by.get((mode, v, c))
                cells.append("–" if r is None else f"{pct(r['test_acc_mean'])} ± {pct(r['test_acc_std'])}")
        lines.append(f"| {v:g} | " + " | ".join(cells) + " |")
    return lines


def values(rows: list[dict], field: str) -> list:
    """The values ``field`` takes over the summary rows, in order (the grid that ran)."""
    return sorted({r[field] for r in rows})


def seeds_of(data: dict) -> int:
    rows = [
        r
        for part in [*data.get("sweep", {}).values(), data.get("calibration", {})]
        for r in part.get("rows", [])
    ]
    return max((r["seeds"] for r in rows), default=0)


def report(data: dict) -> str:
    seeds = seeds_of(data)
    lines = [
        "# Noise and phase-precision sweep",
        "",
        ", ".join(f"`{c}`" for c in data["commands"]) + f" — {data['machine']}",
        "",
        f"Test accuracy (%) on the noisy chip, mean ± std over {seeds} seed{'s' if seeds != 1 else ''} "
        "(seed = digital initialisation, fabricated chip, ZO run). deploy: BP-trained weights programmed "
        "onto the chip; in-situ: the same phases, then ZO on that chip through its Oracle.",
        "",
    ]
    if "commit" in data:
        lines += [f"Commit {data['commit']}.", ""]
    for dataset, part in data.get("sweep", {}).items():
        lines += sweep_report(dataset, part)
    if "calibration" in data:
        lines += calibration_report(data["calibration"])
    if "throughput" in data:
        lines += throughput_report(data["throughput"])
    return "\n".join(lines)


def plots_markdown(part: dict) -> list[str]:
    return [f"![{Path(p).stem}]({p})" for p in part["plots"] if p.endswith(".png")]


def sweep_report(dataset: str, part: dict) -> list[str]:
    t, rows = part["target"], part["rows"]
    bits, sigmas = values(rows, "phase_bits"), values(rows, "phase_noise_std")
    chip = []
    if "hardware" in part:  # a sweep off the default (ideal) chip
        chip = [
            f"Chip: the `{part['hardware']}` preset, each point's phase bits and σ (per-query phase noise, "
            f"rad) replacing its own; seeds {', '.join(map(str, part['seeds']))}.",
            "",
        ]
    lines = [
        f"## {dataset}",
        "",
        *chip,
        f"Digital (BP) test accuracy {pct(part['digital_test_acc'])} %. In-situ: "
        + ", ".join(f"{k} {v}" for k, v in part["in_situ"].items())
        + f"; {part['in_situ_points']} of {part.get('grid') or len(bits) * len(sigmas)} points. "
        f"Wall {part['wall_s'] / 60:.0f} min.",
        "",
        *mode_table(
            rows, ("deploy", "in-situ"), ("phase_bits", "phase bits", bits), ("phase_noise_std", "σ", sigmas)
        ),
        "",
    ]
    if t is not None:
        regained = (
            "–"
            if t["in_situ_regained"] is None
            else f"{100 * t['in_situ_regained']:.1f} points, {pct(t['fraction_recovered'])} % of the loss"
        )
        lines += [
            f"**At {t['point']['phase_bits']} bits / σ = {t['point']['phase_noise_std']:g}**: deploy "
            f"{pct(t['deploy_acc'])} % (loses {100 * t['deploy_loss']:.1f} points against digital), in-situ "
            f"{pct(t['in_situ_acc'])} %: regains {regained} (target ≥ 50 %).",
            "",
        ]
    return [*lines, *plots_markdown(part), ""]


def calibration_report(part: dict) -> list[str]:
    rows = part["rows"]
    queries = next((r["train_queries_mean"] for r in rows if r["mode"] == "calibrated"), None)
    return [
        "## In-situ calibration (digits, typical chip)",
        "",
        f"Calibration: {part['calibration']['steps']} ZO steps of a phase offset towards the design's "
        "layer outputs for the deployed phases (training/calibration.py). Digital accuracy "
        f"{pct(part['digital_test_acc'])} %.",
        "",
        *mode_table(
            rows,
            ("deploy", "calibrated"),
            ("phase_bias", "phase bias half-width (rad)", values(rows, "phase_bias")),
            ("bs_error_std", "bs σ", values(rows, "bs_error_std")),
        ),
        "",
        f"Calibration queries per cell: {queries:,.0f}.",
        "",
        *plots_markdown(part),
        "",
    ]


def throughput_report(t: dict) -> list[str]:
    return [
        "## Throughput",
        "",
        f"{t['cells']} in-situ digits cells ({t['steps']} ZO steps each), local process pool:",
        "",
        "| workers × torch threads | wall (s) | cells / min |",
        "|---|---:|---:|",
        *[f"| {k} | {r['wall_s']} | {r['cells_per_min']} |" for k, r in t["runs"].items()],
        "",
        f"Two workers against one worker on one core: **{t['speed_up_per_core']}×**; against "
        f"`--workers 1` (one worker using both cores through torch threads): "
        f"**{t['speed_up_over_workers_1']}×** (target ≥ 1.6×).",
        "",
    ]


def bits_sigma(text: str) -> tuple[int, float]:
    """``BITS:SIGMA`` (a phase-DAC resolution and a per-query phase noise in rad) → (bits, σ)."""
    bits, sep, sigma = text.partition(":")
    try:
        b, s = int(bits), float(sigma)
    except ValueError:
        b = s = None
    if not sep or b is None or not 1 <= b <= 32 or not math.isfinite(s) or s < 0:
        raise argparse.ArgumentTypeError(
            f"expected BITS:SIGMA with BITS an integer in 1..32 and SIGMA a finite number >= 0 (rad), "
            f"got {text!r}"
        )
    return b, s


def phase_bits(text: str) -> int:
    try:
        b = int(text)
    except ValueError:
        b = None
    if b is None or not 1 <= b <= 32:
        raise argparse.ArgumentTypeError(f"phase bits must be an integer in 1..32, got {text!r}")
    return b


def sigma(text: str) -> float:
    try:
        s = float(text)
    except ValueError:
        s = None
    if s is None or not math.isfinite(s) or s < 0:
        raise argparse.ArgumentTypeError(f"σ must be a finite number >= 0 (rad), got {text!r}")
    return s


def seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = None
    if v is None or v < 0:
        raise argparse.ArgumentTypeError(f"a seed must be an integer >= 0, got {text!r}")
    return v


def plan_of(args, parser) -> Plan:
    """The plan ``--smoke`` picks, with the sweep part's chip, grid and seeds from the options."""
    plan = SMOKE if args.smoke else STANDARD
    if args.points is not None and (args.bits is not None or args.sigmas is not None):
        parser.error(
            "--points lists the sweep's points: it replaces --bits and --sigmas, give one or the other"
        )
    changes = {"hardware": args.hardware}
    for name in ("bits", "sigmas", "points", "seeds"):
        if getattr(args, name) is not None:
            changes[name] = list(dict.fromkeys(getattr(args, name)))
    return dataclasses.replace(plan, **changes)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--part",
        nargs="+",
        choices=["all", *PARTS, "report"],
        default=["all"],
        help="the parts to run (all: every one); report: only rewrite noise_sweep.md from noise_sweep.json",
    )
    parser.add_argument("--datasets", nargs="+", default=["digits", "fashion-mnist"])
    parser.add_argument(
        "--fashion-in-situ",
        choices=["row", "full"],
        default="row",
        help="in-situ on Fashion-MNIST: the σ = 0.02 row only, or the whole grid",
    )
    parser.add_argument(
        "--work-dir", default="runs/noise_sweep", help="where the sweeps' run directories live"
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS,
        help="folder of the results files (default: the committed benchmarks/results)",
    )
    parser.add_argument(
        "--name",
        default="noise_sweep",
        help="stem of the results files and of the plots' folder (default noise_sweep)",
    )
    sweep = parser.add_argument_group("the sweep part's chip and grid (defaults: the standard plan)")
    sweep.add_argument(
        "--hardware",
        choices=tuple(PRESETS),
        default="ideal",
        metavar="PRESET",
        help="hardware preset the sweep's points modify (any of: " + ", ".join(PRESETS) + "; default ideal)",
    )
    sweep.add_argument("--bits", type=phase_bits, nargs="+", default=None, help="phase-DAC bits of the grid")
    sweep.add_argument(
        "--sigmas", type=sigma, nargs="+", default=None, help="per-query phase noise σ (rad) of the grid"
    )
    sweep.add_argument(
        "--points",
        type=bits_sigma,
        nargs="+",
        default=None,
        metavar="BITS:SIGMA",
        help="listed points instead of the bits × σ grid, e.g. 6:0.02 12:0.005",
    )
    sweep.add_argument("--seeds", type=seed, nargs="+", default=None, help="seeds of the sweep part")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads per worker (default: the cores shared among the workers)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a tiny plan (one seed, a point or two, runs of two steps) that checks the benchmark end to "
        "end; needs --out",
    )
    return parser


def main(argv=None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.smoke and args.out.resolve() == RESULTS.resolve():
        parser.error("--smoke needs --out: its numbers must not replace the committed results")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be an integer >= 1, got {args.threads}")
    parts = PARTS if "all" in args.part else [p for p in PARTS if p in args.part]
    plan, work, out = plan_of(args, parser), Path(args.work_dir), args.out
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{args.name}.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    command = " ".join(["python benchmarks/noise_sweep.py", *(argv if argv is not None else sys.argv[1:])])
    data.pop("command", None)
    if parts:  # parts may run separately: the report lists every command that made it
        data["commands"] = list(dict.fromkeys([*data.get("commands", []), command]))
        data["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"
        data["commit"] = git_commit()
    if "sweep" in parts:
        data.setdefault("sweep", {})
        for dataset in args.datasets:
            full = args.fashion_in_situ == "full"
            data["sweep"][dataset] = part_sweep(
                dataset, work, args.workers, full, plan, out, args.threads, args.name
            )
            atomic_write_json(path, data)
    if "calibration" in parts:
        data["calibration"] = part_calibration(work, args.workers, plan, out)
        atomic_write_json(path, data)
    if "throughput" in parts:
        data["throughput"] = part_throughput(work, plan)
        atomic_write_json(path, data)
    atomic_write_text(out / f"{args.name}.md", report(data))
    print(report(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
