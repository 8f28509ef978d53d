import json
import re
import subprocess
import sys

import pytest
import torch

from photonzo.cli import main
from photonzo.experiments.provenance import git_commit


def test_info_prints_the_chip_summary(capsys):
    assert main(["info", "mnist-tt", "--hardware", "typical"]) == 0
    out = capsys.readouterr().out
    assert "TTOpticalLinear" in out and "[7,4,4,7]→[8,4,4,8]r=6" in out
    total = next(line for line in out.splitlines() if line.startswith("total")).split()
    assert total[1:] == ["2928", "3091", "6622", "1034"]  # weights, MZIs, phases, electronic params
    assert "with every edge block a full k×k one this chip would have 3,520" in out
    assert "hardware preset typical: phase_bits=8, gamma_std=0.002, crosstalk=0.005" in out


def test_info_json_is_consistent(capsys):
    assert main(["info", "digits-tt", "--json", "--block", "4", "--mesh", "reck"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["mzis"] == sum(layer["mzis"] for layer in summary["layers"])
    assert summary["layers"][0]["mesh"] == "reck" and summary["layers"][0]["block"] == 4


def test_bad_input_is_a_clear_error(capsys):
    assert main(["info", "mnist-tt", "--block", "1"]) == 2
    assert "the block size k must be an integer >= 2, got 1" in capsys.readouterr().err


def test_help_from_the_installed_entry_point():
    done = subprocess.run(
        [sys.executable, "-m", "photonzo.cli", "info", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "--hardware" in done.stdout


def test_train_writes_a_run_and_refuses_bad_options(tmp_path, capsys):
    run = tmp_path / "run"
    args = [
        "train",
        "digits",
        "--steps",
        "6",
        "--eval-every",
        "3",
        "--eval-size",
        "40",
        "--q",
        "2",
        "--quiet",
        "--run-dir",
        str(run),
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "test accuracy" in out and "36 training queries" not in out
    summary = json.loads((run / "summary.json").read_text())
    assert summary["train_queries"] == 6 * (1 + 2 * 2 * 6)
    assert summary["software"]["commit"] == git_commit()  # which code produced the numbers
    assert summary["software"]["torch"] == torch.__version__
    assert (run / "curves.png").exists()  # the CLI draws the run's curves
    assert main(args) == 2  # the directory holds a run
    assert "pass --resume" in capsys.readouterr().err
    assert main(args + ["--resume"]) == 0  # finished already: resuming re-reports it
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(args[:-2] + ["--run-dir", str(tmp_path / "other"), "--lr", "-0.1"])
    assert "expected a positive finite number" in capsys.readouterr().err
    assert main(["train", "digits", "--resume", "--run-dir", str(tmp_path / "none"), "--quiet"]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert not (tmp_path / "other").exists() and not (tmp_path / "none").exists()


def test_train_layer_local_on_the_chip(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PHOTONZO_THREADS", "2")  # --threads sets it for the process: undone after the test
    run = tmp_path / "ll"
    args = [
        "train",
        "digits",
        "--estimator",
        "layer-local",
        "--no-tensorwise",
        "--joint",
        "--threads",
        "1",
        "--q",
        "3",
        "--steps",
        "4",
        "--eval-every",
        "2",
        "--eval-size",
        "40",
        "--quiet",
        "--run-dir",
        str(run),
    ]
    assert main(args) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert (
        summary["train_queries"] == 4 * (1 + 2 * 3)
        and summary["estimator"]["name"] == "layer-local-mse-joint"
    )
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert all(len(r["local_losses"]) == 1 for r in lines)
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(args[:-2] + ["--run-dir", str(tmp_path / "x"), "--local-loss", "hinge"])
    assert "invalid choice: 'hinge'" in capsys.readouterr().err


def test_hjb_writes_a_pinn_run_and_refuses_bad_options(tmp_path, capsys):
    run = tmp_path / "hjb"
    args = [
        "hjb",
        "--dim",
        "3",
        "--model",
        "small",
        "--steps",
        "4",
        "--eval-every",
        "2",
        "--test-points",
        "200",
        "--points",
        "10",
        "--q",
        "2",
        "--quiet",
        "--run-dir",
        str(run),
    ]
    assert main(args) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["train_queries"] == 4 * (1 + 2 * 2) and summary["derivatives"]["nodes"] == 41
    assert summary["inferences_per_query"] == 10 * 41
    assert main(args) == 2 and "pass --resume" in capsys.readouterr().err
    assert main(["hjb", "--dim", "3", "--quiet", "--run-dir", str(tmp_path / "x")]) == 2
    assert "use --model small" in capsys.readouterr().err
    assert (
        main(
            [
                "hjb",
                "--dim",
                "20",
                "--model",
                "small",
                "--level",
                "4",
                "--quiet",
                "--run-dir",
                str(tmp_path / "y"),
            ]
        )
        == 2
    )
    assert "more than the limit" in capsys.readouterr().err
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--dim", "1000"], "level 2 in 1001 dimensions has 2,006,005 nodes, more than the limit of 20,000"),
        (["--dim", "20", "--level", "8"], "level 8 in 21 dimensions has 360,207,113 nodes"),
        (["--dim", "3", "--level", "40"], "level 40 in 4 dimensions has 171,978,769 nodes"),
        (["--dim", "3", "--level", "400", "--force"], "a sparse-grid level of 400 is past the largest one"),
    ],
)
def test_hjb_refuses_a_sparse_grid_too_large_at_once(tmp_path, capsys, monkeypatch, extra, message):
    import time

    import photonzo.pinn.quadrature as quadrature

    def no_grid():
        raise AssertionError("a grid was built")

    monkeypatch.setattr(quadrature, "_tasmanian", no_grid)
    run = tmp_path / "run"
    t0 = time.perf_counter()
    assert main(["hjb", "--model", "small", "--steps", "5", "--quiet", "--run-dir", str(run), *extra]) == 2
    assert time.perf_counter() - t0 < 5.0  # about 0.05 s; generous for a loaded machine
    err = capsys.readouterr().err
    assert message in err and ("--force" in err or "level" in err) and not run.exists()


def test_hjb_resumed_with_more_steps_extends_its_schedule(tmp_path):
    run = tmp_path / "hjb"
    args = ["hjb", "--dim", "3", "--model", "small", "--eval-every", "2", "--test-points", "200"]
    args += ["--points", "10", "--q", "2", "--quiet", "--run-dir", str(run)]
    assert main([*args, "--steps", "4"]) == 0
    assert main([*args, "--steps", "8", "--resume"]) == 0
    lrs = [json.loads(line)["lr"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(lrs) == 8 and lrs == sorted(lrs, reverse=True) and lrs[4] < lrs[3]  # no restart
    saved = json.loads((run / "config.json").read_text())
    assert saved["steps"] == 8 and [e["steps"] for e in saved["extensions"]] == [[4, 8]]


def test_top_level_help_is_instant_and_options_say_their_default_once():
    code = (
        "import sys, contextlib, io; from photonzo.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: main(['--help'])\n"
        "    except SystemExit: pass\n"
        "assert 'torch' not in sys.modules, 'photonzo --help imported torch'"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
    done = subprocess.run(
        [sys.executable, "-m", "photonzo.cli", "train", "--help"], capture_output=True, text=True
    )
    text = " ".join(done.stdout.split())
    assert done.returncode == 0 and "--cge-subset" in text and "(default: 0.01)" in text
    assert "(default: all) (default" not in text and "(default: None)" not in text


@pytest.mark.parametrize("command", ["train", "hjb", "sweep", "info"])
def test_every_commands_help_answers_without_importing_torch(command):
    """The options come from torch-free modules (photonzo/choices.py, experiments/config.py): no
    --help waits seconds for torch. Checked on the modules loaded, which cannot flake as a timing can."""
    code = (
        "import sys, contextlib, io; from photonzo.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        f"    try: main([{command!r}, '--help'])\n"
        "    except SystemExit: pass\n"
        "heavy = sorted(m for m in ('torch', 'numpy', 'matplotlib', 'sklearn') if m in sys.modules)\n"
        "assert not heavy, f'--help imported {heavy}'\n"
        "print(out.getvalue())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert f"usage: photonzo {command}" in text and "--" in text
    assert "(default: None)" not in text and not re.search(r"\(default[^()]*\) \(default", text)  # once


def test_the_cli_choices_are_the_names_the_implementations_take():
    """photonzo/choices.py holds the names the options offer, torch-free; the registries that
    implement them (or keep their own tuple) must hold exactly those names."""
    from photonzo import choices
    from photonzo.experiments import sweep
    from photonzo.photonics import layers, mesh, network
    from photonzo.photonics.hardware import HardwareModel
    from photonzo.pinn import pde
    from photonzo.training import tpsgd

    assert choices.MESH_KINDS == mesh.MESH_KINDS
    assert choices.EDGE_BLOCKS == layers.EDGE_BLOCKS
    assert choices.LEVELS == network.LEVELS
    assert tuple(network.MODELS) == choices.MODEL_NAMES
    assert tuple(tpsgd.LOCAL_LOSSES) == choices.LOCAL_LOSSES
    assert tuple(pde.PDES) == choices.PDE_NAMES
    assert tuple(sweep.EXECUTORS) == choices.ENGINES
    fields = {f for f in HardwareModel.__dataclass_fields__ if f != "name"}
    assert set(choices.SWEEP_HARDWARE_FIELDS) == fields


@pytest.mark.parametrize(
    ("option", "message"),
    [("--seed", "seed must be an integer in 0..2**63"), ("--chip-seed", "chip-seed must be")],
)
def test_negative_seeds_are_refused_by_name(tmp_path, capsys, option, message):
    assert main(["train", "digits", option, "-1", "--quiet", "--run-dir", str(tmp_path / "r")]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "r").exists()


def test_an_interrupt_or_an_os_error_is_one_line_that_says_how_to_continue(tmp_path, capsys, monkeypatch):
    import photonzo.experiments.run as run_module

    args = [
        "train",
        "digits",
        "--steps",
        "4",
        "--eval-every",
        "2",
        "--eval-size",
        "40",
        "--q",
        "1",
        "--quiet",
    ]
    run = tmp_path / "run"
    real = run_module.ZOTrainer.run

    def interrupted(self, resume=False):
        real(self, resume)  # trains, checkpoints, then the user presses Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module.ZOTrainer, "run", interrupted)
    assert main([*args, "--run-dir", str(run)]) == 130
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "interrupted" in err and "rerun with --resume" in err

    def full_disk(self, resume=False):
        raise OSError(28, "No space left on device", str(run / "checkpoint.npz"))

    monkeypatch.setattr(run_module.ZOTrainer, "run", full_disk)
    assert main([*args, "--run-dir", str(run), "--resume"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "No space left on device" in err and "checkpoint.npz" in err
    monkeypatch.setattr(run_module.ZOTrainer, "run", real)
    assert main([*args, "--run-dir", str(run), "--resume"]) == 0  # nothing was lost


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "digits", "--batch-size", "100000000"], "a batch of 100,000,000 inputs would need"),
        (["hjb", "--dim", "3", "--model", "small", "--q", "1000000"], "1,000,000 random directions over"),
    ],
)
def test_runs_too_large_for_the_memory_are_refused_up_front(tmp_path, capsys, monkeypatch, args, message):
    import photonzo.validation as validation

    monkeypatch.setattr(validation, "available_memory", lambda: 8 * 2**30)  # whatever this machine has
    run = tmp_path / "run"
    assert main([*args, "--quiet", "--run-dir", str(run)]) == 2
    err = capsys.readouterr().err
    assert message in err and "GiB are available" in err and not run.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--rule", "monte-carlo", "--nodes", "41"],
            "is a sampled rule: use it with --estimator monte-carlo",
        ),
        (["--estimator", "monte-carlo", "--rule", "gauss-hermite-odd"], "is a sparse grid: use it with"),
        (["--estimator", "fd", "--rule", "antithetic"], "finite differences take no quadrature rule"),
        (["--nodes", "41"], "--nodes is for --estimator monte-carlo"),
    ],
)
def test_hjb_options_that_would_be_ignored_are_refused(tmp_path, capsys, extra, message):
    args = ["hjb", "--dim", "3", "--model", "small", "--quiet", "--run-dir", str(tmp_path / "r"), *extra]
    assert main(args) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "r").exists()


def test_hjb_monte_carlo_with_its_own_rule_runs(tmp_path):
    args = [
        "hjb",
        "--dim",
        "3",
        "--model",
        "small",
        "--estimator",
        "monte-carlo",
        "--rule",
        "antithetic",
        "--nodes",
        "20",
        "--steps",
        "2",
        "--eval-every",
        "2",
        "--points",
        "5",
        "--q",
        "1",
        "--test-points",
        "100",
        "--quiet",
        "--run-dir",
        str(tmp_path / "mc"),
    ]
    assert main(args) == 0
    summary = json.loads((tmp_path / "mc" / "summary.json").read_text())
    assert summary["inferences_per_query"] == 5 * (20 + 1)  # 20 antithetic nodes and the centre


def test_hjb_least_squares_derivatives_on_a_complex64_chip(tmp_path):
    args = [
        "hjb",
        "--dim",
        "3",
        "--model",
        "small",
        "--estimator",
        "least-squares",
        "--no-float64",
        "--steps",
        "2",
        "--eval-every",
        "2",
        "--points",
        "5",
        "--q",
        "1",
        "--test-points",
        "100",
        "--quiet",
        "--run-dir",
        str(tmp_path / "ls"),
    ]
    assert main(args) == 0
    summary = json.loads((tmp_path / "ls" / "summary.json").read_text())
    assert summary["derivatives"]["estimator"] == "least-squares" and summary["derivatives"]["nodes"] == 41
