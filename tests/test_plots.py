"""What the plots show: readable query axes, the kept step marked, sweep legends that tell the modes
(line styles) and the second field's values (colours) apart."""

import json
import math

import numpy as np
import pytest

from photonzo.experiments import plots
from photonzo.experiments.sweep import sweep_from_dict

CLASSIFICATION = {
    "dataset": "digits",
    "model": "tt",
    "tensorwise": True,
    "estimator": "rge",
    "hardware": "ideal",
}
PINN = {"pde": "heat", "dim": 2, "hardware": "ideal", "estimator": "sparse-grid"}


@pytest.fixture
def drawn(monkeypatch):
    """The figures the plots save, kept open for inspection."""
    figures, save = [], plots.save_figure

    def keep(fig, path):
        figures.append(fig)
        return save(fig, path)

    monkeypatch.setattr(plots, "save_figure", keep)
    monkeypatch.setattr(plots.pyplot(), "close", lambda fig: None)
    return figures


def write_run(run_dir, config, pinn=False, steps=2000, per_step=349, kept_step=None):
    """A run directory of a long synthetic run (evaluations every 100 steps)."""
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps(config))
    lines = []
    for s in range(steps):
        record = {"step": s, "loss": 2 * math.exp(-s / 600), "lr": 0.01, "method": "rge"}
        record.update(step_queries=per_step, queries=per_step * (s + 1))
        if (s + 1) % 100 == 0:
            bump = 0.05 if s + 1 == 1200 else 0.0  # the best evaluation: after step 1,200
            if pinn:
                record.update(val_loss=1 / (s + 1) - bump / 1000, rel_l2=0.5 - bump, rel_l2_learned=0.6)
            else:
                record.update(val_loss=1.0, val_acc=0.5 + bump, eval_queries=s)
        lines.append(json.dumps(record) + "\n")
    (run_dir / "metrics.jsonl").write_text("".join(lines))
    if kept_step is not None:
        (run_dir / "summary.json").write_text(json.dumps({"kept_step": kept_step}))
    return run_dir


def kept_marks(ax):
    """The x of the kept-step line and the legend text that names it."""
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    lines = [line for line in ax.get_lines() if line.get_color() == "C3" and line.get_linestyle() == ":"]
    return [line.get_xdata()[0] for line in lines], [t for t in texts if "step" in t or "start" in t]


def test_query_axes_are_in_engineering_notation():
    label = plots.query_formatter()
    assert [label(v) for v in (0, 500, 250_000, 1_250_000)] == ["0", "500", "250k", "1.25M"]


def test_the_curves_mark_the_summary_kept_step_with_short_query_labels(tmp_path, drawn):
    run = write_run(tmp_path / "run", CLASSIFICATION, kept_step=1500)
    assert plots.plot_run(run).exists()
    (fig,) = drawn
    ax_loss, ax_acc = fig.axes
    for ax in (ax_loss, ax_acc):
        fig.canvas.draw()
        labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        assert labels and all(len(t) <= 5 for t in labels), labels  # 700k, not 700000
    xs, texts = kept_marks(ax_acc)
    assert xs == [1500 * 349] and texts == ["kept: step 1,500, the best on validation"]


def test_without_a_summary_the_best_evaluation_is_marked(tmp_path, drawn):
    plots.plot_run(write_run(tmp_path / "classifier", CLASSIFICATION))  # interrupted: no summary
    plots.plot_run(write_run(tmp_path / "pinn", PINN, pinn=True))  # a PINN: the lowest val_loss
    classifier, pinn = drawn
    assert kept_marks(classifier.axes[1]) == ([1200 * 349], ["kept: step 1,200, the best on validation"])
    xs, texts = kept_marks(pinn.axes[1])
    assert xs == [2000 * 349] and texts == ["best on validation (lowest loss): step 2,000"]
    assert {t.get_text() for t in pinn.axes[1].get_legend().get_texts()} >= {"u", "learned part"}


def test_a_start_kept_is_marked_at_zero_queries(tmp_path, drawn):
    plots.plot_run(write_run(tmp_path / "run", CLASSIFICATION, steps=300, kept_step=0))
    assert kept_marks(drawn[0].axes[1]) == ([0], ["kept: the start, the best on validation"])


def fake_results(sweep):
    rng = np.random.default_rng(0)
    return [
        {
            "cell": c.name,
            "mode": c.mode,
            "seed": c.seed,
            **c.point,
            "test_acc": rng.uniform(0.3, 0.9),
            "train_queries": 0,
        }
        for c in sweep.cells()
    ]


def legends(ax):
    from matplotlib.legend import Legend

    found = [c for c in ax.get_children() if isinstance(c, Legend)]
    return {legend.get_title().get_text(): legend for legend in found}


def test_the_sweep_legends_tell_modes_and_values_apart(tmp_path, drawn):
    modes = ["deploy", "in-situ", "calibrated"]
    sweep = sweep_from_dict(
        {
            "grid": {"phase_bits": [4, 8, None], "phase_noise_std": [0.0, 0.02]},
            "sweep": {"seeds": [0, 1], "modes": modes},
        }
    )
    plots.plot_sweep(sweep, fake_results(sweep), tmp_path)
    ax = drawn[0].axes[0]  # accuracy against phase bits (then the heatmaps)
    found = legends(ax)
    assert set(found) == {"mode", "phase noise σ (rad)"}
    by_mode = {t.get_text(): h for t, h in zip(found["mode"].get_texts(), found["mode"].legend_handles)}
    assert list(by_mode) == modes
    assert [by_mode[m].get_linestyle() for m in modes] == ["--", "-", ":"]
    assert {by_mode[m].get_color() for m in modes} == {"black"}  # the colour is the value's
    values = found["phase noise σ (rad)"]
    assert [t.get_text() for t in values.get_texts()] == ["0.0", "0.02"]
    assert len({tuple(h.get_color()) for h in values.legend_handles}) == 2
    assert [t.get_text() for t in ax.get_xticklabels()] == ["4", "8", "off"]  # no quantisation
    xs = {float(x) for line in ax.get_lines() for x in line.get_xdata()}
    assert xs == {4.0, 8.0, 12.0}  # "off" drawn one spacing beyond 8 bits, where its tick is


def test_a_one_field_sweep_colours_its_modes(tmp_path, drawn):
    sweep = sweep_from_dict({"grid": {"phase_bits": [4, 8]}, "sweep": {"seeds": [0]}})
    plots.plot_sweep(sweep, fake_results(sweep), tmp_path)
    found = legends(drawn[0].axes[0])
    assert set(found) == {"mode"}
    handles = found["mode"].legend_handles
    assert [h.get_linestyle() for h in handles] == ["--", "-"]
    assert len({h.get_color() for h in handles}) == 2
