"""HJB-20 table, part 1: how accurate are derivatives read from forward queries of the chip?

The reference TT-PINN (hjb-tt, 21 → 512 → 512 → 1, sine) with random phases is read through
the simulated chip at x + σz for every node z of a rule, and the Stein estimates of ∇u and of
the spatial Laplacian are compared with autograd on the network's exact digital mirror
(float64). Estimators at (roughly) equal queries per point:

  sparse grid   Smolyak Gauss–Hermite, level 2: 925 nodes (Σ|w| = 841)
  sparse odd    Gauss–Hermite-odd, level 2: 967 nodes (Σ|w| = 94)
  Monte Carlo   925 i.i.d. Gaussian nodes
  antithetic    924 nodes in ± pairs
  FD            central differences, h = σ: 43 evaluations

for σ ∈ {0.1, 0.03, 0.01}, the chip simulated in complex64 (float32) and complex128 (float64),
without and with detector noise (relative std ``--noise``). Part 2 (training: first-order
reference, ZO + sparse grid on the ideal and the typical chip) is still to come — see the
issue's notes.

Writes ``benchmarks/results/hjb_table.{json,md}``.

    python benchmarks/hjb_table.py
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

from photonzo.io import atomic_write_json, atomic_write_text
from photonzo.photonics.chip import Chip
from photonzo.photonics.hardware import HardwareModel
from photonzo.photonics.network import build_network
from photonzo.pinn.quadrature import sampled_rule, sparse_grid
from photonzo.pinn.stein import FiniteDifference, SteinEstimator

RESULTS = Path(__file__).parent / "results"
SPATIAL = 20


def reference(network, phases, x):
    """∇ and spatial Δ of the network's exact digital mirror at ``x`` (float64 autograd)."""
    weights = network.weights(phases)
    x = x.clone().requires_grad_(True)
    y = network.digital_forward(weights, x)[:, 0]
    grad = torch.autograd.grad(y.sum(), x, create_graph=True)[0]
    lap = sum(torch.autograd.grad(grad[:, i].sum(), x, retain_graph=True)[0][:, i] for i in range(SPATIAL))
    return grad.detach(), lap.detach()


def estimators(sigma: float, seed: int):
    return {
        "sparse grid": SteinEstimator(sparse_grid("gauss-hermite", 21, 2), sigma, spatial=SPATIAL),
        "sparse odd": SteinEstimator(sparse_grid("gauss-hermite-odd", 21, 2), sigma, spatial=SPATIAL),
        "Monte Carlo": SteinEstimator(sampled_rule("monte-carlo", 21, 925, seed), sigma, spatial=SPATIAL),
        "antithetic": SteinEstimator(sampled_rule("antithetic", 21, 924, seed), sigma, spatial=SPATIAL),
        "FD": FiniteDifference(21, sigma, spatial=SPATIAL),
    }


def run(args) -> dict:
    network = build_network("hjb-tt")
    phases = network.init_params(args.seed)
    x = torch.rand(args.points, 21, generator=torch.Generator().manual_seed(args.seed), dtype=torch.float64)
    grad_ref, lap_ref = reference(network, phases, x)
    rows = []
    for precision, dtype in (("float64", torch.complex128), ("float32", torch.complex64)):
        for noise in (0.0, args.noise):
            chip = Chip(network, HardwareModel.preset("ideal").replace(detector_noise_std=noise), seed=args.seed,
                        dtype=dtype)
            p = torch.as_tensor(phases)[None]
            for sigma in args.sigmas:
                for name, est in estimators(sigma, args.seed).items():
                    pts = est.points(x)
                    t0 = time.perf_counter()
                    values = chip.outputs(p, pts.reshape(-1, 21))[0, :, 0].to(torch.float64).reshape(len(x), -1)
                    wall = time.perf_counter() - t0
                    out = est.derivatives(values)
                    rows.append({"precision": precision, "noise": noise, "sigma": sigma, "estimator": name,
                                 "evaluations": est.evaluations,
                                 "grad_rel_err": float((out["grad"] - grad_ref).norm() / grad_ref.norm()),
                                 "lap_rel_err": float((out["laplacian"] - lap_ref).norm() / lap_ref.norm()),
                                 "read_s": round(wall, 3)})
                    print(rows[-1], flush=True)
    return {"argv": " ".join(sys.argv[1:]), "machine": f"{platform.machine()}, torch {torch.__version__}",
            "points": args.points, "rows": rows}


def markdown(results: dict) -> str:
    lines = ["# HJB-20 table, part 1: derivative accuracy from forward queries of the chip", "",
             f"`python benchmarks/hjb_table.py {results['argv']}` — {results['machine']}; hjb-tt with random phases, "
             f"{results['points']} uniform points in [0,1]^21; relative error of ∇u (21 coordinates) and of the "
             "spatial Laplacian (20) against autograd on the network's exact digital mirror.", ""]
    names = list(dict.fromkeys(r["estimator"] for r in results["rows"]))
    evals = {r["estimator"]: r["evaluations"] for r in results["rows"]}
    lines += ["| precision | detector noise | σ | " + " | ".join(f"{n} ({evals[n]}) ∇ / Δ" for n in names) + " |",
              "|---|---:|---:|" + "---|" * len(names)]
    keys = list(dict.fromkeys((r["precision"], r["noise"], r["sigma"]) for r in results["rows"]))
    for key in keys:
        cells = []
        for n in names:
            r = next(r for r in results["rows"] if (r["precision"], r["noise"], r["sigma"]) == key and r["estimator"] == n)
            cells.append(f"{r['grad_rel_err']:.1e} / {r['lap_rel_err']:.1e}")
        lines.append(f"| {key[0]} | {key[1]:g} | {key[2]:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=20)
    parser.add_argument("--sigmas", type=float, nargs="+", default=[0.1, 0.03, 0.01])
    parser.add_argument("--noise", type=float, default=1e-3, help="relative detector noise of the noisy rows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    results = run(args)
    RESULTS.mkdir(exist_ok=True)
    atomic_write_json(RESULTS / "hjb_table.json", results)
    atomic_write_text(RESULTS / "hjb_table.md", markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
