"""The names a user chooses among (estimators, schedules, meshes, PDEs, …), without torch.

The command line's options are generated from the configuration types (``experiments/config.py``),
whose ``Literal`` fields list these names; keeping them here, in a module that imports nothing
heavy, lets every ``photonzo COMMAND --help`` answer without importing torch (seconds on a busy
machine). The modules that implement the choices import their tuples from here; where an
implementation is a registry (a dict of functions or classes) or lives in a module that keeps its
own tuple, ``tests/test_cli.py`` checks that the names here are exactly its keys.
"""

from __future__ import annotations

DATASETS = ("mnist", "fashion-mnist", "digits", "mnist-8x8")  # data/datasets.py

# photonics/mesh.py, layers.py and network.py use these; network.py keeps MODELS (a registry)
MESH_KINDS = ("clements", "reck")
EDGE_BLOCKS = ("rectangular", "padded")  # how blocks at a matrix's edge are realised (layers.py)
LEVELS = ("layer", "core", "group", "mesh")  # slices of a network's parameter vector
# MODELS' keys
MODEL_NAMES = ("mnist-tt", "mnist-dense", "hjb-tt", "hjb-dense", "digits-tt", "digits-dense", "mnist8-dense")

# training/estimators.py, training/literature.py, training/optim.py, training/tpsgd.py
DISTRIBUTIONS = ("rademacher", "gaussian", "sphere")
SCHEMES = ("central", "forward")
ESTIMATORS = ("rge", "cge", "hybrid")
TRAINERS = ("flops", "szo-scd", "stp", "zo-signsgd", "zo-adamm", "subspace")
SCHEDULES = ("constant", "cosine", "step")
OPTIMIZERS = ("adam", "sgd")
LOCAL_LOSSES = ("mse", "l1", "ce", "linear", "cosine")  # the keys of tpsgd.LOCAL_LOSSES

# pinn/pde.py: the keys of PDES; pinn/quadrature.py: the rules
PDE_NAMES = ("hjb", "heat", "black-scholes", "burgers", "fisher")
SPARSE_RULES = ("gauss-hermite", "gauss-hermite-odd")
SAMPLED_RULES = ("monte-carlo", "antithetic")
RULES = SPARSE_RULES + SAMPLED_RULES

# experiments/sweep.py
SWEEP_MODES = ("deploy", "in-situ", "calibrated")
SWEEP_HARDWARE_FIELDS = (
    "phase_bits",
    "phase_bias",
    "gamma_std",
    "phase_noise_std",
    "crosstalk",
    "bs_error_std",
    "insertion_loss_db",
    "detector_noise_std",
    "shot_noise_photons",
    "input_bits",
    "output_bits",
)
ENGINES = ("local", "dask")  # the keys of sweep.EXECUTORS
