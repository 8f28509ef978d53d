"""The standard noise and phase-precision sweep, in-situ calibration, and sweep throughput.

    python benchmarks/noise_sweep.py                      # everything (about 1.5 h on 2 cores)
    python benchmarks/noise_sweep.py --part throughput    # one part

Parts (each a resumable sweep under ``--work-dir``; rerunning skips finished cells):

* ``sweep``: phase bits {4, 5, 6, 8, 10, 16} × phase noise σ {0, 0.01, 0.02, 0.05} (rad), deploy
  (BP-trained weights programmed onto the chip) vs in-situ (the same phases, then ZO on that
  chip), 3 seeds, on digits and Fashion-MNIST. On Fashion-MNIST an in-situ cell costs minutes
  (8,514 parameters, a 784→1024→10 network), so by default in-situ runs only on the σ = 0.02 row
  there (``--fashion-in-situ full`` runs the whole grid).
* ``calibration``: static phase bias × beam-splitter error on the ``typical`` chip (digits),
  deploy vs deploy after an in-situ calibration through the Oracle.
* ``throughput``: the same in-situ sweep with one worker and with two; cells per second.

Writes ``benchmarks/results/noise_sweep.{json,md}`` and, per sweep, ``summary.csv`` and the plots
(PNG + SVG) under ``benchmarks/results/noise_sweep/``. Fashion-MNIST is read from
``$PHOTONZO_DATA`` (e.g. ``PHOTONZO_DATA=../shared/data``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from photonzo.experiments.plots import plot_sweep
from photonzo.experiments.results import summarise, summary_csv
from photonzo.experiments.sweep import Sweep, grid_points, run_sweep, train_digital
from photonzo.io import atomic_write_json, atomic_write_text

RESULTS = Path(__file__).resolve().parent / "results"
BITS = [4, 5, 6, 8, 10, 16]
SIGMAS = [0.0, 0.01, 0.02, 0.05]
SEEDS = [0, 1, 2]
TARGET_POINT = {"phase_bits": 6, "phase_noise_std": 0.02}

# In-situ ZO fine-tuning from the deployed phases. μ = 0.1 rad is about one DAC step at 6 bits:
# a smaller probe is mostly rounded away by the quantiser and measures noise, not slope.
IN_SITU = {
    "digits": dict(steps=300, q=20, batch_size=128, lr=3e-3, mu=0.1, eval_every=100),
    "fashion-mnist": dict(
        steps=150, q=8, level="layer", batch_size=128, lr=3e-3, mu=0.1, eval_every=50, eval_size=1000
    ),
}
BACKPROP = {"digits": {"epochs": 20}, "fashion-mnist": {"epochs": 3}}
CAL_BIAS = [0.0, 0.05, 0.1, 0.2]
CAL_BS = [0.0, 0.03, 0.05]
CALIBRATION = {"steps": 200}


def digital_accuracy(sweep_dir: Path) -> float:
    accs = [
        json.loads(p.read_text())["digital_test_acc"]
        for p in sorted((sweep_dir / "backprop").glob("seed*.json"))
    ]
    return float(np.mean(accs))


def run(sweep: Sweep, out: Path, workers: int, threads: int | None = None) -> dict:
    print(f"-- {out}: {len(sweep.cells())} cells", flush=True)
    result = run_sweep(sweep, out, workers=workers, threads=threads)
    if result["failures"]:
        print(f"   {len(result['failures'])} cells failed: see {out}/failures.json", flush=True)
    return result


def publish(name: str, sweep: Sweep, results: list[dict]) -> list[str]:
    """summary.csv and the plots of one sweep into benchmarks/results/noise_sweep/<name>/."""
    target = RESULTS / "noise_sweep" / name
    target.mkdir(parents=True, exist_ok=True)
    atomic_write_text(target / "summary.csv", summary_csv(sweep, results))
    return [str(p.relative_to(RESULTS)) for p in plot_sweep(sweep, results, target)]


def share_digital_weights(source: Path, target: Path) -> None:
    """The in-situ sweep deploys the very weights the deploy sweep trained (same seeds, settings)."""
    if (source / "backprop").exists() and not (target / "backprop").exists():
        shutil.copytree(source / "backprop", target / "backprop")


def part_sweep(dataset: str, work: Path, workers: int, fashion_full: bool) -> dict:
    points = grid_points({"phase_bits": BITS, "phase_noise_std": SIGMAS})
    base = dict(
        points=points,
        seeds=SEEDS,
        train={"dataset": dataset, **IN_SITU[dataset]},
        backprop={"epochs": 20, "lr": 3e-3, "batch_size": 64, **BACKPROP[dataset]},
    )
    if dataset == "fashion-mnist" and not fashion_full:
        in_situ_points = [p for p in points if p["phase_noise_std"] == TARGET_POINT["phase_noise_std"]]
    else:
        in_situ_points = points
    deploy = Sweep(**{**base, "modes": ["deploy"]})
    in_situ = Sweep(**{**base, "points": in_situ_points, "modes": ["in-situ"]})
    deploy_dir, in_situ_dir = work / dataset / "deploy", work / dataset / "in-situ"
    done_deploy = run(deploy, deploy_dir, workers)
    share_digital_weights(deploy_dir, in_situ_dir)
    done_in_situ = run(in_situ, in_situ_dir, workers)
    both = Sweep(**{**base, "modes": ["deploy", "in-situ"]})
    results = done_deploy["results"] + done_in_situ["results"]
    plots = publish(dataset, both, results)
    rows = summarise(both, results)
    digital = digital_accuracy(deploy_dir)
    at = {r["mode"]: r for r in rows if all(r[k] == v for k, v in TARGET_POINT.items())}
    lost = digital - at["deploy"]["test_acc_mean"]
    regained = at["in-situ"]["test_acc_mean"] - at["deploy"]["test_acc_mean"] if "in-situ" in at else None
    return {
        "dataset": dataset,
        "digital_test_acc": digital,
        "in_situ": IN_SITU[dataset],
        "backprop": BACKPROP[dataset],
        "in_situ_points": len(in_situ_points),
        "rows": rows,
        "plots": plots,
        "target": {
            "point": TARGET_POINT,
            "deploy_acc": at["deploy"]["test_acc_mean"],
            "in_situ_acc": at.get("in-situ", {}).get("test_acc_mean"),
            "deploy_loss": lost,
            "in_situ_regained": regained,
            "fraction_recovered": None if regained is None or lost <= 0 else regained / lost,
        },
        "wall_s": done_deploy["wall_s"] + done_in_situ["wall_s"],
        "failures": len(done_deploy["failures"]) + len(done_in_situ["failures"]),
    }


def part_calibration(work: Path, workers: int) -> dict:
    sweep = Sweep(
        points=grid_points({"phase_bias": CAL_BIAS, "bs_error_std": CAL_BS}),
        modes=["deploy", "calibrated"],
        seeds=SEEDS,
        hardware="typical",
        train={"dataset": "digits"},
        backprop={"epochs": 20, "lr": 3e-3, "batch_size": 64},
        calibration=CALIBRATION,
    )
    out = work / "calibration"
    share_digital_weights(work / "digits" / "deploy", out)
    done = run(sweep, out, workers)
    return {
        "hardware": "typical",
        "calibration": CALIBRATION,
        "rows": summarise(sweep, done["results"]),
        "plots": publish("calibration", sweep, done["results"]),
        "digital_test_acc": digital_accuracy(out),
        "wall_s": done["wall_s"],
        "failures": len(done["failures"]),
    }


def part_throughput(work: Path) -> dict:
    """Wall time of one in-situ sweep (8 cells), from scratch each time, the digital weights
    already trained: one worker with one torch thread, one worker with two (what ``--workers 1``
    does on 2 cores), and two workers with one thread each (``--workers 2``)."""
    sweep = Sweep(
        points=grid_points({"phase_bits": [5, 6, 8, 10]}),
        modes=["in-situ"],
        seeds=[0, 1],
        train={"dataset": "digits", **IN_SITU["digits"], "steps": 100},
    )
    runs = {}
    cores = os.cpu_count() or 1
    for workers, threads in ((1, 1), (1, cores), (2, max(1, cores // 2))):
        key = f"{workers} worker{'s' if workers > 1 else ''} x {threads} thread{'s' if threads > 1 else ''}"
        out = work / "throughput" / f"workers{workers}-threads{threads}"
        shutil.rmtree(out / "cells", ignore_errors=True)
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
        "steps": 100,
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


def report(data: dict) -> str:
    lines = [
        "# Noise and phase-precision sweep",
        "",
        ", ".join(f"`{c}`" for c in data["commands"]) + f" — {data['machine']}",
        "",
        "Test accuracy (%) on the noisy chip, mean ± std over 3 seeds (seed = digital initialisation, "
        "fabricated chip, ZO run). deploy: BP-trained weights programmed onto the chip; in-situ: the same "
        "phases, then ZO on that chip through its Oracle.",
        "",
    ]
    for dataset, part in data.get("sweep", {}).items():
        t = part["target"]
        lines += [
            f"## {dataset}",
            "",
            f"Digital (BP) test accuracy {pct(part['digital_test_acc'])} %. In-situ: "
            + ", ".join(f"{k} {v}" for k, v in part["in_situ"].items())
            + f"; {part['in_situ_points']} of {len(BITS) * len(SIGMAS)} points. Wall {part['wall_s'] / 60:.0f} min.",
            "",
            *mode_table(
                part["rows"],
                ("deploy", "in-situ"),
                ("phase_bits", "phase bits", BITS),
                ("phase_noise_std", "σ", SIGMAS),
            ),
            "",
            f"**At 6 bits / σ = 0.02**: deploy {pct(t['deploy_acc'])} % (loses {100 * t['deploy_loss']:.1f} points "
            f"against digital), in-situ {pct(t['in_situ_acc'])} %: regains "
            + (
                "–"
                if t["in_situ_regained"] is None
                else f"{100 * t['in_situ_regained']:.1f} points, {pct(t['fraction_recovered'])} % of the loss"
            )
            + " (target ≥ 50 %).",
            "",
            *[f"![{Path(p).stem}]({p})" for p in part["plots"] if p.endswith(".png")],
            "",
        ]
    if "calibration" in data:
        part = data["calibration"]
        lines += [
            "## In-situ calibration (digits, typical chip)",
            "",
            f"Calibration: {part['calibration']['steps']} ZO steps of a phase offset towards the design's layer "
            "outputs for the deployed phases (training/calibration.py). Digital accuracy "
            f"{pct(part['digital_test_acc'])} %.",
            "",
            *mode_table(
                part["rows"],
                ("deploy", "calibrated"),
                ("phase_bias", "phase bias half-width (rad)", CAL_BIAS),
                ("bs_error_std", "bs σ", CAL_BS),
            ),
        ]
        queries = next((r["train_queries_mean"] for r in part["rows"] if r["mode"] == "calibrated"), None)
        lines += [
            "",
            f"Calibration queries per cell: {queries:,.0f}.",
            "",
            *[f"![{Path(p).stem}]({p})" for p in part["plots"] if p.endswith(".png")],
            "",
        ]
    if "throughput" in data:
        t = data["throughput"]
        lines += [
            "## Throughput",
            "",
            f"{t['cells']} in-situ digits cells ({t['steps']} ZO steps each), local process pool:",
            "",
            "| workers × torch threads | wall (s) | cells / min |",
            "|---|---:|---:|",
            *[f"| {k} | {r['wall_s']} | {r['cells_per_min']} |" for k, r in t["runs"].items()],
            "",
            f"Two workers against one worker on one core: **{t['speed_up_per_core']}×**; against `--workers 1` "
            f"(one worker using both cores through torch threads): **{t['speed_up_over_workers_1']}×** "
            "(target ≥ 1.6×).",
            "",
        ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--part",
        choices=["all", "sweep", "calibration", "throughput", "report"],
        default="all",
        help="report: rewrite noise_sweep.md from noise_sweep.json",
    )
    parser.add_argument("--datasets", nargs="+", default=["digits", "fashion-mnist"])
    parser.add_argument(
        "--fashion-in-situ",
        choices=["row", "full"],
        default="row",
        help="in-situ on Fashion-MNIST: the σ = 0.02 row only, or the whole grid",
    )
    parser.add_argument("--work-dir", default="runs/noise_sweep")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)
    work = Path(args.work_dir)
    path = RESULTS / "noise_sweep.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    command = " ".join(["python benchmarks/noise_sweep.py", *(argv if argv is not None else sys.argv[1:])])
    data.pop("command", None)
    if args.part != "report":  # parts may run separately: the report lists every command that made it
        data["commands"] = list(dict.fromkeys([*data.get("commands", []), command]))
    data["machine"] = f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"
    if args.part in ("all", "sweep"):
        data.setdefault("sweep", {})
        for dataset in args.datasets:
            data["sweep"][dataset] = part_sweep(dataset, work, args.workers, args.fashion_in_situ == "full")
            atomic_write_json(path, data)
    if args.part in ("all", "calibration"):
        data["calibration"] = part_calibration(work, args.workers)
        atomic_write_json(path, data)
    if args.part in ("all", "throughput"):
        data["throughput"] = part_throughput(work)
        atomic_write_json(path, data)
    atomic_write_text(RESULTS / "noise_sweep.md", report(data))
    print(report(data))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
