"""HJB-20 table: derivatives read from forward queries of the chip, then PINN training on it.

Part 1 — how accurate are derivatives read from forward queries of the chip?

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
without and with detector noise (relative std ``--noise``; ``--noise-from measured`` takes the noisy
rows' readout noise from a hardware preset instead: its detector noise and its shot noise).

Part 1b (``--part robust``) — derivatives that survive detector noise: at each readout noise
(relative detector noise ``--robust-noises``, default 1e-4, 1e-3, 1e-2, and the readout noise of the
``--robust-presets``, default ``measured``) each estimator family gets the step that balances its
bias against its noise (``stein.balanced_step``: h* = (gain·ε/c)^(1/4)), from two numbers a chip
also gives: ε, the std of one reading (the spread of 64 repeated reads of the points), and c, the
bias per step² (Richardson between steps s₀ and 2s₀ on the noise-free chip: on a real one, the same
with many repeats, once). Families, every centre read ``balanced_centre_repeats`` times:

  FD ×R         central differences, every node read R times (``--repeats``, default 1 4 16 64)
  LS antithetic the least-squares quadratic fit on 924 antithetic Gaussian nodes
  LS sparse odd the least-squares quadratic fit on the level-2 gauss-hermite-odd grid (967 nodes)

next to the fixed-step baselines (sparse-grid Stein and FD at σ = h = 0.1). Each row: the step,
evaluations (chip inputs) per point, the relative error of ∇u and Δu, and the error the budget
predicted (c·h² + noise_std(ε)) / rms Δ.

Part 2 — training HJB-20 (u_t + Δu − 0.05‖∇u‖² + 2 = 0, u = Σx + (1 − t)·NN) with hjb-tt, all rows
for the same number of steps (2,000) on 20 collocation points per step:

  first-order   the same architecture's real weights by Adam on exact autograd derivatives
                (ideal digital), then programmed onto the ideal and the typical chip
  ZO ideal      RGE on the phases of the ideal chip (complex128), central-difference derivatives
                (h = 0.1; the estimator comparison of hjb_zo_estimators.md chose them)
  ZO typical    the same on the ``typical`` chip (8-bit phases, γ noise, thermal crosstalk)
  ZO measured   the ``measured`` chip (per-query shot and detector noise): the noise-robust
                derivatives of part 1b (FD with h = 2, the centre read 41 times)
  ZO + noise    the typical chip with 1e-3 relative detector noise, the same robust derivatives
  chip FO       (``--chip-fo-hardware``) first order on a noise-free chip's own parameters: the ZO
                run's optimiser, lr, steps and derivatives, the gradient exact (autograd through the
                chip's model; ``pinn_chip_model.py``). ZO ÷ it is what the gradient estimate costs,
                it ÷ the digital first order what the chip's parametrisation costs

Final relative ℓ2 error of u and of the learned part NN (exact: 1) on 10,000 uniform test
points, training queries, wall time and the on-chip time and energy of the training queries; the
error against training step in a plot. The ZO runs are ordinary run directories under
``--work-dir`` and the first-order rows JSON files there: an interrupted benchmark resumes them,
and a finished one is read back (after checking it was made with the same options). ``--model``
puts another network in every row (``small``, 21 → 32 → 32 → 1, for a smoke run).

Part 3 (``--part pdes``) — the other PDEs with closed-form solutions (Black-Scholes, Burgers; the
``small`` network, (d+1) → 32 → 32 → 1): first order against ZO on the ``typical`` chip at equal steps,
central-difference derivatives read from the chip; ``--pde-chip-fo`` adds the chip-first-order row of
each ZO row.

Writes ``benchmarks/results/hjb_table.{json,md}`` and ``hjb_training.png`` (``--out`` for another
folder, ``--name`` for another stem of the table's files and ``<name>_training.png`` for the curves;
each part keeps the other's results when run alone).

    python benchmarks/hjb_table.py                      # both parts
    python benchmarks/hjb_table.py --part training      # part 2 only
    python benchmarks/hjb_table.py --part derivatives --noise-from measured \
        --name hjb_derivatives_measured                 # part 1 with the measured chip's readout noise
    python benchmarks/hjb_table.py --part robust --name hjb_derivatives_robust
                                                        # part 1b: noise-robust derivatives
    python benchmarks/hjb_table.py --part pdes          # part 3: Black-Scholes and Burgers (minutes)
    python benchmarks/hjb_table.py --model small --points 1 --sigmas 0.1 --fo-steps 1 --fo-lrs 0.01 \
        --collocation 2 --zo-steps 1 --zo-points 1 --zo-q 1 --eval-every 1 --test-points 20 \
        --work-dir /tmp/hjb_smoke/runs --out /tmp/hjb_smoke          # a smoke run (seconds)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time
from pathlib import Path

import torch

from photonzo.experiments.config import PINN_MODELS, PINNConfig, PINNTrainConfig
from photonzo.experiments.plots import pyplot, save_figure
from photonzo.experiments.results import read_metrics, read_summary
from photonzo.experiments.run import (
    build_pinn_network,
    check_run_dir,
    config_differences,
    run_pinn,
    scaled_gains,
)
from photonzo.io import atomic_write_json, atomic_write_text
from photonzo.photonics.chip import Chip
from photonzo.photonics.hardware import PRESETS, HardwareModel
from photonzo.photonics.network import dense_equivalent_mzis
from photonzo.pinn.objective import PINNObjective
from photonzo.pinn.pde import PDES, build_pde
from photonzo.pinn.quadrature import sampled_rule, sparse_grid
from photonzo.pinn.stein import FiniteDifference, LeastSquaresEstimator, SteinEstimator, balanced_step
from photonzo.training.backprop import autograd_derivatives, deploy, train_pinn_backprop
from photonzo.validation import check_fraction

sys.path.insert(0, str(Path(__file__).parent))
from pinn_chip_model import NOISE_FREE, chip_first_order, noisy_chip_refusal
from provenance import git_commit

RESULTS = Path(__file__).parent / "results"
SPATIAL = 20


def reference(network, phases, x) -> dict:
    """∇ and spatial Δ of the network's exact digital mirror at ``x`` (float64 autograd)."""
    weights = network.weights(phases)
    return autograd_derivatives(lambda x: network.digital_forward(weights, x)[:, 0], x, SPATIAL)


def pinn_network(args):
    """The network of every row: hjb-tt (the reference TT-PINN) unless ``--model`` says otherwise."""
    return build_pinn_network(PINNConfig.of(model=args.model, dim=SPATIAL))


def widths(network) -> str:
    return "→".join(str(w) for w in [network.in_features] + [layer.out_features for layer in network.layers])


def estimators(sigma: float, seed: int):
    return {
        "sparse grid": SteinEstimator(sparse_grid("gauss-hermite", 21, 2), sigma, spatial=SPATIAL),
        "sparse odd": SteinEstimator(sparse_grid("gauss-hermite-odd", 21, 2), sigma, spatial=SPATIAL),
        "Monte Carlo": SteinEstimator(sampled_rule("monte-carlo", 21, 925, seed), sigma, spatial=SPATIAL),
        "antithetic": SteinEstimator(sampled_rule("antithetic", 21, 924, seed), sigma, spatial=SPATIAL),
        "FD": FiniteDifference(21, sigma, spatial=SPATIAL),
    }


def readout_noise(args) -> dict:
    """The noisy rows' readout noise: relative detector noise ``--noise``, or the detector and shot
    noise of the ``--noise-from`` preset (HardwareModel fields)."""
    if args.noise_from is None:
        return {"detector_noise_std": args.noise}
    preset = HardwareModel.preset(args.noise_from)
    return {"detector_noise_std": preset.detector_noise_std, "shot_noise_photons": preset.shot_noise_photons}


def derivative_rows(args) -> dict:
    network = pinn_network(args)
    noisy = readout_noise(args)
    phases = network.init_params(args.seed)
    x = torch.rand(args.points, 21, generator=torch.Generator().manual_seed(args.seed), dtype=torch.float64)
    exact = reference(network, phases, x)
    grad_ref, lap_ref = exact["grad"], exact["laplacian"]
    rows = []
    for precision, dtype in (("float64", torch.complex128), ("float32", torch.complex64)):
        for readout in ({"detector_noise_std": 0.0}, noisy):
            noise = readout["detector_noise_std"]
            shot = (
                {}
                if readout.get("shot_noise_photons") is None
                else {"shot_noise_photons": readout["shot_noise_photons"]}
            )
            chip = Chip(
                network,
                HardwareModel.preset("ideal").replace(**readout),
                seed=args.seed,
                dtype=dtype,
            )
            p = torch.as_tensor(phases)[None]
            for sigma in args.sigmas:
                for name, est in estimators(sigma, args.seed).items():
                    pts = est.points(x)
                    t0 = time.perf_counter()
                    values = (
                        chip.outputs(p, pts.reshape(-1, 21))[0, :, 0].to(torch.float64).reshape(len(x), -1)
                    )
                    wall = time.perf_counter() - t0
                    out = est.derivatives(values)
                    rows.append(
                        {
                            "precision": precision,
                            "noise": noise,
                            **shot,  # recorded only where the row has shot noise
                            "sigma": sigma,
                            "estimator": name,
                            "evaluations": est.evaluations,
                            "grad_rel_err": float((out["grad"] - grad_ref).norm() / grad_ref.norm()),
                            "lap_rel_err": float((out["laplacian"] - lap_ref).norm() / lap_ref.norm()),
                            "read_s": round(wall, 3),
                        }
                    )
                    print(rows[-1], flush=True)
    extra = {} if args.noise_from is None else {"noise_from": args.noise_from, "commit": git_commit()}
    return {
        "argv": args.argv,
        "machine": MACHINE,
        "model": network.name,
        "points": args.points,
        **extra,
        "rows": rows,
    }


MACHINE = f"{platform.machine()}, torch {torch.__version__}"


# ---- part 1b: derivatives under detector noise --------------------------------------------------


def robust_families(args, seed: int) -> dict:
    """name → (estimator at step s with every node read R times, R, the s₀ of its curvature probe)."""
    anti, odd = sampled_rule("antithetic", 21, 924, seed), sparse_grid("gauss-hermite-odd", 21, 2)
    reads = {"centre_repeats": "balanced"}
    families = {
        f"FD ×{r}": (
            lambda s, r=r: FiniteDifference(21, s, spatial=SPATIAL, repeats=r, **reads),
            r,
            0.5,
        )
        for r in args.repeats
    }
    families["LS antithetic"] = (lambda s: LeastSquaresEstimator(anti, s, SPATIAL, **reads), 1, 0.2)
    families["LS sparse odd"] = (lambda s: LeastSquaresEstimator(odd, s, SPATIAL, **reads), 1, 0.2)
    return families


def read_values(chip, phases, est, x) -> torch.Tensor:
    """The chip's outputs ``[P, evaluations]`` at the estimator's points around ``x`` (one call)."""
    pts = est.points(x).reshape(-1, 21)
    return chip.outputs(phases, pts)[0, :, 0].to(torch.float64).reshape(len(x), -1)


def robust_rows(args) -> dict:
    network = pinn_network(args)
    phases = network.init_params(args.seed)
    p = torch.as_tensor(phases)[None]
    x = torch.rand(args.points, 21, generator=torch.Generator().manual_seed(args.seed), dtype=torch.float64)
    exact = reference(network, phases, x)
    grad_ref, lap_ref = exact["grad"], exact["laplacian"]
    lap_rms = float(lap_ref.norm() / len(x) ** 0.5)
    families = robust_families(args, args.seed)
    # c: the Laplacian's bias per step², by Richardson between s₀ and 2s₀ on the noise-free chip
    clean = Chip(network, HardwareModel.preset("ideal"), seed=args.seed, dtype=torch.complex128)
    curvature = {}
    for name, (make, _, s0) in families.items():
        probes = [make(s) for s in (s0, 2 * s0)]
        lap = [est.derivatives(read_values(clean, p, est, x))["laplacian"] for est in probes]
        curvature[name] = float((lap[1] - lap[0]).norm() / len(x) ** 0.5) / (3 * s0**2)
    levels = [(f"{n:g}", {"detector_noise_std": n}) for n in args.robust_noises]
    for name in args.robust_presets:
        preset = HardwareModel.preset(name)
        levels.append(
            (
                name,
                {
                    "detector_noise_std": preset.detector_noise_std,
                    "shot_noise_photons": preset.shot_noise_photons,
                },
            )
        )
    rows, noise_std = [], {}
    for precision in args.precisions:
        dtype = torch.complex128 if precision == "float64" else torch.complex64
        for label, readout in levels:
            chip = Chip(
                network, HardwareModel.preset("ideal").replace(**readout), seed=args.seed, dtype=dtype
            )
            repeated = x.repeat_interleave(64, 0)
            spread = chip.outputs(p, repeated)[0, :, 0].to(torch.float64).reshape(len(x), 64).std(1)
            eps = float(spread.pow(2).mean().sqrt())  # the std of one reading
            noise_std[f"{precision} {label}"] = eps
            candidates = [
                (
                    "sparse grid, σ 0.1",
                    SteinEstimator(sparse_grid("gauss-hermite", 21, 2), 0.1, SPATIAL),
                    None,
                ),
                ("FD, h 0.1", FiniteDifference(21, 0.1, spatial=SPATIAL), None),
            ]
            for name, (make, _, _) in families.items():
                step = balanced_step(make(1.0).noise_std(1.0)["laplacian"], eps, curvature[name])
                candidates.append((name, make(step), curvature[name]))
            for name, est, c in candidates:
                t0 = time.perf_counter()
                out = est.derivatives(read_values(chip, p, est, x))
                wall = time.perf_counter() - t0
                budget = None if c is None else (c * est.step**2 + est.noise_std(eps)["laplacian"]) / lap_rms
                rows.append(
                    {
                        "precision": precision,
                        "noise": label,
                        "estimator": name,
                        "step": round(est.step, 4),
                        "repeats": est.repeats,
                        "centre_repeats": est.centre_repeats,
                        "evaluations": est.evaluations,
                        "grad_rel_err": float((out["grad"] - grad_ref).norm() / grad_ref.norm()),
                        "lap_rel_err": float((out["laplacian"] - lap_ref).norm() / lap_ref.norm()),
                        "lap_budget": budget,
                        "read_s": round(wall, 3),
                    }
                )
                print(rows[-1], flush=True)
    return {
        "argv": args.argv,
        "machine": MACHINE,
        "commit": git_commit(),
        "model": network.name,
        "points": args.points,
        "laplacian_rms": lap_rms,
        "curvature": curvature,
        "reading_noise_std": noise_std,
        "rows": rows,
    }


def robust_markdown(results: dict) -> list[str]:
    lines = [
        "## Part 1b: derivatives under detector noise, step balanced per estimator",
        "",
        f"`python benchmarks/hjb_table.py {results['argv']}` — {results['machine']}; "
        f"commit {results['commit']}; {results['model']} with random phases (seed {seed_of(results)}), "
        f"{results['points']} uniform points in [0,1]^21; relative error of ∇u (21 coordinates) and of "
        "the spatial Laplacian (20) against autograd on the exact digital mirror. Step h* = (gain·ε/c)^(1/4) "
        "(`stein.balanced_step`), ε the measured std "
        "of one reading, c the measured Laplacian bias per step² (below); every centre read "
        "`balanced_centre_repeats` times. Budget: the error the estimator's stated budget predicts, "
        "(c·h² + noise_std(ε)) / rms Δu.",
        "",
        "| precision | readout noise | ε (one reading) | estimator | step | evaluations / point "
        "| ∇ rel. err | Δ rel. err | Δ budget |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results["rows"]:
        eps = results["reading_noise_std"][f"{r['precision']} {r['noise']}"]
        noise = r["noise"] if r["noise"][0].isdigit() else f"`{r['noise']}` preset"
        budget = "—" if r["lap_budget"] is None else f"{r['lap_budget']:.2g}"
        lines.append(
            f"| {r['precision']} | {noise} | {eps:.2g} | {r['estimator']} | {r['step']:g} "
            f"| {r['evaluations']:,} | {r['grad_rel_err']:.2g} | {r['lap_rel_err']:.2g} | {budget} |"
        )
    curv = ", ".join(f"{k}: {v / results['laplacian_rms']:.3g}" for k, v in results["curvature"].items())
    lines += [
        "",
        f"Laplacian bias per step², relative to rms Δu = {results['laplacian_rms']:.3g}: {curv}.",
    ]
    return lines


# ---- part 2: training ---------------------------------------------------------------------------


def first_order_row(
    args, pde, objective: PINNObjective, lr: float, network, steps: int, gain_scale: float, points: int
) -> dict:
    """Adam on exact autograd derivatives (ideal digital) of ``network`` for ``steps`` steps of
    ``points`` collocation points, then the trained weights programmed onto the ideal and the typical
    chip. ``gain_scale``: that of the ZO rows' chip, whose initial phases then encode (with
    ``--fo-init phases``) the same starting function."""
    print(f"{pde.name}: first-order reference, lr {lr:g} ...", flush=True)
    # "phases": the complex weights the ZO runs' initial phases encode — the same starting function
    gains = scaled_gains(network, gain_scale)
    init = network.weights(network.init_params(args.seed), gains) if args.fo_init == "phases" else None
    weights, stats = train_pinn_backprop(
        network,
        pde,
        steps=steps,
        points=points,
        lr=lr,
        seed=args.seed,
        progress=True,
        evaluate=lambda weights: objective.evaluate_digital(network, weights),
        eval_every=args.eval_every,
        init=init,
    )
    program = deploy(network, weights)
    phases = torch.as_tensor(program.params)
    deployed = {
        hw: objective.evaluate(
            Chip(
                network, hw, seed=args.seed, dtype=torch.complex128, loss="mse", gains=program.gains
            ).oracle(),
            phases,
        )
        for hw in ("ideal", "typical")
    }
    final = stats["evaluations"][-1]
    return {
        "row": f"first-order (digital), lr {lr:g}" + gain_label(gain_scale, "start of gains"),
        "first_order": True,
        "lr": lr,
        "init": args.fo_init,
        "steps": steps,
        "points": points,
        "gain_scale": gain_scale,
        "queries": None,
        "wall_s": round(stats["wall"], 1),
        "rel_l2": final["rel_l2"],
        "rel_l2_learned": final["rel_l2_learned"],
        "deployed": {hw: {k: d[k] for k in ("rel_l2", "rel_l2_learned")} for hw, d in deployed.items()},
        "curve": [
            {"step": e["step"] + 1, "rel_l2": e["rel_l2"], "rel_l2_learned": e["rel_l2_learned"]}
            for e in stats["evaluations"]
        ],
    }


def run_or_read_back(config: PINNConfig, run_dir: Path) -> dict:
    """The summary of the PINN run ``config`` in ``run_dir``: trained (or resumed) there, or read back
    when it finished in an earlier run of this benchmark, after checking that it was made with this
    configuration (a run directory of other options is refused, not reported under these)."""
    if read_summary(run_dir) is None:
        return run_pinn(config, run_dir, resume=(run_dir / "config.json").exists(), progress=True)
    check_run_dir(run_dir, config.flat(), resume=True, free=())
    return read_summary(run_dir)


def gain_suffix(scale: float) -> str:
    """``-gain0.5`` in a run's file or directory name for gains scaled by 0.5; nothing at 1."""
    return "" if scale == 1 else f"-gain{scale:g}"


def gain_label(scale: float, what: str = "gains") -> str:
    """``, gains ×0.5`` in a row's label for gains scaled by 0.5; nothing at 1."""
    return "" if scale == 1 else f", {what} ×{scale:g}"


def zo_result(config: PINNConfig, run_dir: Path, keys: tuple[str, ...]) -> dict:
    """A ZO row's measurements: the run ``config`` in ``run_dir`` (``run_or_read_back``), its final
    errors, cost and curve, and its ``keys`` of ``config``."""
    summary = run_or_read_back(config, run_dir)
    evals = [r for r in read_metrics(run_dir) if "rel_l2" in r]
    return {
        "steps": summary["steps"],
        "queries": summary["train_queries"],
        "inferences_per_query": summary["inferences_per_query"],
        "wall_s": round(summary["train_wall_s"], 1),
        "rel_l2": summary["rel_l2"],
        "rel_l2_learned": summary["rel_l2_learned"],
        "on_chip_time_s": summary["on_chip_time_s"],
        "on_chip_energy_j": summary["on_chip_energy_j"],
        "config": {k: getattr(config, k) for k in keys},
        "curve": [
            {"step": r["step"] + 1, "rel_l2": r["rel_l2"], "rel_l2_learned": r["rel_l2_learned"]}
            for r in evals
        ],
    }


def zo_config(args, hardware: str, detector_noise: float | None = None, gain_scale: float = 1.0):
    """The configuration of part 2's ZO run on the ``hardware`` chip (see ``zo_row``)."""
    robust = PINNConfig.of(hardware=hardware, detector_noise=detector_noise).chip.hardware_model().reads_noise
    derivatives = (
        dict(estimator="fd", sigma=args.robust_h, centre_repeats=args.robust_centre_repeats)
        if robust
        else dict(estimator=args.zo_estimator, sigma=args.sigma)
    )
    return PINNConfig.of(
        model=args.model,
        hardware=hardware,
        detector_noise=detector_noise,
        float64=True,
        steps=args.zo_steps,
        points=args.zo_points,
        q=args.zo_q,
        mu=args.zo_mu,
        lr=args.zo_lr,
        eval_every=args.eval_every,
        test_points=args.test_points,
        seed=args.seed,
        chip_seed=args.seed,
        gain_scale=gain_scale,
        **derivatives,
    )


def zo_row(args, hardware: str, detector_noise: float | None = None, gain_scale: float = 1.0) -> dict:
    """ZO (RGE on the phases) on the ``hardware`` chip (its detector noise replaced by
    ``detector_noise`` if given), an ordinary resumable run directory under ``--work-dir``. A chip whose
    readings are noisy gets the noise-robust derivatives (finite differences with step ``--robust-h``,
    the centre read ``--robust-centre-repeats`` times); a noise-free one ``--zo-estimator`` with
    ``--sigma``. ``gain_scale``: every optical matrix's electronic gain times this (``--gain-scales``)."""
    config = zo_config(args, hardware, detector_noise, gain_scale)
    noise = "" if detector_noise is None else f"-noise{detector_noise:g}"
    run_dir = Path(args.work_dir) / f"zo-{hardware}{noise}{gain_suffix(gain_scale)}"
    label = (
        f"{hardware} chip"
        + ("" if detector_noise is None else f", detector noise {detector_noise:g}")
        + gain_label(gain_scale)
    )
    estimator = "FD" if config.estimator == "fd" else config.estimator
    print(f"ZO on the {label} ...", flush=True)
    keys = ("q", "mu", "lr", "points", "estimator", "sigma", "centre_repeats", "rule", "level", "gain_scale")
    return {
        "row": f"ZO + {estimator} (h {config.sigma:g}"
        + (f", centre ×{config.centre_repeats}" if config.centre_repeats else "")
        + f"), {label}",
        "hardware": hardware,
        "detector_noise": detector_noise,
        **zo_result(config, run_dir, keys),
    }


def chip_first_order_row(args, config: PINNConfig, label: str) -> dict:
    """First order on the chip's own parameters (``pinn_chip_model.chip_first_order``) for the ZO run
    ``config``: its chip, start, optimiser, lr, steps, points and derivatives, the gradient exact. Kept
    as a JSON file under ``--work-dir`` with the configuration it was made with: a rerun reads it back,
    and a file of another configuration under the same name is refused, not reported under this one."""
    name = f"chip-first-order-{config.pde}-{config.model}-{config.hardware}-lr{config.lr:g}"
    name += f"-steps{config.steps}-points{config.points}-seed{config.seed}{gain_suffix(config.gain_scale)}"
    path = Path(args.work_dir) / f"{name}.json"
    # as read back from JSON, less the ZO estimator's options (no part of this row): every training
    # setting but the optimiser's and the schedule's, so that a new ZO option is left out by itself
    shared = ("lr", "steps", "eval_every", "seed")
    unused = tuple(f.name for f in dataclasses.fields(PINNTrainConfig) if f.name not in shared)
    flat = {k: v for k, v in json.loads(json.dumps(config.flat())).items() if k not in unused}
    if path.exists():
        row = json.loads(path.read_text())
        changed = config_differences(row["made_with"], flat)
        if changed:
            raise ValueError(
                f"{path} was made with other options ({', '.join(changed)}); move it away to rerun"
            )
        return row
    print(f"{config.pde}: first order on the {label} ...", flush=True)
    measured = chip_first_order(config, eval_every=args.eval_every)
    row = {
        "row": f"first order on the chip's parameters, {label}",
        "chip_first_order": True,
        "hardware": config.hardware,
        "lr": config.lr,
        "steps": config.steps,
        "points": config.points,
        "gain_scale": config.gain_scale,
        "queries": None,
        **{k: measured[k] for k in ("wall_s", "rel_l2", "rel_l2_learned", "curve")},
        "made_with": flat,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, row)
    return row


def chip_first_order_lines(rows: list[dict], fo: dict) -> list[str]:
    """The reading of the chip-first-order rows: each against the ZO row of its chip, gains and lr (what
    the gradient estimate costs) and against the best digital first order (what the chip costs)."""
    lines = []
    for c in (r for r in rows if r.get("chip_first_order")):
        zo = next(
            (
                r
                for r in rows
                if not r.get("first_order")
                and not r.get("chip_first_order")
                and r.get("detector_noise") is None
                and r.get("hardware", r["config"].get("hardware")) == c["hardware"]
                and r["config"]["gain_scale"] == c["gain_scale"]
                and r.get("lr", r["config"].get("lr")) == c["lr"]
            ),
            None,
        )
        versus = (
            "" if zo is None else f"ZO ÷ it **{zo['rel_l2'] / c['rel_l2']:.2f}×** (what the estimate costs); "
        )
        lines.append(
            f"- {c['row']}: {versus}it ÷ best digital first order {c['rel_l2'] / fo['rel_l2']:.2f}× "
            "(what the chip's parametrisation costs)."
        )
    if lines:
        lines[:0] = [
            "",
            "First order on the chip's parameters: the ZO run's optimiser stepped on the exact gradient of "
            "the loss ZO estimates (autograd through the chip's model, the DAC rounding passed straight "
            "through; `benchmarks/pinn_chip_model.py`), from ZO's start:",
        ]
    return lines


def cached_first_order_row(
    args, pde, objective, lr: float, network=None, steps=None, gain_scale: float = 1.0, points=None
) -> dict:
    """``first_order_row``, kept as a JSON file under ``--work-dir`` (its options in the name), so a
    rerun of the table reads a finished reference back instead of training it again."""
    steps = args.fo_steps if steps is None else steps
    points = args.collocation if points is None else points
    network = pinn_network(args) if network is None else network
    options = f"lr{lr:g}-steps{steps}-points{points}-{args.fo_init}-seed{args.seed}"
    options += f"-eval{args.eval_every}-test{args.test_points}{gain_suffix(gain_scale)}"
    path = Path(args.work_dir) / f"first-order-{pde.name}-{network.name}-{options}.json"
    if path.exists():
        return json.loads(path.read_text())
    row = first_order_row(args, pde, objective, lr, network, steps, gain_scale, points)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, row)
    return row


def training_rows(args) -> dict:
    pde = build_pde("hjb", 20)
    objective = PINNObjective(
        pde, FiniteDifference(21, args.sigma, spatial=20), test_points=args.test_points, seed=args.seed
    )
    network = pinn_network(args)
    gains = args.gain_scales
    rows = [
        cached_first_order_row(args, pde, objective, lr, gain_scale=g) for g in gains for lr in args.fo_lrs
    ]
    rows += [
        chip_first_order_row(
            args, zo_config(args, hw, gain_scale=g), f"{hw} chip, lr {args.zo_lr:g}" + gain_label(g)
        )
        for g in gains
        for hw in args.chip_fo_hardware
    ]
    rows += [zo_row(args, hw, gain_scale=g) for g in gains for hw in args.zo_hardware]
    rows += [zo_row(args, "typical", noise, g) for g in gains for noise in args.zo_detector_noises]
    return {
        "argv": args.argv,
        "machine": MACHINE,
        "commit": git_commit(),
        "test_points": args.test_points,
        "collocation": args.collocation,
        "model": network.name,
        "widths": widths(network),
        "mzis": network.n_mzis,
        "dense_equivalent_mzis": dense_equivalent_mzis(network),
        "rows": rows,
    }


# ---- part 3: the other PDEs ---------------------------------------------------------------------


def pde_network(pde):
    """Part 3's network: ``small``, (d+1) → 32 → 32 → 1 with sine activations."""
    return build_pinn_network(PINNConfig.of(model="small", pde=pde.name, dim=pde.dim))


def pde_zo_config(args, pde, lr: float, gain_scale: float) -> PINNConfig:
    """The configuration of part 3's ZO run (see ``pde_zo_row``)."""
    return PINNConfig.of(
        pde=pde.name,
        model="small",
        hardware=args.pde_hardware,
        gain_scale=gain_scale,
        float64=True,
        estimator="fd",
        sigma=args.pde_h,
        steps=args.pde_steps,
        points=args.pde_points,
        q=args.pde_q,
        mu=args.zo_mu,
        density=args.pde_density,
        lr=lr,
        eval_every=args.eval_every,
        test_points=args.test_points,
        seed=args.seed,
        chip_seed=args.seed,
    )


def pde_zo_row(args, pde, lr: float, gain_scale: float) -> dict:
    """ZO (RGE on the phases) on the ``--pde-hardware`` chip, central-difference derivatives with step
    ``--pde-h``: an ordinary resumable run directory under ``--work-dir``."""
    config = pde_zo_config(args, pde, lr, gain_scale)
    directions = (f"-q{args.pde_q}" if args.pde_q != 10 else "") + (
        f"-density{args.pde_density:g}" if args.pde_density != 1 else ""
    )
    stem = f"{pde.name}-zo-{args.pde_hardware}-lr{lr:g}{gain_suffix(gain_scale)}{directions}"
    stem += f"-steps{args.pde_steps}"
    run_dir = Path(args.work_dir) / stem
    label = f"lr {lr:g}" + gain_label(gain_scale)
    print(f"{pde.name}: ZO on the {args.pde_hardware} chip, {label} ...", flush=True)
    keys = ("q", "mu", "density", "points", "sigma", "estimator", "hardware", "gain_scale")
    return {"row": f"ZO, {args.pde_hardware} chip, {label}", "lr": lr, **zo_result(config, run_dir, keys)}


def pde_rows(args) -> dict:
    """Part 3: for each of ``--pdes``, first order (each of ``--pde-fo-lrs``) against ZO on the chip
    (each of ``--pde-zo-lrs``), both at each of ``--pde-gain-scales`` (first order from the function
    that chip's initial phases encode), all for ``--pde-steps`` steps."""
    tables = {}
    for name in args.pdes:
        pde = build_pde(name)
        network = pde_network(pde)
        objective = PINNObjective(
            pde,
            FiniteDifference(pde.dim + 1, args.pde_h, spatial=pde.dim),
            test_points=args.test_points,
            seed=args.seed,
        )
        fo = [
            cached_first_order_row(args, pde, objective, lr, network, args.pde_steps, gain, args.pde_points)
            for gain in args.pde_gain_scales
            for lr in args.pde_fo_lrs
        ]
        chip_fo = [
            chip_first_order_row(
                args,
                pde_zo_config(args, pde, lr, gain),
                f"{args.pde_hardware} chip, lr {lr:g}" + gain_label(gain),
            )
            for gain in args.pde_gain_scales
            for lr in args.pde_zo_lrs
            if args.pde_chip_fo
        ]
        zo = [pde_zo_row(args, pde, lr, gain) for gain in args.pde_gain_scales for lr in args.pde_zo_lrs]
        tables[name] = {
            "dim": pde.dim,
            "model": network.name,
            "widths": widths(network),
            "mzis": network.n_mzis,
            "params": {k: getattr(pde, k) for k in pde.params if hasattr(pde, k)},
            "rows": fo + chip_fo + zo,
        }
    return {
        "argv": args.argv,
        "machine": MACHINE,
        "commit": git_commit(),
        "test_points": args.test_points,
        "points": args.pde_points,
        "pdes": tables,
    }


def sparse_text(config: dict) -> str:
    """How sparse a ZO row's directions were (nothing for dense ones, and for rows measured before
    sparse directions existed)."""
    density = config.get("density", 1.0)
    if density == 1:
        return ""
    return f", sparse directions (each perturbs a fraction {density:g} of the coordinates)"


def pde_markdown(part: dict) -> list[str]:
    lines = [
        "## Part 3: the other PDEs, first order against ZO on the chip",
        "",
        f"`python benchmarks/hjb_table.py {part['argv']}` — {part['machine']}; commit {part['commit']}. "
        f"Relative ℓ2 on {part['test_points']:,} uniform test points; the learned part is the network's "
        "share of the ansatz u = g + b·NN (its exact value: `pde.exact_nn`). First order: Adam on exact "
        "autograd derivatives, as many points per step as ZO, from the weights the ZO run's initial "
        "phases encode (the same function), then programmed onto the ideal and the typical chip. ZO: RGE on "
        "the phases (Rademacher, central), Adam with a cosine schedule, central-difference derivatives read "
        "from the chip. Target (issue 18): ZO within 3× of the best first-order run at equal steps.",
    ]
    for name, table in part["pdes"].items():
        rows = table["rows"]
        fo = min((r for r in rows if r.get("first_order")), key=lambda r: r["rel_l2"])
        zo = min(
            (r for r in rows if not r.get("first_order") and not r.get("chip_first_order")),
            key=lambda r: r["rel_l2"],
        )
        params = ", ".join(f"{k.replace('_', ' ')} {v:g}" for k, v in table["params"].items())
        lines += [
            "",
            f"### {name} ({table['dim']}-D{'; ' + params if params else ''})",
            "",
            f"{table['model']} ({table['widths']}, {table['mzis']:,} MZIs).",
            "",
            "| training | steps | queries | wall (s) | rel. ℓ2 of u | rel. ℓ2 of NN | u vs best first order "
            "| on-chip time | on-chip energy |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            queries = "—" if r["queries"] is None else f"{r['queries']:,}"
            chip_time = f"{r['on_chip_time_s'] * 1e3:.1f} ms" if "on_chip_time_s" in r else "—"
            energy = f"{r['on_chip_energy_j']:.2f} J" if "on_chip_energy_j" in r else "—"
            lines.append(
                f"| {r['row']} | {r['steps']} | {queries} | {r['wall_s']:.0f} | {r['rel_l2']:.2e} | "
                f"{r['rel_l2_learned']:.2e} | {r['rel_l2'] / fo['rel_l2']:.2f}× | {chip_time} | {energy} |"
            )
        for hw, d in fo["deployed"].items():
            lines.append(
                f"| first order lr {fo['lr']:g}, deployed on the {hw} chip | | | | {d['rel_l2']:.2e} | "
                f"{d['rel_l2_learned']:.2e} | {d['rel_l2'] / fo['rel_l2']:.2f}× | | |"
            )
        ratio = zo["rel_l2"] / fo["rel_l2"]
        config = zo["config"]
        lines += [
            "",
            f"ZO: q = {config['q']}, μ = {config['mu']}{sparse_text(config)}, {config['points']} points per "
            "step, h = "
            f"{config['sigma']} ({zo['inferences_per_query']:,} inputs per query); best ZO row's electronic "
            f'gains {config["gain_scale"]:g}× the nominal ones (a first-order row "start of gains ×s" starts '
            "from the function that chip's initial phases encode). "
            f"Best ZO ÷ best first order: **{ratio:.2f}×** "
            f"({'met' if ratio <= 3 else 'missed'}: target ≤ 3×).",
            *chip_first_order_lines(rows, fo),
        ]
    return lines


def plot_training_curves(training: dict, path: Path) -> Path:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key, label in zip(axes, ("rel_l2", "rel_l2_learned"), ("u", "learned part NN (exact: 1)")):
        for row in training["rows"]:
            curve = row["curve"]
            ax.plot([c["step"] for c in curve], [c[key] for c in curve], "o-", ms=3, label=row["row"])
        ax.set(
            xlabel="training step",
            ylabel="relative ℓ2 error",
            title=f"relative ℓ2 error of {label}",
            yscale="log",
        )
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    model, points = training.get("model", "hjb-tt"), training["test_points"]
    fig.suptitle(f"HJB-20 on the simulated chip: {model}, {points:,} uniform test points", fontsize=10)
    out = save_figure(fig, path)
    plt.close(fig)
    return out


def training_markdown(training: dict) -> list[str]:
    rows = training["rows"]
    fo = min((r for r in rows if r.get("first_order")), key=lambda r: r["rel_l2"])  # the best-tuned reference
    chip_columns = any("on_chip_time_s" in r for r in rows)
    commit = (
        f" Commit {training['commit']}; seed 0 (phases, points, directions, chip)."
        if "commit" in training
        else ""
    )
    lines = [
        "## Part 2: training HJB-20",
        "",
        f"`python benchmarks/hjb_table.py {training['argv']}` — {training['machine']}; "
        f"{training.get('model', 'hjb-tt')} ({training['mzis']:,} MZIs; a dense "
        f"{training.get('widths', '21→512→512→1')} optical network needs "
        f"{training['dense_equivalent_mzis']:,}, "
        f"{training['dense_equivalent_mzis'] / training['mzis']:.0f}× more); relative ℓ2 on "
        f"{training['test_points']:,} uniform test points of [0,1]^21.{commit}",
        "",
        "| training | steps | forward queries | wall (s) | rel. ℓ2 of u | rel. ℓ2 of NN "
        "| u vs best first-order |"
        + (" NN vs best first-order | on-chip time | on-chip energy |" if chip_columns else ""),
        "|---|---:|---:|---:|---:|---:|---:|" + ("---:|---:|---:|" if chip_columns else ""),
    ]
    for r in rows:
        queries = "—" if r["queries"] is None else f"{r['queries']:,}"
        line = (
            f"| {r['row']} | {r['steps']} | {queries} | {r['wall_s']:.0f} | {r['rel_l2']:.2e} | "
            f"{r['rel_l2_learned']:.2e} | {r['rel_l2'] / fo['rel_l2']:.2f}× |"
        )
        if chip_columns:
            on_chip = (
                f" {r['on_chip_time_s']:.2f} s | {r['on_chip_energy_j']:.3g} J |"
                if "on_chip_time_s" in r
                else " — | — |"
            )
            line += f" {r['rel_l2_learned'] / fo['rel_l2_learned']:.2f}× |" + on_chip
        lines.append(line)
    for hw, d in fo["deployed"].items():
        lines.append(
            f"| first-order lr {fo['lr']:g}, deployed on the {hw} chip | | | | {d['rel_l2']:.2e} | "
            f"{d['rel_l2_learned']:.2e} | "
            f"{d['rel_l2'] / fo['rel_l2']:.2f}× |" + (" | | |" if chip_columns else "")
        )
    zo = next(r for r in rows if not r.get("first_order") and not r.get("chip_first_order"))
    config = zo["config"]
    if "estimator" in config:
        derivatives = (
            "derivatives by central finite differences (step h) on noise-free chips; on chips with readout "
            "noise by finite differences with a large step and the centre read many times (the noise-robust "
            "estimator of part 1b), each row's in its name"
        )
    else:
        derivatives = (
            f"Stein derivatives on the {config['rule']} sparse grid (level {config['level']}), "
            f"σ = {config['sigma']}, so one query reads {zo['inferences_per_query']:,} inputs"
        )
    lines += [
        "",
        f"ZO: RGE (Rademacher, central) with q = {config['q']}, μ = {config['mu']}, Adam lr "
        f"{config['lr']} (cosine), {config['points']} collocation points per step; {derivatives}; complex128 "
        f"chip. First-order: Adam on exact autograd derivatives, {training['collocation']} points per step, "
        "constant lr (each of the grid shown), "
        + (
            "starting from the complex weights the ZO runs' initial phases encode (the same function). "
            if fo["init"] == "phases"
            else "starting from He-scaled real weights. "
        )
        + (
            "On-chip time and energy: the training queries on a thermally tuned chip (photonics/energy.py). "
            if chip_columns
            else ""
        )
        + f"Curves: `{training.get('curves', 'hjb_training.png')}`.",
        *chip_first_order_lines(rows, fo),
    ]
    return lines


def markdown(results: dict) -> str:
    lines = ["# HJB-20 table", ""]
    if "derivatives" in results:
        lines += derivative_markdown(results["derivatives"]) + [""]
    if "robust" in results:
        lines += robust_markdown(results["robust"]) + [""]
    if "training" in results:
        lines += training_markdown(results["training"])
    if "pdes" in results:
        lines += ([""] if len(lines) > 2 else []) + pde_markdown(results["pdes"])
    return "\n".join(lines) + "\n"


def derivative_markdown(results: dict) -> list[str]:
    lines = [
        "## Part 1: derivative accuracy from forward queries of the chip",
        "",
        f"`python benchmarks/hjb_table.py {results['argv']}` — {results['machine']}; "
        f"{results.get('model', 'hjb-tt')} with random phases, "
        f"{results['points']} uniform points in [0,1]^21; relative error of ∇u (21 coordinates) and of the "
        "spatial Laplacian (20) against autograd on the network's exact digital mirror.",
        "",
    ]
    if "noise_from" in results:
        lines += [
            f"Noisy rows: the `{results['noise_from']}` preset's readout noise only (relative detector noise "
            "and shot noise, photons per unit detected power; its static errors, phase jitter and converters "
            f"left out). Commit {results['commit']}; seed {seed_of(results)} (phases, points, Monte Carlo "
            "nodes, chip noise).",
            "",
        ]
    names = list(dict.fromkeys(r["estimator"] for r in results["rows"]))
    evals = {r["estimator"]: r["evaluations"] for r in results["rows"]}
    lines += [
        "| precision | detector noise | σ | " + " | ".join(f"{n} ({evals[n]}) ∇ / Δ" for n in names) + " |",
        "|---|---:|---:|" + "---|" * len(names),
    ]
    key_of = lambda r: (r["precision"], r["noise"], r["sigma"], r.get("shot_noise_photons"))
    keys = list(dict.fromkeys(key_of(r) for r in results["rows"]))
    for key in keys:
        cells = []
        for n in names:
            r = next(r for r in results["rows"] if key_of(r) == key and r["estimator"] == n)
            cells.append(f"{r['grad_rel_err']:.1e} / {r['lap_rel_err']:.1e}")
        noise = f"{key[1]:g}" if key[3] is None else f"{key[1]:g} + shot ({key[3]:g} photons)"
        lines.append(f"| {key[0]} | {noise} | {key[2]:g} | " + " | ".join(cells) + " |")
    return lines


def seed_of(results: dict) -> str:
    """The --seed of the run that made part 1 (from its command line; 0 by default)."""
    words = results["argv"].split()
    return words[words.index("--seed") + 1] if "--seed" in words[:-1] else "0"


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--part",
        choices=("all", "derivatives", "robust", "training", "pdes"),
        default="all",
        help="all: parts 1 and 2; robust: part 1b (derivatives under detector noise) alone; pdes: part 3 "
        "(the other PDEs) alone",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads (default 1: on a busy 2-core machine two threads made a first-order "
        "PINN step 6-85x slower)",
    )
    parser.add_argument(
        "--model",
        choices=PINN_MODELS,
        default="tt",
        help="the network of every row: tt, the reference hjb-tt (21→512→512→1); dense; small: 21→32→32→1 "
        "(a smoke run)",
    )
    part1 = parser.add_argument_group("part 1: derivatives")
    part1.add_argument("--points", type=int, default=20)
    part1.add_argument("--sigmas", type=float, nargs="+", default=[0.1, 0.03, 0.01])
    part1.add_argument("--noise", type=float, default=1e-3, help="relative detector noise of the noisy rows")
    part1.add_argument(
        "--noise-from",
        choices=tuple(PRESETS),
        default=None,
        metavar="PRESET",
        help="take the noisy rows' readout noise from this hardware preset instead of --noise: its relative "
        "detector noise and shot noise (any of: " + ", ".join(PRESETS) + ")",
    )
    part1b = parser.add_argument_group("part 1b: derivatives under detector noise (--part robust)")
    part1b.add_argument(
        "--robust-noises", type=float, nargs="*", default=[1e-4, 1e-3, 1e-2], help="relative detector noises"
    )
    part1b.add_argument(
        "--robust-presets",
        choices=tuple(PRESETS),
        nargs="*",
        default=["measured"],
        metavar="PRESET",
        help="hardware presets whose readout noise (detector and shot) makes more rows",
    )
    part1b.add_argument(
        "--repeats", type=int, nargs="+", default=[1, 4, 16, 64], help="reads per node of the FD rows"
    )
    part1b.add_argument(
        "--precisions", choices=("float64", "float32"), nargs="+", default=["float64", "float32"]
    )
    add_training_options(parser.add_argument_group("part 2: training"))
    add_pde_options(parser.add_argument_group("part 3: the other PDEs (--part pdes)"))
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS,
        help="folder of the results files (default: the committed benchmarks/results)",
    )
    parser.add_argument(
        "--name", default="hjb_table", help="stem of the table's results files (default hjb_table)"
    )
    return parser


def add_training_options(part2) -> None:
    part2.add_argument("--fo-steps", type=int, default=2000)
    part2.add_argument(
        "--fo-lrs",
        type=float,
        nargs="+",
        default=[3e-2],
        help="first-order Adam learning rates (one row each; 0.03 was the best of 1e-3..3e-2 at 200 steps)",
    )
    part2.add_argument(
        "--fo-init",
        choices=("phases", "he"),
        default="phases",
        help="first-order start: the weights the ZO runs' initial phases encode, or fresh He-scaled real "
        "ones",
    )
    part2.add_argument(
        "--collocation", type=int, default=20, help="first-order collocation points per step (as ZO's)"
    )
    part2.add_argument("--zo-steps", type=int, default=2000)
    part2.add_argument("--zo-points", type=int, default=20, help="ZO collocation points per step")
    part2.add_argument("--zo-q", type=int, default=4)
    part2.add_argument("--zo-mu", type=float, default=0.025)
    part2.add_argument("--zo-lr", type=float, default=0.01)
    part2.add_argument(
        "--zo-hardware",
        choices=tuple(PRESETS),
        nargs="*",
        default=["ideal", "typical", "measured"],
        help="chips of the ZO rows (one row each)",
    )
    part2.add_argument(
        "--zo-detector-noises",
        type=float,
        nargs="*",
        default=[1e-3],
        help="more ZO rows: the typical chip with this relative detector noise",
    )
    part2.add_argument(
        "--zo-estimator",
        choices=("fd", "sparse-grid"),
        default="fd",
        help="derivatives of the ZO rows on noise-free chips (fd: central differences, step --sigma)",
    )
    part2.add_argument(
        "--sigma", type=float, default=0.1, help="FD step / Stein smoothing radius on noise-free chips"
    )
    part2.add_argument(
        "--robust-h", type=float, default=2.0, help="FD step on chips with readout noise (pinn/stein.py)"
    )
    part2.add_argument(
        "--robust-centre-repeats",
        type=int,
        default=41,
        help="reads of the centre on chips with readout noise",
    )
    part2.add_argument(
        "--gain-scales",
        type=float,
        nargs="+",
        default=[1.0],
        help="every optical matrix's electronic gain times each of these: a first-order and a ZO row per "
        "chip for each (first order starts from the function the scaled chip's initial phases encode)",
    )
    part2.add_argument(
        "--chip-fo-hardware",
        choices=NOISE_FREE,
        nargs="*",
        default=[],
        help="more rows: first order on this chip's own parameters (benchmarks/pinn_chip_model.py) at each "
        "gain scale, with the ZO rows' optimiser, lr, steps, points and derivatives: ZO's error over it is "
        "what the gradient estimate costs (chips without per-query noise: " + ", ".join(NOISE_FREE) + ")",
    )
    part2.add_argument("--eval-every", type=int, default=100)
    part2.add_argument("--test-points", type=int, default=10_000)
    part2.add_argument("--work-dir", default="runs/hjb_table", help="where the ZO run directories live")


def add_pde_options(part3) -> None:
    part3.add_argument(
        "--pdes",
        choices=tuple(n for n in PDES if n != "hjb"),
        nargs="+",
        default=["black-scholes", "burgers"],
    )
    part3.add_argument("--pde-steps", type=int, default=2000, help="steps of every row (first order and ZO)")
    part3.add_argument("--pde-fo-lrs", type=float, nargs="+", default=[3e-3, 1e-2], help="first-order lrs")
    part3.add_argument(
        "--pde-zo-lrs", type=float, nargs="+", default=[1e-2, 3e-2], help="ZO lrs (one row each)"
    )
    part3.add_argument("--pde-q", type=int, default=10, help="ZO directions per step")
    part3.add_argument("--pde-points", type=int, default=100, help="ZO collocation points per step")
    part3.add_argument(
        "--pde-density",
        type=float,
        default=1.0,
        help="fraction of the coordinates each ZO direction perturbs (photonzo hjb --density)",
    )
    part3.add_argument(
        "--pde-h", type=float, default=0.1, help="finite-difference step of the ZO derivatives"
    )
    part3.add_argument("--pde-hardware", choices=tuple(PRESETS), default="typical")
    part3.add_argument(
        "--pde-chip-fo",
        action="store_true",
        help="more rows: first order on the chip's own parameters for each ZO row (its lr and gains; "
        "benchmarks/pinn_chip_model.py); needs a --pde-hardware without per-query noise",
    )
    part3.add_argument(
        "--pde-gain-scales",
        type=float,
        nargs="+",
        default=[1.0, 4.0],
        help="chips' electronic gains, times the nominal ones (photonzo hjb --gain-scale): rows for each",
    )


def curves_name(name: str) -> str:
    """The part-2 curves' file: ``hjb_training.png`` for ``hjb_table``, else ``<name>_training.png``."""
    return "hjb_training.png" if name == "hjb_table" else f"{name}_training.png"


def main(argv=None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.noise_from is not None and any(
        a == "--noise" or a.startswith("--noise=") for a in (sys.argv[1:] if argv is None else argv)
    ):
        parser.error(
            "--noise-from takes the noise level from the preset: give --noise or --noise-from, not both"
        )
    for noise in [args.noise, *args.robust_noises]:
        if not (noise >= 0 and noise < float("inf")):
            parser.error(f"--noise and --robust-noises must be finite numbers >= 0, got {noise}")
    for option, scales in (("--gain-scales", args.gain_scales), ("--pde-gain-scales", args.pde_gain_scales)):
        if not all(0 < g < float("inf") for g in scales):
            parser.error(f"{option} must be finite numbers > 0, got {scales}")
    refusal = noisy_chip_refusal(HardwareModel.preset(args.pde_hardware), args.pde_hardware)
    if args.pde_chip_fo and refusal:
        parser.error(f"--pde-chip-fo (--pde-hardware): {refusal}")
    try:
        check_fraction("--pde-density", args.pde_density, open_bottom=True)
    except ValueError as error:
        parser.error(str(error))
    if any(r < 1 for r in args.repeats):
        parser.error(f"--repeats must be integers >= 1, got {args.repeats}")
    args.argv = " ".join(sys.argv[1:] if argv is None else argv)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{args.name}.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    if "rows" in results:  # the part-1-only layout of earlier versions
        results = {"derivatives": results}
    if args.part in ("all", "derivatives"):
        results["derivatives"] = derivative_rows(args)
    if args.part == "robust":
        results["robust"] = robust_rows(args)
    if args.part in ("all", "training"):
        results["training"] = training_rows(args)
        curves = results["training"]["curves"] = curves_name(args.name)
        plot_training_curves(results["training"], args.out / curves)
    if args.part == "pdes":
        results["pdes"] = pde_rows(args)
    atomic_write_json(path, results)
    atomic_write_text(args.out / f"{args.name}.md", markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
