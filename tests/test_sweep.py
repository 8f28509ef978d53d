"""Sweeps: description checks before any cell runs, cells as run directories, resume, failures,
the summary, plots, and the same results from local processes and from a Dask cluster."""

import json

import numpy as np
import pytest

from photonzo.experiments import sweep as sweep_module
from photonzo.experiments.results import summarise
from photonzo.experiments.sweep import (
    Cell,
    SweepError,
    load_sweep,
    parse_assignment,
    run_sweep,
    sweep_from_dict,
)

TINY = {
    "sweep": {"modes": ["deploy", "in-situ"], "seeds": [0, 1]},
    "grid": {"phase_bits": [4, 8]},
    "train": {"dataset": "digits", "steps": 4, "q": 2, "eval_every": 4, "eval_size": 50},
    "backprop": {"epochs": 1},
}


def test_a_grid_is_the_cartesian_product_and_cells_cross_modes_and_seeds():
    sweep = sweep_from_dict(
        {"grid": {"phase_bits": [4, 6, 8], "phase_noise_std": [0.0, 0.02]}, "sweep": {"seeds": [0, 1, 2]}}
    )
    assert len(sweep.points) == 6 and {"phase_bits": 6, "phase_noise_std": 0.02} in sweep.points
    cells = sweep.cells()
    assert len(cells) == 6 * 2 * 3 and len({c.name for c in cells}) == len(cells)
    listed = sweep_from_dict({"points": [{"phase_bits": 5}, {"crosstalk": 0.01, "phase_bits": "none"}]})
    assert listed.points == [{"phase_bits": 5}, {"crosstalk": 0.01, "phase_bits": None}]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"grid": {"phase_bitz": [4]}}, "unknown hardware field"),
        ({"grid": {"phase_bits": [0]}}, "impossible hardware point"),
        ({"grid": {"phase_noise_std": [-0.1]}}, "impossible hardware point"),
        ({"grid": {"phase_bits": []}}, "has no values"),
        ({}, "no hardware points"),
        ({"grid": {"phase_bits": [4]}, "sweep": {"modes": ["insitu"]}}, "unknown mode"),
        ({"grid": {"phase_bits": [4]}, "sweep": {"seeds": []}}, "seeds must be"),
        ({"grid": {"phase_bits": [4]}, "sweep": {"hardware": "perfect"}}, "unknown hardware preset"),
        ({"grid": {"phase_bits": [4]}, "train": {"seed": 3}}, "must not set 'seed'"),
        ({"grid": {"phase_bits": [4]}, "train": {"dataset": "cifar"}}, "invalid \\[train\\]"),
        ({"grid": {"phase_bits": [4]}, "train": {"stepz": 3}}, "unknown \\[train\\]"),
        ({"grid": {"phase_bits": [4]}, "extra": {}}, "unknown section"),
        ({"grid": {"phase_bits": [4]}, "points": [{"phase_bits": 4}]}, "either a \\[grid\\] or"),
        ({"grid": {"phase_bits": [4]}, "calibration": {"stepz": 3}}, "invalid \\[calibration\\]"),
        ({"grid": {"phase_bits": [4]}, "calibration": {"steps": 0}}, "invalid \\[calibration\\]"),
        ({"grid": {"phase_bits": [4]}, "calibration": {"seed": 1}}, "must not set 'seed'"),
    ],
)
def test_bad_sweeps_fail_before_any_cell_runs(data, message):
    with pytest.raises(SweepError, match=message):
        sweep_from_dict(data)


def test_sweep_files_and_command_line_axes(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text("[sweep]\nseeds = [0, 1]\n[grid]\nphase_bits = [4, 6]\nphase_noise_std = [0.0, 0.02]\n")
    assert len(load_sweep(path).cells()) == 4 * 2 * 2
    path.write_text("[grid\nphase_bits = 4")
    with pytest.raises(SweepError, match="not valid TOML"):
        load_sweep(path)
    with pytest.raises(SweepError, match="no sweep file"):
        load_sweep(tmp_path / "missing.toml")
    assert parse_assignment("phase_bits=4,6,none") == ("phase_bits", [4, 6, None])
    assert parse_assignment("phase_noise_std=0,0.02") == ("phase_noise_std", [0, 0.02])
    for bad in ("phase_bits", "phase_bits=", "phase_bits=four"):
        with pytest.raises(SweepError):
            parse_assignment(bad)


def test_a_sweep_runs_resumes_and_reports_crashed_cells(tmp_path, monkeypatch):
    sweep = sweep_from_dict(TINY)
    out = run_sweep(sweep, tmp_path, workers=1, show_progress=False)
    assert not out["failures"] and len(out["results"]) == 8
    by_name = {r["cell"]: r for r in out["results"]}
    # each cell is a run directory; an in-situ cell is an ordinary training run
    cell = Cell("in-situ", {"phase_bits": 8}, 0)
    run = tmp_path / "cells" / cell.name
    assert (
        (run / "summary.json").exists()
        and (run / "metrics.jsonl").exists()
        and (run / "config.json").exists()
    )
    config = json.loads((run / "config.json").read_text())
    assert config["hardware_overrides"] == {"phase_bits": 8} and config["chip_seed"] == 0
    # in-situ training starts where deploy stands: the same programmed phases on the same chip
    deployed = by_name[Cell("deploy", {"phase_bits": 8}, 0).name]["test_acc"]
    assert by_name[cell.name]["start_test_acc"] == pytest.approx(deployed)
    # coarser phases hurt the deployed network
    acc = {
        (r["mode"], r["phase_bits"]): r["test_acc_mean"]
        for r in summarise(out["results"], sweep.points, sweep.modes)
    }
    assert acc["deploy", 4] < acc["deploy", 8]
    rows = (tmp_path / "summary.csv").read_text().splitlines()
    assert rows[0] == "mode,phase_bits,seeds,test_acc_mean,test_acc_std,train_queries_mean" and len(rows) == 5

    # a rerun skips every finished cell; a crashed cell is reported and the others still run
    stamp = (run / "summary.json").stat().st_mtime_ns
    (tmp_path / "cells" / Cell("deploy", {"phase_bits": 4}, 1).name / "summary.json").unlink()
    (tmp_path / "cells" / Cell("deploy", {"phase_bits": 8}, 1).name / "summary.json").unlink()
    real = sweep_module.run_cell

    def flaky(sweep, sweep_dir, cell):
        if cell.point["phase_bits"] == 4:
            raise RuntimeError("heater driver fault")
        return real(sweep, sweep_dir, cell)

    monkeypatch.setattr(sweep_module, "run_cell", flaky)
    again = run_sweep(sweep, tmp_path, workers=1, show_progress=False)
    assert [f["job"] for f in again["failures"]] == [Cell("deploy", {"phase_bits": 4}, 1).name]
    assert "heater driver fault" in again["failures"][0]["error"]
    assert len(again["results"]) == 7 and (run / "summary.json").stat().st_mtime_ns == stamp
    assert json.loads((tmp_path / "failures.json").read_text())[0]["job"] == again["failures"][0]["job"]
    # the same directory with a different description is refused
    with pytest.raises(SweepError, match="different sweep"):
        run_sweep(
            sweep_from_dict({**TINY, "grid": {"phase_bits": [5]}}), tmp_path, workers=1, show_progress=False
        )


def test_calibrated_cells_start_where_deploy_stands_and_keep_their_calibration(tmp_path):
    data = {
        **TINY,
        "sweep": {"modes": ["deploy", "calibrated"], "seeds": [0]},
        "grid": {"phase_bias": [0.2]},
        "calibration": {"steps": 30, "probe_inputs": 32},
    }
    out = run_sweep(sweep_from_dict(data), tmp_path, workers=1, show_progress=False)
    assert not out["failures"]
    deploy, calibrated = out["results"]
    assert calibrated["mode"] == "calibrated" and calibrated["start_test_acc"] == pytest.approx(
        deploy["test_acc"]
    )
    assert calibrated["calibration_loss_after"] < calibrated["calibration_loss_before"]
    assert calibrated["train_queries"] > 0
    run = tmp_path / "cells" / Cell("calibrated", {"phase_bias": 0.2}, 0).name
    assert (run / "calibration.npz").exists() and (run / "calibration.json").exists()


def test_local_processes_and_a_dask_cluster_give_the_results_of_one_process(tmp_path):
    pytest.importorskip("dask.distributed")
    data = {**TINY, "sweep": {"modes": ["deploy", "in-situ"], "seeds": [0]}}
    serial = run_sweep(sweep_from_dict(data), tmp_path / "serial", workers=1, show_progress=False)
    parallel = run_sweep(sweep_from_dict(data), tmp_path / "local", workers=2, show_progress=False)
    dask = run_sweep(sweep_from_dict(data), tmp_path / "dask", workers=2, engine="dask", show_progress=False)
    key = lambda out: {r["cell"]: round(r["test_acc"], 9) for r in out["results"]}
    assert not parallel["failures"] and not dask["failures"]
    assert key(serial) == key(parallel) == key(dask) and len(key(serial)) == 4


def test_sweep_plots_are_written_as_png_and_svg(tmp_path):
    from photonzo.experiments.plots import plot_sweep

    sweep = sweep_from_dict(
        {"grid": {"phase_bits": [4, 8], "phase_noise_std": [0.0, 0.02]}, "sweep": {"seeds": [0, 1]}}
    )
    rng = np.random.default_rng(0)
    results = [
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
    paths = plot_sweep(sweep, results, tmp_path)
    assert sorted(p.name for p in paths) == sorted(
        [
            "accuracy_vs_phase_bits.png",
            "accuracy_vs_phase_bits.svg",
            "heatmap_phase_bits_phase_noise_std.png",
            "heatmap_phase_bits_phase_noise_std.svg",
        ]
    )
    assert all(p.stat().st_size > 1000 for p in paths)


def test_the_cli_refuses_bad_sweeps_before_creating_anything(tmp_path, capsys):
    from photonzo.cli import main

    out = tmp_path / "sweep"
    assert main(["sweep", "--grid", "phase_bits=0,4", "--out", str(out)]) == 2
    assert "impossible hardware point" in capsys.readouterr().err and not out.exists()
    bad = tmp_path / "bad.toml"
    bad.write_text("[grid]\nphase_bits = [4,")
    assert main(["sweep", str(bad), "--out", str(out)]) == 2
    assert "not valid TOML" in capsys.readouterr().err and not out.exists()


def test_bad_worker_and_thread_counts_are_refused(tmp_path):
    sweep = sweep_from_dict(TINY)
    for kwargs, message in (
        ({"workers": 0}, "workers must be"),
        ({"threads": 0}, "threads must be"),
        ({"engine": "ray"}, "unknown engine"),
    ):
        with pytest.raises(SweepError, match=message):
            run_sweep(sweep, tmp_path / "s", show_progress=False, **kwargs)


def test_a_killed_sweeps_workers_end_with_it(tmp_path):
    """SIGKILL reaches no handler: the spawned workers watch their parent and end when it is gone."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    script = (
        "import multiprocessing, os, signal, sys, time\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from photonzo.experiments.sweep import exit_when_orphaned\n"
        "if __name__ == '__main__':\n"
        "    pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context('spawn'),\n"
        "                               initializer=exit_when_orphaned, initargs=(os.getpid(), 0.1))\n"
        "    pids = {pool.submit(os.getpid).result() for _ in range(8)}\n"
        "    pool.submit(time.sleep, 120)\n"
        "    print(' '.join(map(str, pids)), flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    (tmp_path / "sweeper.py").write_text(script)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "sweeper.py")], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == -signal.SIGKILL
    workers = [int(pid) for pid in done.stdout.split()]
    assert workers

    def alive(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"  # not a zombie

    deadline = time.monotonic() + 20
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in workers), "orphaned workers kept running"
