"""The MNIST-family table: BP against BP-free (zeroth-order) training of the same optical MLP.

One run, one table per dataset. Model: the TONN reference TT MLP 784 → 1024 → 10 (ReLU; layer 1
TT [7,4,4,7]→[8,4,4,8], layer 2 [8,4,4,8]→[1,5,2,1], rank 6) and its dense counterpart; for
``digits`` the small 64 → 64 → 10 pair. Rows:

  bp                 the TT network trained digitally by autograd (Adam), ideal digital accuracy
  bp → chip          those weights deployed (phases and electronic gains) onto the ideal / typical chip
                     (and onto any other chip of ``--chips``, e.g. ``measured``)
  zo-rge             ZO, whole-vector RGE (Rademacher, antithetic, q = 10), ideal / typical chip
  zo-hybrid-tw       ZO, tensor-wise sign-RGE (one ± pair per TT core and bias) then CGE on a
                     random coordinate subset when validation stalls, ideal / typical chip
  zo-dense           ZO, whole-vector RGE on the dense network (ideal chip) at ``--dense-budget``;
                     the TT runs' validation accuracy at the same query count is read off their
                     learning curves for the equal-budget comparison
  tpsgd / drtp       target projection (layer-local, BP-free) on the TT network's weights,
  (digital)          digitally; learning rate picked on validation from --tp-lrs, best epoch kept
  zo-layer-local     tpSGD on the chip: each layer's phases by RGE on its own local loss (MSE to
                     its projected target; the output layer on cross-entropy), all layers
                     perturbed jointly (2q + 1 queries per step), read through the per-layer
                     detector taps, ideal / typical chip

Every ZO run uses the same chip (output gain ``--output-gain``). Columns: test accuracy (through
the chip, noise on), training forward queries, wall time, peak resident memory of the process
during the row, phase count, MZI count. Also measured: a ZO step's wall time against one
batched forward of the same number of settings (the estimator's overhead), and the training
queries each ZO run needed to first reach given validation accuracies.

Writes ``benchmarks/results/mnist_table.{json,md,png}`` (``--out`` for another folder, ``--name``
for another stem). Every chip-trained row is an ordinary ``run_training`` run (in a temporary
folder): its test accuracy is that of the phases kept (best on validation, the start included);
the last step's is reported beside it.

    python benchmarks/mnist_table.py --datasets digits mnist fashion-mnist --budget 20000
    python benchmarks/mnist_table.py --datasets mnist --rows tpsgd --merge   # re-run some rows only
    python benchmarks/mnist_table.py --datasets mnist --rows bp zo --only zo-hybrid-tw --chips typical \
        --budget 60000 --name mnist_table_60k                                # one row at a longer budget
    python benchmarks/mnist_table.py --datasets digits mnist --rows bp zo --only zo-rge zo-hybrid-tw \
        --chips measured --budget 15000 --work-dir /tmp/measured_runs/mnist_table \
        --name mnist_table_measured                                          # the measured chip's rows
    python benchmarks/mnist_table.py --datasets digits --digits-budget 30 --bp-epochs 1 --bp-min-steps 1 \
        --digital-subset 128 --tp-lrs 0.01 --chips ideal --eval-every 1 --eval-size 50 \
        --out /tmp/mnist_smoke                                               # a smoke run (seconds)
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import torch

from photonzo.experiments.config import TrainConfig
from photonzo.experiments.plots import pyplot, save_figure
from photonzo.experiments.results import learning_curve, method_switches, read_metrics, read_summary
from photonzo.experiments.run import (
    build_chip,
    config_differences,
    evaluate_on_chip,
    make_estimators,
    prepare_data,
    read_config,
    run_training,
)
from photonzo.io import atomic_write_json, atomic_write_text
from photonzo.photonics.hardware import PRESETS
from photonzo.photonics.network import build_network
from photonzo.training.backprop import deploy, digital_accuracy, train_backprop
from photonzo.training.tpsgd import train_tpsgd

sys.path.insert(0, str(Path(__file__).parent))
from provenance import git_commit

RESULTS = Path(__file__).parent / "results"
ROW_GROUPS = ("bp", "zo", "dense", "tpsgd")
BP_CHIPS = ("ideal", "typical")  # the bp → chip rows always deploy onto these (and the other --chips)
THRESHOLDS = (0.3, 0.5, 0.7, 0.8)  # validation accuracies for the queries-to-accuracy comparison


class PeakMemory:
    """Peak resident memory of this process (MiB) while the block runs (Linux: VmHWM, reset on entry)."""

    def __enter__(self):
        try:
            Path("/proc/self/clear_refs").write_text("5")  # resets the high-water mark to the current RSS
            self.supported = True
        except OSError:
            self.supported = False
        return self

    def __exit__(self, *exc):
        self.mib = None
        if self.supported:
            found = re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text())
            self.mib = round(int(found.group(1)) / 1024) if found else None
        return False


def queries_to(curve, thresholds=THRESHOLDS) -> dict:
    """Training queries at the first evaluation reaching each validation accuracy (None: never)."""
    return {f"{t:.0%}": next((q for q, acc in curve if acc >= t), None) for t in thresholds}


def chip_accuracy(config: TrainConfig, hardware: str, program, test) -> float:
    """Test accuracy of a deployed ``Program`` through the ``hardware`` chip of ``config``, built with
    the program's gains and no readout gain (the digital weights' logits, as trained)."""
    chip = build_chip(config.replace(hardware=hardware, output_gain=1.0), program.gains)
    return evaluate_on_chip(chip, program.params, test)["val_acc"]


def run_or_read_back(config: TrainConfig, run_dir: Path, start=None) -> dict:
    """The summary of ``run_training(config)`` in ``run_dir`` (from the deployed ``start`` Program, if
    given): resumed if it was started before, read back if finished; a finished run of another
    configuration is refused."""
    summary = read_summary(run_dir)
    if summary is None:
        resume = (run_dir / "config.json").exists()  # as a sweep's cells resume
        return run_training(config, run_dir, resume=resume, progress=True, start=start)
    saved = read_config(run_dir / "config.json")
    # a setting added since the run was written reads as the value it had then (run.ADDED)
    if config_differences(saved, json.loads(json.dumps(config.flat())), free=("data_dir",)):
        raise SystemExit(f"{run_dir} holds a finished run of another configuration: move it away")
    print(f"  {run_dir}: finished, read back", flush=True)
    return summary


def zo_run(name, config: TrainConfig, work: Path) -> dict:
    """One chip-trained row: ``run_training`` in ``work/name`` (its test split, kept and last-step
    accuracy), with the learning curve and the switch read from the run's metrics. A run directory
    left there by an earlier invocation (``--work-dir``) is resumed, or read back once finished;
    one of another configuration is refused."""
    run_dir = work / name
    with PeakMemory() as mem:
        summary = run_or_read_back(config, run_dir)
    history = read_metrics(work / name)
    curve = learning_curve(history)
    switches = method_switches(history)
    return {
        "row": name,
        "test_acc": summary["test_acc"],
        "final_test_acc": summary["final_test_acc"],
        "kept_step": summary["kept_step"],
        "queries": summary["train_queries"],
        "wall_s": round(summary["train_wall_s"], 1),
        "steps": summary["steps"],
        "phases": summary["phases"],
        "mzis": summary["mzis"],
        "hardware": config.hardware,
        "methods": sorted({r["method"] for r in history}),
        "switched_at_queries": switches[0]["queries"] if switches else None,
        "curve": curve,
        "peak_mib": mem.mib,
        "queries_to": queries_to(curve),
    }


def step_overhead(config: TrainConfig, reps: int = 3) -> dict:
    """One ZO step (a hybrid's: of its first phase) against one batched forward of the same number
    of settings."""
    chip = build_chip(config)
    oracle = chip.oracle()
    train, _, _, _ = prepare_data(config, chip.network.in_features)
    est = make_estimators(config, oracle)[0]
    params = oracle.initial_params(0).double()
    batch = (train[0][: config.batch_size], train[1][: config.batch_size])
    gen = torch.Generator().manual_seed(0)
    est.estimate(oracle, params, batch, 0, gen)
    t0 = time.perf_counter()
    for _ in range(reps):
        e = est.estimate(oracle, params, batch, 0, gen)
    t_step = (time.perf_counter() - t0) / reps
    stacked = params[None].expand(e.queries, -1).contiguous()
    oracle.loss(stacked, batch)
    t0 = time.perf_counter()
    for _ in range(reps):
        oracle.loss(stacked, batch)
    t_fwd = (time.perf_counter() - t0) / reps
    return {
        "queries_per_step": e.queries,
        "step_s": t_step,
        "batched_forward_s": t_fwd,
        "ratio": t_step / t_fwd,
    }


def curve_at(curve, budget):
    """(queries, validation accuracy) of the first evaluation at or past ``budget`` queries —
    evaluations fall every ``--eval-every`` steps, so the TT side may have spent a little more."""
    past = [(q, acc) for q, acc in curve if q >= budget]
    return list(past[0]) if past else (list(curve[-1]) if curve else None)


def run_dataset(dataset: str, args, work: Path) -> dict:
    family = "digits" if dataset == "digits" else "mnist"
    base = dict(
        dataset=dataset,
        data_dir=args.data_dir,
        batch_size=64,
        eval_every=args.eval_every,
        eval_size=args.eval_size,
        seed=0,
        lr=args.lr,
        schedule="cosine",
        output_gain=args.output_gain,
    )
    # a probe config to read the data once for BP and the test split
    probe = TrainConfig.of(**base)
    net_tt = build_network(f"{family}-tt")
    train, valid, test, source = prepare_data(probe, net_tt.in_features)
    if args.digital_subset is not None:  # a smoke run: the digital rows see a few images only
        train = (train[0][: args.digital_subset], train[1][: args.digital_subset])
    rows, extra = [], {}
    # at least --bp-min-steps Adam steps, so that the small digits set is not under-trained
    epochs = max(args.bp_epochs, -(-args.bp_min_steps * 64 // len(train[0])))
    common = {"phases": int(net_tt.phase_mask.sum()), "mzis": net_tt.n_mzis, "queries": 0}
    if "bp" in args.rows:
        bp, extra["bp"] = bp_rows(dataset, probe, net_tt, train, test, epochs, common, args.chips)
        rows += bp
    if "tpsgd" in args.rows:
        for method in ("tpsgd", "drtp"):
            rows.append(tp_digital(method, net_tt, train, valid, test, epochs, args.tp_lrs, common, dataset))
    configs = zo_configs(args)
    rows += chip_rows(dataset, args, base, configs, work)
    if "zo" in args.rows and not args.only:
        extra["step_overhead"] = step_overhead(
            TrainConfig.of(**base, **configs["zo-hybrid-tw"], model="tt", hardware="typical")
        )
    return {"dataset": dataset, "source": source, "rows": rows, **extra}


def bp_rows(
    dataset: str, probe: TrainConfig, network, train, test, epochs: int, common: dict, chips=BP_CHIPS
):
    """(the BP reference's rows: digital, then deployed on the ideal and the typical chip and on the
    other chips of ``--chips``; its stats)."""
    print(f"[{dataset}] BP reference", flush=True)
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        weights, stats = train_backprop(
            network, train[0].numpy(), train[1].numpy(), epochs=epochs, lr=3e-3, progress=True
        )
        bp_wall = time.perf_counter() - t0
    program = deploy(network, weights)
    rows = [
        {
            "row": "bp (digital)",
            "hardware": "-",
            "test_acc": digital_accuracy(network, weights, *test),
            "wall_s": round(bp_wall, 1),
            "peak_mib": mem.mib,
            **common,
            "steps": stats["steps"],
        }
    ]
    for hw in dict.fromkeys([*BP_CHIPS, *chips]):
        rows.append(
            {
                "row": "bp → chip",
                "hardware": hw,
                "test_acc": chip_accuracy(probe, hw, program, test),
                "wall_s": round(bp_wall, 1),
                **common,
                "queries": 1,
            }
        )
    return rows, stats


def zo_configs(args) -> dict:
    """The chip-trained TT rows that ``--rows`` and ``--only`` ask for: name → TrainConfig fields."""
    configs = {}
    if "zo" in args.rows:
        configs["zo-rge"] = dict(estimator="rge", tensorwise=False, q=10)
        configs["zo-hybrid-tw"] = dict(
            estimator="hybrid", tensorwise=True, q=args.tw_q, cge_subset=args.cge_subset, patience=3
        )
    if "tpsgd" in args.rows:
        configs["zo-layer-local"] = dict(
            estimator="layer-local", tensorwise=False, q=10, joint=True, local_loss="mse"
        )
    if args.only:
        configs = {k: v for k, v in configs.items() if k in args.only}
    return configs


def chip_rows(dataset: str, args, base: dict, configs: dict, work: Path) -> list[dict]:
    """The chip-trained rows: each of ``configs`` on each of ``--chips``, then the dense network."""
    budget = args.budget if dataset != "digits" else args.digits_budget
    rows = []
    for name, more in configs.items():
        for hw in args.chips:
            config = TrainConfig.of(
                **base, **more, model="tt", hardware=hw, max_queries=budget, steps=budget
            )  # steps: an upper bound; the query budget stops the run
            config = config.replace(steps=_steps_for(config, budget))
            print(
                f"[{dataset}] {name} on the {hw} chip: {config.steps} steps, {budget:,} queries", flush=True
            )
            rows.append(zo_run(f"{dataset}-{name}-{hw}", config, work) | {"row": name})
    if "dense" in args.rows:
        dense_budget = args.dense_budget if dataset != "digits" else budget
        config = TrainConfig.of(
            **base,
            estimator="rge",
            tensorwise=False,
            q=10,
            model="dense",
            hardware="ideal",
            max_queries=dense_budget,
            steps=dense_budget,
        )
        config = config.replace(steps=_steps_for(config, dense_budget))
        print(
            f"[{dataset}] zo-dense on the ideal chip: {config.steps} steps, {dense_budget:,} queries",
            flush=True,
        )
        rows.append(zo_run(f"{dataset}-zo-dense-ideal", config, work) | {"row": "zo-dense"})
    return rows


def tp_digital(
    method: str, network, train, valid, test, epochs: int, lrs, common: dict, dataset: str
) -> dict:
    """Target projection on the network's weights: each learning rate in ``lrs``, best epoch on
    validation kept; the row reports the learning rate with the best validation accuracy."""
    best = None
    with PeakMemory() as mem:
        t0 = time.perf_counter()
        for lr in lrs:
            print(f"[{dataset}] {method} (digital), lr {lr:g}", flush=True)
            weights, stats = train_tpsgd(
                network,
                train[0].numpy(),
                train[1].numpy(),
                method=method,
                epochs=epochs,
                lr=lr,
                valid=(valid[0].numpy(), valid[1].numpy()),
                progress=True,
            )
            if best is None or stats["valid_acc"] > best[1]["valid_acc"]:
                best = (weights, stats | {"lr": lr})
        wall = time.perf_counter() - t0
    weights, stats = best
    return {
        "row": f"{method} (digital)",
        "hardware": "-",
        "test_acc": digital_accuracy(network, weights, *test),
        "wall_s": round(wall, 1),
        "peak_mib": mem.mib,
        **common,
        "steps": stats["steps"] * len(lrs),
        "lr": stats["lr"],
        "best_epoch": stats["best_epoch"],
        "local_loss": stats["local_loss"],
        "methods": [f"{stats['local_loss']} local loss, lr {stats['lr']:g} of {', '.join(map(str, lrs))}"],
    }


def _steps_for(config: TrainConfig, budget: int) -> int:
    """Steps ``budget`` queries buy at the cost of a first step (an upper bound for a hybrid)."""
    chip = build_chip(config)
    return max(1, budget // make_estimators(config, chip.oracle())[0].queries_per_step(chip.n_params))


def equal_budget(ds: dict) -> dict | None:
    """Validation accuracy of the dense run at its budget and of each TT run (ideal chip) at the same
    point."""
    dense = next((r for r in ds["rows"] if r["row"] == "zo-dense"), None)
    at = dense["curve"][-1] if dense and dense["curve"] else None
    if at is None:
        return None
    tt = {
        r["row"]: curve_at(r["curve"], at[0])
        for r in ds["rows"]
        if r.get("curve") and r["hardware"] == "ideal" and r["row"] != "zo-dense"
    }
    return {"dense": at, "tt": tt}


def _mib(value) -> str:
    return "-" if value is None else f"{value:,}"


def markdown(results: dict) -> str:
    lines = [
        "# MNIST-family table: BP vs BP-free training of the same optical network",
        "",
        f"`python benchmarks/mnist_table.py {results['argv']}` — {results['machine']}",
        "",
        *provenance_markdown(results),
        "Test accuracy of the chip-trained rows is that of the phases kept: the best on validation, the "
        "start included (rows run before that rule report their last step); *last step* is the "
        "accuracy of the final phases.",
        "",
    ]
    for ds in results["datasets"]:
        lines += dataset_markdown(ds)
    return "\n".join(lines) + "\n"


def provenance_markdown(results: dict) -> list[str]:
    """The commit and seeds a run recorded (runs made before they were recorded: nothing), and the
    results' ``notes`` (a list of paragraphs, written into the JSON by hand: what is missing and why)."""
    notes = [line for note in results.get("notes", []) for line in (note, "")]  # added by hand, if any
    if "commit" not in results:
        return notes
    return [
        f"Commit {results['commit']}. Seeds: every row seed 0 (initial phases, batches, directions, BP "
        "initialisation) and chip seed 0 (fabrication errors, per-query noise); data split seed 0.",
        "",
        *notes,
    ]


def dataset_markdown(ds: dict) -> list[str]:
    lines = [
        f"## {ds['dataset']}",
        "",
        f"Data: {ds['source']}.",
        "",
        "| row | chip | test acc. | last step | training queries | wall (s) | peak memory (MiB) "
        "| phases | MZIs | estimators used |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in ds["rows"]:
        last = f"{100 * r['final_test_acc']:.1f} %" if "final_test_acc" in r else "-"
        lines.append(
            f"| {r['row']} | {r['hardware']} | {100 * r['test_acc']:.1f} % | {last} | {r['queries']:,} | "
            f"{r['wall_s']} | {_mib(r.get('peak_mib'))} | {r['phases']:,} | {r['mzis']:,} | "
            f"{', '.join(r.get('methods', [])) or '-'} |"
        )
    lines += queries_to_markdown(ds)
    eq = equal_budget(ds)
    lines.append("")
    if eq is not None:
        tt = ", ".join(f"{k} {100 * v[1]:.1f} % at {v[0]:,}" for k, v in eq["tt"].items() if v is not None)
        lines.append(
            f"Equal budget (ideal chip, validation accuracy at the dense run's last evaluation; "
            f"TT at its first evaluation past that many queries): dense {100 * eq['dense'][1]:.1f} % at "
            f"{eq['dense'][0]:,} queries; TT {tt} queries."
        )
    ov = ds.get("step_overhead")
    if ov:
        lines.append(
            f"ZO step overhead (zo-hybrid-tw, typical chip, {ov['queries_per_step']} queries/step): "
            f"step {1e3 * ov['step_s']:.0f} ms vs one batched forward "
            f"{1e3 * ov['batched_forward_s']:.0f} ms "
            f"→ ratio {ov['ratio']:.2f}."
        )
    lines.append("")
    return lines


def queries_to_markdown(ds: dict) -> list[str]:
    reached = [r for r in ds["rows"] if r.get("queries_to")]
    if not reached:
        return []
    keys = list(reached[0]["queries_to"])
    lines = [
        "",
        "Training queries to first reach a validation accuracy (evaluations every "
        f"{ds.get('eval_every', '?')} steps; – = not reached within the budget):",
        "",
        "| row | chip | " + " | ".join(keys) + " |",
        "|---|---|" + "---:|" * len(keys),
    ]
    for r in reached:
        cells = ("–" if r["queries_to"][k] is None else f"{r['queries_to'][k]:,}" for k in keys)
        lines.append(f"| {r['row']} | {r['hardware']} | " + " | ".join(cells) + " |")
    return lines


def merge_rows(previous: dict, new: dict) -> dict:
    """``new`` with the rows of ``previous`` it did not re-run (same dataset), in table order."""
    ran = {(r["row"], r["hardware"]) for r in new["rows"]}
    kept = [r for r in previous["rows"] if (r["row"], r["hardware"]) not in ran]
    order = [
        "bp (digital)",
        "bp → chip",
        "tpsgd (digital)",
        "drtp (digital)",
        "zo-rge",
        "zo-hybrid-tw",
        "zo-layer-local",
        "zo-dense",
    ]
    rows = sorted(
        kept + new["rows"],
        key=lambda r: (
            order.index(r["row"]) if r["row"] in order else len(order),
            r["hardware"] != "-",
            r["hardware"] != "ideal",
        ),
    )
    return previous | {k: v for k, v in new.items() if k != "rows"} | {"rows": rows}


def plot(results: dict, path: Path) -> None:
    plt = pyplot()
    sets = results["datasets"]
    fig, axes = plt.subplots(1, len(sets), figsize=(5.2 * len(sets), 3.8), squeeze=False)
    for ax, ds in zip(axes[0], sets):
        for r in ds["rows"]:
            if r.get("curve"):
                q, acc = zip(*r["curve"])
                ax.plot(
                    q,
                    [100 * a for a in acc],
                    "o-" if r["hardware"] == "ideal" else "s--",
                    ms=2.5,
                    label=f"{r['row']} ({r['hardware']})",
                )
        for name, style in (("bp (digital)", ":"), ("tpsgd (digital)", "-.")):
            ref = next((r for r in ds["rows"] if r["row"] == name), None)
            if ref is not None:
                ax.axhline(100 * ref["test_acc"], color="k", lw=0.8, ls=style, label=f"{name} (test)")
        ax.set(
            xscale="log",
            xlabel="training forward queries",
            ylabel="validation accuracy (%)",
            title=ds["dataset"],
        )
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    save_figure(fig, path)
    plt.close(fig)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_training_options(parser)
    add_run_options(parser)
    return parser


def add_training_options(parser: argparse.ArgumentParser) -> None:
    """What the rows train: datasets, budgets, estimators, learning rates."""
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist", "fashion-mnist"])
    parser.add_argument(
        "--budget", type=int, default=20000, help="training queries per ZO TT run (MNIST-size)"
    )
    parser.add_argument(
        "--dense-budget", type=int, default=1000, help="training queries of the dense ZO run (MNIST-size)"
    )
    parser.add_argument(
        "--digits-budget", type=int, default=60000, help="training queries per ZO run on digits"
    )
    parser.add_argument(
        "--tw-q", type=int, default=1, help="± pairs per slice and step of the tensor-wise estimator"
    )
    parser.add_argument(
        "--cge-subset", type=int, default=256, help="coordinates per CGE step after the switch"
    )
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument(
        "--output-gain", type=float, default=10.0, help="the chip's readout gain for every ZO run"
    )
    parser.add_argument(
        "--tp-lrs",
        type=float,
        nargs="+",
        default=[1e-3, 3e-3, 1e-2],
        help="learning rates tried for digital tpSGD/DRTP (picked on validation)",
    )
    parser.add_argument(
        "--rows",
        nargs="+",
        choices=ROW_GROUPS,
        default=list(ROW_GROUPS),
        help="row groups to run: bp (and bp → chip), zo (rge, hybrid), dense, tpsgd (digital "
        "tpSGD/DRTP and layer-local ZO)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=("zo-rge", "zo-hybrid-tw", "zo-layer-local"),
        default=None,
        help="of the chip-trained TT rows, run only these",
    )
    parser.add_argument(
        "--chips",
        nargs="+",
        choices=tuple(PRESETS),
        default=["ideal", "typical"],
        metavar="PRESET",
        help="hardware presets for the chip-trained TT rows (any of: " + ", ".join(PRESETS) + "); the "
        "bp → chip rows deploy onto ideal, typical and these",
    )
    parser.add_argument("--bp-epochs", type=int, default=3)
    parser.add_argument("--bp-min-steps", type=int, default=2000, help="BP: at least this many Adam steps")
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--eval-size", type=int, default=1000)
    parser.add_argument("--data-dir", default=None)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Where the results go, and how the run treats earlier ones."""
    parser.add_argument(
        "--name",
        default="mnist_table",
        help="stem of the results files (e.g. for a run at another budget)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=RESULTS,
        help="folder of the results files (default: the committed benchmarks/results)",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep what an existing results file has that this run does not re-run (other "
        "datasets, other rows)",
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=None,
        help="keep the chip-trained rows' run directories here: a rerun resumes an interrupted run and "
        "reads a finished one back (default: a temporary folder, deleted at the end)",
    )
    parser.add_argument(
        "--digital-subset",
        type=int,
        default=None,
        help="the digital rows (bp, tpsgd, drtp) train on the first N training images only (smoke runs; "
        "default: all)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="rewrite the Markdown table and the plot from the existing JSON, run nothing",
    )


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    if args.report_only:
        results = json.loads((args.out / f"{args.name}.json").read_text())
        atomic_write_text(args.out / f"{args.name}.md", markdown(results))
        plot(results, args.out / f"{args.name}.png")
        print(markdown(results))
        return 0
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    results = {
        "argv": " ".join(sys.argv[1:] if argv is None else argv),
        "machine": f"{platform.processor() or platform.machine()}, {args.threads} threads, "
        f"torch {torch.__version__}",
        "commit": git_commit(),
        "datasets": [],
    }
    kept = {}
    if args.merge and (args.out / f"{args.name}.json").exists():
        previous = json.loads((args.out / f"{args.name}.json").read_text())
        kept = {d["dataset"]: d for d in previous["datasets"]}
        results["argv"] = previous["argv"] + " ; then " + results["argv"]
    done = {}
    with tempfile.TemporaryDirectory(prefix="photonzo-bench-") as temporary:
        work = Path(temporary) if args.work_dir is None else args.work_dir
        work.mkdir(parents=True, exist_ok=True)
        for dataset in args.datasets:
            new = run_dataset(dataset, args, work) | {"eval_every": args.eval_every}
            done[dataset] = merge_rows(kept[dataset], new) if dataset in kept else new
            merged = kept | done
            results["datasets"] = [
                merged[name] for name in ("digits", "mnist", "fashion-mnist") if name in merged
            ]
            # after each dataset: partial results are complete files, never half-written
            atomic_write_json(args.out / f"{args.name}.json", results)
            atomic_write_text(args.out / f"{args.name}.md", markdown(results))
            plot(results, args.out / f"{args.name}.png")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
