"""Simulator speed, side by side in one run.

For each mesh size N and number of phase settings Q:
  * ours: ``mesh_matrix`` (phases[Q, P] → U[Q, N, N]) and ``mesh_apply`` (build + apply to
    B fields per setting), under ``torch.inference_mode()``;
  * raw ``torch.bmm`` of the same shapes on a ready-made U (the floor for applying a matrix);
  * photontorch (its ``ClementsNxN`` of compact MZIs): one phase update = write the phases,
    re-initialise the circuit, run it on N unit sources to get the transfer matrix.

Reported: ours vs bmm throughput (t_bmm / t_ours for the same fields), and the speed-up per
phase update over photontorch (t_photontorch / (t_build / Q)). Writes
``benchmarks/results/bench_simulator.json`` and prints a table.

    python benchmarks/bench_simulator.py [--fields 256 4096] [--photontorch-max-n 64]
    python benchmarks/bench_simulator.py --sizes 4 --queries 1 --fields 4 --photontorch-max-n 4 \
        --photontorch-budget 0 --min-time 0 --out /tmp/bench_smoke/bench_simulator.json   # a smoke run
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from photonzo.io import atomic_write_json, atomic_write_text
from photonzo.photonics.mesh import mesh_apply, mesh_layout, mesh_matrix

RESULTS = Path(__file__).parent / "results"


def timeit(fn, min_time: float = 0.5, max_reps: int = 10_000) -> float:
    """Mean seconds per call: one warm-up, then repeat until ``min_time`` has passed."""
    fn()
    reps, start = 0, time.perf_counter()
    while reps < max_reps and (reps == 0 or time.perf_counter() - start < min_time):
        fn()
        reps += 1
    return (time.perf_counter() - start) / reps


def photontorch_update_time(n: int, rng: np.random.Generator, budget_s: float) -> tuple[float, int]:
    from photonzo.photonics.reference import photontorch_clements, photontorch_shims, set_and_run

    with warnings.catch_warnings(), photontorch_shims():
        warnings.simplefilter("ignore", RuntimeWarning)
        network = photontorch_clements(n)
        n_params = sum(p.numel() for p in network.parameters())
        times = []
        while not times or (sum(times) < budget_s and len(times) < 20):
            phases = rng.uniform(0, 2 * np.pi, n_params)
            start = time.perf_counter()
            u = set_and_run(network, phases, n)
            times.append(time.perf_counter() - start)
        assert np.abs(u @ u.conj().T - np.eye(n)).max() < 1e-6  # it did compute a unitary
    return float(np.mean(times)), len(times)


def time_case(n: int, q: int, b: int, rng: np.random.Generator, min_time: float) -> dict:
    """Our mesh build, build + apply, and raw bmm on a ready U, for one (N, Q, B)."""
    layout = mesh_layout("clements", n)
    phases = torch.as_tensor(rng.uniform(0, 2 * np.pi, (q, layout.n_phases)), dtype=torch.float32)
    fields = torch.randn(q, b, n, dtype=torch.complex64)
    with torch.inference_mode():
        u = mesh_matrix(layout, phases)
        ut = u.transpose(-1, -2).contiguous()
        assert torch.allclose(mesh_apply(layout, phases, fields), torch.bmm(fields, ut), atol=1e-4)
        t_build = timeit(lambda: mesh_matrix(layout, phases), min_time)
        t_ours = timeit(lambda: mesh_apply(layout, phases, fields), min_time)
        t_bmm = timeit(lambda: torch.bmm(fields, ut), min_time)
    return {
        "n": n,
        "q": q,
        "fields": b,
        "build_s": t_build,
        "build_apply_s": t_ours,
        "bmm_s": t_bmm,
        "throughput_vs_bmm": t_bmm / t_ours,
    }


def markdown_table(result: dict) -> str:
    """The result as a Markdown table (also what the benchmark prints)."""
    lines = [
        f"# Simulator speed (`{result['command'].strip()}`)",
        "",
        f"torch {result['machine']['torch']}, {result['machine']['threads']} threads, {result['dtype']}, "
        f"{result['mesh']} meshes. *vs bmm* = t_bmm / t_ours for the same fields; *speed-up* = photontorch's "
        "time per phase update / ours (build time / Q).",
        "",
        "| N | Q | B | build ms | build+apply ms | bmm ms | vs bmm | ours per update "
        "| photontorch per update | speed-up |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        pt = f"{r['photontorch_update_s'] * 1e3:.1f} ms" if r["photontorch_update_s"] else "-"
        sp = f"{r['speedup_vs_photontorch']:.0f}×" if r["speedup_vs_photontorch"] else "-"
        lines.append(
            f"| {r['n']} | {r['q']} | {r['fields']} | {r['build_s'] * 1e3:.3f} | "
            f"{r['build_apply_s'] * 1e3:.3f} | {r['bmm_s'] * 1e3:.3f} | {r['throughput_vs_bmm']:.0%} | "
            f"{r['ours_per_update_s'] * 1e6:.1f} µs | {pt} | {sp} |"
        )
    return "\n".join(lines) + "\n"


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--queries", type=int, nargs="+", default=[1, 64])
    parser.add_argument(
        "--fields", type=int, nargs="+", default=[256, 4096], help="fields per phase setting (B)"
    )
    parser.add_argument(
        "--photontorch-max-n", type=int, default=64, help="skip photontorch above this N (0: never run it)"
    )
    parser.add_argument(
        "--photontorch-budget", type=float, default=2.0, help="seconds of photontorch updates per N"
    )
    parser.add_argument(
        "--min-time", type=float, default=0.5, help="seconds each of our and bmm's timings repeats for"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS / "bench_simulator.json",
        help="the JSON results file; the Markdown table goes beside it (default: the committed ones)",
    )
    return parser


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    rng = np.random.default_rng(0)
    rows, photontorch = [], {}
    cases = [(n, q, b) for n in args.sizes for q in args.queries for b in args.fields]
    for n, q, b in tqdm(cases, desc="ours vs bmm", unit="case"):
        rows.append(time_case(n, q, b, rng, args.min_time))
    for n in tqdm([n for n in args.sizes if n <= args.photontorch_max_n], desc="photontorch", unit="N"):
        t, reps = photontorch_update_time(n, rng, args.photontorch_budget)
        photontorch[n] = {"update_s": t, "reps": reps}
    for row in rows:
        pt = photontorch.get(row["n"])
        per_update = row["build_s"] / row["q"]
        row["ours_per_update_s"] = per_update
        row["photontorch_update_s"] = pt["update_s"] if pt else None
        row["speedup_vs_photontorch"] = pt["update_s"] / per_update if pt else None

    result = {
        "benchmark": "bench_simulator",
        "command": "python benchmarks/bench_simulator.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "processor": platform.processor() or platform.machine(),
        },
        "dtype": "complex64",
        "mesh": "clements",
        "photontorch": photontorch,
        "rows": rows,
        "targets": {"speedup_vs_photontorch_at_n_ge_16": 100, "throughput_vs_bmm": 0.5},
    }
    atomic_write_json(args.out, result)

    table = markdown_table(result)
    atomic_write_text(args.out.with_suffix(".md"), table)
    print("\n" + table)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
