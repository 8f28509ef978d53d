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


def plot_training(history: list[dict], path, title: str = "") -> Path:
    """Training loss and validation accuracy against forward queries."""
    plt = _figure()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.8))
    queries = [r["queries"] for r in history]
    ax_loss.plot(queries, [r["loss"] for r in history], lw=0.6, alpha=0.5, label="batch loss")
    evals = [r for r in history if "val_loss" in r]
    ax_loss.plot([r["queries"] for r in evals], [r["val_loss"] for r in evals], "o-", ms=3, label="validation loss")
    ax_loss.set(xlabel="forward queries (training)", ylabel="cross-entropy", title="loss")
    ax_loss.legend()
    ax_acc.plot([r["queries"] for r in evals], [100 * r["val_acc"] for r in evals], "o-", ms=3)
    ax_acc.set(xlabel="forward queries (training)", ylabel="validation accuracy (%)", title="accuracy")
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
