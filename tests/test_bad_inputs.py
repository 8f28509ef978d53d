"""The bad-input tally of issue 19: inputs a user could give, each refused clearly before any work.

A command line is refused with exit code 2 and one line on stderr, ``photonzo COMMAND: …``, that
names the bad value and/or what is accepted; no traceback, nothing on stdout, and nothing written
(the folder the command was pointed at is byte for byte as it was, and no run or sweep directory
appears). A call of the Python API raises a ``ValueError`` (or a ``TypeError`` for a value of the
wrong kind) whose one-line message names the value and/or the accepted range.

Each case names what it expects to read in the message. The list stands in for the issue's 106 bad
inputs, which are not in the repository. Its tally on the tree before the fixes that came with it
(f1b06c6): 235 cases, 136 handled well, 99 badly — 78 of them only because argparse printed its
usage (30 lines for ``train``) before the one-line error, and 21 by their cause: options an
estimator ignores (``--switch-step``, ``--cge-subset``, ``--per-group``, ``--joint``,
``--local-loss``, ``--target-scale`` with the wrong ``--estimator``; ``sweep --scheduler`` without
``--engine dask``) ran as if not given; ``hjb --level 0`` and ``1`` trained on a wrong Laplacian
(``test_a_sparse_grid_below_level_2_measures_no_laplacian``); a run or sweep directory that is a
file, or under one, gave "[Errno 17] File exists" or exit 1 "Not a directory" (and a sweep printed
its plan first); a sweep file that is a folder gave exit 1 "Is a directory"; missing data gave an
8-line message; ``PINNConfig(level="2")`` was accepted; ``cosine(0)``, ``cosine(10, 2.0)``,
``step_decay(0)`` and ``with_warmup(f, -2)`` were accepted (and failed later), and
``make_schedule(gamma=0)`` named no value. All 235 are handled well now.
"""

from __future__ import annotations

import math
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from photonzo.cli import COMMANDS, main

TRAIN = ["train", "digits", "--steps", "3", "--eval-every", "3", "--eval-size", "20", "--q", "1"]
HJB = ["hjb", "--dim", "3", "--model", "small", "--steps", "2", "--points", "5", "--test-points", "50"]
SWEEP = ["sweep", "--grid", "phase_bits=4", "--modes", "deploy", "--bp-epochs", "1", "--no-plots"]
POS_INT = "expected a positive integer, got"
POS_NUM = "expected a positive finite number, got"

# (id, argv, what the message must contain); ``{tmp}`` is the case's own folder (see ``folder``)
CLI_CASES = [
    # ---- train: numbers out of range, of the wrong kind, not finite ----
    ("train-steps-0", [*TRAIN, "--steps", "0"], ["--steps", f"{POS_INT} 0"]),
    ("train-steps-negative", [*TRAIN, "--steps", "-5"], ["--steps", f"{POS_INT} -5"]),
    ("train-steps-word", [*TRAIN, "--steps", "many"], ["--steps", "expected an integer, got 'many'"]),
    ("train-steps-fraction", [*TRAIN, "--steps", "1.5"], ["--steps", "expected an integer, got '1.5'"]),
    ("train-batch-size-0", [*TRAIN, "--batch-size", "0"], ["--batch-size", f"{POS_INT} 0"]),
    ("train-batch-size-huge", [*TRAIN, "--batch-size", "100000000000"], ["100,000,000,000 inputs", "GiB"]),
    ("train-eval-every-0", [*TRAIN, "--eval-every", "0"], ["--eval-every", f"{POS_INT} 0"]),
    ("train-max-queries-0", [*TRAIN, "--max-queries", "0"], ["--max-queries", f"{POS_INT} 0"]),
    ("train-seed-negative", [*TRAIN, "--seed", "-1"], ["seed must be an integer in 0..2**63 − 1, got -1"]),
    (
        "train-seed-too-large",
        [*TRAIN, "--seed", str(2**63)],
        ["seed must be an integer in 0..2**63", str(2**63)],
    ),
    ("train-seed-word", [*TRAIN, "--seed", "abc"], ["--seed", "expected an integer, got 'abc'"]),
    ("train-chip-seed-negative", [*TRAIN, "--chip-seed", "-1"], ["chip-seed must be an integer in 0..2**63"]),
    (
        "train-chip-seed-float",
        [*TRAIN, "--chip-seed", "1e3"],
        ["--chip-seed", "expected an integer, got '1e3'"],
    ),
    ("train-projection-seed-negative", [*TRAIN, "--projection-seed", "-2"], ["projection-seed", "got -2"]),
    ("train-lr-0", [*TRAIN, "--lr", "0"], ["--lr", f"{POS_NUM} 0.0"]),
    ("train-lr-negative", [*TRAIN, "--lr", "-0.1"], ["--lr", f"{POS_NUM} -0.1"]),
    ("train-lr-nan", [*TRAIN, "--lr", "nan"], ["--lr", f"{POS_NUM} nan"]),
    ("train-lr-inf", [*TRAIN, "--lr", "inf"], ["--lr", f"{POS_NUM} inf"]),
    ("train-lr-overflow", [*TRAIN, "--lr", "1e400"], ["--lr", f"{POS_NUM} inf"]),
    ("train-lr-word", [*TRAIN, "--lr", "fast"], ["--lr", "expected a number, got 'fast'"]),
    ("train-mu-0", [*TRAIN, "--mu", "0"], ["--mu", f"{POS_NUM} 0.0"]),
    ("train-mu-nan", [*TRAIN, "--mu", "nan"], ["--mu", f"{POS_NUM} nan"]),
    ("train-q-0", [*TRAIN, "--q", "0"], ["--q", f"{POS_INT} 0"]),
    ("train-q-fraction", [*TRAIN, "--q", "2.5"], ["--q", "expected an integer, got '2.5'"]),
    ("train-q-huge", [*TRAIN, "--q", "10000000000"], ["10,000,000,000 random directions", "GiB"]),
    (
        "train-valid-fraction-0",
        [*TRAIN, "--valid-fraction", "0"],
        ["valid-fraction must lie in (0, 1), got 0.0"],
    ),
    (
        "train-valid-fraction-1",
        [*TRAIN, "--valid-fraction", "1"],
        ["valid-fraction must lie in (0, 1), got 1.0"],
    ),
    (
        "train-valid-fraction-nan",
        [*TRAIN, "--valid-fraction", "nan"],
        ["valid-fraction must lie in (0, 1)", "nan"],
    ),
    ("train-valid-fraction-negative", [*TRAIN, "--valid-fraction", "-0.2"], ["(0, 1), got -0.2"]),
    ("train-eval-size-0", [*TRAIN, "--eval-size", "0"], ["--eval-size", f"{POS_INT} 0"]),
    ("train-block-0", [*TRAIN, "--block", "0"], ["--block", f"{POS_INT} 0"]),
    ("train-block-1", [*TRAIN, "--block", "1"], ["the block size k must be an integer >= 2, got 1"]),
    ("train-phase-bits-0", [*TRAIN, "--phase-bits", "0"], ["--phase-bits", f"{POS_INT} 0"]),
    (
        "train-phase-bits-33",
        [*TRAIN, "--phase-bits", "33"],
        ["phase_bits must be an integer number of bits in 1..32", "33"],
    ),
    ("train-output-gain-0", [*TRAIN, "--output-gain", "0"], ["--output-gain", f"{POS_NUM} 0.0"]),
    ("train-output-gain-inf", [*TRAIN, "--output-gain", "inf"], ["--output-gain", f"{POS_NUM} inf"]),
    ("train-target-scale-negative", [*TRAIN, "--target-scale", "-1"], ["--target-scale", f"{POS_NUM} -1.0"]),
    ("train-cge-subset-0", [*TRAIN, "--cge-subset", "0"], ["--cge-subset", f"{POS_INT} 0"]),
    ("train-cge-max-0", [*TRAIN, "--cge-max", "0"], ["--cge-max", f"{POS_INT} 0"]),
    (
        "train-switch-step-negative",
        [*TRAIN, "--estimator", "hybrid", "--switch-step", "-1"],
        ["switch-step must be an integer >= 0, got -1"],
    ),
    (
        "train-patience-negative",
        [*TRAIN, "--estimator", "hybrid", "--patience", "-1"],
        ["patience", "got -1"],
    ),
    (
        "train-active-fraction-0",
        [*TRAIN, "--estimator", "szo-scd", "--active-fraction", "0"],
        ["active-fraction must lie in (0, 1], got 0.0"],
    ),
    (
        "train-active-fraction-above-1",
        [*TRAIN, "--estimator", "szo-scd", "--active-fraction", "1.5"],
        ["active-fraction must lie in (0, 1], got 1.5"],
    ),
    (
        "train-coordinate-fraction-nan",
        [*TRAIN, "--estimator", "szo-scd", "--coordinate-fraction", "nan"],
        ["coordinate-fraction must lie in (0, 1]", "nan"],
    ),
    ("train-density-0", [*TRAIN, "--density", "0"], ["--density", f"{POS_NUM} 0.0"]),
    ("train-density-above-1", [*TRAIN, "--density", "1.5"], ["density must lie in (0, 1], got 1.5"]),
    (
        "train-density-for-flops",
        [*TRAIN, "--estimator", "flops", "--density", "0.5"],
        ["--density is for --estimator rge or hybrid, not flops"],
    ),
    (
        "train-density-on-the-sphere",
        [*TRAIN, "--distribution", "sphere", "--density", "0.5"],
        ["sparse directions (density 0.5)", "sphere"],
    ),
    (
        "train-bp-epochs-0",
        [*TRAIN, "--estimator", "subspace", "--bp-epochs", "0"],
        ["--bp-epochs", f"{POS_INT} 0"],
    ),
    ("train-threads-0", [*TRAIN, "--threads", "0"], ["--threads", f"{POS_INT} 0"]),
    ("train-threads-word", [*TRAIN, "--threads", "all"], ["--threads", "'all'"]),
    ("train-workers-0", [*TRAIN, "--workers", "0"], ["--workers", f"{POS_INT} 0"]),
    (
        "train-workers-too-many",
        [*TRAIN, "--workers", "100000"],
        ["--workers 100000 is more than the", "settings"],
    ),
    # ---- train: unknown names ----
    ("train-dataset-unknown", ["train", "cifar10"], ["invalid choice: 'cifar10'", "digits"]),
    ("train-estimator-unknown", [*TRAIN, "--estimator", "adam"], ["invalid choice: 'adam'", "rge"]),
    ("train-model-unknown", [*TRAIN, "--model", "cnn"], ["invalid choice: 'cnn'", "tt"]),
    (
        "train-model-missing-for-dataset",
        ["train", "mnist-8x8", "--model", "tt", "--steps", "3"],
        ["mnist-8x8 has no tt model", "--model dense"],
    ),
    ("train-mesh-unknown", [*TRAIN, "--mesh", "diamond"], ["invalid choice: 'diamond'", "clements"]),
    ("train-readout-unknown", [*TRAIN, "--readout", "phase"], ["invalid choice: 'phase'", "coherent"]),
    ("train-hardware-unknown", [*TRAIN, "--hardware", "perfect"], ["invalid choice: 'perfect'", "ideal"]),
    ("train-optimizer-unknown", [*TRAIN, "--optimizer", "lbfgs"], ["invalid choice: 'lbfgs'", "adam"]),
    ("train-schedule-unknown", [*TRAIN, "--schedule", "linear"], ["invalid choice: 'linear'", "cosine"]),
    (
        "train-distribution-unknown",
        [*TRAIN, "--distribution", "cauchy"],
        ["invalid choice: 'cauchy'", "rademacher"],
    ),
    ("train-level-unknown", [*TRAIN, "--level", "block"], ["invalid choice: 'block'", "core"]),
    (
        "train-local-loss-unknown",
        [*TRAIN, "--estimator", "layer-local", "--local-loss", "hinge"],
        ["invalid choice: 'hinge'"],
    ),
    ("train-option-unknown", [*TRAIN, "--epochs", "3"], ["unrecognized arguments: --epochs 3"]),
    (
        "train-option-misspelt",
        [*TRAIN, "--stpes", "3"],
        ["unrecognized arguments: --stpes 3 (did you mean --steps?"],
    ),
    ("train-two-datasets", [*TRAIN, "mnist"], ["unrecognized arguments: mnist"]),
    ("train-option-without-value", [*TRAIN, "--lr"], ["argument --lr: expected one argument"]),
    ("train-no-dataset", ["train", "--steps", "3"], ["the following arguments are required: dataset"]),
    ("no-command", ["--version"], ["the following arguments are required: COMMAND"]),
    ("command-unknown", ["fit", "digits"], ["invalid choice: 'fit'", "train"]),
    # ---- train: options that contradict each other or would be ignored ----
    (
        "train-active-fraction-without-szo-scd",
        [*TRAIN, "--active-fraction", "0.5"],
        ["--active-fraction is for --estimator szo-scd, not rge"],
    ),
    (
        "train-bp-epochs-without-subspace",
        [*TRAIN, "--bp-epochs", "5"],
        ["--bp-epochs is for --estimator subspace or --init deployed, not rge"],
    ),
    (
        "train-switch-step-without-hybrid",
        [*TRAIN, "--switch-step", "5"],
        ["--switch-step is for --estimator hybrid, not rge"],
    ),
    ("train-cge-subset-with-rge", [*TRAIN, "--cge-subset", "10"], ["--cge-subset", "not rge"]),
    (
        "train-joint-without-layer-local",
        [*TRAIN, "--joint"],
        ["--joint is for --estimator layer-local, not rge"],
    ),
    (
        "train-scheduler-and-workers",
        [*TRAIN, "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"],
        ["give one or the other"],
    ),
    (
        "train-scheduler-empty",
        [*TRAIN, "--scheduler", " "],
        ["scheduler must be a Dask scheduler address", "' '"],
    ),
    (
        "train-per-group-with-cge",
        [*TRAIN, "--estimator", "cge", "--per-group"],
        ["--per-group is for --estimator rge or hybrid, not cge"],
    ),
    (
        "train-local-loss-with-rge",
        [*TRAIN, "--local-loss", "l1"],
        ["--local-loss is for --estimator layer-local, not rge"],
    ),
    (
        "train-target-scale-with-hybrid",
        [*TRAIN, "--estimator", "hybrid", "--target-scale", "2"],
        ["--target-scale is for --estimator layer-local, not hybrid"],
    ),
    # ---- train: files and folders ----
    ("train-run-dir-is-a-file", [*TRAIN, "--run-dir", "{tmp}/a-file"], ["--run-dir {tmp}/a-file is a file"]),
    (
        "train-run-dir-under-a-file",
        [*TRAIN, "--run-dir", "{tmp}/a-file/run"],
        ["cannot be made: {tmp}/a-file is a file"],
    ),
    (
        "train-resume-nothing",
        [*TRAIN, "--resume", "--run-dir", "{tmp}/nothing"],
        ["nothing to resume in {tmp}/nothing"],
    ),
    (
        "train-rerun-without-resume",
        [*TRAIN, "--run-dir", "{tmp}/held"],
        ["{tmp}/held already holds a run; pass --resume"],
    ),
    (
        "train-resume-other-options",
        [*TRAIN, "--lr", "0.5", "--resume", "--run-dir", "{tmp}/held"],
        ["differs from this run's options", "lr: 0.01 there, 0.5 now"],
    ),
    (
        "train-resume-config-not-a-mapping",
        [*TRAIN, "--resume", "--run-dir", "{tmp}/list-config"],
        ["list-config/config.json is not a run configuration"],
    ),
    (
        "train-data-missing",
        ["train", "mnist", "--data-dir", "{tmp}/empty"],
        ["mnist: t10k-images-idx3-ubyte.gz was not found", "{tmp}/empty"],
    ),
    (
        "train-data-not-idx",
        ["train", "mnist", "--data-dir", "{tmp}/not-idx"],
        ["{tmp}/not-idx/mnist/t10k-images-idx3-ubyte.gz", "checksum mismatch"],
    ),
    # ---- hjb ----
    ("hjb-dim-0", [*HJB, "--dim", "0"], ["--dim", f"{POS_INT} 0"]),
    (
        "hjb-detector-noise-negative",
        [*HJB, "--detector-noise", "-0.001"],
        ["detector-noise", ">= 0", "-0.001"],
    ),
    ("hjb-density-above-1", [*HJB, "--density", "2"], ["density must lie in (0, 1], got 2.0"]),
    ("hjb-gain-scale-0", [*HJB, "--gain-scale", "0"], ["--gain-scale", "positive", "0"]),
    (
        "hjb-dim-reference-network",
        ["hjb", "--dim", "3"],
        ["the tt reference network takes 21 inputs (dim 20); use --model small"],
    ),
    ("hjb-dim-huge-grid", [*HJB, "--dim", "1000"], ["level 2 in 1001 dimensions has 2,006,005 nodes"]),
    ("hjb-level-0", [*HJB, "--level", "0"], ["--level 0 is too low", "use --level 2 or more"]),
    ("hjb-level-1", [*HJB, "--level", "1"], ["--level 1 is too low", "use --level 2 or more"]),
    ("hjb-level-negative", [*HJB, "--level", "-1"], ["level", "got -1"]),
    (
        "hjb-level-past-the-largest",
        [*HJB, "--level", "400", "--force"],
        ["a sparse-grid level of 400 is past the largest one"],
    ),
    ("hjb-points-0", [*HJB, "--points", "0"], ["--points", f"{POS_INT} 0"]),
    ("hjb-points-huge", [*HJB, "--points", "100000000000"], ["100,000,000,000 inputs", "GiB"]),
    ("hjb-test-points-0", [*HJB, "--test-points", "0"], ["--test-points", f"{POS_INT} 0"]),
    ("hjb-sigma-0", [*HJB, "--sigma", "0"], ["--sigma", f"{POS_NUM} 0.0"]),
    ("hjb-sigma-nan", [*HJB, "--sigma", "nan"], ["--sigma", f"{POS_NUM} nan"]),
    ("hjb-nodes-0", [*HJB, "--estimator", "monte-carlo", "--nodes", "0"], ["--nodes", f"{POS_INT} 0"]),
    ("hjb-repeats-0", [*HJB, "--repeats", "0"], ["--repeats", f"{POS_INT} 0"]),
    ("hjb-centre-repeats-negative", [*HJB, "--centre-repeats", "-4"], ["--centre-repeats", f"{POS_INT} -4"]),
    ("hjb-repeats-past-the-limit", [*HJB, "--repeats", "10001"], ["repeats must be an integer in 1..10,000"]),
    (
        "hjb-reads-past-the-node-limit",
        [*HJB, "--estimator", "fd", "--repeats", "3000"],
        ["reads 27,000 inputs per point, more than the limit of 20,000", "--force"],
    ),
    ("hjb-nodes-without-monte-carlo", [*HJB, "--nodes", "41"], ["--nodes is for --estimator monte-carlo"]),
    ("hjb-sampled-rule-on-a-grid", [*HJB, "--rule", "monte-carlo"], ["--rule monte-carlo is a sampled rule"]),
    (
        "hjb-grid-rule-for-monte-carlo",
        [*HJB, "--estimator", "monte-carlo", "--rule", "gauss-hermite-odd"],
        ["is a sparse grid: use it with"],
    ),
    (
        "hjb-rule-for-fd",
        [*HJB, "--estimator", "fd", "--rule", "antithetic"],
        ["finite differences take no quadrature rule"],
    ),
    ("hjb-pde-unknown", [*HJB, "--pde", "wave"], ["invalid choice: 'wave'", "hjb"]),
    (
        "hjb-volatility-for-hjb",
        [*HJB, "--volatility", "0.2"],
        ["--volatility is a setting of black-scholes, not of the hjb PDE"],
    ),
    (
        "hjb-viscosity-for-heat",
        [*HJB, "--pde", "heat", "--viscosity", "0.1"],
        ["--viscosity is a setting of burgers, not of the heat PDE"],
    ),
    (
        "hjb-volatility-0",
        ["hjb", "--pde", "black-scholes", "--model", "small", "--volatility", "0"],
        ["--volatility", f"{POS_NUM} 0.0"],
    ),
    (
        "hjb-maturity-negative",
        ["hjb", "--pde", "black-scholes", "--model", "small", "--maturity", "-1"],
        ["--maturity", f"{POS_NUM} -1.0"],
    ),
    (
        "hjb-interest-rate-nan",
        ["hjb", "--pde", "black-scholes", "--model", "small", "--interest-rate", "nan"],
        ["interest", "nan"],
    ),
    (
        "hjb-interest-rate-inf",
        ["hjb", "--pde", "black-scholes", "--model", "small", "--interest-rate", "inf"],
        ["interest", "inf"],
    ),
    (
        "hjb-viscosity-0",
        ["hjb", "--pde", "burgers", "--model", "small", "--viscosity", "0"],
        ["--viscosity", f"{POS_NUM} 0.0"],
    ),
    (
        "hjb-burgers-in-3-dimensions",
        ["hjb", "--pde", "burgers", "--model", "small", "--dim", "3"],
        ["burgers", "3"],
    ),
    ("hjb-q-huge", [*HJB, "--q", "1000000000"], ["1,000,000,000 random directions", "GiB"]),
    ("hjb-lr-negative", [*HJB, "--lr", "-1"], ["--lr", f"{POS_NUM} -1.0"]),
    ("hjb-mu-inf", [*HJB, "--mu", "inf"], ["--mu", f"{POS_NUM} inf"]),
    ("hjb-steps-0", [*HJB, "--steps", "0"], ["--steps", f"{POS_INT} 0"]),
    ("hjb-seed-negative", [*HJB, "--seed", "-3"], ["seed must be an integer in 0..2**63 − 1, got -3"]),
    ("hjb-max-queries-0", [*HJB, "--max-queries", "0"], ["--max-queries", f"{POS_INT} 0"]),
    ("hjb-run-dir-under-a-file", [*HJB, "--run-dir", "{tmp}/a-file/run"], ["{tmp}/a-file is a file"]),
    ("hjb-threads-negative", [*HJB, "--threads", "-1"], ["--threads", f"{POS_INT} -1"]),
    # ---- sweep ----
    (
        "sweep-impossible-point",
        ["sweep", "--grid", "phase_bits=0,4"],
        ["impossible hardware point", "phase_bits"],
    ),
    (
        "sweep-unknown-field",
        ["sweep", "--grid", "temperature=1,2"],
        ["unknown hardware field(s) ['temperature']"],
    ),
    (
        "sweep-grid-without-values",
        ["sweep", "--grid", "phase_bits"],
        ["expected FIELD=VALUE[,VALUE...], got 'phase_bits'"],
    ),
    (
        "sweep-grid-empty-values",
        ["sweep", "--grid", "phase_bits="],
        ["expected FIELD=VALUE[,VALUE...], got 'phase_bits='"],
    ),
    ("sweep-grid-word", ["sweep", "--grid", "gamma_std=low,high"], ["gamma_std: 'low' is not a number"]),
    (
        "sweep-grid-out-of-range",
        ["sweep", "--grid", "crosstalk=0.7"],
        ["crosstalk must be a number in [0, 0.5), got 0.7"],
    ),
    (
        "sweep-grid-nan",
        ["sweep", "--grid", "gamma_std=nan"],
        ["gamma_std must be a finite number >= 0, got nan"],
    ),
    (
        "sweep-seeds-negative",
        [*SWEEP, "--seeds", "-1"],
        ["seeds must be a non-empty list of non-negative integers", "-1"],
    ),
    ("sweep-seeds-repeat", [*SWEEP, "--seeds", "1", "1"], ["seeds must not repeat, got [1, 1]"]),
    ("sweep-seeds-word", [*SWEEP, "--seeds", "x"], ["--seeds", "'x'"]),
    ("sweep-mode-unknown", [*SWEEP, "--modes", "finetune"], ["invalid choice: 'finetune'"]),
    ("sweep-steps-0", [*SWEEP, "--steps", "0"], ["--steps", f"{POS_INT} 0"]),
    ("sweep-lr-nan", [*SWEEP, "--lr", "nan"], ["--lr", "nan"]),
    ("sweep-bp-epochs-0", [*SWEEP, "--bp-epochs", "0"], ["--bp-epochs", f"{POS_INT} 0"]),
    ("sweep-cal-steps-0", [*SWEEP, "--cal-steps", "0"], ["--cal-steps", f"{POS_INT} 0"]),
    ("sweep-workers-0", [*SWEEP, "--workers", "0"], ["--workers", f"{POS_INT} 0"]),
    ("sweep-engine-unknown", [*SWEEP, "--engine", "ray"], ["invalid choice: 'ray'"]),
    ("sweep-dataset-unknown", [*SWEEP, "--dataset", "cifar10"], ["cifar10", "digits"]),
    ("sweep-hardware-unknown", [*SWEEP, "--hardware", "perfect"], ["invalid choice: 'perfect'"]),
    (
        "sweep-scheduler-with-local-engine",
        [*SWEEP, "--scheduler", "tcp://127.0.0.1:1"],
        ["--scheduler", "--engine dask"],
    ),
    ("sweep-file-missing", ["sweep", "{tmp}/missing.toml"], ["no sweep file at {tmp}/missing.toml"]),
    ("sweep-file-is-a-folder", ["sweep", "{tmp}/empty"], ["{tmp}/empty", "not a file"]),
    ("sweep-file-not-toml", ["sweep", "{tmp}/bad.toml"], ["{tmp}/bad.toml is not valid TOML"]),
    ("sweep-file-unknown-section", ["sweep", "{tmp}/unknown-section.toml"], ["unknown section(s) ['model']"]),
    (
        "sweep-file-bad-backprop",
        ["sweep", "{tmp}/negative-epochs.toml"],
        ["invalid [backprop] settings", "epochs", "-5"],
    ),
    (
        "sweep-file-unknown-train-key",
        ["sweep", "{tmp}/unknown-train.toml"],
        ["unknown [train] field(s) ['epochs']"],
    ),
    ("sweep-file-train-sets-the-seed", ["sweep", "{tmp}/train-seed.toml"], ["[train] must not set 'seed'"]),
    ("sweep-file-grid-string", ["sweep", "{tmp}/grid-string.toml"], ["impossible hardware point", "'high'"]),
    ("sweep-out-is-a-file", [*SWEEP, "--out", "{tmp}/a-file"], ["--out {tmp}/a-file is a file"]),
    # ---- info ----
    ("info-model-unknown", ["info", "resnet"], ["invalid choice: 'resnet'", "mnist-tt"]),
    (
        "info-block-0",
        ["info", "mnist-tt", "--block", "0"],
        ["the block size k must be an integer >= 2, got 0"],
    ),
    (
        "info-block-1",
        ["info", "mnist-tt", "--block", "1"],
        ["the block size k must be an integer >= 2, got 1"],
    ),
    ("info-batch-huge", ["info", "mnist-tt", "--batch", "1e9"], ["--batch", "'1e9'"]),
    ("info-block-word", ["info", "mnist-tt", "--block", "big"], ["--block", "'big'"]),
    ("info-batch-0", ["info", "mnist-tt", "--batch", "0"], ["--batch", f"{POS_INT} 0"]),
    ("info-mesh-unknown", ["info", "mnist-tt", "--mesh", "diamond"], ["invalid choice: 'diamond'"]),
    ("info-no-model", ["info", "--block", "4"], ["name a model"]),
]


def _network():
    from photonzo.photonics.network import build_network

    return build_network("digits-tt")


def _chip(**kwargs):
    from photonzo.photonics.chip import Chip

    return Chip(_network(), **kwargs)


def _hardware(**kwargs):
    from photonzo.photonics.hardware import HardwareModel

    return HardwareModel(**kwargs)


def _energy(**kwargs):
    from photonzo.photonics.energy import EnergyModel

    return EnergyModel(**kwargs)


def _train_config(**flat):
    from photonzo.experiments.config import TrainConfig

    return TrainConfig.of(**flat)


def _pinn_config(**flat):
    from photonzo.experiments.config import PINNConfig

    return PINNConfig.of(**{"model": "small", "dim": 3, **flat})


def _phases(chip, shape, dtype="float32", fill=0.0):
    import torch

    return torch.full(shape, fill, dtype=getattr(torch, dtype))


def _outputs(shape=None, dtype="float32", fill=0.0, x=None):
    import torch

    chip = _chip()
    phases = _phases(chip, shape or (1, chip.n_params), dtype, fill)
    return chip.outputs(phases, torch.zeros(2, 64) if x is None else x)


def _mesh(call, kind="clements", n=4, shape=None, dtype="float32", fill=0.0):
    import torch

    from photonzo.photonics import mesh

    layout = mesh.mesh_layout(kind, n)
    phases = torch.full(shape or (layout.n_phases,), fill, dtype=getattr(torch, dtype))
    if call == "matrix":
        return mesh.mesh_matrix(layout, phases)
    return mesh.mesh_apply(layout, phases, torch.zeros(3, n + 1, dtype=torch.complex64))


def _decompose(name, matrix):
    import numpy as np

    from photonzo.photonics import decompose

    return getattr(decompose, name)(np.asarray(matrix))


def _sweep(data):
    from photonzo.experiments.sweep import sweep_from_dict

    return sweep_from_dict(data)


def _estimator(name, **kwargs):
    from photonzo.training import estimators

    return getattr(estimators, name)(**kwargs)


def _optimizer(name, *args, **kwargs):
    from photonzo.training import optim

    return getattr(optim, name)(*args, **kwargs)


def _dataset(name):
    from photonzo.data.datasets import load_dataset

    return load_dataset(name)


def _loop(**kwargs):
    from photonzo.training.loop import LoopConfig

    return LoopConfig(**kwargs)


def _calibration(**kwargs):
    from photonzo.training.calibration import config_from_dict

    return config_from_dict(kwargs)


def _rge(**kwargs):
    from photonzo.training.estimators import RGE

    return RGE(**kwargs)


# (id, the call, what the message must contain)
API_CASES = [
    # the chip and its parameters
    (
        "Chip-seed-negative",
        lambda: _chip(seed=-1),
        ["the chip seed must be an integer in 0..2**63 − 1, got -1"],
    ),
    ("Chip-seed-float", lambda: _chip(seed=1.5), ["the chip seed must be an integer", "1.5"]),
    ("Chip-seed-bool", lambda: _chip(seed=True), ["the chip seed must be an integer", "True"]),
    (
        "Chip-hardware-unknown",
        lambda: _chip(hardware="perfect"),
        ["unknown hardware preset 'perfect'", "ideal"],
    ),
    ("Chip-loss-unknown", lambda: _chip(loss="hinge"), ["unknown loss 'hinge'", "cross_entropy"]),
    (
        "Chip-output-gain-0",
        lambda: _chip(output_gain=0),
        ["output_gain must be a positive finite number, got 0"],
    ),
    (
        "Chip-output-gain-nan",
        lambda: _chip(output_gain=math.nan),
        ["output_gain must be a positive finite number, got nan"],
    ),
    ("Chip-gains-wrong-count", lambda: _chip(gains=[1.0]), ["gains", "1"]),
    (
        "Chip-dtype-real",
        lambda: _chip(dtype=__import__("torch").float32),
        ["dtype must be torch.complex64 or torch.complex128"],
    ),
    (
        "initial_params-seed-negative",
        lambda: _chip().initial_params(-1),
        ["the seed of the initial phases must be an integer in 0..2**63 − 1, got -1"],
    ),
    (
        "initial_params-seed-word",
        lambda: _chip().initial_params("zero"),
        ["the seed of the initial phases must be an integer", "'zero'"],
    ),
    (
        "outputs-phases-wrong-width",
        lambda: _outputs(shape=(1, 5)),
        ["phases must have shape [Q, P] with P =", "(1, 5)"],
    ),
    ("outputs-phases-no-settings", lambda: _outputs(shape=(0, _chip().n_params)), ["at least one setting"]),
    (
        "outputs-phases-float16",
        lambda: _outputs(dtype="float16"),
        ["phases must be real floating point", "float16"],
    ),
    ("outputs-phases-nan", lambda: _outputs(fill=math.nan), ["phases must be finite", "q=0, p=0"]),
    (
        "outputs-inputs-wrong-width",
        lambda: _outputs(x=__import__("torch").zeros(2, 5)),
        ["inputs must have shape [B, 64]", "(2, 5)"],
    ),
    (
        "outputs-phases-a-list",
        lambda: _chip().outputs([[0.0]], __import__("torch").zeros(1, 64)),
        ["phases must be a torch tensor or numpy array", "list"],
    ),
    # hardware presets and overrides
    (
        "HardwareModel-phase-bits-0",
        lambda: _hardware(phase_bits=0),
        ["phase_bits must be an integer number of bits in 1..32", "got 0"],
    ),
    ("HardwareModel-phase-bits-33", lambda: _hardware(phase_bits=33), ["1..32", "got 33"]),
    ("HardwareModel-phase-bits-bool", lambda: _hardware(phase_bits=True), ["phase_bits", "True"]),
    (
        "HardwareModel-crosstalk-half",
        lambda: _hardware(crosstalk=0.5),
        ["crosstalk must be a number in [0, 0.5), got 0.5"],
    ),
    (
        "HardwareModel-gamma-negative",
        lambda: _hardware(gamma_std=-0.1),
        ["gamma_std must be a finite number >= 0, got -0.1"],
    ),
    (
        "HardwareModel-noise-inf",
        lambda: _hardware(phase_noise_std=math.inf),
        ["phase_noise_std must be a finite number >= 0, got inf"],
    ),
    (
        "HardwareModel-shot-noise-0",
        lambda: _hardware(shot_noise_photons=0),
        ["shot_noise_photons must be a number > 0", "got 0"],
    ),
    (
        "HardwareModel-loss-word",
        lambda: _hardware(insertion_loss_db="0.2"),
        ["insertion_loss_db must be a finite number >= 0, got '0.2'"],
    ),
    (
        "HardwareModel-preset-unknown",
        lambda: __import__("photonzo").HardwareModel.preset("perfect"),
        ["unknown hardware preset 'perfect'", "typical"],
    ),
    (
        "HardwareModel-replace-unknown",
        lambda: _hardware().replace(temperature=300),
        ["unknown HardwareModel field(s) ['temperature']", "phase_bits"],
    ),
    (
        "HardwareModel-replace-bad-value",
        lambda: _hardware().replace(output_bits=0),
        ["output_bits must be an integer number of bits in 1..32 (or None for no quantisation), got 0"],
    ),
    # the energy model's constants
    (
        "EnergyModel-negative",
        lambda: _energy(heater_power_per_pi=-1.0),
        ["energy constant heater_power_per_pi must be a finite number in", "-1.0"],
    ),
    ("EnergyModel-nan", lambda: _energy(settle_time=math.nan), ["energy constant settle_time", "nan"]),
    ("EnergyModel-efficiency-above-1", lambda: _energy(laser_efficiency=1.5), ["laser_efficiency", "1.5"]),
    (
        "EnergyModel-converter-bits-0",
        lambda: _energy(converter_bits=0),
        ["converter_bits must be an integer in 1..32, got 0"],
    ),
    (
        "EnergyModel-preset-unknown",
        lambda: __import__("photonzo.photonics.energy").photonics.energy.EnergyModel.preset("optical"),
        ["unknown energy model 'optical'", "thermal"],
    ),
    (
        "EnergyModel-replace-unknown",
        lambda: _energy().replace(voltage=1.0),
        ["unknown EnergyModel constant(s) ['voltage']"],
    ),
    # networks, meshes, decompositions
    (
        "build_network-unknown",
        lambda: __import__("photonzo").build_network("resnet"),
        ["unknown model 'resnet'", "mnist-tt"],
    ),
    (
        "build_network-block-1",
        lambda: __import__("photonzo").build_network("digits-tt", block=1),
        ["the block size k must be an integer >= 2, got 1"],
    ),
    (
        "build_network-mesh-unknown",
        lambda: __import__("photonzo").build_network("digits-tt", mesh="diamond"),
        ["unknown mesh kind 'diamond'", "clements"],
    ),
    (
        "param_slices-level-unknown",
        lambda: _network().param_slices("block"),
        ["unknown slice level 'block'", "core"],
    ),
    (
        "mesh_layout-modes-0",
        lambda: _mesh("matrix", n=0),
        ["a mesh needs an integer number of modes N >= 1, got N=0"],
    ),
    ("mesh_layout-kind-unknown", lambda: _mesh("matrix", kind="diamond"), ["unknown mesh kind 'diamond'"]),
    (
        "mesh_matrix-wrong-phase-count",
        lambda: _mesh("matrix", shape=(7,)),
        ["takes 16 phases in the last axis, got shape (7,)"],
    ),
    (
        "mesh_matrix-float16",
        lambda: _mesh("matrix", dtype="float16"),
        ["mesh phases must be a float32 or float64 torch tensor", "float16"],
    ),
    ("mesh_matrix-nan", lambda: _mesh("matrix", fill=math.nan), ["mesh phases must be finite"]),
    (
        "mesh_apply-wrong-field-width",
        lambda: _mesh("apply"),
        ["fields must be a tensor [..., B, 4]", "(3, 5)"],
    ),
    (
        "clements_phases-not-square",
        lambda: _decompose("clements_phases", [[1, 0, 0], [0, 1, 0]]),
        ["expected a square matrix, got shape (2, 3)"],
    ),
    (
        "clements_phases-not-unitary",
        lambda: _decompose("clements_phases", [[2.0, 0], [0, 1.0]]),
        ["the matrix is not unitary", "matrix_to_svd_phases"],
    ),
    (
        "unitary_to_phases-kind-unknown",
        lambda: __import__("photonzo.photonics.decompose").photonics.decompose.unitary_to_phases(
            [[1.0]], "diamond"
        ),
        ["unknown mesh kind 'diamond'"],
    ),
    (
        "matrix_to_svd_phases-vector",
        lambda: _decompose("matrix_to_svd_phases", [1.0, 2.0]),
        ["expected an R×C matrix", "(2,)"],
    ),
    (
        "matrix_to_svd_phases-nan",
        lambda: _decompose("matrix_to_svd_phases", [[math.nan, 0], [0, 1]]),
        ["the matrix has NaN or inf entries"],
    ),
    (
        "attenuator_phases-above-1",
        lambda: _decompose("attenuator_phases", [1.5]),
        ["attenuator amplitudes must lie in [-1, 1], got max |a| = 1.5"],
    ),
    # configurations
    (
        "TrainConfig-unknown-setting",
        lambda: _train_config(epochs=3),
        ["unknown setting(s) ['epochs']", "steps"],
    ),
    ("TrainConfig-steps-0", lambda: _train_config(steps=0), ["steps must be a positive integer, got 0"]),
    (
        "TrainConfig-steps-bool",
        lambda: _train_config(steps=True),
        ["steps must be a positive integer, got True"],
    ),
    (
        "TrainConfig-lr-string",
        lambda: _train_config(lr="0.1"),
        ["lr must be a positive finite number, got '0.1'"],
    ),
    (
        "TrainConfig-estimator-unknown",
        lambda: _train_config(estimator="adam"),
        ["unknown estimator 'adam'", "rge"],
    ),
    (
        "TrainConfig-hardware-override-unknown",
        lambda: _train_config(hardware_overrides={"temperature": 1}),
        ["unknown HardwareModel field(s) ['temperature']"],
    ),
    (
        "TrainConfig-valid-fraction-nan",
        lambda: _train_config(valid_fraction=math.nan),
        ["valid-fraction must lie in (0, 1), got nan"],
    ),
    ("PINNConfig-dim-0", lambda: _pinn_config(dim=0), ["dim must be a positive integer, got 0"]),
    ("PINNConfig-level-string", lambda: _pinn_config(level="2"), ["level", "'2'"]),
    (
        "PINNConfig-sigma-inf",
        lambda: _pinn_config(sigma=math.inf),
        ["sigma must be a positive finite number, got inf"],
    ),
    (
        "BackpropConfig-epochs-0",
        lambda: __import__("photonzo").BackpropConfig(epochs=0),
        ["epochs must be a positive integer, got 0"],
    ),
    ("LoopConfig-steps-0", lambda: _loop(steps=0), ["steps", "got 0"]),
    ("calibration-steps-0", lambda: _calibration(steps=0), ["steps", "got 0"]),
    # estimators and optimisers
    ("RGE-q-0", lambda: _rge(q=0), ["q", "got 0"]),
    ("RGE-mu-negative", lambda: _rge(mu=-0.1), ["mu", "-0.1"]),
    (
        "RGE-distribution-unknown",
        lambda: _rge(distribution="cauchy"),
        ["unknown direction distribution 'cauchy'", "rademacher"],
    ),
    (
        "adam-lr-negative",
        lambda: _optimizer("adam", -0.1),
        ["the learning rate must be a positive finite number, got -0.1"],
    ),
    (
        "sgd-lr-nan",
        lambda: _optimizer("sgd", math.nan),
        ["the learning rate must be a positive finite number, got nan"],
    ),
    (
        "adam-betas-1",
        lambda: _optimizer("adam", 0.1, betas=(0.9, 1.0)),
        ["Adam's betas must lie in [0, 1), got (0.9, 1.0)"],
    ),
    (
        "sgd-momentum-1",
        lambda: _optimizer("sgd", 0.1, momentum=1.0),
        ["momentum must lie in [0, 1), got 1.0"],
    ),
    (
        "cosine-total-0",
        lambda: _optimizer("cosine", 0),
        ["a cosine schedule needs the total number of steps (a positive integer), got 0"],
    ),
    (
        "cosine-min-factor-above-1",
        lambda: _optimizer("cosine", 10, 2.0),
        ["min_factor must lie in [0, 1], got 2.0"],
    ),
    (
        "step_decay-every-0",
        lambda: _optimizer("step_decay", 0),
        ["a step schedule needs 'every' (a positive integer), got 0"],
    ),
    (
        "make_schedule-gamma-0",
        lambda: _optimizer("make_schedule", "step", every=3, gamma=0.0),
        ["gamma must lie in (0, 1], got 0.0"],
    ),
    (
        "with_warmup-negative",
        lambda: _optimizer("with_warmup", lambda step: 1.0, -2),
        ["the warm-up steps must be an integer >= 0, got -2"],
    ),
    # sweeps and data
    (
        "sweep_from_dict-no-points",
        lambda: _sweep({"sweep": {"modes": ["deploy"]}}),
        ["the sweep has no hardware points"],
    ),
    (
        "sweep_from_dict-points-and-grid",
        lambda: _sweep({"grid": {"phase_bits": [4]}, "points": [{"phase_bits": 4}]}),
        ["give either a [grid] or [[points]], not both"],
    ),
    (
        "sweep_from_dict-unknown-sweep-key",
        lambda: _sweep({"grid": {"phase_bits": [4]}, "sweep": {"cells": 3}}),
        ["unknown [sweep] key(s) ['cells']"],
    ),
    ("load_dataset-unknown", lambda: _dataset("cifar10"), ["unknown dataset 'cifar10'", "digits"]),
]


# ---- the folder each command-line case is pointed at --------------------------------------------

TOML = {
    "bad.toml": "[grid]\nphase_bits = [4,",
    "unknown-section.toml": "[model]\nname = 'x'\n[grid]\nphase_bits = [4]\n",
    "negative-epochs.toml": "[grid]\nphase_bits = [4]\n[backprop]\nepochs = -5\n",
    "unknown-train.toml": "[grid]\nphase_bits = [4]\n[train]\nepochs = 3\n",
    "train-seed.toml": "[grid]\nphase_bits = [4]\n[train]\nseed = 3\n",
    "grid-string.toml": "[grid]\ngamma_std = ['high']\n",
}


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    """Files a bad command line may name: a plain file, an empty folder, a data file that is not
    the canonical one, a run directory that holds a run, sweep files with mistakes. No data is
    found but there, and no download is tried (the machine may be offline)."""
    import gzip
    import json

    from photonzo.experiments.config import TrainConfig

    case = tmp_path / "case"
    (case / "empty").mkdir(parents=True)
    (case / "a-file").write_text("not a folder\n")
    (case / "not-idx" / "mnist").mkdir(parents=True)
    (case / "not-idx" / "mnist" / "t10k-images-idx3-ubyte.gz").write_bytes(
        gzip.compress(b"\0\0\x08\x01" + bytes(8))
    )
    held = TrainConfig.of(dataset="digits", steps=3, eval_every=3, eval_size=20, q=1).flat()
    (case / "held").mkdir()
    (case / "held" / "config.json").write_text(json.dumps(held))
    (case / "held" / "metrics.jsonl").write_text("")
    (case / "list-config").mkdir()
    (case / "list-config" / "config.json").write_text("[]")
    (case / "list-config" / "metrics.jsonl").write_text("")
    for name, text in TOML.items():
        (case / name).write_text(text)

    def offline(url, timeout=None):
        raise urllib.error.URLError(socket.gaierror(-2, "Name or service not known"))

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.setenv("PHOTONZO_DATA", str(case / "empty"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return case


def snapshot(folder: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))
    }


def exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as e:  # argparse's refusals
        return e.code


@pytest.mark.parametrize(("argv", "expected"), [pytest.param(a, e, id=i) for i, a, e in CLI_CASES])
def test_a_bad_command_line_is_one_line_and_no_work(argv, expected, folder, capsys):
    argv = [a.format(tmp=folder) for a in argv]
    made = folder / "out"  # where a run or sweep would be written unless the case names a folder
    if argv[0] in ("train", "hjb", "sweep"):
        option = "--out" if argv[0] == "sweep" else "--run-dir"
        argv += ([] if option in argv else [option, str(made)]) + ["--quiet"]
    before = snapshot(folder)
    code = exit_code(argv)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    said_by = f"photonzo {argv[0]}: " if argv[0] in COMMANDS else "photonzo: "
    assert lines[0].startswith(said_by), lines[0]
    for part in expected:
        assert part.format(tmp=folder) in lines[0], lines[0]
    assert out == "" and snapshot(folder) == before, "a refused command wrote something"


@pytest.mark.parametrize(("call", "expected"), [pytest.param(c, e, id=i) for i, c, e in API_CASES])
def test_a_bad_api_call_is_a_one_line_error_that_names_the_value(call, expected):
    with pytest.raises((ValueError, TypeError)) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message, message
    for part in expected:
        assert part in message, message


def test_the_list_has_the_issues_hundred_and_more():
    ids = [case[0] for case in CLI_CASES + API_CASES]
    assert len(ids) >= 106 and len(set(ids)) == len(ids)


def test_a_sparse_grid_below_level_2_measures_no_laplacian():
    """Why ``hjb --level 0`` and ``--level 1`` are refused: the Stein Laplacian of a quadratic (Δ = 9
    here) comes out 0 on the centre alone and with its sign flipped on a level-1 grid."""
    import torch

    from photonzo.pinn.quadrature import make_rule
    from photonzo.pinn.stein import SteinEstimator

    x0 = torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64)

    def laplacian(level: int) -> float:
        estimator = SteinEstimator(make_rule("gauss-hermite", 3, level=level), 0.1)
        values = 1.5 * ((x0 + 0.1 * estimator.nodes) ** 2).sum(-1)
        return estimator.derivatives(values[None, None])["laplacian"].item()

    assert laplacian(0) == 0 and laplacian(1) == pytest.approx(-9) and laplacian(2) == pytest.approx(9)
