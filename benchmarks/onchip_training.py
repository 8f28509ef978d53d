"""The on-chip training leaderboard: the literature's BP-free trainers and ours, on one chip and budget.

For each dataset and chip, the same network (the dataset's TT model: 784 → 1024 → 10 for MNIST and
Fashion-MNIST, 64 → 64 → 10 for the 8×8 digits; for ``mnist-8x8``, MNIST averaged down to 8×8,
MixedTrain's own setting: its dense 64 → 24 → 24 → 10 optical MLP and mini-batches of 32), the same
data split, the same chip (seed 0) and the same training-query budget. Rows:

  bp (digital)        the network trained by autograd (Adam): the reference accuracy
  bp → chip           those weights deployed (phases and electronic gains) onto the chip
  from scratch        each estimator from random phases, with its own step rule (``FROM_SCRATCH``):
                      ours — tensor-wise RGE (``rge-tw``), tensor-wise sign-RGE then CGE
                      (``hybrid-tw``), whole-vector RGE (``rge``) — and the literature's FLOPS,
                      MixedTrain's SZO-SCD, STP, ZO-signSGD and ZO-AdaMM (training/literature.py)
  variants            rge-tw with other direction counts or sparse directions (``VARIANTS``; only
                      when ``--rows`` names them)
  deploy + in-situ    the BP weights deployed, then trained on the chip by one estimator (``--in-situ``)
  subspace            L2ight-style: deploy, then only the Σ attenuators and biases by RGE

The two fine-tuning kinds (deploy + in-situ, subspace) step at ``FINE_TUNE_LR`` with μ one DAC step
of the chip's phases (``fine_tune_mu``), not at the from-scratch rate and μ (``--lr in-situ=...``,
``--lr subspace=...`` change the rate). ``--phase-bits B`` programs every chip with B-bit phase DACs
instead of its preset's; its rows are those of the chip ``<preset>-Bbit`` (``measured-6bit``), run
directories included.

Every chip-trained row is an ordinary ``run_training`` run directory under ``--work-dir``: a row
stopped part-way resumes when the benchmark runs again, a finished one is read back, and one of
another configuration is refused. So the table can be built across several sittings:

    python benchmarks/onchip_training.py --datasets digits --chips typical measured          # minutes
    python benchmarks/onchip_training.py --datasets mnist --chips typical --budget 200000 \\
        --work-dir runs/leaderboard                                                          # hours
    python benchmarks/onchip_training.py --datasets mnist --rows rge-tw --budget 1000000 \\
        --work-dir runs/leaderboard --merge                                                  # a long row
    python benchmarks/onchip_training.py --datasets digits --budget 2000 --bp-epochs 1 \\
        --eval-every 5 --eval-size 50 --rows bp rge-tw flops --out /tmp/lb_smoke              # a smoke run

Columns: validation accuracy at 10⁴ / 10⁵ / 10⁶ training queries (read off the run's curve: the first
evaluation at or past the budget), the test accuracy of the phases kept (best on validation, the
start included) and of the last step, for a fine-tuning row the share of the deploy loss it regained
((kept − deployed) / (BP digital − deployed), the deployed phases' test accuracy on the run's own
chip), training queries to first reach 90 % and 97 % of the digital
BP accuracy (on validation), wall time, the run's estimated on-chip time and energy (thermal
phase shifters, photonics/energy.py) and peak resident memory. A row measured at several seeds
(``--seed``) is also summarised as mean ± standard deviation and plotted as its mean curve. Writes
``benchmarks/results/onchip_training.{json,md,png}`` (``--out``, ``--name``); with ``--merge`` the
rows are merged into the existing results (a row replaces the one of the same dataset, chip and name).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from photonzo.experiments.config import TrainConfig
from photonzo.experiments.plots import pyplot, save_figure
from photonzo.experiments.results import learning_curve, read_metrics
from photonzo.experiments.run import prepare_data
from photonzo.io import atomic_write_json, atomic_write_text
from photonzo.photonics.hardware import PRESETS
from photonzo.photonics.network import build_network
from photonzo.training.backprop import deploy, digital_accuracy, train_backprop

sys.path.insert(0, str(Path(__file__).parent))
from mnist_table import PeakMemory, _steps_for, chip_accuracy, run_or_read_back
from noise_sweep import phase_bits
from noise_sweep import seed as seed_type
from provenance import git_commit

RESULTS = Path(__file__).parent / "results"
DATASETS = ("digits", "mnist", "fashion-mnist", "mnist-8x8")
# a dataset's own setting where it is not the leaderboard's (TT model, batches of 64): MixedTrain's
# 8×8 MNIST experiments (Gu et al., AAAI 2021) train a dense 64-24-24-10 network on batches of 32
SETTINGS = {"mnist-8x8": dict(model="dense", batch_size=32)}
# from random phases: name → TrainConfig fields (the rest are TrainConfig's defaults)
FROM_SCRATCH = {
    "rge-tw": dict(estimator="rge", tensorwise=True),
    "hybrid-tw": dict(estimator="hybrid", tensorwise=True, q=1, cge_subset=256, patience=3),
    "rge": dict(estimator="rge", tensorwise=False),
    "flops": dict(estimator="flops", tensorwise=False),
    "stp": dict(estimator="stp", tensorwise=False),
    "zo-signsgd": dict(estimator="zo-signsgd", tensorwise=False),
    "zo-adamm": dict(estimator="zo-adamm", tensorwise=False),
    # last: one query per chip call (each coordinate's move depends on the one before), the slowest
    "szo-scd": dict(estimator="szo-scd", tensorwise=False),
}
# variants of the rows above that ask what moves RGE at a fixed query budget (issue 17, item 2): the
# directions per slice (fewer directions buy more steps) and sparse directions (each perturbs a
# fraction of the coordinates, training/estimators.py); run only when --rows names them
VARIANTS = {
    **{f"rge-tw-q{q}": dict(estimator="rge", tensorwise=True, q=q) for q in (3, 30, 100)},
    **{f"rge-tw-d{k}": dict(estimator="rge", tensorwise=True, density=1 / k) for k in (4, 16)},
    "rge-d16": dict(estimator="rge", tensorwise=False, density=1 / 16),
}
ROWS = ("bp", *FROM_SCRATCH, "in-situ", "subspace")  # the default rows
TRAINED = FROM_SCRATCH | VARIANTS
FINE_TUNING = ("in-situ", "subspace")  # the rows that start from deployed BP weights
# The fine-tuning rows' step (benchmarks/results/onchip_fine_tune.md: mnist-8x8 / measured, 5×10⁴
# queries, seeds 0-2). At the from-scratch rate (Adam, 0.01 rad a step) the phases walk off the
# deployed solution, regaining 14 ± 25 % of the 6-bit deploy loss and 7 ± 37 % at 12 bits (their last
# steps lose more than the deployment did). A tenth of it regains 75-82 % at 6 bits, 61-74 % at 12.
# μ is one DAC step of the chip's phases, at least TrainConfig's 0.025: at 6 bits μ = 0.1 (≈ 2π/64)
# regains 82 ± 14 % against μ = 0.025's 75 ± 13 %, at 12 bits μ = 0.025 74 ± 16 % against 61 ± 25 %.
FINE_TUNE_LR = 1e-3
MU_FLOOR = 0.025  # TrainConfig's μ


def fine_tune_mu(hardware) -> float:
    """The fine-tuning rows' perturbation step on ``hardware``: one step of its phase DACs (2π/2^b),
    at least ``MU_FLOOR`` (and that on a chip of unquantised phases)."""
    bits = hardware.phase_bits
    return MU_FLOOR if bits is None else max(MU_FLOOR, 2 * math.pi / 2**bits)


BUDGET_MARKS = (10_000, 100_000, 1_000_000)
DEFAULT_BUDGET = 200_000  # every row's; a longer one (the best rows run to 10⁶) is a row of its own
SHARES = (0.9, 0.97)  # of the digital BP accuracy


def accuracy_at(curve, budget: int) -> float | None:
    """Validation accuracy of the first evaluation at or past ``budget`` training queries (5 % short
    counts: evaluations fall every ``--eval-every`` steps); None if the run stopped before it."""
    return next((acc for q, acc in curve if q >= 0.95 * budget), None)


def _leaderboard_row(name: str, hardware: str, summary: dict, history: list[dict], mem, bp_acc) -> dict:
    curve = learning_curve(history)
    return {
        "row": name,
        "hardware": hardware,
        "test_acc": summary["test_acc"],
        "final_test_acc": summary["final_test_acc"],
        **({"start_test_acc": summary["start_test_acc"]} if "start_test_acc" in summary else {}),
        "queries": summary["train_queries"],
        "steps": summary["steps"],
        "wall_s": round(summary["train_wall_s"], 1),
        "on_chip_time_s": summary.get("on_chip_time_s"),
        "on_chip_energy_j": summary.get("on_chip_energy_j"),
        "peak_mib": mem.mib,
        "at": {f"{b:.0e}": accuracy_at(curve, b) for b in BUDGET_MARKS},
        "to_share_of_bp": {
            f"{s:.0%}": next((q for q, acc in curve if acc >= s * bp_acc), None) for s in SHARES
        },
        "curve": curve,
    }


def chip_name(hardware: str, bits: int | None) -> str:
    """A chip's name in the table and the run directories: its preset, ``measured-6bit`` when every
    phase DAC has ``bits`` bits instead of the preset's."""
    return hardware if bits is None else f"{hardware}-{bits}bit"


def chip_row(name: str, config: TrainConfig, work: Path, bp_acc: float, start=None) -> dict:
    """One chip-trained row in ``work/<dataset>-<chip>-<name>`` (``mnist_table.run_or_read_back``)."""
    chip = chip_name(config.hardware, config.phase_bits)
    run_dir = work / f"{config.dataset}-{chip}-{name}"
    with PeakMemory() as mem:
        summary = run_or_read_back(config, run_dir, start)
    return _leaderboard_row(name, chip, summary, read_metrics(run_dir), mem, bp_acc)


def run_setting(dataset: str, chips, args, work: Path, report) -> None:
    """Every row of one dataset on ``chips``, each handed to ``report`` as soon as it is measured."""
    base = dict(
        dataset=dataset,
        data_dir=args.data_dir,
        batch_size=64,
        eval_every=args.eval_every,
        eval_size=args.eval_size,
        seed=0,
        schedule="cosine",
        output_gain=args.output_gain,
        phase_bits=args.phase_bits,
    ) | SETTINGS.get(dataset, {})
    probe = TrainConfig.of(**base)
    network = build_network(probe.model_name)
    train, _, test, _ = prepare_data(probe, network.in_features)
    print(f"[{dataset}] BP reference", flush=True)
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        weights, _ = train_backprop(
            network, train[0].numpy(), train[1].numpy(), epochs=args.bp_epochs, lr=3e-3, progress=True
        )
        bp_wall = round(time.perf_counter() - t0, 1)
    program = deploy(network, weights)
    bp_acc = digital_accuracy(network, weights, *test)
    tag = {"dataset": dataset, "bp_acc": bp_acc}
    if "bp" in args.rows:
        report(
            tag
            | {
                "row": "bp (digital)",
                "hardware": "-",
                "test_acc": bp_acc,
                "wall_s": bp_wall,
                "peak_mib": mem.mib,
            }
        )
        for hw in chips:
            accuracy = chip_accuracy(probe, hw, program, test)
            chip = chip_name(hw, args.phase_bits)
            report(tag | {"row": "bp → chip", "hardware": chip, "test_acc": accuracy, "queries": 1})
    for hw in chips:
        jobs = [(name, TRAINED[name], None) for name in args.rows if name in TRAINED]
        if "in-situ" in args.rows:
            jobs += [(f"in-situ {name}", FROM_SCRATCH[name], program) for name in args.in_situ]
        if "subspace" in args.rows:
            jobs.append(
                ("subspace", dict(estimator="subspace", tensorwise=False, bp_epochs=args.bp_epochs), None)
            )
        for name, fields, start in jobs:
            kind = name.split()[0]
            if kind in FINE_TUNING:
                mu = fine_tune_mu(probe.replace(hardware=hw).hardware_model())
                step = {"lr": args.lr.get(kind, FINE_TUNE_LR), "mu": mu}
            else:
                step = {"lr": args.lr[name]} if name in args.lr else {}
            # deployed weights are read with no readout gain: their logits as trained
            gain = {} if start is None else {"output_gain": 1.0}
            config = TrainConfig.of(
                **{**base, **gain},
                **fields,
                **step,
                hardware=hw,
                max_queries=args.budget,
                steps=args.budget,
            )  # steps: an upper bound; the query budget stops the run
            config = config.replace(steps=_steps_for(config, args.budget), seed=args.seed)
            print(
                f"[{dataset}] {name} on the {hw} chip: ≤ {config.steps} steps, {args.budget:,} queries",
                flush=True,
            )
            # a longer budget or another seed is a row beside the default one, not in place of it
            tags = [budget_tag(args.budget)] if args.budget > DEFAULT_BUDGET else []
            tags += [f"s{args.seed}"] if args.seed else []
            if tags:
                name = f"{name} ({', '.join(tags)})"
            report(tag | chip_row(run_name(name), config, work, bp_acc, start) | {"row": name})


def budget_tag(budget: int) -> str:
    """``1e6`` for 1,000,000: a long row's budget as its name and run directory carry it."""
    mantissa, exponent = f"{budget:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}" if float(f"{budget:.0e}") == budget else str(budget)


def run_name(row: str) -> str:
    """A row's run-directory stem: ``in-situ-rge-tw`` for "in-situ rge-tw", ``hybrid-tw-1e6`` for
    "hybrid-tw (1e6)", ``rge-tw-1e6-s1`` for "rge-tw (1e6, s1)"."""
    return row.replace(" (", "-").replace(")", "").replace(", ", "-").replace(" ", "-")


# ---- report -----------------------------------------------------------------------------------------
def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def _queries(value) -> str:
    return "–" if value is None else f"{value:,}"


def regained_share(accuracy: float, deployed: float, bp_acc: float) -> float | None:
    """The share of the deploy loss a fine-tuned ``accuracy`` regained, (accuracy − deployed) /
    (BP − deployed); None where the deployment lost nothing."""
    loss = bp_acc - deployed
    return None if loss <= 0 else (accuracy - deployed) / loss


def _regained(row: dict, bp: dict | None) -> str:
    """A fine-tuning row's ``regained_share``, the deployed phases read on the row's own chip; – for
    other rows, or one measured before rows kept their start."""
    start = row.get("start_test_acc")
    if row["row"].split()[0] not in FINE_TUNING or start is None or bp is None:
        return "–"
    share = regained_share(row["test_acc"], start, bp["test_acc"])
    return "–" if share is None else f"{100 * share:.0f} %"


def markdown(results: dict) -> str:
    seeds = (
        "every row seed 0 (phases, batches, directions, BP) unless its name ends in sN (seed N; BP seed 0)"
        if any(seed_of(r["row"])[1] for r in results["rows"])
        else "every row seed 0 (phases, batches, directions, BP)"
    )
    about = (
        f"{seeds}, chip seed 0, data split seed 0. Validation "
        "accuracy at a query mark is read off the run's curve (the first evaluation at or past it; – where "
        "the run stopped before it). Test accuracy: the phases kept (best on validation) and, in brackets, "
        "the last step's. On-chip time and energy: the run's training queries on a thermally tuned chip "
        "(photonics/energy.py)."
    )
    per_row = "sittings" in results  # each row's sitting, or (a legacy file) one for all
    lines = ["# On-chip training leaderboard", ""]
    if per_row:
        lines += ["Each row's `sitting` column: the command and commit that measured it.", ""]
        lines += [
            f"{i + 1}. `{s['command']}` — commit {s['commit']}" for i, s in enumerate(results["sittings"])
        ]
        lines += ["", about[0].upper() + about[1:], ""]
    else:  # a legacy file: one command and commit for every row
        lines += [f"`{results['command']}`", "", f"Commit {results['commit']}; {about}", ""]
    settings = sorted({(r["dataset"], r["hardware"]) for r in results["rows"] if r["hardware"] != "-"})
    for dataset, hw in settings:
        rows = [r for r in results["rows"] if r["dataset"] == dataset and r["hardware"] == hw]
        bp = next(
            (r for r in results["rows"] if r["dataset"] == dataset and r["row"] == "bp (digital)"), None
        )
        lines += [f"## {dataset}, `{hw}` chip" + (f" (BP digital {_pct(bp['test_acc'])})" if bp else ""), ""]
        lines += [
            "| row | val @ 1e4 | val @ 1e5 | val @ 1e6 | test (last) | regained | queries | to 90 % BP "
            "| to 97 % BP | wall | on-chip time | on-chip energy | peak MiB |"
            + (" sitting |" if per_row else ""),
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
            + ("---:|" if per_row else ""),
        ]
        ranked = sorted(rows, key=lambda r: -r["test_acc"])
        for r in ranked:
            at = r.get("at", {})
            mark = lambda key: _pct(at.get(key))  # noqa: B023 (used at once)
            to = r.get("to_share_of_bp", {})
            time_s, energy = r.get("on_chip_time_s"), r.get("on_chip_energy_j")
            lines.append(
                f"| {r['row']} | {mark('1e+04')} | {mark('1e+05')} | {mark('1e+06')} | {_pct(r['test_acc'])}"
                + (f" ({_pct(r['final_test_acc'])})" if "final_test_acc" in r else "")
                + f" | {_regained(r, bp)} | {_queries(r.get('queries'))}"
                f" | {_queries(to.get('90%'))} | {_queries(to.get('97%'))}"
                f" | {r.get('wall_s', '–')} s | {'–' if time_s is None else f'{time_s:.3g} s'}"
                f" | {'–' if energy is None else f'{energy:.3g} J'} | {r.get('peak_mib') or '–'} |"
                + (f" {r['sitting'] + 1} |" if per_row else "")
            )
        lines.append("")
        lines += _over_seeds(rows)
    return "\n".join(lines)


SEED_TAG = re.compile(r"(?: \(s(\d+)\)|, s(\d+)\))$")  # "rge-tw (s1)", "rge-tw (1e6, s1)"


def seed_of(row: str) -> tuple[str, int]:
    """A row name's estimator row and seed: ("rge-tw", 1) for "rge-tw (s1)", ("rge-tw (1e6)", 2) for
    "rge-tw (1e6, s2)", (row, 0) for a seed-0 row."""
    match = SEED_TAG.search(row)
    if match is None:
        return row, 0
    seed = int(match.group(1) or match.group(2))
    return (row[: match.start()] + (")" if match.group(2) else "")), seed


def _over_seeds(rows: list[dict]) -> list[str]:
    """Mean ± sample standard deviation over seeds of every row measured at more than one seed (none
    when no row was)."""
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(seed_of(r["row"])[0], []).append(r)
    groups = {name: g for name, g in groups.items() if len(g) > 1}
    if not groups:
        return []

    def spread(values) -> str:
        values = [100 * v for v in values if v is not None]
        if not values:
            return "–"
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.1f} ± {sd:.1f} %"

    lines = [
        "Over seeds (mean ± sample standard deviation):",
        "",
        "| row | seeds | val @ 1e4 | val @ 1e5 | test (kept) | test (last) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    ranked = sorted(groups.items(), key=lambda item: -sum(r["test_acc"] for r in item[1]) / len(item[1]))
    for name, group in ranked:
        seeds = ", ".join(
            str(seed_of(r["row"])[1]) for r in sorted(group, key=lambda r: seed_of(r["row"])[1])
        )
        at = lambda mark: spread(r.get("at", {}).get(mark) for r in group)  # noqa: B023 (used at once)
        lines.append(
            f"| {name} | {seeds} | {at('1e+04')} | {at('1e+05')} | {spread(r['test_acc'] for r in group)}"
            f" | {spread(r.get('final_test_acc') for r in group)} |"
        )
    return [*lines, ""]


def plot(results: dict, path: Path) -> None:
    plt = pyplot()
    settings = sorted({(r["dataset"], r["hardware"]) for r in results["rows"] if r.get("curve")})
    if not settings:
        return
    fig, axes = plt.subplots(1, len(settings), figsize=(5.2 * len(settings), 3.8), squeeze=False)
    for ax, (dataset, hw) in zip(axes[0], settings):
        # a row measured at several seeds is one curve: their mean, on the first seed's query grid
        groups: dict[str, list[dict]] = {}
        for r in results["rows"]:
            if r["dataset"] == dataset and r["hardware"] == hw and r.get("curve"):
                groups.setdefault(seed_of(r["row"])[0], []).append(r)
        for name, group in groups.items():
            q, _ = zip(*group[0]["curve"])
            acc = np.mean([np.interp(q, *zip(*r["curve"])) for r in group], axis=0)
            ax.plot(
                q,
                100 * acc,
                "-" if "in-situ" not in name else "--",
                lw=1,
                label=name if len(group) == 1 else f"{name} (mean of {len(group)} seeds)",
            )
        bp = next(
            (r for r in results["rows"] if r["dataset"] == dataset and r["row"] == "bp (digital)"), None
        )
        if bp is not None:
            ax.axhline(100 * bp["test_acc"], color="k", lw=0.8, ls=":", label="bp (digital, test)")
        ax.set(xscale="log", xlabel="training forward queries", ylabel="validation accuracy (%)")
        ax.set_title(f"{dataset}, {hw} chip")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    save_figure(fig, path)
    plt.close(fig)


def sittings_of(results: dict) -> list[dict]:
    """The sittings (command and commit) that made a results file's rows, each row's ``sitting`` an
    index into them; a file written before rows kept their sitting had one command and commit for all."""
    if "sittings" in results:
        return results["sittings"]
    return [{"command": results["command"], "commit": results["commit"]}] if "command" in results else []


def merge(previous: dict, new: dict) -> dict:
    """``previous`` with ``new``'s rows added or replaced (a row is its dataset, chip and name); every
    row keeps the sitting (``new["command"]``, ``new["commit"]``) that measured it."""
    sittings = [dict(s) for s in sittings_of(previous)]
    old_rows = [{"sitting": 0, **r} for r in previous.get("rows", [])]  # one sitting for a legacy file
    sitting = {"command": new["command"], "commit": new["commit"]}
    if sitting not in sittings:
        sittings.append(sitting)
    key = lambda r: (r["dataset"], r["hardware"], r["row"])
    rows = {key(r): r for r in old_rows}
    rows.update({key(r): {**r, "sitting": sittings.index(sitting)} for r in new["rows"]})
    used = sorted({r["sitting"] for r in rows.values()})  # a sitting whose every row was measured again goes
    renumber = {old: new for new, old in enumerate(used)}
    rows = [{**r, "sitting": renumber[r["sitting"]]} for r in rows.values()]
    return {"sittings": [sittings[i] for i in used], "rows": rows}


# ---- command line -----------------------------------------------------------------------------------
def _lr_pair(text: str) -> tuple[str, float]:
    name, _, value = text.partition("=")
    if name not in (*TRAINED, *FINE_TUNING):
        raise argparse.ArgumentTypeError(
            f"--lr takes ROW=VALUE with ROW one of {', '.join((*TRAINED, *FINE_TUNING))}, got {text!r}"
        )
    try:
        lr = float(value)
    except ValueError:
        lr = -1.0
    if not lr > 0 or lr == float("inf"):
        raise argparse.ArgumentTypeError(f"--lr {name}= needs a positive learning rate, got {value!r}")
    return name, lr


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", nargs="+", choices=DATASETS, default=["digits"], help="(default: digits)")
    p.add_argument(
        "--chips",
        nargs="+",
        choices=list(PRESETS),
        default=["typical", "measured"],
        help="(default: typical measured)",
    )
    p.add_argument(
        "--rows",
        nargs="+",
        choices=[*ROWS, *VARIANTS],
        default=list(ROWS),
        help=f"rows to run (default: all but the variants {', '.join(VARIANTS)})",
    )
    p.add_argument(
        "--in-situ",
        nargs="+",
        choices=list(FROM_SCRATCH),
        default=["rge-tw", "hybrid-tw"],
        help="estimators of the deploy + in-situ rows (default: rge-tw hybrid-tw)",
    )
    p.add_argument(
        "--budget",
        type=_positive_int,
        default=DEFAULT_BUDGET,
        help=f"training queries per chip-trained row (default: {DEFAULT_BUDGET}); a row of a larger "
        "budget is a row of its own, beside the default one (its name and run directory carry the budget)",
    )
    p.add_argument(
        "--seed",
        type=seed_type,
        default=0,
        help="seed of every chip-trained row's initial phases, batches and directions (default: 0); a row "
        "of another seed is a row of its own, its name and run directory ending in sN. The BP reference and "
        "its deployment stay seed 0, so every seed's rows are measured against one BP",
    )
    p.add_argument(
        "--lr",
        type=_lr_pair,
        nargs="+",
        default=[],
        metavar="ROW=LR",
        help="a row's learning rate (default: TrainConfig's for a row from scratch); in-situ=LR sets every "
        f"deploy + in-situ row's, subspace=LR the subspace row's (default: {FINE_TUNE_LR})",
    )
    p.add_argument(
        "--phase-bits",
        type=phase_bits,
        default=None,
        help="phase-DAC bits of every chip instead of its preset's (its rows: chip <preset>-<B>bit)",
    )
    p.add_argument(
        "--bp-epochs", type=_positive_int, default=20, help="epochs of the BP reference (default: 20)"
    )
    p.add_argument(
        "--eval-every", type=_positive_int, default=50, help="steps between validations (default: 50)"
    )
    p.add_argument(
        "--eval-size",
        type=_positive_int,
        default=None,
        help="validation images per evaluation (default: all)",
    )
    p.add_argument(
        "--output-gain",
        type=float,
        default=10.0,
        help="electronic gain after the output detectors (default: 10)",
    )
    p.add_argument("--data-dir", default=None, help="IDX files (else $PHOTONZO_DATA)")
    p.add_argument(
        "--work-dir",
        type=Path,
        default=Path("runs/leaderboard"),
        help="the rows' run directories (default: runs/leaderboard)",
    )
    p.add_argument("--threads", type=_positive_int, default=1, help="torch threads (default: 1)")
    p.add_argument(
        "--out", type=Path, default=RESULTS, help="folder of the results (default: benchmarks/results)"
    )
    p.add_argument(
        "--name", default="onchip_training", help="stem of the result files (default: onchip_training)"
    )
    p.add_argument("--merge", action="store_true", help="merge the rows into the existing results")
    return p


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    args.lr = dict(args.lr)
    if not (args.output_gain > 0 and args.output_gain != float("inf")):
        raise SystemExit(f"--output-gain must be a positive finite number, got {args.output_gain}")
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"{args.name}.json"
    previous = json.loads(path.read_text()) if args.merge and path.exists() else {"rows": []}
    command = "python benchmarks/onchip_training.py " + " ".join(sys.argv[1:] if argv is None else argv)
    rows: list[dict] = []
    commit = git_commit()  # the code this sitting runs, before its own results change the checkout

    def report(row: dict) -> None:  # after every row: a sitting cut short keeps what it measured
        rows.append(row)
        results = merge(previous, {"command": command, "commit": commit, "rows": rows})
        atomic_write_json(path, results)
        atomic_write_text(args.out / f"{args.name}.md", markdown(results))

    for dataset in args.datasets:
        run_setting(dataset, args.chips, args, args.work_dir, report)
    results = json.loads(path.read_text())
    plot(results, args.out / f"{args.name}.png")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
