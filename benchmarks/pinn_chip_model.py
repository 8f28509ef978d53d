"""First order on the chip's own parameters: how far ZO is from what *any* trainer reaches on the chip.

The digital first-order reference of ``hjb_table`` trains unconstrained real weights; a ZO run trains
the chip's phases, through its DACs, static errors and bounded electronic gains. This benchmark
steps the ZO run's own optimiser (Adam, cosine schedule, phases wrapped) on the *exact* gradient of
the very loss the ZO run estimates — the PDE residual with the run's derivative estimator, read
through ``Chip.model_outputs`` (autograd through the chip's model, the DAC rounding passed straight
through) — from the ZO run's start. ZO's error over this row's is what the gradient estimate costs;
this row's over the digital reference's is what the chip's parametrisation costs.

    python benchmarks/pinn_chip_model.py --pde black-scholes --hardware typical --gain-scale 4 --lr 0.01
    python benchmarks/pinn_chip_model.py --pde hjb --model tt --points 20 --lr 0.01

Prints every evaluation; writes the row as JSON to ``--out`` (default
``runs/pinn_chip_model/<pde>-<model>-<hardware>-g<gain>-lr<lr>-steps<steps>.json``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from photonzo.experiments.config import PINN_MODELS, PINNConfig
from photonzo.experiments.run import build_derivatives, build_pinn_network, pinn_chip, pinn_optimizer
from photonzo.io import atomic_write_json
from photonzo.photonics.hardware import PRESETS, HardwareModel
from photonzo.pinn.objective import PINNObjective
from photonzo.pinn.pde import PDES, build_pde
from photonzo.training.backprop import train_pinn_chip_model

sys.path.insert(0, str(Path(__file__).parent))
from provenance import git_commit

NOISE_FREE = tuple(name for name in PRESETS if not HardwareModel.preset(name).draws_noise)


def noisy_chip_refusal(hardware: HardwareModel, name: str) -> str | None:
    """Why first order on the chip's parameters cannot run on chip ``name`` (None: it can): the chip's
    model is differentiated noise-free, so a chip that draws per-query noise has no such row."""
    if not hardware.draws_noise:
        return None
    return (
        f"hardware {name!r} draws per-query noise; the chip model is differentiated noise-free "
        "(chips without it: " + ", ".join(NOISE_FREE) + ")"
    )


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pde", choices=tuple(PDES), default="black-scholes")
    p.add_argument("--model", choices=PINN_MODELS, default="small")
    p.add_argument("--hardware", choices=tuple(PRESETS), default="typical")
    p.add_argument("--gain-scale", type=float, default=1.0, help="electronic gains times the nominal ones")
    p.add_argument("--lr", type=float, default=0.01, help="Adam learning rate (cosine schedule)")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--points", type=int, default=100, help="collocation points per step")
    p.add_argument("--h", type=float, default=0.1, help="finite-difference step of the derivatives")
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--test-points", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=0, help="start phases, points and chip")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=None)
    return p


def chip_first_order(config: PINNConfig, *, eval_every: int, progress: bool = True, log=print) -> dict:
    """First order on the chip's own parameters for the ZO run ``config``: its chip, start, optimiser,
    steps, collocation points and derivative estimator, the gradient exact (autograd through
    ``Chip.model_outputs``); the objective evaluated on ``config.test_points`` every ``eval_every`` steps
    (each record passed to ``log``). Returns the wall time, final errors and curve. A chip that draws
    per-query noise is refused: its model is differentiated noise-free."""
    refusal = noisy_chip_refusal(config.chip.hardware_model(), config.hardware)
    if refusal:
        raise ValueError(refusal)
    pde = build_pde(config.pde, config.dim)
    network = build_pinn_network(config)
    chip = pinn_chip(config, network)
    objective = PINNObjective(
        pde,
        build_derivatives(config, pde.input_dim, pde.dim),
        test_points=config.test_points,
        seed=config.seed,
    )
    oracle = chip.oracle()

    def evaluate(params):
        record = objective.evaluate(oracle, params)
        log({k: f"{v:.3e}" for k, v in record.items()})
        return record

    _, stats = train_pinn_chip_model(
        chip,
        objective,
        oracle.initial_params(config.seed),
        pinn_optimizer(config, oracle),
        steps=config.steps,
        points=config.points,
        seed=config.seed,
        evaluate=evaluate,
        eval_every=eval_every,
        progress=progress,
    )
    final = stats["evaluations"][-1]
    return {
        "model": network.name,
        "wall_s": round(stats["wall"], 1),
        "rel_l2": final["rel_l2"],
        "rel_l2_learned": final["rel_l2_learned"],
        "curve": [
            {"step": e["step"] + 1, "rel_l2": e["rel_l2"], "rel_l2_learned": e["rel_l2_learned"]}
            for e in stats["evaluations"]
        ],
    }


def main(argv=None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    for name in ("steps", "points", "eval_every", "test_points", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}")
    for name in ("gain_scale", "lr", "h"):
        if not 0 < getattr(args, name) < float("inf"):
            parser.error(f"--{name.replace('_', '-')} must be a finite number > 0, got {getattr(args, name)}")
    config = PINNConfig.of(
        pde=args.pde,
        model=args.model,
        hardware=args.hardware,
        gain_scale=args.gain_scale,
        float64=True,
        estimator="fd",
        sigma=args.h,
        points=args.points,
        lr=args.lr,
        steps=args.steps,
        test_points=args.test_points,
        seed=args.seed,
        chip_seed=args.seed,
    )
    refusal = noisy_chip_refusal(config.chip.hardware_model(), args.hardware)
    if refusal:
        parser.error(refusal)
    torch.set_num_threads(args.threads)
    measured = chip_first_order(config, eval_every=args.eval_every, log=lambda r: print(r, flush=True))
    row = {
        "argv": " ".join(sys.argv[1:] if argv is None else argv),
        "commit": git_commit(),
        "pde": args.pde,
        "model": measured["model"],
        "hardware": args.hardware,
        "gain_scale": args.gain_scale,
        "lr": args.lr,
        "steps": args.steps,
        "points": args.points,
        "h": args.h,
        "seed": args.seed,
        **{k: measured[k] for k in ("wall_s", "rel_l2", "rel_l2_learned", "curve")},
    }
    stem = f"{args.pde}-{args.model}-{args.hardware}-g{args.gain_scale:g}-lr{args.lr:g}-steps{args.steps}"
    out = Path(args.out or f"runs/pinn_chip_model/{stem}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out, row)
    print(f"rel. l2 of u {row['rel_l2']:.3e}, of the learned part {row['rel_l2_learned']:.3e}; {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
