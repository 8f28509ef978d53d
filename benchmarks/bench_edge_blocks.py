"""What rectangular edge blocks cost in forward time: the same network with padded and with
rectangular edge blocks, side by side in one run.

A block at a matrix's edge is an h-mode U, min(h, w) attenuators and a w-mode V† (``rectangular``,
the default) or the h×w corner of a full k×k block (``padded``, the layout of runs made before);
the chip builds the smaller meshes inside k-mode ones (``OpticalMatrix.grid_embedding``), so both
layouts should cost one pass of k-mode meshes per call. For every ``--models`` entry, on the
``typical`` chip at one torch thread:

  * one ``outputs`` call of Q settings (the centre and Q − 1 perturbed copies, so that no setting
    reuses another's matrices) on B random inputs, for each layout; the two alternate,
    ``--repeats`` times, and each time is the minimum (the machine is shared: ratios within one
    run, minima, not means);
  * the MZIs and phases of each layout.

Writes ``bench_edge_blocks.json`` and ``.md`` into ``--out`` and prints the table.

    python benchmarks/bench_edge_blocks.py                                   # the committed results
    python benchmarks/bench_edge_blocks.py --models digits-tt --repeats 1 --out /tmp/be   # a smoke run
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

from photonzo.choices import EDGE_BLOCKS
from photonzo.io import atomic_write_json, atomic_write_text
from photonzo.photonics.chip import Chip
from photonzo.photonics.network import build_network

sys.path.insert(0, str(Path(__file__).parent))
from provenance import git_commit

RESULTS = Path(__file__).parent / "results"
# model → (settings Q, inputs B, complex dtype): the ZO step shapes of bench_training.py
CASES = {
    "digits-tt": (21, 64, torch.complex64),
    "mnist-tt": (21, 64, torch.complex64),
    "hjb-tt": (9, 2000, torch.complex128),
}


def forward_call(model: str, edge_blocks: str, seed: int = 0):
    """(a zero-argument call of one ``outputs`` of the model's ZO-step shape, MZIs, phases)."""
    q, b, dtype = CASES[model]
    network = build_network(model, edge_blocks=edge_blocks)
    chip = Chip(network, "typical", seed=seed, dtype=dtype)
    real = chip.real_dtype
    generator = torch.Generator().manual_seed(seed)
    centre = chip.initial_params(seed)
    params = centre + 0.05 * torch.randn(q, centre.numel(), generator=generator, dtype=real)
    params[0] = centre
    x = torch.rand(b, network.in_features, generator=generator, dtype=real)
    return (lambda: chip.outputs(params, x)), network.n_mzis, network.n_params


def measure(models: list[str], repeats: int) -> dict:
    rows = []
    for model in models:
        calls, counts = {}, {}
        for layout in EDGE_BLOCKS:
            call, mzis, phases = forward_call(model, layout)
            call()  # warm-up: caches, thread policy
            calls[layout], counts[layout] = call, (mzis, phases)
        best = dict.fromkeys(EDGE_BLOCKS, float("inf"))
        for _ in range(repeats):
            for layout, call in calls.items():
                start = time.perf_counter()
                call()
                best[layout] = min(best[layout], time.perf_counter() - start)
        q, b, dtype = CASES[model]
        rows.append(
            {
                "model": model,
                "settings": q,
                "inputs": b,
                "dtype": str(dtype).removeprefix("torch."),
                **{f"{layout}_ms": 1e3 * best[layout] for layout in EDGE_BLOCKS},
                **{f"{layout}_mzis": counts[layout][0] for layout in EDGE_BLOCKS},
                **{f"{layout}_phases": counts[layout][1] for layout in EDGE_BLOCKS},
                "ratio": best["rectangular"] / best["padded"],
            }
        )
    return {"rows": rows}


def markdown(data: dict) -> str:
    lines = [
        "# Forward time of rectangular against padded edge blocks",
        "",
        f"`{data['command']}` — {data['machine']}, torch {data['torch']}, 1 thread; commit "
        f"{data['commit']}; min over {data['repeats']} alternating repeats of one `outputs` call on the "
        "`typical` chip (chip seed 0).",
        "",
        "| model | settings × inputs | dtype | padded (ms) | rectangular (ms) | rectangular ÷ padded "
        "| MZIs padded | MZIs rectangular | phases padded | phases rectangular |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in data["rows"]:
        lines.append(
            f"| {r['model']} | {r['settings']} × {r['inputs']:,} | {r['dtype']} | {r['padded_ms']:.1f} "
            f"| {r['rectangular_ms']:.1f} | {r['ratio']:.2f} | {r['padded_mzis']:,} "
            f"| {r['rectangular_mzis']:,} | {r['padded_phases']:,} | {r['rectangular_phases']:,} |"
        )
    return "\n".join(lines) + "\n"


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", choices=list(CASES), default=list(CASES))
    parser.add_argument("--repeats", type=int, default=5, help="alternating repeats (the minimum is kept)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the json and md results")
    return parser


def main(argv=None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} is a file, not a folder")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        data = measure(args.models, args.repeats)
    finally:
        torch.set_num_threads(threads)
    data.update(
        command="python benchmarks/bench_edge_blocks.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        machine=f"{platform.machine()}, {platform.python_version()}",
        torch=torch.__version__,
        commit=git_commit(),
        repeats=args.repeats,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out / "bench_edge_blocks.json", data)
    text = markdown(data)
    atomic_write_text(args.out / "bench_edge_blocks.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
