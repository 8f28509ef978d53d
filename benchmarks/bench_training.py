"""ZO-step throughput (queries per second) at 1 and 2 intra-op threads, with the thread policy.

One ZO step per case — the estimator's probes around the centre, evaluated through the chip's
Oracle in batched calls, and the optimiser's update — timed in one process, the thread settings
alternating, min over repeats (this machine's CPU steal makes single timings meaningless):

* ``1 thread``: torch at one thread (the policy then has nothing to choose);
* ``2 threads, fixed``: both cores for every call (``PHOTONZO_THREADS=2``);
* ``2 threads, policy``: both cores available, the policy choosing per call shape
  (``photonzo/photonics/threads.py``), after its calibration calls.

Cases (issue 15's list): ``mnist-tt`` (tensor-wise RGE, q = 1 per core, Q = 21 settings, B = 64,
``typical``), ``digits-tt`` (the README's default step), ``hjb-tt`` (20 collocation points × the
925-node sparse grid, q = 4 central, complex128) and ``mnist-dense`` (whole-vector RGE, q = 10).

    python benchmarks/bench_training.py                       # all cases → benchmarks/results/
    python benchmarks/bench_training.py --cases digits-tt --repeats 1 --out /tmp/x   # a smoke run

Written to ``bench_training.{json,md}`` under ``--out``. Still to come for issue 15: worker
processes and Dask, the GEMM-floor ratio, the peer comparison (see the issue).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import torch

from photonzo.experiments.config import PINNConfig, TrainConfig
from photonzo.experiments.run import (
    build_chip,
    build_derivatives,
    build_pinn_network,
    make_method,
)
from photonzo.io import atomic_write_json, atomic_write_text
from photonzo.photonics.chip import Chip
from photonzo.photonics.threads import ThreadPolicy
from photonzo.pinn.objective import PINNObjective
from photonzo.pinn.pde import build_pde
from photonzo.training.estimators import RGE
from photonzo.training.loop import STEP, Streams
from photonzo.training.methods import method
from photonzo.training.optim import adam
from photonzo.training.step import initial_state, zo_step

RESULTS = Path(__file__).parent / "results"
CASES = ("digits-tt", "mnist-tt", "mnist-dense", "hjb-tt")
SETTINGS = ("1 thread", "2 threads, fixed", "2 threads, policy")


def classification_case(name: str):
    """(chip, method, batch, loss_fn) of one classification ZO step."""
    dataset, model = ("digits", "tt") if name == "digits-tt" else ("mnist", name.split("-")[1])
    tensorwise = model == "tt"
    config = TrainConfig.of(
        dataset=dataset,
        model=model,
        hardware="typical",
        q=1 if name == "mnist-tt" else 10,
        tensorwise=tensorwise,
    )
    chip = build_chip(config)
    oracle = chip.oracle()
    g = torch.Generator().manual_seed(0)  # a step costs the same on any images: no data files needed
    batch = torch.rand(64, chip.network.in_features, generator=g), torch.randint(0, 10, (64,), generator=g)
    return chip, make_method(config, oracle), batch, None


def pinn_case():
    """(chip, method, batch, loss_fn) of one HJB-20 step on hjb-tt: 20 points × 925 nodes, q = 4."""
    config = PINNConfig.of(points=20, q=4)
    chip = Chip(build_pinn_network(config), "ideal", dtype=torch.complex128, loss="mse")
    pde = build_pde("hjb", 20)
    objective = PINNObjective(pde, build_derivatives(config, pde.input_dim, pde.dim), test_points=10)
    points = objective.sample(torch.Generator().manual_seed(0), 20)
    return chip, method(RGE(4), adam(0.01)), points, objective.loss_fn(chip.oracle(), points)


def time_step(chip, chosen, batch, loss_fn, threads: int, policy: bool) -> float:
    """Seconds of one ZO step at ``threads`` (the policy choosing, or fixed)."""
    torch.set_num_threads(threads)
    chip.threads = ThreadPolicy(maximum=threads, fixed=None if policy else threads)
    step_threads = ThreadPolicy(maximum=threads, fixed=None if policy else threads)  # as the loop has it
    state = initial_state(chosen, chip.initial_params(0).double())
    streams = Streams.from_seed(0)
    oracle = chip.oracle()

    def step():
        with step_threads.apply(STEP):
            return zo_step(oracle, chosen, state, batch, generator=streams.directions, loss_fn=loss_fn)[1]

    for _ in range(4 if policy else 1):  # the policy's calibration calls (and a warm-up)
        step()
    t0 = time.perf_counter()
    record = step()
    return time.perf_counter() - t0, record["step_queries"]


def run_case(name: str, repeats: int) -> dict:
    chip, chosen, batch, loss_fn = pinn_case() if name == "hjb-tt" else classification_case(name)
    best = dict.fromkeys(SETTINGS, float("inf"))
    queries = 0
    for _ in range(repeats):
        for setting in SETTINGS:  # alternating, so the machine's load hits every setting alike
            threads = 1 if setting == "1 thread" else 2
            seconds, queries = time_step(chip, chosen, batch, loss_fn, threads, setting.endswith("policy"))
            best[setting] = min(best[setting], seconds)
    base = best["1 thread"]
    return {
        "case": name,
        "queries_per_step": queries,
        "seconds": {k: round(v, 4) for k, v in best.items()},
        "queries_per_s": {k: round(queries / v, 1) for k, v in best.items()},
        "vs_1_thread": {k: round(v / base, 3) for k, v in best.items()},
    }


def markdown(result: dict) -> str:
    lines = [
        "# ZO-step throughput: threads and the thread policy",
        "",
        f"`python benchmarks/bench_training.py {result['argv']}` — {result['machine']}, "
        f"torch {result['torch']}; min over {result['repeats']} alternating repeats. Time of one step "
        "relative to one thread (lower is faster; > 1 means slower than one thread).",
        "",
        "| case | queries / step | 1 thread (q/s) | 2 threads, fixed | 2 threads, policy |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        rel = r["vs_1_thread"]
        lines.append(
            f"| {r['case']} | {r['queries_per_step']} | {r['queries_per_s']['1 thread']:,} | "
            f"{rel['2 threads, fixed']:.2f}× | {rel['2 threads, policy']:.2f}× |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES), help="which steps to time")
    parser.add_argument("--repeats", type=int, default=3, help="alternating repeats (min is reported)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of bench_training.{json,md}")
    args = parser.parse_args(argv)
    threads = torch.get_num_threads()
    try:
        rows = []
        for name in args.cases:
            rows.append(run_case(name, args.repeats))
            print(
                markdown(
                    {"argv": "", "machine": "", "torch": "", "repeats": args.repeats, "rows": rows[-1:]}
                ).splitlines()[-1],
                flush=True,
            )
    finally:
        torch.set_num_threads(threads)
    result = {
        "argv": " ".join(sys.argv[1:] if argv is None else argv),
        "machine": f"{platform.machine()} {platform.processor() or ''}, {os.cpu_count()} CPUs".strip(),
        "torch": torch.__version__,
        "repeats": args.repeats,
        "rows": rows,
    }
    atomic_write_json(args.out / "bench_training.json", result)
    atomic_write_text(args.out / "bench_training.md", markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
