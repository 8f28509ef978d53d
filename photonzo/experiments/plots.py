"""Plots of training runs and sweeps (matplotlib, headless)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from ..io import atomic_file
from .config import MODEL_FOR
from .results import method_switches, read_metrics, read_summary, summarise


def pyplot():
    """matplotlib's pyplot (imported on first use: it is slow to import), on the headless Agg backend
    unless a backend was chosen already (``MPLBACKEND``, or pyplot imported before): a notebook keeps
    its inline backend, so its own figures still show after a run's curves are drawn."""
    import sys

    import matplotlib

    if "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Save atomically: a plot is the old file or the complete new one."""
    path = Path(path)
    with atomic_file(path, "wb") as f:
        fig.savefig(f, format=path.suffix.lstrip(".") or "png", dpi=130, bbox_inches="tight")
    return path


def query_formatter():
    """Tick labels of a query count in engineering notation (``250k``, ``1.5M``): short enough that
    the labels of a long run never run into each other."""
    from matplotlib.ticker import EngFormatter

    return EngFormatter(sep="")


def evaluation_of(history: list[dict], step: int) -> dict | None:
    """The evaluation record after step ``step`` (a record's ``step`` counts from 0: the evaluation
    after ``step`` steps is in the record of step ``step - 1``), or None (step 0 is the start)."""
    hits = [r for r in history if r["step"] == step - 1 and "val_loss" in r]
    return hits[-1] if hits else None


def best_step(history: list[dict], key: str, sense: str) -> int | None:
    """The step whose evaluation is best on ``key`` (``"max"`` or ``"min"``; ties keep the earlier),
    counted as a summary's ``kept_step`` is (steps done); None if no evaluation has ``key``."""
    evals = [r for r in history if key in r]
    if not evals:
        return None
    pick = max if sense == "max" else min  # both return the first of equals
    return pick(evals, key=lambda r: r[key])["step"] + 1


def _mark_kept(ax, history: list[dict], kept_step: int, metrics: dict, scale: float, label: str) -> None:
    """A vertical line at the kept step's queries and a star on each metric's value there."""
    record = evaluation_of(history, kept_step)
    if record is None and kept_step != 0:
        return
    queries = 0 if record is None else record["queries"]
    label = label.format("the start" if kept_step == 0 else f"step {kept_step:,}")
    values = [scale * record[key] for key in metrics if record is not None and key in record]
    ax.axvline(queries, color="C3", ls=":", lw=1.2, label=None if values else label)
    if values:
        ax.plot(
            [queries] * len(values),
            values,
            "*",
            color="C3",
            ms=11,
            mec="black",
            mew=0.5,
            zorder=5,
            label=label,
        )


def plot_training(
    history: list[dict],
    path,
    title: str = "",
    loss_label: str = "cross-entropy",
    metrics: dict | None = None,
    metric_label: str = "validation accuracy (%)",
    scale: float = 100,
    log: bool = False,
    kept_step: int | None = None,
    kept_label: str = "kept: {}, the best on validation",
) -> Path:
    """Training loss and validation metrics (default: accuracy) against forward queries; the kept
    (best validated) step ``kept_step``, when given, is marked on the metrics panel and named in its
    legend by ``kept_label`` (``{}``: the step, or "the start")."""
    plt = pyplot()
    metrics = metrics or {"val_acc": None}
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    queries = [r["queries"] for r in history]
    ax_loss.plot(queries, [r["loss"] for r in history], lw=0.6, alpha=0.5, label="batch loss")
    evals = [r for r in history if "val_loss" in r]
    ax_loss.plot(
        [r["queries"] for r in evals], [r["val_loss"] for r in evals], "o-", ms=3, label="validation loss"
    )
    ax_loss.set(ylabel=loss_label, title="loss", yscale="log" if log else "linear")
    ax_loss.legend()
    for key, label in metrics.items():
        ax_acc.plot([r["queries"] for r in evals], [scale * r[key] for r in evals], "o-", ms=3, label=label)
    ax_acc.set(ylabel=metric_label, title=metric_label.split(" (")[0], yscale="log" if log else "linear")
    if kept_step is not None:
        _mark_kept(ax_acc, history, kept_step, metrics, scale, kept_label)
    if ax_acc.get_legend_handles_labels()[1]:
        ax_acc.legend(fontsize=8)
    for r in method_switches(history):
        for ax in (ax_loss, ax_acc):
            ax.axvline(r["queries"], color="grey", ls="--", lw=0.8)
        ax_acc.annotate(
            f"→ {r['method']}",
            (r["queries"], ax_acc.get_ylim()[0]),
            fontsize=7,
            rotation=90,
            va="bottom",
            ha="right",
        )
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("forward queries (training)")
        ax.xaxis.set_major_formatter(query_formatter())
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    out = save_figure(fig, path)
    plt.close(fig)
    return out


def plot_run(run_dir) -> Path:
    """``curves.png`` of a run directory, drawn from its ``config.json``, ``metrics.jsonl`` and, once
    finished, ``summary.json`` alone (so a finished, resumed or interrupted run can be drawn, or
    redrawn, at any time). The kept step is the summary's ``kept_step``, else the best evaluation
    so far (the highest ``val_acc``; a PINN run's lowest ``val_loss``)."""
    run_dir = Path(run_dir)
    config, history = json.loads((run_dir / "config.json").read_text()), read_metrics(run_dir)
    kept = (read_summary(run_dir) or {}).get("kept_step")
    path = run_dir / "curves.png"
    if "pde" in config:  # a PINN run
        title = (
            f"{config['pde']}-{config['dim']} on the {config['hardware']} chip, "
            f"{config['estimator']} derivatives"
        )
        return plot_training(
            history,
            path,
            title=title,
            loss_label="mean squared residual",
            metrics={"rel_l2": "u", "rel_l2_learned": "learned part"},
            metric_label="relative ℓ2 error",
            scale=1,
            log=True,
            kept_step=best_step(history, "val_loss", "min") if kept is None else kept,
            kept_label="best on validation (lowest loss): {}",
        )
    model = f"{MODEL_FOR[config['dataset']]}-{config['model']}"
    tw = " tensor-wise" if config["tensorwise"] else ""
    title = f"{model} on {config['dataset']}, {config['estimator']}{tw}, {config['hardware']} chip"
    kept = best_step(history, "val_acc", "max") if kept is None else kept
    return plot_training(history, path, title=title, kept_step=kept)


# ---- sweeps ---------------------------------------------------------------------------------------

AXIS_LABELS = {
    "phase_bits": "phase DAC resolution (bits)",
    "phase_noise_std": "phase noise σ (rad)",
    "phase_bias": "static phase bias half-width (rad)",
    "gamma_std": "phase-shifter gain error σ_γ",
    "crosstalk": "thermal crosstalk κ",
    "bs_error_std": "beam-splitter error σ (rad)",
    "insertion_loss_db": "insertion loss per MZI (dB)",
    "detector_noise_std": "detector noise (relative)",
    "shot_noise_photons": "photons per unit power",
    "input_bits": "input DAC bits",
    "output_bits": "output ADC bits",
}
MODE_STYLE = {"deploy": "--", "in-situ": "-", "calibrated": ":"}


def _sweep_axes(points: list[dict]) -> list[str]:
    """The fields that vary over the points, phase bits first."""
    fields = list(dict.fromkeys(f for p in points for f in p))
    varying = [f for f in fields if len({repr(p.get(f)) for p in points}) > 1]
    return sorted(varying, key=lambda f: (f != "phase_bits", fields.index(f)))


def _num(v) -> float:
    return float("inf") if v is None else float(v)


def _value_label(value) -> str:
    return "off" if value is None else str(value)


def _x_positions(values: list) -> dict:
    """Where each value of the x field sits: itself, and None ("off", e.g. no quantisation) one
    average spacing beyond the largest value, at the right edge."""
    finite = sorted({v for v in values if v is not None})
    where = {v: float(v) for v in finite}
    if None in values:
        spacing = (finite[-1] - finite[0]) / (len(finite) - 1) if len(finite) > 1 else 1.0
        where[None] = finite[-1] + spacing if finite else 0.0
    return where


def _save_both(fig, path: Path) -> list[Path]:
    """PNG and SVG of one figure."""
    return [save_figure(fig, path.with_suffix(suffix)) for suffix in (".png", ".svg")]


def _legends(ax, modes: list[str], mode_colours: dict, name: str | None, values: list, colours) -> None:
    """Beside the axes: one legend of the modes in their line styles, and, when a second field
    varies (``name``), one of its values in their colours."""
    from matplotlib.lines import Line2D

    def handle(label, **style):
        return Line2D([], [], label=label, **style)

    styles = [
        handle(mode, color=mode_colours[mode], ls=MODE_STYLE.get(mode, "-"), marker="o", ms=4, lw=1.5)
        for mode in modes
    ]
    common = {"fontsize": 7, "title_fontsize": 7, "loc": "upper left", "frameon": False}
    first = ax.legend(handles=styles, title="mode", handlelength=4, bbox_to_anchor=(1.01, 1), **common)
    if name is None:
        return
    ax.add_artist(first)
    shades = [handle(_value_label(v), color=c, lw=3) for c, v in zip(colours, values)]
    common["loc"] = "lower left"
    ax.legend(handles=shades, title=name, handlelength=2, bbox_to_anchor=(1.01, 0), **common)


def _accuracy_lines(plt, sweep, rows, x_field, line_field, line_values, path: Path) -> list[Path]:
    """Accuracy against ``x_field``, one line per (mode, value of ``line_field``): the mode in the
    line style (deploy dashed, in-situ solid, calibrated dotted), the value in the colour; with no
    second field, the mode in the colour too."""
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, max(1, len(line_values))))
    modes = [m for m in sweep.modes if any(r["mode"] == m for r in rows)]
    mode_colours = {m: "black" if line_field else f"C{i}" for i, m in enumerate(modes)}
    ticks = _x_positions([r[x_field] for r in rows])
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for mode in modes:
        for colour, lv in zip(colours, line_values):
            pts = sorted(
                (r for r in rows if r["mode"] == mode and (line_field is None or r.get(line_field) == lv)),
                key=lambda r: _num(r[x_field]),
            )
            if pts:
                ax.errorbar(
                    [ticks[r[x_field]] for r in pts],
                    [100 * r["test_acc_mean"] for r in pts],
                    yerr=[100 * r["test_acc_std"] for r in pts],
                    ls=MODE_STYLE.get(mode, "-"),
                    marker="o",
                    ms=4,
                    capsize=3,
                    color=colour if line_field else mode_colours[mode],
                )
    ax.set_xticks(list(ticks.values()), [_value_label(v) for v in ticks])
    seeds = f"{len(sweep.seeds)} seed{'s' if len(sweep.seeds) > 1 else ''}"
    ax.set(
        xlabel=AXIS_LABELS.get(x_field, x_field),
        ylabel="test accuracy (%)",
        title=f"{sweep.train.get('dataset', 'digits')}: accuracy on the noisy chip (mean ± std over {seeds})",
    )
    ax.grid(alpha=0.3)
    name = AXIS_LABELS.get(line_field, line_field) if line_field else None
    _legends(ax, modes, mode_colours, name, line_values, colours)
    written = _save_both(fig, path)
    plt.close(fig)
    return written


def _accuracy_heatmaps(plt, sweep, rows, x_field, line_field, line_values, path: Path) -> list[Path]:
    """One accuracy heatmap per mode over (``x_field``, ``line_field``)."""
    xs = sorted({r[x_field] for r in rows}, key=_num)
    modes = len(sweep.modes)
    fig, axs = plt.subplots(1, modes, figsize=(4.6 * modes, 3.8), squeeze=False, layout="constrained")
    for ax, mode in zip(axs[0], sweep.modes):
        grid = np.full((len(line_values), len(xs)), np.nan)
        for r in rows:
            if r["mode"] == mode:
                grid[line_values.index(r[line_field]), xs.index(r[x_field])] = 100 * r["test_acc_mean"]
        image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis", vmin=0, vmax=100)
        for (i, j), v in np.ndenumerate(grid):
            if np.isfinite(v):
                colour = "white" if v < 60 else "black"
                ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=7, color=colour)
        ax.set_xticks(range(len(xs)), [_value_label(x) for x in xs])
        ax.set_yticks(range(len(line_values)), [_value_label(v) for v in line_values])
        ax.set(xlabel=AXIS_LABELS.get(x_field, x_field), title=f"{mode}: test accuracy (%)")
    axs[0][0].set_ylabel(AXIS_LABELS.get(line_field, line_field))
    fig.colorbar(image, ax=axs[0].tolist(), label="test accuracy (%)")
    written = _save_both(fig, path)
    plt.close(fig)
    return written


def plot_sweep(sweep, results: list[dict], out_dir) -> list[Path]:
    """Accuracy against the first varying field (one line per value of the second; deploy dashed,
    in-situ solid, calibrated dotted; error bars = std over seeds) and, for two varying fields,
    one accuracy heatmap per mode. PNG and SVG; returns the paths written."""
    rows = summarise(results, sweep.points, sweep.modes)
    axes_fields = _sweep_axes(sweep.points)
    if not rows or not axes_fields:
        return []
    plt, out_dir = pyplot(), Path(out_dir)
    x_field = axes_fields[0]
    line_field = axes_fields[1] if len(axes_fields) > 1 else None
    line_values = sorted({r.get(line_field) for r in rows}, key=_num) if line_field else [None]
    args = (plt, sweep, rows, x_field, line_field, line_values)
    written = _accuracy_lines(*args, out_dir / f"accuracy_vs_{x_field}.png")
    if line_field is not None:
        written += _accuracy_heatmaps(*args, out_dir / f"heatmap_{x_field}_{line_field}.png")
    return written
