"""Plots of training runs (matplotlib, headless)."""

from __future__ import annotations

import os
from pathlib import Path

from .io import atomic_file


def _figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Save atomically: a plot is the old file or the complete new one."""
    path = Path(path)
    with atomic_file(path, "wb") as f:
        fig.savefig(f, format=path.suffix.lstrip(".") or "png", dpi=130, bbox_inches="tight")
    return path


def plot_training(history: list[dict], path, title: str = "", loss_label: str = "cross-entropy",
                  metrics: dict | None = None, metric_label: str = "validation accuracy (%)", scale: float = 100,
                  log: bool = False) -> Path:
    """Training loss and validation metrics (default: accuracy) against forward queries."""
    plt = _figure()
    metrics = metrics or {"val_acc": None}
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    queries = [r["queries"] for r in history]
    ax_loss.plot(queries, [r["loss"] for r in history], lw=0.6, alpha=0.5, label="batch loss")
    evals = [r for r in history if "val_loss" in r]
    ax_loss.plot([r["queries"] for r in evals], [r["val_loss"] for r in evals], "o-", ms=3, label="validation loss")
    ax_loss.set(xlabel="forward queries (training)", ylabel=loss_label, title="loss", yscale="log" if log else "linear")
    ax_loss.legend()
    for key, label in metrics.items():
        ax_acc.plot([r["queries"] for r in evals], [scale * r[key] for r in evals], "o-", ms=3, label=label)
    if any(metrics.values()):
        ax_acc.legend()
    ax_acc.set(xlabel="forward queries (training)", ylabel=metric_label, title=metric_label.split(" (")[0],
               yscale="log" if log else "linear")
    switches = [r for a, r in zip(history, history[1:]) if a["method"] != r["method"]]
    for r in switches:
        for ax in (ax_loss, ax_acc):
            ax.axvline(r["queries"], color="grey", ls="--", lw=0.8)
        ax_acc.annotate(f"→ {r['method']}", (r["queries"], ax_acc.get_ylim()[0]), fontsize=7, rotation=90,
                        va="bottom", ha="right")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    out = save_figure(fig, path)
    plt.close(fig)
    return out
