"""Deployment speed: digital weights → chip phases, all blocks at once vs the per-block loop it replaced.

``OpticalMatrix.from_matrix`` (what ``OpticalLinear.program`` and ``OpticalNetwork.from_weights``
call) decomposes every k×k block of a matrix in one batched SVD and one batched Clements / Reck
nulling sequence (``decompose.matrix_to_svd_phases_batched``). This benchmark times it against the
former path — a Python loop over blocks, each block's U and V† nulled one element at a time — of
which it keeps a copy (``PerBlockPath``, here only for the comparison). For every case:

  * ``OpticalLinear(IN, OUT, block=K).program(weights)`` for each ``--sizes`` entry ``IN,OUT,K``
    (He-initialised real weights), and ``build_network(NAME).from_weights(...)`` for each
    ``--networks`` entry (its ``random_weights``);
  * the new and the old path alternate, ``--repeats`` times; each time is the minimum over the
    repeats (the machine is shared: ratios within one run, minima, not means);
  * the round-trip error of both: max |realised − given| over the weights, where "realised" is what
    the programmed phases encode (``weight_matrix`` / ``network.weights``, complex128 meshes);
  * the largest phase difference between the two paths (modulo 2π): 0 when bit-identical.

Writes ``bench_deploy.json`` and ``bench_deploy.md`` into ``--out`` and prints the table.

    python benchmarks/bench_deploy.py                                    # the committed results
    python benchmarks/bench_deploy.py --sizes 12,10,4 --networks digits-tt --repeats 1 --out /tmp/bd
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from photonzo.io import atomic_write_json, atomic_write_text
from photonzo.photonics.layers import OpticalLinear, OpticalMatrix
from photonzo.photonics.mesh import mesh_layout
from photonzo.photonics.network import build_network

RESULTS = Path(__file__).parent / "results"


# ---- the former per-block path, kept for this comparison only ------------------------------------


def old_null_from_right(u, row, m, null_upper):
    a, b = u[row, m], u[row, m + 1]
    if null_upper:
        theta = np.arctan2(abs(a), abs(b))
        phi = np.angle(a) - np.angle(b) if abs(a) > 0 and abs(b) > 0 else 0.0
    else:
        theta = np.arctan2(abs(b), abs(a))
        phi = np.angle(a) - np.angle(-b) if abs(a) > 0 and abs(b) > 0 else 0.0
    e, c, s = np.exp(-1j * phi), np.cos(theta), np.sin(theta)
    col_m, col_n = u[:, m].copy(), u[:, m + 1].copy()
    u[:, m] = col_m * e * c - col_n * s
    u[:, m + 1] = col_m * e * s + col_n * c
    return float(theta), float(phi)


def old_null_from_left(u, col, m):
    a, b = u[m, col], u[m + 1, col]
    theta = np.arctan2(abs(b), abs(a))
    phi = np.angle(-b) - np.angle(a) if abs(a) > 0 and abs(b) > 0 else 0.0
    e, c, s = np.exp(1j * phi), np.cos(theta), np.sin(theta)
    row_m, row_n = u[m].copy(), u[m + 1].copy()
    u[m] = e * c * row_m - s * row_n
    u[m + 1] = e * s * row_m + c * row_n
    return float(theta), float(phi)


def old_phase_vector(kind, n, sequence, screen):
    layout = mesh_layout(kind, n)
    tops, thetas, phis = (np.array(v) for v in zip(*sequence))
    slots = layout.slots_for_sequence(tops)
    phases = np.zeros(layout.n_phases)
    phases[layout.theta_slice][slots] = thetas
    phases[layout.phi_slice][slots] = phis
    phases[layout.screen_slice] = screen
    wrapped = np.mod(phases, 2 * np.pi)
    wrapped[wrapped >= 2 * np.pi] = 0.0
    return wrapped


def old_clements(u):
    u = u.copy()
    n = u.shape[0]
    right, left = [], []
    for i in range(n - 1):
        if i % 2 == 0:
            for j in range(i + 1):
                right.append((i - j, *old_null_from_right(u, n - 1 - j, i - j, True)))
        else:
            for j in range(i + 1):
                left.append((n - 2 - i + j, *old_null_from_left(u, j, n - 2 - i + j)))
    moved = []
    for m, theta, phi in reversed(left):
        e, c, s = np.exp(-1j * phi), np.cos(theta), np.sin(theta)
        row_m, row_n = u[m].copy(), u[m + 1].copy()
        u[m] = e * c * row_m + e * s * row_n
        u[m + 1] = -s * row_m + c * row_n
        moved.append((m, *old_null_from_right(u, m + 1, m, True)))
    return old_phase_vector("clements", n, right + moved, np.angle(np.diag(u)))


def old_reck(u):
    u = u.copy()
    n = u.shape[0]
    sequence = []
    for i in range(n - 1):
        for j in range(n - 1 - i):
            sequence.append((n - 2 - j, *old_null_from_right(u, i, n - 2 - j, False)))
    return old_phase_vector("reck", n, sequence, np.angle(np.diag(u)))


def old_matrix_to_svd_phases(w, kind):
    u, s, vh = np.linalg.svd(w.astype(np.complex128))
    gain = float(s[0]) if s[0] > 0 else 1.0
    decompose = old_clements if kind == "clements" else old_reck
    return decompose(vh), np.arccos(np.clip(s / gain, -1.0, 1.0)), decompose(u), gain


def old_from_matrix(self: OpticalMatrix, w) -> tuple[np.ndarray, float]:
    """``OpticalMatrix.from_matrix`` as it was: one block after the other."""
    w, k = np.asarray(w), self.block
    padded = np.zeros((self.rows * k, self.cols * k), dtype=np.result_type(w.dtype, np.float64))
    padded[: self.out_features, : self.in_features] = w
    blocks = padded.reshape(self.rows, k, self.cols, k).transpose(0, 2, 1, 3).reshape(-1, k, k)
    parts = [old_matrix_to_svd_phases(b, self.mesh) for b in blocks]
    gain = max([p[3] for p, b in zip(parts, blocks) if np.any(b)], default=1.0)
    v, s, u = self.param_slices("group")
    out = np.empty(self.n_params)
    out[v.start : v.stop] = np.concatenate([p[0] for p in parts])
    amplitudes = np.concatenate([np.cos(p[1]) * p[3] / gain for p in parts])
    out[s.start : s.stop] = np.arccos(np.clip(amplitudes, -1.0, 1.0))
    out[u.start : u.stop] = np.concatenate([p[2] for p in parts])
    return out, float(gain)


@contextlib.contextmanager
def per_block_path():
    """Every ``OpticalMatrix.from_matrix`` call inside runs the former per-block loop."""
    new = OpticalMatrix.from_matrix
    OpticalMatrix.from_matrix = old_from_matrix
    try:
        yield
    finally:
        OpticalMatrix.from_matrix = new


# ---- the cases --------------------------------------------------------------------------------------
# the layout the former per-block loop knows: every block a full k×k one (edge blocks padded)
EDGE_BLOCKS = "padded"


def dense_case(spec: str, mesh: str, seed: int):
    """``IN,OUT,K`` → (name, deploy(): (params, gains), round-trip error of a deployment)."""
    n_in, n_out, block = (int(v) for v in spec.split(","))
    layer = OpticalLinear(n_in, n_out, block=block, mesh=mesh, edge_blocks=EDGE_BLOCKS)
    weights = layer.random_weights(torch.Generator().manual_seed(seed))

    def error(params, gains) -> float:
        realised = layer.weight_matrix(torch.as_tensor(params), gains)
        return float((realised - weights.weight).abs().max())

    name = f"OpticalLinear({n_in}, {n_out}, block={block}).program"
    return name, layer.matrix.n_blocks, lambda: layer.program(weights), error


def network_case(name: str, mesh: str, seed: int):
    network = build_network(name, mesh=mesh, edge_blocks=EDGE_BLOCKS)
    weights = network.random_weights(seed)
    blocks = sum(m.n_blocks for layer in network.layers for m in layer_matrices(layer))

    def deploy():
        program = network.from_weights(weights)
        return program.params, program.gains

    def error(params, gains) -> float:
        realised = network.weights(params, gains)
        pairs = [(a, b) for r, w in zip(realised, weights) for a, b in zip(r.tensors(), w.tensors())]
        return max(float((a - b).abs().max()) for a, b in pairs)

    return f"build_network({name!r}).from_weights", blocks, deploy, error


def layer_matrices(layer) -> list[OpticalMatrix]:
    return [layer.matrix] if isinstance(layer, OpticalLinear) else list(layer.cores)


def run_case(case, repeats: int) -> dict:
    name, blocks, deploy, error = case
    times = {"new": [], "old": []}
    for _ in range(repeats):  # alternate: both paths see the same machine load
        for path in ("new", "old"):
            with per_block_path() if path == "old" else contextlib.nullcontext():
                start = time.perf_counter()
                result = deploy()
                times[path].append(time.perf_counter() - start)
            if path == "new":
                new_params, new_gains = result
            else:
                old_params, old_gains = result
    diff = np.abs(np.angle(np.exp(1j * (np.asarray(new_params) - np.asarray(old_params)))))
    new_s, old_s = min(times["new"]), min(times["old"])
    return {
        "case": name,
        "blocks": blocks,
        "new_s": new_s,
        "old_s": old_s,
        "speedup": old_s / new_s,
        "new_times_s": times["new"],
        "old_times_s": times["old"],
        "round_trip_err_new": error(new_params, new_gains),
        "round_trip_err_old": error(old_params, old_gains),
        "max_phase_diff_vs_old": float(diff.max()),
        "identical_to_old": bool(np.array_equal(new_params, old_params) and new_gains == old_gains),
    }


# ---- report -----------------------------------------------------------------------------------------


def markdown(result: dict) -> str:
    """The results as a Markdown table (also what the benchmark prints)."""
    m = result["machine"]
    lines = [
        f"# Deployment speed (`{result['command'].strip()}`)",
        "",
        f"{m['cpu_model'] or m['processor']}, {m['cpu_count']} CPUs, numpy {m['numpy']}, torch {m['torch']}; "
        f"{result['mesh']} meshes, min over {result['repeats']} alternating repeats. *new*: all blocks "
        "decomposed at once; *old*: the former per-block loop. Round trip: max |realised − given| "
        "over the weights; Δφ: largest phase difference new vs old (mod 2π).",
        "",
        "| case | blocks | new s | old s | speed-up | round trip new | round trip old | Δφ | identical |",
        "|---|---:|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| `{r['case']}` | {r['blocks']} | {r['new_s']:.3g} | {r['old_s']:.3g} | {r['speedup']:.0f}× | "
            f"{r['round_trip_err_new']:.1e} | {r['round_trip_err_old']:.1e} | "
            f"{r['max_phase_diff_vs_old']:.1e} | {'yes' if r['identical_to_old'] else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes",
        nargs="*",
        default=["784,1024,8", "784,1024,16"],
        metavar="IN,OUT,K",
        help="dense layers OpticalLinear(IN, OUT, block=K) to program (default: %(default)s)",
    )
    parser.add_argument(
        "--networks", nargs="*", default=["mnist-tt"], help="named models to deploy (default: %(default)s)"
    )
    parser.add_argument("--mesh", default="clements", choices=["clements", "reck"])
    parser.add_argument("--repeats", type=int, default=3, help="alternating timings per path and case")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS,
        help="folder for bench_deploy.json and bench_deploy.md (default: the committed results)",
    )
    return parser


def cpu_model() -> str | None:
    """The CPU's model name, where /proc/cpuinfo tells it (Linux)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return None
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), None)


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    if args.repeats < 1:
        raise SystemExit("--repeats must be >= 1")
    cases = [dense_case(spec, args.mesh, args.seed) for spec in args.sizes]
    cases += [network_case(name, args.mesh, args.seed) for name in args.networks]
    rows = []
    for case in cases:
        rows.append(run_case(case, args.repeats))
        print(f"{case[0]}: new {rows[-1]['new_s']:.3g} s, old {rows[-1]['old_s']:.3g} s", flush=True)
    result = {
        "benchmark": "bench_deploy",
        "command": "python benchmarks/bench_deploy.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpu_model": cpu_model(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
        },
        "mesh": args.mesh,
        "repeats": args.repeats,
        "seed": args.seed,
        "rows": rows,
        "target": {"case": "OpticalLinear(784, 1024, block=8).program", "new_s_at_most": 1.0},
    }
    atomic_write_json(args.out / "bench_deploy.json", result)
    table = markdown(result)
    atomic_write_text(args.out / "bench_deploy.md", table)
    print("\n" + table)
    print(f"wrote {args.out / 'bench_deploy.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
