"""The MNIST-family table: BP against BP-free (zeroth-order) training of the same optical MLP.

One run, one table per dataset. Model: the TONN reference TT MLP 784 → 1024 → 10 (ReLU; layer 1
TT [7,4,4,7]→[8,4,4,8], layer 2 [8,4,4,8]→[1,5,2,1], rank 6) and its dense counterpart; for
``digits`` the small 64 → 64 → 10 pair. Rows:

  bp                 the TT network trained digitally by autograd (Adam), ideal digital accuracy
  bp → chip          those weights programmed with from_weights onto the ideal / typical chip
  zo-rge             ZO, whole-vector RGE (Rademacher, antithetic, q = 10), ideal / typical chip
  zo-hybrid-tw       ZO, tensor-wise sign-RGE (one ± pair per TT core and bias) then CGE on a
                     random coordinate subset when validation stalls, ideal / typical chip
  zo-dense           ZO, whole-vector RGE on the dense network (ideal chip) at ``--dense-budget``;
                     the TT runs' validation accuracy at the same query count is read off their
                     learning curves for the equal-budget comparison

Columns: test accuracy (through the chip, noise on), training forward queries, wall time,
phase count, MZI count. Also measured: a ZO step's wall time against one batched forward of
the same number of settings (the estimator's overhead).

Writes ``benchmarks/results/mnist_table.{json,md,png}``.

    python benchmarks/mnist_table.py --datasets digits mnist fashion-mnist --budget 20000
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from photonzo.io import atomic_write_json, atomic_write_text
from photonzo.photonics.chip import Chip
from photonzo.photonics.hardware import HardwareModel
from photonzo.photonics.network import build_network
from photonzo.plots import save_figure
from photonzo.training.backprop import deploy, digital_accuracy, train_backprop
from photonzo.training.estimators import build_estimator
from photonzo.training.runs import TrainConfig, build_chip, make_trainer, prepare_data
from photonzo.training.zo import ZOTrainer

RESULTS = Path(__file__).parent / "results"


def chip_accuracy(network, hardware: str, phases, x, y, chunk: int = 1000) -> float:
    chip = Chip(network, hardware, seed=0)
    p = torch.as_tensor(phases)[None]
    out = torch.cat([chip.outputs(p, x[i:i + chunk])[0] for i in range(0, len(x), chunk)])
    return float((out.argmax(-1) == y).double().mean())


def zo_run(name, config: TrainConfig, work: Path, test) -> dict:
    chip = build_chip(config)
    train, valid, _, _ = prepare_data(config, chip.network.in_features)
    trainer = make_trainer(config, chip.oracle(), train, valid, work / name, progress=True)
    trainer.run()
    final = trainer.evaluate(data=test)
    curve = [(r["queries"], r["val_acc"]) for r in trainer.history if "val_acc" in r]
    methods = sorted({r["method"] for r in trainer.history})
    switch = next((r["queries"] for a, r in zip(trainer.history, trainer.history[1:]) if a["method"] != r["method"]), None)
    return {"row": name, "test_acc": final["val_acc"], "queries": trainer.train_queries, "wall_s": round(trainer.wall, 1),
            "steps": trainer.step, "phases": int(chip.network.phase_mask.sum()), "mzis": chip.network.n_mzis,
            "hardware": config.hardware, "methods": methods, "switched_at_queries": switch, "curve": curve}


def step_overhead(config: TrainConfig, reps: int = 3) -> dict:
    """One ZO step against one batched forward of the same number of settings."""
    chip = build_chip(config)
    oracle = chip.oracle()
    train, _, _, _ = prepare_data(config, chip.network.in_features)
    est = build_estimator(config.estimator, oracle, q=config.q, tensorwise=config.tensorwise, mu=config.mu)
    params = oracle.initial_params(0).double()
    batch = (train[0][:config.batch_size], train[1][:config.batch_size])
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
    return {"queries_per_step": e.queries, "step_s": t_step, "batched_forward_s": t_fwd, "ratio": t_step / t_fwd}


def curve_at(curve, budget):
    """(queries, validation accuracy) of the first evaluation at or past ``budget`` queries —
    evaluations fall every ``--eval-every`` steps, so the TT side may have spent a little more."""
    past = [(q, acc) for q, acc in curve if q >= budget]
    return list(past[0]) if past else (list(curve[-1]) if curve else None)


def run_dataset(dataset: str, args, work: Path) -> dict:
    family = "digits" if dataset == "digits" else "mnist"
    base = dict(dataset=dataset, data_dir=args.data_dir, batch_size=64, eval_every=args.eval_every,
                eval_size=args.eval_size, seed=0, lr=args.lr, schedule="cosine")
    # a probe config to read the data once for BP and the test split
    probe = TrainConfig(**base)
    net_tt = build_network(f"{family}-tt")
    train, valid, test, source = prepare_data(probe, net_tt.in_features)
    rows = []

    print(f"[{dataset}] BP reference", flush=True)
    t0 = time.perf_counter()
    # at least --bp-min-steps Adam steps, so that the small digits set is not under-trained
    epochs = max(args.bp_epochs, -(-args.bp_min_steps * 64 // len(train[0])))
    weights, stats = train_backprop(net_tt, train[0].numpy(), train[1].numpy(), epochs=epochs, lr=3e-3, progress=True)
    bp_wall = time.perf_counter() - t0
    phases = deploy(net_tt, weights)  # also sets the network's electronic gains
    common = {"phases": int(net_tt.phase_mask.sum()), "mzis": net_tt.n_mzis, "queries": 0}
    rows.append({"row": "bp (digital)", "hardware": "-", "test_acc": digital_accuracy(net_tt, weights, *test),
                 "wall_s": round(bp_wall, 1), **common})
    for hw in ("ideal", "typical"):
        rows.append({"row": "bp → chip", "hardware": hw, "test_acc": chip_accuracy(net_tt, hw, phases, *test),
                     "wall_s": round(bp_wall, 1), **common, "queries": 1})

    budget = args.budget if dataset != "digits" else args.digits_budget
    configs = {
        "zo-rge": dict(estimator="rge", tensorwise=False, q=10),
        "zo-hybrid-tw": dict(estimator="hybrid", tensorwise=True, q=args.tw_q, cge_subset=args.cge_subset, patience=3),
    }
    for name, extra in configs.items():
        for hw in ("ideal", "typical"):
            config = TrainConfig(**base, **extra, model="tt", hardware=hw, max_queries=budget,
                                 steps=budget)  # steps: an upper bound; the query budget stops the run
            config.steps = _steps_for(config, budget)
            print(f"[{dataset}] {name} on the {hw} chip: {config.steps} steps, {budget:,} queries", flush=True)
            rows.append(zo_run(f"{dataset}-{name}-{hw}", config, work, test) | {"row": name})
    dense_budget = args.dense_budget if dataset != "digits" else budget
    config = TrainConfig(**base, estimator="rge", tensorwise=False, q=10, model="dense", hardware="ideal",
                         max_queries=dense_budget, steps=dense_budget)
    config.steps = _steps_for(config, dense_budget)
    print(f"[{dataset}] zo-dense on the ideal chip: {config.steps} steps, {dense_budget:,} queries", flush=True)
    dense = zo_run(f"{dataset}-zo-dense-ideal", config, work, test) | {"row": "zo-dense"}
    rows.append(dense)
    equal = {"budget": dense_budget}
    overhead = step_overhead(TrainConfig(**base, **configs["zo-hybrid-tw"], model="tt", hardware="typical"))
    return {"dataset": dataset, "source": source, "rows": rows, "equal_budget": equal, "step_overhead": overhead,
            "bp": stats}


def _steps_for(config: TrainConfig, budget: int) -> int:
    chip = build_chip(config)
    est = build_estimator(config.estimator, chip.oracle(), q=config.q, tensorwise=config.tensorwise)
    return max(1, budget // est.queries_per_step(chip.n_params))


def equal_budget(ds: dict) -> dict:
    """Validation accuracy of the dense run at its budget and of each TT run (ideal chip) at the same point."""
    dense = next(r for r in ds["rows"] if r["row"] == "zo-dense")
    at = dense["curve"][-1] if dense["curve"] else None
    tt = {r["row"]: curve_at(r["curve"], at[0]) for r in ds["rows"]
          if r.get("curve") and r["hardware"] == "ideal" and r["row"] != "zo-dense"} if at else {}
    return {"dense": at, "tt": tt}


def markdown(results: dict) -> str:
    lines = ["# MNIST-family table: BP vs zeroth-order training on the simulated chip", "",
             f"`python benchmarks/mnist_table.py {results['argv']}` — {results['machine']}", ""]
    for ds in results["datasets"]:
        lines += [f"## {ds['dataset']}", "", f"Data: {ds['source']}.", "",
                  "| row | chip | test acc. | training queries | wall (s) | phases | MZIs | estimators used |",
                  "|---|---|---:|---:|---:|---:|---:|---|"]
        for r in ds["rows"]:
            lines.append(f"| {r['row']} | {r['hardware']} | {100 * r['test_acc']:.1f} % | {r['queries']:,} | "
                         f"{r['wall_s']} | {r['phases']:,} | {r['mzis']:,} | {', '.join(r.get('methods', [])) or '-'} |")
        eq = equal_budget(ds)
        tt = ", ".join(f"{k} {100 * v[1]:.1f} % at {v[0]:,}" for k, v in eq["tt"].items() if v is not None)
        dense = "n/a" if eq["dense"] is None else f"{100 * eq['dense'][1]:.1f} % at {eq['dense'][0]:,}"
        ov = ds["step_overhead"]
        lines += ["", f"Equal budget (ideal chip, validation accuracy at the dense run's last evaluation; "
                      f"TT at its first evaluation past that many queries): dense {dense} queries; TT {tt} queries.",
                  f"ZO step overhead (zo-hybrid-tw, typical chip, {ov['queries_per_step']} queries/step): "
                  f"step {1e3 * ov['step_s']:.0f} ms vs one batched forward {1e3 * ov['batched_forward_s']:.0f} ms "
                  f"→ ratio {ov['ratio']:.2f}.", ""]
    return "\n".join(lines) + "\n"


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sets = results["datasets"]
    fig, axes = plt.subplots(1, len(sets), figsize=(5.2 * len(sets), 3.8), squeeze=False)
    for ax, ds in zip(axes[0], sets):
        for r in ds["rows"]:
            if r.get("curve"):
                q, acc = zip(*r["curve"])
                ax.plot(q, [100 * a for a in acc], "o-" if r["hardware"] == "ideal" else "s--", ms=2.5,
                        label=f"{r['row']} ({r['hardware']})")
        bp = next(r for r in ds["rows"] if r["row"] == "bp (digital)")
        ax.axhline(100 * bp["test_acc"], color="k", lw=0.8, ls=":", label="BP (digital)")
        ax.set(xscale="log", xlabel="training forward queries", ylabel="validation accuracy (%)", title=ds["dataset"])
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    save_figure(fig, path)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist", "fashion-mnist"])
    parser.add_argument("--budget", type=int, default=20000, help="training queries per ZO TT run (MNIST-size)")
    parser.add_argument("--dense-budget", type=int, default=1000, help="training queries of the dense ZO run (MNIST-size)")
    parser.add_argument("--digits-budget", type=int, default=60000, help="training queries per ZO run on digits")
    parser.add_argument("--tw-q", type=int, default=1, help="± pairs per slice and step of the tensor-wise estimator")
    parser.add_argument("--cge-subset", type=int, default=256, help="coordinates per CGE step after the switch")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--bp-epochs", type=int, default=3)
    parser.add_argument("--bp-min-steps", type=int, default=2000, help="BP: at least this many Adam steps")
    parser.add_argument("--merge", action="store_true",
                        help="keep the other datasets of an existing results file, replacing those run now")
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--eval-size", type=int, default=1000)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the Markdown table and the plot from the existing JSON, run nothing")
    args = parser.parse_args(argv)
    if args.report_only:
        results = json.loads((RESULTS / "mnist_table.json").read_text())
        atomic_write_text(RESULTS / "mnist_table.md", markdown(results))
        plot(results, RESULTS / "mnist_table.png")
        print(markdown(results))
        return 0
    torch.set_num_threads(args.threads)
    RESULTS.mkdir(exist_ok=True)
    results = {"argv": " ".join(sys.argv[1:] if argv is None else argv),
               "machine": f"{platform.processor() or platform.machine()}, {args.threads} threads, torch {torch.__version__}",
               "datasets": []}
    kept = []
    if args.merge and (RESULTS / "mnist_table.json").exists():
        previous = json.loads((RESULTS / "mnist_table.json").read_text())
        kept = [d for d in previous["datasets"] if d["dataset"] not in args.datasets]
        results["argv"] = previous["argv"] + " ; then " + results["argv"]
    done = {}
    with tempfile.TemporaryDirectory(prefix="photonzo-bench-") as work:
        for dataset in args.datasets:
            done[dataset] = run_dataset(dataset, args, Path(work))
            merged = {d["dataset"]: d for d in kept} | done
            results["datasets"] = [merged[name] for name in ("digits", "mnist", "fashion-mnist") if name in merged]
            # after each dataset: partial results are complete files, never half-written
            atomic_write_json(RESULTS / "mnist_table.json", results)
            atomic_write_text(RESULTS / "mnist_table.md", markdown(results))
            plot(results, RESULTS / "mnist_table.png")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
