"""Golden fixtures for tests/test_golden.py, recorded from main at d44960e (before the reshape of issue 14).

Runs against that commit only (it uses the pre-reshape API): python tests/golden/make_golden.py tests/golden /tmp/work
"""

import json, shutil, sys
from pathlib import Path
import numpy as np, torch
from photonzo.training.runs import TrainConfig, run_training
from photonzo.pinn.trainer import PINNConfig, run_pinn
from photonzo.training.calibration import CalibrationConfig, calibrate
from photonzo.photonics.chip import Chip
from photonzo.photonics.hardware import HardwareModel
from photonzo.photonics.layers import OpticalLinear
from photonzo.photonics.network import OpticalNetwork, build_network
from photonzo.training.backprop import train_backprop, deploy

out = Path(sys.argv[1])
work = Path(sys.argv[2])
torch.set_num_threads(1)


def hist(run):  # metrics without wall times
    return [
        {k: v for k, v in json.loads(l).items() if k != "wall"}
        for l in (run / "metrics.jsonl").read_text().splitlines()
    ]


g = {}
# 1. README defaults, shortened
s = run_training(TrainConfig(steps=300), work / "readme300", progress=False, plot=False)
g["readme300"] = {
    "history": hist(work / "readme300"),
    "summary": {
        k: s[k] for k in ("test_acc", "final_test_acc", "kept_step", "train_queries", "eval_queries")
    },
}
# 2. hybrid with a switch, typical chip, budget-paced
cfg = dict(
    estimator="hybrid",
    per_group=True,
    q=1,
    cge_subset=64,
    switch_step=15,
    patience=2,
    steps=60,
    eval_every=5,
    hardware="typical",
    max_queries=5000,
)
s = run_training(TrainConfig(**cfg), work / "hybrid", progress=False, plot=False)
g["hybrid"] = {
    "config": cfg,
    "history": hist(work / "hybrid"),
    "summary": {
        k: s[k] for k in ("test_acc", "final_test_acc", "kept_step", "train_queries", "eval_queries")
    },
}
# 3. an old checkpoint: the hybrid stopped at 30 steps, then resumed by today's code to 80
half = dict(cfg, steps=25)
run_training(TrainConfig(**half), work / "resume", progress=False, plot=False)
shutil.copytree(work / "resume", out / "checkpoint_d44960e")
(out / "checkpoint_d44960e" / "summary.json").unlink()
(out / "checkpoint_d44960e" / "curves.png").unlink(missing_ok=True)
s = run_training(TrainConfig(**cfg), work / "resume", resume=True, progress=False, plot=False)
g["resumed"] = {
    "config": cfg,
    "history": hist(work / "resume"),
    "summary": {
        k: s[k] for k in ("test_acc", "final_test_acc", "kept_step", "train_queries", "eval_queries")
    },
}
# 4. in-situ from deployed weights (deploy sets gains), typical chip
net = build_network("digits-tt")
from photonzo.training.runs import prepare_data

tc = TrainConfig(steps=40, eval_every=20, hardware="typical", output_gain=1.0)
train, valid, test, _ = prepare_data(tc, 64)
w, _ = train_backprop(net, train[0].numpy(), train[1].numpy(), epochs=2, seed=0)
phases = deploy(net, w)
s = run_training(tc, work / "insitu", progress=False, plot=False, network=net, params=phases)
g["insitu"] = {
    "history": hist(work / "insitu"),
    "summary": {
        k: s[k] for k in ("test_acc", "final_test_acc", "kept_step", "train_queries", "start_test_acc")
    },
    "phases_sha": float(np.sum(phases * np.arange(len(phases)) % 7.3)),
}
# 5. PINN
# the heat equation (HJB at dim 3 had the wrong constant before issue 19's fix, so its history was retired)
pc = PINNConfig(pde="heat", dim=3, model="small", steps=12, eval_every=4, q=3, test_points=500)
s = run_pinn(pc, work / "pinn", progress=False, plot=False)
g["pinn_heat"] = {
    "config": dict(pde="heat", dim=3, model="small", steps=12, eval_every=4, q=3, test_points=500),
    "history": hist(work / "pinn"),
    "summary": {k: s[k] for k in ("rel_l2", "rel_l2_learned", "val_loss", "train_queries")},
}
# 6. layer-local
s = run_training(
    TrainConfig(estimator="layer-local", joint=True, steps=30, eval_every=10, hardware="typical"),
    work / "local",
    progress=False,
    plot=False,
)
g["layer_local"] = {
    "history": hist(work / "local"),
    "summary": {k: s[k] for k in ("test_acc", "train_queries")},
}
# 7. calibration
network = OpticalNetwork([OpticalLinear(8, 8, block=4), OpticalLinear(8, 4, block=4)], ["relu"], name="small")
chip = Chip(network, HardwareModel(phase_bias=0.15, bs_error_std=0.05), seed=3, dtype=torch.complex128)
design = Chip(network, "ideal", seed=3, dtype=torch.complex128)
x = torch.as_tensor(np.random.default_rng(0).uniform(0, 1, (32, 8)))
r = calibrate(
    chip.oracle(),
    design,
    chip.initial_params(7).double(),
    x,
    CalibrationConfig(steps=40, q=4, lr=0.01, random_settings=2),
)
g["calibration"] = {
    "loss_before": r.loss_before,
    "loss_after": r.loss_after,
    "queries": r.queries,
    "offset": r.offset.tolist(),
    "losses": [h["loss"] for h in r.history],
}
(out / "histories_d44960e.json").write_text(json.dumps(g))
print("ok", {k: len(v.get("history", [])) for k, v in g.items()})
