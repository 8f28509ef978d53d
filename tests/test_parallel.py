"""One run's queries over worker processes or a Dask cluster (photonics/parallel.py): the same numbers
as the chip itself, bit for bit; clear errors for bad options and lost workers; runs that resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from photonzo import processes
from photonzo.cli import main
from photonzo.experiments import run as run_module
from photonzo.experiments.run import TrainConfig, run_training
from photonzo.photonics import parallel
from photonzo.photonics.chip import Chip
from photonzo.photonics.hardware import HardwareModel
from photonzo.photonics.network import build_network
from photonzo.photonics.parallel import ChipSpec, DaskWorkers, LocalWorkers, ParallelOracle, WorkerLost, split

NOISY = HardwareModel.preset("typical").replace(
    phase_noise_std=0.02, detector_noise_std=0.01, shot_noise_photons=1e4
)


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """One intra-op thread here as in the workers (the results do not depend on it)."""
    monkeypatch.setenv("PHOTONZO_THREADS", "1")


@pytest.fixture(scope="module")
def pool():
    workers = LocalWorkers(2)
    yield workers
    workers.close()


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local


def noisy_chip(model="digits-tt"):
    network = build_network("digits-tt", block=4) if model == "digits-tt" else build_network(model)
    # the measured chip's converters turn a last-bit difference of a product into an ADC level
    chip = Chip(network, NOISY if model == "digits-tt" else "measured", seed=3)
    chip.cache_elements = 1  # batch chunks of 64 inputs
    return chip


def test_split_cuts_settings_into_contiguous_ranges():
    assert split(5, 2) == [(0, 3), (3, 5)]
    assert split(7, 3) == [(0, 3), (3, 5), (5, 7)]
    assert split(1, 4) == [(0, 1)]  # the other workers idle


@pytest.mark.parametrize("model", ["digits-tt", "mnist-tt", "hjb-tt"])
def test_one_worker_two_workers_dask_and_the_chip_agree_bit_for_bit(model, pool, cluster, rng):
    oracles = {
        "chip": noisy_chip(model).oracle(),
        "1 worker": ParallelOracle(noisy_chip(model), workers=1, pool=pool),
        "2 workers": ParallelOracle(noisy_chip(model), pool=pool),
        "dask": ParallelOracle(noisy_chip(model), scheduler=cluster.scheduler_address),
    }
    assert [o.workers for o in list(oracles.values())[1:]] == [1, 2, 2]
    phases = torch.tensor(rng.uniform(0, 6.3, (5, oracles["chip"].n_params)), dtype=torch.float32)
    classes, inputs = oracles["chip"].layer_features[-1], noisy_chip(model).network.in_features
    x = torch.rand(150, inputs, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, classes, (150,), generator=torch.Generator().manual_seed(1))
    calls = [
        lambda o: [o.outputs(phases, x)],
        lambda o: [o.loss(phases[:3], (x, y))],
        lambda o: o.layer_outputs(phases[:1], x),  # one setting: a worker idles
        lambda o: [o.outputs(phases, x)],  # the same settings again: fresh noise
    ]
    results = {name: [call(o) for call in calls] for name, o in oracles.items()}
    want = results.pop("chip")
    assert (want[3][0] - want[0][0]).abs().max() > 1e-3  # the noise is there, and per query
    for name, got in results.items():
        for a, b in zip(got, want):
            assert all(torch.equal(u, v) for u, v in zip(a, b)), name
    counts = {(o.queries, o.inferences) for o in oracles.values()}
    assert counts == {(14, 14 * 150)}
    oracles["dask"].close()


def test_calls_rejected_in_the_main_process_cost_no_query(pool):
    oracle = ParallelOracle(noisy_chip(), pool=pool)
    with pytest.raises(ValueError, match=r"shape \[Q, P\]"):
        oracle.outputs(torch.zeros(2, 3), torch.rand(4, 64))
    with pytest.raises(ValueError, match="class labels"):
        oracle.loss(torch.zeros(2, oracle.n_params), (torch.rand(4, 64), torch.tensor([0, 1, 2, 99])))
    assert oracle.queries == 0


def test_a_callable_loss_is_refused_for_parallel_use():
    chip = Chip(build_network("digits-tt", block=4), "typical", loss=lambda out, y: out.mean((1, 2)))
    with pytest.raises(ValueError, match="callable loss, which parallel evaluation cannot use"):
        ChipSpec.of(chip)
    with pytest.raises(ValueError, match="needs a named loss"):
        ChipSpec(chip.network, chip.hardware, loss="hinge")


def test_an_unreachable_scheduler_is_a_clear_error():
    t0 = time.monotonic()
    with pytest.raises(
        ValueError, match=r"cannot reach the Dask scheduler at 'tcp://127.0.0.1:1' within 0.5 s"
    ):
        DaskWorkers("tcp://127.0.0.1:1", timeout=0.5)
    assert time.monotonic() - t0 < 10


def test_bad_worker_options_are_refused_before_a_run_directory_exists(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(parallel, "CONNECT_TIMEOUT", 0.5)
    run = tmp_path / "run"
    base = ["train", "digits", "--steps", "2", "--run-dir", str(run), "--quiet"]
    with pytest.raises(SystemExit):
        main([*base, "--workers", "0"])
    assert "argument --workers: expected a positive integer, got 0" in capsys.readouterr().err
    assert main([*base, "--q", "2", "--workers", "100"]) == 2
    err = capsys.readouterr().err  # digits-tt, tensor-wise over its 6 slices: 1 + 2·2·6 settings per call
    assert "--workers 100 is more than the 25 settings of one chip call" in err and "--workers 25 or" in err
    assert main([*base, "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "cannot reach the Dask scheduler at 'tcp://127.0.0.1:1'" in capsys.readouterr().err
    assert main([*base, "--scheduler", "tcp://127.0.0.1:1", "--workers", "2"]) == 2
    assert "give one or the other" in capsys.readouterr().err
    assert main(["hjb", "--model", "small", "--dim", "2", "--run-dir", str(run), "--workers", "22"]) == 2
    assert "more than the 21 settings" in capsys.readouterr().err
    assert not run.exists()


def test_a_worker_killed_mid_step_stops_the_run_which_resumes(pool, tmp_path, monkeypatch):
    """The last user of the shared pool: it kills one of its workers."""
    config = TrainConfig.of(
        dataset="digits", steps=4, eval_every=2, batch_size=16, q=2, eval_size=40,
        hardware="typical", hardware_overrides={"detector_noise_std": 0.01},
    )  # fmt: skip
    reference = run_training(config, tmp_path / "in-process", progress=False)
    started = run_module.open_workers
    monkeypatch.setattr(run_module, "open_workers", lambda w, s: pool if w == 2 else started(w, s))
    real_evaluate, real_wait, calls = LocalWorkers.evaluate, processes.wait, []

    def evaluate(self, token, spec, phases, x, first, ranges, taps):
        calls.append(len(ranges))  # the start's evaluation, steps 1 and 2, an evaluation, step 3 ...
        if len(calls) == 5:
            assert len(ranges) == 2

            def kill_then_wait(handles, *args):  # the call has reached the workers: kill one now
                monkeypatch.setattr(processes, "wait", real_wait)
                os.kill(self.pids[1], signal.SIGKILL)
                return real_wait(handles, *args)

            monkeypatch.setattr(processes, "wait", kill_then_wait)
        return real_evaluate(self, token, spec, phases, x, first, ranges, taps)

    monkeypatch.setattr(LocalWorkers, "evaluate", evaluate)
    run = tmp_path / "run"
    lost = r"local worker 1 of 2 \(pid \d+\), evaluating settings 13..24 .* killed by SIGKILL"
    with pytest.raises(WorkerLost, match=lost):
        run_training(config, run, progress=False, workers=2)
    assert not (run / "summary.json").exists() and (run / "checkpoint.npz").exists()
    read = lambda path: [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]
    strip = lambda records: [{k: v for k, v in r.items() if k != "wall"} for r in records]
    lines = strip(read(run))
    assert len(lines) == 2 and lines == strip(read(tmp_path / "in-process"))[:2]  # the same run so far
    with pytest.raises(WorkerLost, match="workers are gone"):  # and nothing more from that pool
        chip = noisy_chip()
        ParallelOracle(chip, pool=pool).outputs(torch.zeros(2, chip.n_params), torch.rand(1, 64))
    summary = run_training(config, run, resume=True, progress=False)  # now in this process
    assert summary["steps"] == 4 and summary["train_queries"] == reference["train_queries"]


def test_workers_end_when_the_main_process_is_killed(tmp_path):
    script = (
        "import os, signal\n"
        "from photonzo.processes import WorkerProcesses\n"
        "if __name__ == '__main__':\n"
        "    workers = WorkerProcesses(1, every=0.1)  # what LocalWorkers runs on\n"
        "    print(workers.pids[0], flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    (tmp_path / "main.py").write_text(script)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "main.py")], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == -signal.SIGKILL
    worker = int(done.stdout.split()[0])

    def alive(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"  # not a zombie

    deadline = time.monotonic() + 20
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive(worker), "an orphaned worker kept running"
