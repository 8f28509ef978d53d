"""ZO-step throughput (queries per second): the forward against its old path and its GEMM floor, threads,
reuse across settings, worker processes and Dask — issue 15's measurements, in one run.

One ZO step per case — the estimator's probes around the centre, evaluated through an Oracle in
batched calls, and the optimiser's update — timed in one process, the settings alternating, min
over repeats (this machine's CPU steal makes single timings meaningless). Settings of a step:

* ``1 thread``: torch at one thread, today's forward;
* ``reference``: the same step with the chip forwarding as main did before issue 15
  (``reference_forward.py``, kept for this comparison), at one thread;
* ``2 threads, policy``: both cores available, the thread policy choosing per call shape
  (``photonzo/photonics/threads.py``), after its calibration calls; ``2 threads, fixed`` both always;
* ``no reuse``: one thread, every setting computed in full (``Chip.reuse_settings = False``);
* ``1 worker`` / ``2 workers`` / ``Dask 2``: the step's calls evaluated by worker processes of one
  thread each (``photonzo/photonics/parallel.py``), or a 2-worker Dask ``LocalCluster``.

And per case, one ``outputs`` call of the issue's shape (``forward``): its time against its GEMM
floor — the matrix products it performs, recorded by the torch profiler and replayed alone.

Cases (issue 15's list): ``mnist-tt`` (tensor-wise RGE, q = 1 per core, Q = 21 settings, B = 64,
``typical``), ``digits-tt`` (the README's default step), ``hjb-tt`` (20 collocation points × the
925-node sparse grid, q = 4 central, complex128) and ``mnist-dense`` (whole-vector RGE, q = 10).

    python benchmarks/bench_training.py                       # all cases → benchmarks/results/
    python benchmarks/bench_training.py --cases digits-tt --repeats 1 --out /tmp/x   # a smoke run

Written to ``bench_training.{json,md}`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch
from tqdm import tqdm

from photonzo.experiments.config import PINNConfig, TrainConfig
from photonzo.experiments.run import (
    build_chip,
    build_derivatives,
    build_pinn_network,
    make_method,
)
from photonzo.io import atomic_write_json, atomic_write_text
from photonzo.photonics.chip import Chip
from photonzo.photonics.parallel import ParallelOracle
from photonzo.photonics.threads import ThreadPolicy
from photonzo.pinn.objective import PINNObjective
from photonzo.pinn.pde import build_pde
from photonzo.training.estimators import RGE
from photonzo.training.loop import STEP, Streams
from photonzo.training.methods import method
from photonzo.training.optim import adam
from photonzo.training.step import initial_state, zo_step

sys.path.insert(0, str(Path(__file__).parent))
from reference_forward import products_per_forward, use_reference_forward

RESULTS = Path(__file__).parent / "results"
# the layout the old forward knows (reference_forward.py), so that every column times one network
EDGE_BLOCKS = "padded"
CASES = ("digits-tt", "mnist-tt", "mnist-dense", "hjb-tt")
THREADS = ("1 thread", "no reuse", "reference", "2 threads, fixed", "2 threads, policy")
WORKERS = ("1 worker", "2 workers", "Dask 2")
# one ``outputs`` call per case, of the shape issue 15 measured: (settings Q, inputs B)
FORWARD_SHAPES = {"digits-tt": (21, 64), "mnist-tt": (21, 64), "mnist-dense": (21, 64), "hjb-tt": (9, 2000)}


def classification_case(name: str):
    """(chip, method, batch, loss function of an oracle) of one classification ZO step."""
    dataset, model = ("digits", "tt") if name == "digits-tt" else ("mnist", name.split("-")[1])
    tensorwise = model == "tt"
    config = TrainConfig.of(
        dataset=dataset,
        model=model,
        hardware="typical",
        q=1 if name == "mnist-tt" else 10,
        tensorwise=tensorwise,
        edge_blocks=EDGE_BLOCKS,
    )
    chip = build_chip(config)
    oracle = chip.oracle()
    g = torch.Generator().manual_seed(0)  # a step costs the same on any images: no data files needed
    batch = torch.rand(64, chip.network.in_features, generator=g), torch.randint(0, 10, (64,), generator=g)
    return chip, make_method(config, oracle), batch, lambda oracle: None


def pinn_case():
    """(chip, method, batch, loss function of an oracle) of one HJB-20 step on hjb-tt: 20 points ×
    925 nodes, q = 4."""
    config = PINNConfig.of(points=20, q=4, edge_blocks=EDGE_BLOCKS)
    chip = Chip(build_pinn_network(config), "ideal", dtype=torch.complex128, loss="mse")
    pde = build_pde("hjb", 20)
    objective = PINNObjective(pde, build_derivatives(config, pde.input_dim, pde.dim), test_points=10)
    points = objective.sample(torch.Generator().manual_seed(0), 20)
    return chip, method(RGE(4), adam(0.01)), points, lambda oracle: objective.loss_fn(oracle, points)


def time_step(chip, oracle, chosen, batch, make_loss, threads: int, policy: bool) -> tuple[float, int]:
    """Seconds of one ZO step through ``oracle`` at ``threads`` (the policy choosing, or fixed)."""
    torch.set_num_threads(threads)
    chip.threads = ThreadPolicy(maximum=threads, fixed=None if policy else threads)
    step_threads = ThreadPolicy(maximum=threads, fixed=None if policy else threads)  # as the loop has it
    state = initial_state(chosen, chip.initial_params(0).double())
    streams = Streams.from_seed(0)
    loss_fn = make_loss(oracle)

    def step():
        with step_threads.apply(STEP):
            return zo_step(oracle, chosen, state, batch, generator=streams.directions, loss_fn=loss_fn)[1]

    for _ in range(4 if policy else 1):  # the policy's calibration calls (and a warm-up)
        step()
    t0 = time.perf_counter()
    record = step()
    return time.perf_counter() - t0, record["step_queries"]


def thread_setting(chip, setting: str):
    """(threads, policy) of ``setting``, with the chip set up for it (forward path, reuse)."""
    chip.reuse_settings = setting != "no reuse"
    use_reference_forward(chip, setting == "reference")
    return (2 if setting.startswith("2 threads") else 1), setting.endswith("policy")


def time_forward(chip, repeats: int, shape) -> dict:
    """One ``outputs`` call of ``shape`` at one thread: its time, its products and their floor."""
    torch.set_num_threads(1)
    chip.threads = ThreadPolicy(maximum=1, fixed=1)
    q, b = shape
    g = torch.Generator().manual_seed(0)
    phases = torch.rand(q, chip.n_params, generator=g, dtype=chip.real_dtype) * 6.28
    x = torch.rand(b, chip.network.in_features, generator=g, dtype=chip.real_dtype)
    seconds = floor = float("inf")
    chip.outputs(phases, x)
    for _ in range(repeats):
        t0 = time.perf_counter()
        chip.outputs(phases, x)
        seconds = min(seconds, time.perf_counter() - t0)
        products, alone = products_per_forward(chip, phases, x)
        floor = min(floor, alone)
    return {
        "settings": q,
        "inputs": b,
        "seconds": round(seconds, 4),
        "products": products,
        "gemm_floor_seconds": round(floor, 4),
        "vs_floor": round(seconds / floor, 2),
    }


def time_workers(chip, chosen, batch, make_loss, repeats: int) -> dict:
    """Step seconds with 1 and 2 local worker processes, then with a 2-worker Dask cluster (started
    only then: its scheduler runs in this process and would slow the local measurements)."""
    from distributed import LocalCluster

    best = dict.fromkeys(WORKERS, float("inf"))

    def measure(oracles):
        try:
            for _ in range(repeats):
                for name, oracle in oracles.items():
                    seconds, _ = time_step(chip, oracle, chosen, batch, make_loss, 1, False)
                    best[name] = min(best[name], seconds)
        finally:
            for oracle in oracles.values():
                oracle.close()

    measure({"1 worker": ParallelOracle(chip, workers=1), "2 workers": ParallelOracle(chip, workers=2)})
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        measure({"Dask 2": ParallelOracle(chip, scheduler=cluster.scheduler_address)})
    return best


def run_case(name: str, repeats: int, workers: bool) -> dict:
    chip, chosen, batch, make_loss = pinn_case() if name == "hjb-tt" else classification_case(name)
    best = dict.fromkeys(THREADS, float("inf"))
    queries = 0
    for _ in range(repeats):
        for setting in THREADS:  # alternating, so the machine's load hits every setting alike
            threads, policy = thread_setting(chip, setting)
            seconds, queries = time_step(chip, chip.oracle(), chosen, batch, make_loss, threads, policy)
            best[setting] = min(best[setting], seconds)
    thread_setting(chip, "1 thread")
    if workers:
        best.update(time_workers(chip, chosen, batch, make_loss, repeats))
    base = best["1 thread"]
    return {
        "case": name,
        "queries_per_step": queries,
        "seconds": {k: round(v, 4) for k, v in best.items()},
        "queries_per_s": {k: round(queries / v, 1) for k, v in best.items()},
        "vs_1_thread": {k: round(v / base, 3) for k, v in best.items()},
        "forward": time_forward(chip, repeats, FORWARD_SHAPES[name]),
    }


def markdown(result: dict) -> str:
    lines = [
        "# ZO-step throughput: the forward, threads, reuse, workers",
        "",
        f"`python benchmarks/bench_training.py {result['argv']}` — {result['machine']}, "
        f"torch {result['torch']}; commit {result.get('commit', '?')}; min over {result['repeats']} "
        "alternating repeats. Speed-ups of one ZO step: its time in the compared setting over its time "
        "in the faster-or-new one (> 1: the new setting is faster).",
        "",
        "| case | queries / step | 1 thread (q/s) | over the old forward | 2 threads, fixed "
        "| 2 threads, policy | reuse | 2 workers over 1 | Dask 2 over 1 worker | 1 worker over in-process |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        sec = r["seconds"]
        speed = lambda a, b, sec=sec: f"{sec[a] / sec[b]:.2f}×"
        workers = (
            f"{speed('1 worker', '2 workers')} | {speed('1 worker', 'Dask 2')} | "
            f"{speed('1 thread', '1 worker')} |"
            if "2 workers" in sec
            else "— | — | — |"
        )
        lines.append(
            f"| {r['case']} | {r['queries_per_step']} | {r['queries_per_s']['1 thread']:,} | "
            f"{speed('reference', '1 thread')} | {speed('1 thread', '2 threads, fixed')} | "
            f"{speed('1 thread', '2 threads, policy')} | {speed('no reuse', '1 thread')} | " + workers
        )
    lines += [
        "",
        "One `outputs` call at one thread against its GEMM floor (the matrix products it performs, "
        "recorded by the torch profiler and replayed alone):",
        "",
        "| case | settings × inputs | forward (ms) | products | GEMM floor (ms) | forward ÷ floor |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        f = r["forward"]
        lines.append(
            f"| {r['case']} | {f['settings']} × {f['inputs']} | {1e3 * f['seconds']:.1f} | {f['products']} | "
            f"{1e3 * f['gemm_floor_seconds']:.1f} | {f['vs_floor']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES), help="which steps to time")
    parser.add_argument("--repeats", type=int, default=3, help="alternating repeats (min is reported)")
    parser.add_argument("--no-workers", action="store_true", help="skip the worker and Dask columns")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of bench_training.{json,md}")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    threads = torch.get_num_threads()
    try:
        rows = []
        for name in tqdm(args.cases, desc="cases", disable=None):
            rows.append(run_case(name, args.repeats, not args.no_workers))
            tqdm.write(json.dumps(rows[-1]))
    finally:
        torch.set_num_threads(threads)
    result = {
        "argv": " ".join(sys.argv[1:] if argv is None else argv),
        "machine": f"{platform.machine()} {platform.processor() or ''}, {os.cpu_count()} CPUs".strip(),
        "torch": torch.__version__,
        "commit": _commit(),
        "repeats": args.repeats,
        "rows": rows,
    }
    atomic_write_json(args.out / "bench_training.json", result)
    atomic_write_text(args.out / "bench_training.md", markdown(result))
    return 0


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(["git", "status", "--porcelain", "photonzo"], capture_output=True, text=True)
        return out.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
