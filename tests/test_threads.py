"""The thread policy: it times one thread against all, keeps the faster per call shape, can be
fixed, restores the caller's setting — and never changes what the chip computes."""

import pytest
import torch

from photonzo.photonics.chip import Chip
from photonzo.photonics.network import build_network
from photonzo.photonics.threads import ThreadPolicy


@pytest.mark.parametrize(
    ("model", "dtype"), [("digits-tt", torch.complex64), ("digits-dense", torch.complex128)]
)
def test_the_chip_computes_the_same_bits_at_any_thread_count(model, dtype):
    before = torch.get_num_threads()
    outs = []
    try:
        for threads in (1, 2):
            chip = Chip(build_network(model), "typical", dtype=dtype)
            chip.threads = ThreadPolicy(fixed=threads)
            p = torch.stack([chip.initial_params(i) for i in range(5)])
            outs.append(chip.outputs(p, torch.rand(16, 64, generator=torch.Generator().manual_seed(0))))
    finally:
        torch.set_num_threads(before)
    assert torch.equal(outs[0], outs[1])


def test_the_policy_alternates_then_keeps_the_faster_and_measures_again_later(monkeypatch):
    monkeypatch.delenv("PHOTONZO_THREADS", raising=False)
    policy = ThreadPolicy(maximum=4, trials=2, recheck=3)
    key = policy.key(21, 64, False)
    seen = []
    # drive it: one thread first, then alternating, until both have two timings
    times = {1: [0.5, 0.4], 4: [0.2, 0.3]}
    while key not in policy.chosen:
        threads = policy.threads_for(key)
        seen.append(threads)
        policy.record(key, threads, times[threads].pop(0))
    assert seen == [1, 4, 1, 4] and policy.chosen[key] == 4
    assert [policy.threads_for(key) for _ in range(2)] == [4, 4]
    assert policy.threads_for(key) == 1 and key not in policy.chosen  # after `recheck` calls: measured anew
    assert ThreadPolicy(maximum=1).threads_for(key) == 1


def test_a_fixed_count_from_the_environment_and_the_callers_setting_is_restored(monkeypatch):
    monkeypatch.setenv("PHOTONZO_THREADS", "1")
    assert ThreadPolicy(maximum=8).threads_for(("any",)) == 1
    monkeypatch.setenv("PHOTONZO_THREADS", "lots")
    with pytest.raises(ValueError, match="PHOTONZO_THREADS must be a positive integer, got 'lots'"):
        ThreadPolicy()
    monkeypatch.delenv("PHOTONZO_THREADS")
    before = torch.get_num_threads()
    chip = Chip(build_network("digits-tt"))
    chip.threads = ThreadPolicy(fixed=1 if before > 1 else 2)
    chip.outputs(chip.initial_params()[None], torch.rand(2, 64))
    assert torch.get_num_threads() == before


def test_a_training_history_is_the_same_at_any_thread_count(tmp_path, monkeypatch):
    """What makes the timing-based choice safe: the step's own work gives the same bits too."""
    from photonzo.experiments.config import TrainConfig
    from photonzo.experiments.results import read_metrics
    from photonzo.experiments.run import run_training

    before = torch.get_num_threads()
    config = TrainConfig.of(
        steps=8,
        eval_every=4,
        eval_size=50,
        estimator="hybrid",
        per_group=True,
        switch_step=4,
        cge_subset=32,
        q=1,
        hardware="typical",
    )
    histories = []
    try:
        for threads in (1, 2):
            monkeypatch.setenv("PHOTONZO_THREADS", str(threads))
            torch.set_num_threads(threads)
            run_training(config, tmp_path / str(threads), progress=False)
            histories.append(
                [{k: v for k, v in r.items() if k != "wall"} for r in read_metrics(tmp_path / str(threads))]
            )
    finally:
        torch.set_num_threads(before)
    assert histories[0] == histories[1]
