"""ZOTrainer: learns on digits through the Oracle, resumes exactly, refuses foreign checkpoints,
and cannot reach the network behind the Oracle."""

import ast
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import photonzo.training as training
from photonzo.experiments.plots import plot_run
from photonzo.experiments.results import read_metrics
from photonzo.experiments.run import TrainConfig, build_chip, make_trainer, prepare_data, run_training
from photonzo.photonics.chip import Chip
from photonzo.photonics.layers import OpticalLayer
from photonzo.photonics.network import OpticalNetwork
from photonzo.training.checkpoint import CheckpointError
from photonzo.training.estimators import RGE
from photonzo.training.loop import LoopConfig
from photonzo.training.methods import method
from photonzo.training.objectives import Classification
from photonzo.training.optim import adam, phase_mask
from photonzo.training.zo import ZOTrainer

from conftest import Interrupt, InterruptingOracle, SoftmaxRegressionOracle


def digits_setup(tmp_path, hardware="ideal", model="tt", steps=40, **kw):
    kw.setdefault("lr", 0.02)
    kw.setdefault("schedule", "constant")
    config = TrainConfig.of(
        dataset="digits", model=model, hardware=hardware, steps=steps, eval_every=10, eval_size=100, **kw
    )
    chip = build_chip(config)
    train, valid, test, _ = prepare_data(config, chip.network.in_features)
    return config, chip, train, valid


def test_trainer_reduces_loss_on_digits(tmp_path):
    config, chip, train, valid = digits_setup(tmp_path, steps=80, q=4, lr=0.03)
    trainer = make_trainer(config, chip.oracle(), train, valid, tmp_path / "run", progress=False)
    start = trainer.evaluate()
    history = trainer.run()
    end = [r for r in history if "val_loss" in r][-1]
    assert end["val_loss"] < start["val_loss"] - 0.15
    assert end["val_acc"] > start["val_acc"] + 0.2
    # the log is complete and the counters add up
    assert [r["step"] for r in history] == list(range(80))
    assert history[-1]["queries"] == sum(r["step_queries"] for r in history) == 80 * (1 + 2 * 4 * 6)
    assert chip.queries == history[-1]["queries"] + trainer.eval_queries
    assert read_metrics(tmp_path / "run") == history


@pytest.mark.parametrize("noise", [{}, {"detector_noise_std": 0.01}], ids=["static", "per-query"])
def test_resume_reproduces_the_metrics_history(tmp_path, noise):
    # 'typical' hardware: quantised phases and static fabrication errors, drawn from the chip seed;
    # with detector noise, noise per query too: the resumed chip goes on with the queries' own streams
    kw = dict(hardware="typical", hardware_overrides=noise, steps=30, q=2)
    config, chip, train, valid = digits_setup(tmp_path, **kw)
    straight = make_trainer(config, chip.oracle(), train, valid, tmp_path / "a", progress=False).run()

    config, chip, train, valid = digits_setup(tmp_path, **kw)
    killed = make_trainer(
        config, InterruptingOracle(chip.oracle(), 25), train, valid, tmp_path / "b", progress=False
    )
    with pytest.raises(Interrupt):
        killed.run()
    assert len(read_metrics(tmp_path / "b")) == 25  # lines past the checkpoint at step 20 exist…
    with open(tmp_path / "b" / "metrics.jsonl", "a") as f:
        f.write('{"step": 25, "loss": 0.1')  # …and a torn last line, as a kill can leave

    config, chip, train, valid = digits_setup(tmp_path, **kw)
    resumed = make_trainer(config, chip.oracle(), train, valid, tmp_path / "b", progress=False).run(
        resume=True
    )
    strip = lambda h: [{k: v for k, v in r.items() if k != "wall"} for r in h]
    assert strip(resumed) == strip(straight)
    assert strip(read_metrics(tmp_path / "b")) == strip(straight)


def test_checkpoint_of_another_model_is_refused(tmp_path):
    config, chip, train, valid = digits_setup(tmp_path, model="dense", steps=10)
    make_trainer(config, chip.oracle(), train, valid, tmp_path / "run", progress=False).run()
    config, chip, train, valid = digits_setup(tmp_path, model="tt", steps=10)
    trainer = make_trainer(config, chip.oracle(), train, valid, tmp_path / "run", progress=False)
    with pytest.raises(CheckpointError, match="different model or parameter layout"):
        trainer.run(resume=True)
    with pytest.raises(FileExistsError, match="already holds a run"):
        trainer.run()
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "checkpoint.npz").write_bytes(b"not a zip")
    trainer = make_trainer(config, chip.oracle(), train, valid, tmp_path / "junk", progress=False)
    with pytest.raises(CheckpointError, match="damaged or not a photonzo checkpoint"):
        trainer.run(resume=True)


def _reachable(root, limit=20000):
    """Objects reachable from ``root`` through attributes, slots and containers (not via gc)."""
    seen, stack, out = set(), [root], []
    while stack and len(seen) < limit:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (str, bytes, int, float, bool, type(None), type)):
            continue
        seen.add(id(obj))
        out.append(obj)
        if isinstance(obj, dict):
            stack += list(obj.keys()) + list(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack += list(obj)
        if hasattr(obj, "__dict__") and not torch.is_tensor(obj):
            stack += list(vars(obj).values())
        for slot in getattr(type(obj), "__slots__", ()):
            if slot != "_call" and hasattr(obj, slot):
                stack.append(getattr(obj, slot))
    return out


def test_the_trainer_cannot_reach_the_network(tmp_path):
    config, chip, train, valid = digits_setup(tmp_path, steps=2)
    trainer = make_trainer(config, chip.oracle(), train, valid, tmp_path / "run", progress=False)
    trainer.run()
    found = [
        type(o).__name__
        for o in _reachable(trainer)
        if isinstance(o, (Chip, OpticalNetwork, OpticalLayer, np.random.Generator))
    ]
    assert found == []
    oracle = trainer.oracle
    for attribute in ("network", "chip", "_chip", "hardware", "weights", "__dict__"):
        assert not hasattr(oracle, attribute)
    with pytest.raises(AttributeError, match="read-only"):
        oracle.chip = chip
    # and no BP-free training module imports the chip, the network or the BP baseline
    for module in ("zo", "step", "loop", "methods", "recorder", "checkpoint", "estimators", "optim", "tpsgd"):
        tree = ast.parse(Path(training.__file__).with_name(f"{module}.py").read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not imported & {
            "..photonics.chip",
            "..photonics.network",
            ".backprop",
            "chip",
            "network",
            "backprop",
        }, module


def test_the_trainer_runs_on_any_oracle(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(400, 5, generator=g, dtype=torch.float64)
    y = (x @ torch.randn(5, 3, generator=g, dtype=torch.float64)).argmax(1)  # linearly separable
    oracle = SoftmaxRegressionOracle(5, 3)
    trainer = ZOTrainer(
        oracle,
        method(RGE(q=5, mu=1e-3), adam(0.05, mask=phase_mask(oracle.param_slices(), 15))),
        Classification((x[:300], y[:300]), (x[300:], y[300:])),
        tmp_path,
        LoopConfig(steps=150, eval_every=50),
        progress=False,
    )
    history = trainer.run()
    assert history[0]["loss"] == pytest.approx(np.log(3)) and history[-1]["val_acc"] > 0.85


def test_bad_trainer_arguments(tmp_path):
    oracle = SoftmaxRegressionOracle(2, 2)
    data = (torch.zeros(4, 2), torch.zeros(4))
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        LoopConfig(steps=0)
    with pytest.raises(ValueError, match="max_queries must be a positive integer"):
        LoopConfig(steps=1, max_queries=0)
    with pytest.raises(ValueError, match="initial parameters must have shape"):
        ZOTrainer(
            oracle,
            method(RGE(), adam(0.1)),
            Classification(data, data),
            tmp_path,
            LoopConfig(steps=1),
            params=torch.zeros(3),
        )


def test_run_training_writes_a_complete_run_directory(tmp_path):
    config = TrainConfig.of(dataset="digits", steps=12, eval_every=6, eval_size=50, q=2)
    summary = run_training(config, tmp_path / "run", progress=False)
    files = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"config.json", "metrics.jsonl", "checkpoint.npz", "summary.json"} <= files
    assert plot_run(tmp_path / "run").exists()  # the curves, drawn from the run directory's files
    assert json.loads((tmp_path / "run" / "summary.json").read_text()) == summary
    assert summary["steps"] == 12 and summary["train_queries"] == 12 * (1 + 2 * 2 * 6)
    assert 0 <= summary["test_acc"] <= 1 and summary["mzis"] == 1168  # digits-tt, rectangular edges
    # the kept phases are the best validated of the start and steps 6 and 12
    assert summary["kept_step"] in (0, 6, 12) and 0 <= summary["final_test_acc"] <= 1
    if summary["kept_step"] == 12:
        assert summary["test_acc"] == summary["final_test_acc"]
    with pytest.raises(FileExistsError, match="pass --resume"):
        run_training(config, tmp_path / "run", progress=False)
    other = TrainConfig.of(dataset="digits", steps=24, eval_every=6, eval_size=50, q=3)
    with pytest.raises(ValueError, match="differs from this run's options"):
        run_training(other, tmp_path / "run", resume=True, progress=False)


def test_query_budget_and_hybrid_switch_survive_a_checkpoint(tmp_path):
    config, chip, train, valid = digits_setup(
        tmp_path, steps=100, q=1, estimator="hybrid", switch_step=4, cge_subset=5, max_queries=120
    )
    trainer = make_trainer(config, chip.oracle(), train, valid, tmp_path / "run", progress=False)
    history = trainer.run()
    # 4 steps of tensor-wise sign-RGE (1 + 2·6 queries), then CGE on 5 coordinates (6 queries)
    assert [r["method"] for r in history[:6]] == ["sign-rge-tensorwise"] * 4 + ["cge"] * 2
    assert history[-1]["queries"] >= 120 > history[-2]["queries"]
    assert len(history) == 4 + (120 - 4 * 13 + 5) // 6
    config, chip, train, valid = digits_setup(
        tmp_path, steps=100, q=1, estimator="hybrid", switch_step=4, cge_subset=5, max_queries=120
    )
    again = make_trainer(config, chip.oracle(), train, valid, tmp_path / "run", progress=False)
    again.load_checkpoint()
    assert again.state.method_state.switched_at == 4 and again.train_queries == history[-1]["queries"]


def test_hybrid_switch_restarts_the_optimiser_and_the_budget_paces_the_schedule(tmp_path):
    config, chip, train, valid = digits_setup(
        tmp_path,
        steps=100,
        q=1,
        estimator="hybrid",
        switch_step=4,
        cge_subset=5,
        max_queries=120,
        schedule="cosine",
    )
    trainer = make_trainer(config, chip.oracle(), train, valid, tmp_path / "run", progress=False)
    history = trainer.run()
    # sign-RGE's ±1 estimates must not scale CGE's steps: Adam restarts at the switch
    assert trainer.state.method_state.inner.t == len(history) - 4
    # the run ends on its query budget after 18 of its 100 steps; the cosine schedule follows the
    # budget spent (CGE steps are cheaper here), so it has decayed when the budget runs out
    lrs = [r["lr"] for r in history]
    assert len(history) < 20 and lrs == sorted(lrs, reverse=True)
    assert lrs[-1] < 0.05 * config.lr < 0.9 * config.lr < lrs[0]


def test_the_best_validated_phases_are_kept_the_start_included(tmp_path):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(400, 5, generator=g, dtype=torch.float64)
    w = torch.randn(5, 3, generator=g, dtype=torch.float64)
    y = (x @ w).argmax(1)
    oracle = SoftmaxRegressionOracle(5, 3)
    data = (x[:300], y[:300]), (x[300:], y[300:])
    electronic = phase_mask(oracle.param_slices(), 15)  # weights, not phases: never wrapped
    # a start that already solves the task, and steps far too large: training only makes it worse
    start = 5 * w.T.reshape(-1)
    trainer = ZOTrainer(
        oracle,
        method(RGE(q=2, mu=1e-3), adam(2.0, mask=electronic)),
        Classification(*data),
        tmp_path / "worse",
        LoopConfig(steps=30, eval_every=10),
        progress=False,
        params=start,
    )
    history = trainer.run()
    assert trainer.best["step"] == 0 and trainer.best["val_acc"] == 1.0 > history[-1]["val_acc"]
    assert torch.equal(trainer.best_params, start)
    # a run that learns keeps its best evaluation, and a resumed trainer knows it
    trainer = ZOTrainer(
        oracle,
        method(RGE(q=5, mu=1e-3), adam(0.05, mask=electronic)),
        Classification(*data),
        tmp_path / "learns",
        LoopConfig(steps=150, eval_every=50),
        progress=False,
    )
    history = trainer.run()
    evaluated = [r["val_acc"] for r in history if "val_acc" in r]
    assert trainer.best["val_acc"] == max(evaluated) > 0.85 and trainer.best["step"] > 0
    assert trainer.evaluate(trainer.best_params)["val_acc"] == trainer.best["val_acc"]
    again = ZOTrainer(
        oracle,
        method(RGE(q=5, mu=1e-3), adam(0.05, mask=electronic)),
        Classification(*data),
        tmp_path / "learns",
        LoopConfig(steps=150),
        progress=False,
    )
    again.load_checkpoint()
    assert again.best == trainer.best and torch.equal(again.best_params, trainer.best_params)


def test_a_run_stopped_before_its_first_checkpoint_is_no_dead_end(tmp_path):
    config = TrainConfig.of(dataset="digits", steps=4, eval_every=2, eval_size=40, q=1)
    run = tmp_path / "run"
    run.mkdir()
    # what a kill during the start evaluation leaves: config.json and nothing else
    (run / "config.json").write_text(json.dumps(config.flat()))
    assert run_training(config, run, resume=True, progress=False)["steps"] == 4  # resume: it starts
    (run / "checkpoint.npz").unlink()
    (run / "metrics.jsonl").unlink()
    (run / "summary.json").unlink()
    assert run_training(config, run, progress=False)["steps"] == 4  # and so does a plain run
    with pytest.raises(FileExistsError, match="pass --resume"):
        run_training(config, run, progress=False)  # but a run with a checkpoint is never overwritten


def test_damaged_run_files_are_errors_that_name_them(tmp_path):
    from photonzo.training.checkpoint import CheckpointError

    config = TrainConfig.of(dataset="digits", steps=2, eval_every=2, eval_size=40, q=1)
    run = tmp_path / "run"
    run_training(config, run, progress=False)
    good = (run / "checkpoint.npz").read_bytes()
    (run / "checkpoint.npz").write_bytes(good[: len(good) // 2])  # truncated
    with pytest.raises(CheckpointError, match="damaged or not a photonzo checkpoint"):
        run_training(config, run, resume=True, progress=False)
    (run / "checkpoint.npz").write_bytes(good)
    lines = (run / "metrics.jsonl").read_text().splitlines()
    (run / "metrics.jsonl").write_text(lines[0][:-5] + "\n" + "\n".join(lines[1:]) + "\n")
    with pytest.raises(CheckpointError, match=r"metrics.jsonl, line 1, is not a metrics record"):
        run_training(config, run, resume=True, progress=False)
    (run / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"config.json is damaged"):
        run_training(config, run, resume=True, progress=False)


def test_two_processes_cannot_write_one_run_directory(tmp_path):
    import subprocess
    import sys

    from photonzo.io import DirectoryInUse, exclusive

    config = TrainConfig.of(dataset="digits", steps=2, eval_every=2, eval_size=40, q=1)
    run = tmp_path / "run"
    holder = subprocess.Popen(  # another process holding the directory, as a second `--resume` would
        [sys.executable, "-c", f"from photonzo.io import exclusive\nwith exclusive({str(run)!r}):\n"
         "    print('held', flush=True); input()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(DirectoryInUse, match=rf"is in use by photonzo process {holder.pid}"):
            run_training(config, run, progress=False)
        assert not (run / "config.json").exists()  # refused before anything was written
    finally:
        holder.communicate("\n")
    assert run_training(config, run, progress=False)["steps"] == 2  # released when its holder ended
    # the lock is per open file, so even this process cannot take it twice
    with exclusive(run), pytest.raises(DirectoryInUse), exclusive(run):
        pass


def lrs_of(run: Path) -> list[float]:
    return [r["lr"] for r in read_metrics(run)]


def test_a_longer_resume_extends_the_cosine_schedule_without_a_jump(tmp_path, monkeypatch):
    import math
    import shutil

    from photonzo.training.recorder import Recorder

    base = dict(dataset="digits", steps=20, eval_every=5, eval_size=40, q=1, schedule="cosine")
    run, copy = tmp_path / "run", tmp_path / "copy"
    run_training(TrainConfig.of(**base), run, progress=False)
    shutil.copytree(run, copy)
    twenty = lrs_of(run)
    longer = TrainConfig.of(**{**base, "steps": 40})
    assert run_training(longer, run, resume=True, progress=False)["steps"] == 40
    lrs = lrs_of(run)
    assert lrs[:20] == twenty and len(lrs) == 40
    # no jump at step 20: from step 19 on, the rest of the cosine (19/20 → 1) spread over 21 steps
    assert all(a > b for a, b in zip(lrs[19:], lrs[20:]))
    rest = [0.01 * 0.5 * (1 + math.cos(math.pi * (19 / 20 + (k - 19) / (20 * 21)))) for k in range(20, 40)]
    assert lrs[20:] == pytest.approx(rest, rel=1e-12)
    saved = json.loads((run / "config.json").read_text())
    assert saved["steps"] == 40 and len(saved["extensions"]) == 1
    ext = saved["extensions"][0]
    assert (ext["step"], ext["steps"], ext["max_queries"]) == (20, [20, 40], [None, None])
    assert ext["queries"] == 20 * 13 and ext["last_queries"] == 19 * 13
    # the same extension, interrupted after its checkpoint at step 30, resumes to the same lrs
    real = Recorder.record

    def killed(self, record, state):
        if record["step"] == 32:
            raise KeyboardInterrupt
        real(self, record, state)

    monkeypatch.setattr(Recorder, "record", killed)
    with pytest.raises(KeyboardInterrupt):
        run_training(longer, copy, resume=True, progress=False)
    monkeypatch.setattr(Recorder, "record", real)
    assert json.loads((copy / "config.json").read_text()) == saved  # written before the first step
    run_training(longer, copy, resume=True, progress=False)  # the same length now: no new extension
    assert lrs_of(copy) == lrs and json.loads((copy / "config.json").read_text()) == saved
    # a finished run resumed with its own length is left as it was
    run_training(longer, run, resume=True, progress=False)
    assert lrs_of(run) == lrs and json.loads((run / "config.json").read_text()) == saved


def test_the_schedule_position_under_extensions():
    from photonzo.training.loop import Extension, schedule_position
    from photonzo.training.step import TrainState

    at = lambda loop, step, queries=0: schedule_position(
        TrainState(torch.zeros(1), None, step, queries), loop
    )
    assert [at(LoopConfig(steps=20), k) for k in (0, 7, 19)] == [0, 7, 19]  # never extended: the step
    assert at(LoopConfig(steps=60, max_queries=5000), 25, 4775) == 57  # whole steps under a budget
    # shortened while running: 10 of 20 steps done, now 15; from 9/20 at step 9 to the end at 15
    shorter = LoopConfig(steps=15, extensions=(Extension(10, 100, 90, (20, 15), (None, None)),))
    assert [at(shorter, k) for k in (9, 10, 15)] == [pytest.approx(15 * 9 / 20), 15 * (9 / 20 + 11 / 120), 15]
    # the budget doubled after it ran out: its clock goes on from the last step's reading
    more = Extension(10, 1000, 900, (100, 100), (1000, 2000))
    loop = LoopConfig(steps=100, max_queries=2000, extensions=(more,))
    assert at(LoopConfig(steps=100, max_queries=1000), 9, 900) == at(loop, 9, 900) == 90
    positions = [at(loop, 10 + k, 1000 + 100 * k) for k in range(11)]
    assert positions[0] == 90 and positions == sorted(positions) and positions[-1] == 100
    # an extension at step 0 just replaces the length; a damaged or mismatched record is refused
    fresh = LoopConfig(steps=40, extensions=(Extension(0, 0, 0, (20, 40), (None, None)),))
    assert at(fresh, 10) == 10
    with pytest.raises(ValueError, match="ends at 40 steps"):
        LoopConfig(steps=30, extensions=fresh.extensions)
    with pytest.raises(ValueError, match="extension recorded in config.json is damaged"):
        Extension.from_json({"step": 3, "steps": [1]})
