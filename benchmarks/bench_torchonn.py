"""photonzo against the peer library torchonn: the dense 784→1024 layer, batch 64, side by side in one run.

photonzo's ``OpticalLinear(784, 1024, block=K)`` on a ``Chip`` with the ``typical`` hardware (8-bit phase
DACs, phase-shifter gain error σ_γ = 0.002, thermal crosstalk κ = 0.005; complex64, coherent readout)
against torchonn 0.0.8's ``MZIBlockLinear(784, 1024, miniblock=K, mode="phase")`` with the same
non-idealities switched on (``w_bit=8``, ``set_gamma_noise``, ``set_crosstalk_factor``; float32, no
photodetection), both without bias, both under ``torch.inference_mode``. For every block K
(``--blocks``), torch thread count (``--threads``, both libraries fixed at it: photonzo's thread policy
is pinned with ``ThreadPolicy(fixed=T)``) and number of phase settings Q (``--settings``):

  * photonzo: one ``chip.outputs(phases[Q, P], x[64, 784])`` call (Q distinct settings: a random centre
    and Q − 1 copies perturbed by N(0, 0.05²) on every phase, so that no setting reuses another's
    matrices);
  * torchonn: Q forwards, each after copying one setting (``phase_U``, ``phase_S``, ``phase_V``,
    perturbed the same way around the layer's own initial phases) into the layer: torchonn has no
    batched call over settings;
  * for Q > 1, photonzo also one setting at a time (Q calls of ``phases[i : i + 1]``), to show whether
    batching settings pays (target: batched ≤ 1.0× one at a time);

the calls of the two libraries alternate, ``--repeats`` times, and each time is the minimum (the machine
is shared: ratios within one run, minima, not means). The issue's target is photonzo ÷ torchonn ≤ 0.67
in every case, though photonzo simulates complex unitary meshes (θ and φ per MZI and an output phase
screen: k² phases per k×k unitary) and torchonn real orthogonal ones (one phase per MZI and ±1 signs:
k(k−1)/2), so photonzo does about twice the arithmetic per mesh.

The non-idealities, side by side (what each library computes; the cost of each is the same elementwise
or small-stencil pass whatever its value):

  * phase quantisation: photonzo wraps to [0, 2π) and rounds to the 2^8 levels k·2π/256 (U, Σ and V†
    meshes); torchonn rounds U's and V's phases to multiples of 2π/255 and Σ's to multiples of π/255
    on [0, π].
  * gain error: photonzo multiplies each phase by a static γ_i = 1 + N(0, 0.002²) (relative);
    torchonn multiplies it by γ_noisy/γ with γ_noisy = γ + σ·N_trunc(0, 1), γ = π/V_π² ≈ 0.165 rad/V²,
    and σ absolute: torchonn's σ = 0.002 would be a 1.2 % relative error, so this benchmark sets
    σ = 0.002·γ (a 0.2 % relative error, photonzo's) and says so in the results.
  * crosstalk: photonzo adds κ × the commanded phase of each thermal neighbour (the neighbouring MZIs
    of the same column, θ to θ and φ to φ, and neighbouring screen heaters: 2 neighbours at most);
    torchonn convolves the phases laid out as a checkerboard with a 5×3 stencil of κ (the same-column
    neighbours and the four diagonal ones of the adjacent columns: up to 6), on U and V only.
  * neither draws per-query noise (no phase jitter, no detector noise), nor quantises the inputs or
    outputs; photonzo's electronic gain per matrix is one scalar, torchonn's a per-block ``S_scale``.

Writes ``bench_torchonn.json`` and ``.md`` into ``--out`` and prints the table.

torchonn is not a dependency of photonzo. It is installed in a virtual environment of its own that sees
the project venv's torch, numpy and photonzo (these commands worked with torch 2.13 CPU, Python 3.11;
``.venv-peers`` inside the checkout is not git-ignored, hence /tmp):

    /work/main/.venv/bin/python -m venv --system-site-packages /tmp/venv-peers
    SP=/tmp/venv-peers/lib/python3.11/site-packages P=/tmp/venv-peers/bin/pip
    echo 'import site; site.addsitedir("/work/main/.venv/lib/python3.11/site-packages")' \\
        > $SP/zz_project_venv.pth          # the project venv's packages, after the peers' own
    $P install mmengine --no-deps && $P install addict rich termcolor yapf      # torchonn's registry
    $P install mmcv-lite==2.2.0 --no-deps --no-build-isolation                  # mmcv.cnn.bricks
    $P install opencv-python-headless --no-deps
    $P install torchonn-pyutils --no-deps                                        # its ``pyutils``
    $P install ryaml --no-deps && $P install multimethod --no-deps
    $P install scienceplots svglib reportlab --no-deps && $P install svglib     # + cssselect2, lxml, ...
    $P install wheel                      # torchonn 0.0.8 is an sdist; its setup.py imports torch
    # two stubs in $SP (see below), then
    $P install torchonn==0.0.8 --no-build-isolation --no-deps

The stubs: (1) ``$SP/matrix_parametrization_cuda.py``, torchonn's CUDA extension, which it looks up
before it checks the device (a NameError on CPU without it): ``decompose_reck``, ``decompose_francis``,
``decompose_clements``, ``reconstruct_reck``, ``reconstruct_francis`` and ``reconstruct_clements``, each
a function that raises; torchonn never calls them on CPU tensors. (2) a ``torchvision`` package
(pyutils imports it for its data sets only, and the PyPI torchvision 0.28 wheel does not load against a
CPU torch: "operator torchvision::nms does not exist"): ``$SP/torchvision/_stub.py`` defines a class
whose metaclass answers every attribute with another such class, and ``torchvision/__init__.py``,
``datasets/__init__.py``, ``datasets/utils.py``, ``datasets/folder.py`` and
``transforms/__init__.py`` each say ``from torchvision._stub import module_getattr as __getattr__``
(the package ``__init__`` also imports ``datasets`` and ``transforms``, ``datasets`` its ``folder`` and
``utils``). torchonn then warns that its CUDA modules are missing and runs its CPU path.

Run the benchmark with that environment's python, or with the project's and the peers' packages on
``PYTHONPATH``:

    nice -n 5 /tmp/venv-peers/bin/python benchmarks/bench_torchonn.py              # the committed results
    PYTHONPATH=/tmp/venv-peers/lib/python3.11/site-packages python benchmarks/bench_torchonn.py \\
        --layer 16,8,4 --blocks 4 --threads 1 --settings 1 2 --repeats 1 --out /tmp/bt   # a smoke run
"""

from __future__ import annotations

import argparse
import contextlib
import platform
import sys
import time
from functools import partial
from pathlib import Path

import torch

from photonzo.io import atomic_write_json, atomic_write_text
from photonzo.photonics.chip import Chip
from photonzo.photonics.hardware import HardwareModel
from photonzo.photonics.layers import OpticalLinear
from photonzo.photonics.network import OpticalNetwork
from photonzo.photonics.threads import ThreadPolicy

sys.path.insert(0, str(Path(__file__).parent))
from provenance import git_commit

RESULTS = Path(__file__).parent / "results"
LAYER = (784, 1024, 64)  # in features, out features, inputs per call (batch)
HARDWARE = "typical"
PERTURBATION = 0.05  # rad: std of the perturbation of every phase of a setting around the centre
TARGET_RATIO = 0.67  # photonzo time / torchonn time, every case (issue 15)
TARGET_BATCHED = 1.0  # batched call of Q settings / Q calls of one setting
MISSING = (
    "bench_torchonn: torchonn is not importable ({error}); install torchonn 0.0.8 in a separate venv "
    "(mmengine, mmcv-lite, torchonn-pyutils --no-deps, a torchvision stub, then "
    "`pip install torchonn==0.0.8 --no-build-isolation --no-deps`: see this script's docstring) "
    "and run the script with that venv's python"
)


def load_torchonn():
    """(torchonn's version, ``MZIBlockLinear``), or SystemExit with the install steps in one line."""
    try:
        import torchonn
        from torchonn.layers import MZIBlockLinear
    except ImportError as error:
        raise SystemExit(MISSING.format(error=error)) from None
    return getattr(torchonn, "__version__", "unknown"), MZIBlockLinear


# ---- the two layers ---------------------------------------------------------------------------------


def photonzo_case(shape, block: int, settings: int, seed: int):
    """(the chip, the phase settings [Q, P], the inputs [B, IN]) of the layer ``shape`` (IN, OUT, B)."""
    n_in, n_out, batch = shape
    layer = OpticalLinear(n_in, n_out, block=block, bias=False)
    network = OpticalNetwork([layer], [], name=f"dense-{n_in}-{n_out}-k{block}")
    chip = Chip(network, HARDWARE, seed=seed, dtype=torch.complex64)
    generator = torch.Generator().manual_seed(seed)
    centre = chip.initial_params(seed)
    phases = centre + PERTURBATION * torch.randn(settings, centre.numel(), generator=generator)
    phases[0] = centre
    x = torch.rand(batch, n_in, generator=generator)
    return chip, phases, x


def torchonn_knobs(hardware: HardwareModel, gamma: float) -> dict:
    """torchonn's settings that simulate ``hardware``'s non-idealities (see the module docstring)."""
    return {
        "w_bit": hardware.phase_bits,
        "gamma_noise_std": hardware.gamma_std * gamma,  # torchonn's σ is absolute on γ = π / V_π²
        "crosstalk_factor": hardware.crosstalk,
    }


def torchonn_case(MZIBlockLinear, shape, block: int, settings: int, seed: int, hardware: HardwareModel):
    """(the layer, Q settings of (phase_U, phase_S, phase_V), its knobs)."""
    n_in, n_out, _ = shape
    torch.manual_seed(seed)  # torchonn initialises its weights from torch's global generator
    probe = MZIBlockLinear(n_in, n_out, bias=False, miniblock=block, mode="phase")
    knobs = torchonn_knobs(hardware, probe.gamma)
    del probe
    torch.manual_seed(seed)
    layer = MZIBlockLinear(
        n_in,
        n_out,
        bias=False,
        miniblock=block,
        mode="phase",
        w_bit=knobs["w_bit"],
        decompose_alg="clements",
        photodetect=False,
        device=torch.device("cpu"),
    )
    layer.set_gamma_noise(knobs["gamma_noise_std"], random_state=seed)
    layer.set_crosstalk_factor(knobs["crosstalk_factor"])
    generator = torch.Generator().manual_seed(seed + 1)
    centre = [p.detach().clone() for p in (layer.phase_U, layer.phase_S, layer.phase_V)]
    phases = [
        [c if i == 0 else c + PERTURBATION * torch.randn(c.shape, generator=generator) for c in centre]
        for i in range(settings)
    ]
    return layer, phases, knobs


def torchonn_call(layer, phases, x):
    """Q forwards of ``layer`` on ``x``, one per setting (its phases copied in first): [Q, B, OUT]."""
    outs = []
    for phase_u, phase_s, phase_v in phases:
        layer.phase_U.copy_(phase_u)
        layer.phase_S.copy_(phase_s)
        layer.phase_V.copy_(phase_v)
        outs.append(layer(x))
    return torch.stack(outs)


def photonzo_call(chip, phases, x):
    return chip.outputs(phases, x)


def photonzo_one_at_a_time(chip, phases, x):
    return torch.cat([chip.outputs(phases[i : i + 1], x) for i in range(phases.shape[0])])


# ---- timing -----------------------------------------------------------------------------------------


@contextlib.contextmanager
def torch_threads(threads: int):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def measure(
    MZIBlockLinear, shape, blocks, threads_list, settings_list, repeats: int, seed: int
) -> list[dict]:
    hardware = HardwareModel.preset(HARDWARE)
    q_max = max(settings_list)
    rows = []
    for block in blocks:
        start = time.perf_counter()
        chip, all_phases, x = photonzo_case(shape, block, q_max, seed)
        photonzo_setup = time.perf_counter() - start
        start = time.perf_counter()
        layer, onn_phases, knobs = torchonn_case(MZIBlockLinear, shape, block, q_max, seed, hardware)
        torchonn_setup = time.perf_counter() - start
        for threads in threads_list:
            chip.threads = ThreadPolicy(maximum=threads, fixed=threads)
            for q in settings_list:
                calls = {
                    "photonzo": partial(photonzo_call, chip, all_phases[:q], x),
                    "torchonn": partial(torchonn_call, layer, onn_phases[:q], x),
                }
                if q > 1:
                    calls["photonzo_one_at_a_time"] = partial(photonzo_one_at_a_time, chip, all_phases[:q], x)
                times = {name: [] for name in calls}
                with torch_threads(threads), torch.inference_mode():
                    shapes = {name: tuple(call().shape) for name, call in calls.items()}  # warm-up
                    for _ in range(repeats):  # alternate: every path sees the same machine load
                        for name, call in calls.items():
                            start = time.perf_counter()
                            call()
                            times[name].append(time.perf_counter() - start)
                assert set(shapes.values()) == {(q, shape[2], shape[1])}, shapes
                best = {name: min(t) for name, t in times.items()}
                row = {
                    "block": block,
                    "threads": threads,
                    "settings": q,
                    "photonzo_ms": 1e3 * best["photonzo"],
                    "torchonn_ms": 1e3 * best["torchonn"],
                    "ratio": best["photonzo"] / best["torchonn"],
                    "photonzo_one_at_a_time_ms": None,
                    "batched_vs_one_at_a_time": None,
                    "times_ms": {name: [round(1e3 * v, 3) for v in t] for name, t in times.items()},
                }
                if q > 1:
                    row["photonzo_one_at_a_time_ms"] = 1e3 * best["photonzo_one_at_a_time"]
                    row["batched_vs_one_at_a_time"] = best["photonzo"] / best["photonzo_one_at_a_time"]
                rows.append(row)
                print(
                    f"K={block} threads={threads} Q={q}: photonzo {row['photonzo_ms']:.1f} ms, "
                    f"torchonn {row['torchonn_ms']:.1f} ms, ratio {row['ratio']:.2f}",
                    flush=True,
                )
        rows_k = [r for r in rows if r["block"] == block]
        for r in rows_k:
            r["photonzo_setup_s"], r["torchonn_setup_s"] = photonzo_setup, torchonn_setup
            r["photonzo_phases"], r["torchonn_phases"] = chip.n_params, sum(p.numel() for p in onn_phases[0])
            r["torchonn_knobs"] = knobs
    return rows


# ---- report -----------------------------------------------------------------------------------------


def verdict(value, target) -> str:
    return "—" if value is None else ("yes" if value <= target else "no")


def markdown(data: dict) -> str:
    """The results as a Markdown table (also what the benchmark prints)."""
    knobs = data["torchonn_knobs"]
    layer = data["layer"]
    lines = [
        f"# photonzo against torchonn: the dense {layer['in']}→{layer['out']} layer, batch {layer['batch']}",
        "",
        f"`{data['command'].strip()}` — {data['machine']}, torch {data['torch']}, torchonn "
        f"{data['torchonn']}; commit {data['commit']}; min over {data['repeats']} alternating repeats, "
        "both libraries at the listed torch thread count.",
        "",
        f"photonzo: `OpticalLinear({layer['in']}, {layer['out']}, block=K, bias=False)` on a `Chip(..., "
        f"{data['hardware']!r})` (8-bit phases, σ_γ = 0.002 relative, κ = 0.005; complex64, complex "
        f"unitary meshes), one `outputs` call of Q settings. torchonn: `MZIBlockLinear({layer['in']}, "
        f'{layer["out"]}, miniblock=K, mode="phase", w_bit={knobs["w_bit"]})` with `set_gamma_noise'
        f"({knobs['gamma_noise_std']:.3g})` (absolute on γ = π/V_π²: 0.2 % relative) and "
        f"`set_crosstalk_factor({knobs['crosstalk_factor']})` (float32, real orthogonal meshes), Q "
        "forwards with the settings' phases copied in. Target: photonzo ÷ torchonn ≤ "
        f"{data['targets']['ratio_at_most']}; batched ÷ one at a time ≤ "
        f"{data['targets']['batched_vs_one_at_a_time_at_most']}.",
        "",
        "| block K | threads | settings Q | photonzo (ms) | torchonn (ms) | photonzo ÷ torchonn | ≤ 0.67 "
        "| photonzo one at a time (ms) | batched ÷ one at a time | ≤ 1.0 |",
        "|---:|---:|---:|---:|---:|---:|:---:|---:|---:|:---:|",
    ]
    for r in data["rows"]:
        one = r["photonzo_one_at_a_time_ms"]
        batched = r["batched_vs_one_at_a_time"]
        lines.append(
            f"| {r['block']} | {r['threads']} | {r['settings']} | {r['photonzo_ms']:.1f} "
            f"| {r['torchonn_ms']:.1f} | {r['ratio']:.2f} | {verdict(r['ratio'], TARGET_RATIO)} "
            f"| {'—' if one is None else f'{one:.1f}'} | {'—' if batched is None else f'{batched:.2f}'} "
            f"| {verdict(batched, TARGET_BATCHED)} |"
        )
    setups = {r["block"]: r for r in data["rows"]}.values()
    lines += [
        "",
        "Phases per setting and set-up time (layer built, weights decomposed into phases):",
        "",
        "| block K | photonzo phases | torchonn phases | photonzo set-up (s) | torchonn set-up (s) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in setups:
        lines.append(
            f"| {r['block']} | {r['photonzo_phases']:,} | {r['torchonn_phases']:,} "
            f"| {r['photonzo_setup_s']:.2f} | {r['torchonn_setup_s']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def layer_shape(text: str) -> tuple[int, int, int]:
    try:
        shape = tuple(int(v) for v in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected IN,OUT,B: three positive integers, got {text!r}")
    return shape


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--layer",
        type=layer_shape,
        default=LAYER,
        metavar="IN,OUT,B",
        help="the dense layer IN → OUT and its inputs per call B (default: 784,1024,64)",
    )
    parser.add_argument(
        "--blocks", nargs="+", type=int, default=[8, 16], help="block sizes K (default: 8 16)"
    )
    parser.add_argument(
        "--threads", nargs="+", type=int, default=[1, 2], help="torch thread counts (default: 1 2)"
    )
    parser.add_argument(
        "--settings", nargs="+", type=int, default=[1, 21], help="phase settings Q per call (default: 1 21)"
    )
    parser.add_argument("--repeats", type=int, default=5, help="alternating repeats (the minimum is kept)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the chip, the phases and the inputs")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the json and md results")
    return parser


def main(argv=None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1, got {args.repeats}")
    for name in ("blocks", "threads", "settings"):
        if min(getattr(args, name)) < 1:
            parser.error(f"--{name} must all be >= 1, got {getattr(args, name)}")
    n_in, n_out, batch = args.layer
    if any(n_in % k or n_out % k for k in args.blocks):
        parser.error(f"--blocks must divide {n_in} and {n_out} (full blocks in both libraries)")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out {args.out} is a file, not a folder")
    version, MZIBlockLinear = load_torchonn()
    start = time.perf_counter()
    rows = measure(
        MZIBlockLinear, args.layer, args.blocks, args.threads, args.settings, args.repeats, args.seed
    )
    ratios = [r["ratio"] for r in rows]
    batched = [r["batched_vs_one_at_a_time"] for r in rows if r["batched_vs_one_at_a_time"] is not None]
    data = {
        "benchmark": "bench_torchonn",
        "command": "python benchmarks/bench_torchonn.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": f"{platform.machine()}, Python {platform.python_version()}",
        "torch": torch.__version__,
        "torchonn": version,
        "commit": git_commit(),
        "repeats": args.repeats,
        "seed": args.seed,
        "threads": args.threads,
        "blocks": args.blocks,
        "settings": args.settings,
        "hardware": HARDWARE,
        "hardware_model": HardwareModel.preset(HARDWARE).describe(),
        "torchonn_knobs": rows[0]["torchonn_knobs"],
        "layer": {"in": n_in, "out": n_out, "batch": batch, "bias": False},
        "targets": {"ratio_at_most": TARGET_RATIO, "batched_vs_one_at_a_time_at_most": TARGET_BATCHED},
        "met": {
            "ratio": all(v <= TARGET_RATIO for v in ratios),
            "batched": all(v <= TARGET_BATCHED for v in batched) if batched else None,
        },
        "worst_ratio": max(ratios),
        "wall_s": round(time.perf_counter() - start, 1),
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out / "bench_torchonn.json", data)
    text = markdown(data)
    atomic_write_text(args.out / "bench_torchonn.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
