"""photonzo: a photonic-chip simulator and back-propagation-free training stack.

The simulated chip (``photonzo.photonics``) is the only oracle the trainers may use: they program
phases and read detector outputs. The layers, each importing only the ones below it::

    experiments   runs from configurations, sweeps, results, plots       (photonzo.experiments)
    training      ZO estimators, methods, the step and loop, calibration (photonzo.training)
    pinn          PDEs, quadrature, Stein derivatives, the PINN objective (photonzo.pinn)
    photonics     MZIs, meshes, layers, networks, hardware, Chip/Oracle   (photonzo.photonics)
    data          datasets                                                (photonzo.data)

The names below are the curated public API; each is imported on first use (torch and matplotlib
load slowly, and ``import photonzo`` should not pay for what a script does not touch).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name → the module that defines it
_PUBLIC = {
    # the chip
    "Chip": "photonzo.photonics.chip",
    "Oracle": "photonzo.photonics.chip",
    "LayerTapOracle": "photonzo.photonics.chip",
    "ParallelOracle": "photonzo.photonics.parallel",
    "HardwareModel": "photonzo.photonics.hardware",
    "OpticalNetwork": "photonzo.photonics.network",
    "Program": "photonzo.photonics.network",
    "build_network": "photonzo.photonics.network",
    "DenseWeights": "photonzo.photonics.layers",
    "TTWeights": "photonzo.photonics.layers",
    # zeroth-order training
    "RGE": "photonzo.training.estimators",
    "CGE": "photonzo.training.estimators",
    "PerGroup": "photonzo.training.estimators",
    "LayerLocalRGE": "photonzo.training.tpsgd",
    "method": "photonzo.training.methods",
    "hybrid": "photonzo.training.methods",
    "adam": "photonzo.training.optim",
    "sgd": "photonzo.training.optim",
    "cosine": "photonzo.training.optim",
    "phase_mask": "photonzo.training.optim",
    "TrainState": "photonzo.training.step",
    "zo_step": "photonzo.training.step",
    "LoopConfig": "photonzo.training.loop",
    "train": "photonzo.training.loop",
    "ZOTrainer": "photonzo.training.zo",
    "Classification": "photonzo.training.objectives",
    "calibrate": "photonzo.training.calibration",
    "CalibrationConfig": "photonzo.training.calibration",
    "train_backprop": "photonzo.training.backprop",
    "deploy": "photonzo.training.backprop",
    # runs
    "TrainConfig": "photonzo.experiments.config",
    "PINNConfig": "photonzo.experiments.config",
    "BackpropConfig": "photonzo.experiments.config",
    "run_training": "photonzo.experiments.run",
    "run_pinn": "photonzo.experiments.run",
    "Sweep": "photonzo.experiments.sweep",
    "run_sweep": "photonzo.experiments.sweep",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value  # looked up once
        return value
    raise AttributeError(f"module 'photonzo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
