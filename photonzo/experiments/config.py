"""Run configurations: typed, nested, frozen, validated when built — and the CLI generated from them.

A run configuration is composed of sections (data, chip, estimator, optimiser, loop; for a PINN: PDE,
chip, derivatives, ZO, loop), each a frozen dataclass that checks its own values in
``__post_init__``, so an invalid configuration cannot exist. Every field is a ``setting``: its
default, its help text and how the command line reads it live in one place, and ``add_arguments``
turns the fields into ``argparse`` options, so the CLI and the configs cannot drift. String modes are
``Literal`` types; the CLI offers exactly their values.

Field names are unique across the sections of one run configuration, so a configuration also reads
and writes as one flat mapping: ``TrainConfig.of(steps=300, q=4)``, ``config.steps``,
``config.flat()`` (what ``config.json`` holds — the layout it had before the sections existed, so
old run directories still resume) and ``config.replace(lr=0.02)``.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import math
import typing
from dataclasses import dataclass, field
from typing import Literal

# torch- and numpy-free imports only: the CLI builds its options (and every --help) from this module,
# and they take seconds to import; the PDEs are imported where a configuration is checked
from ..choices import (
    DATASETS,
    DISTRIBUTIONS,
    EDGE_BLOCKS,
    ESTIMATORS,
    LEVELS,
    LOCAL_LOSSES,
    MESH_KINDS,
    MODEL_NAMES,
    OPTIMIZERS,
    PDE_NAMES,
    RULES,
    SAMPLED_RULES,
    SCHEDULES,
    SCHEMES,
    SPARSE_RULES,
    TRAINERS,
)
from ..photonics.hardware import PRESETS, HardwareModel
from ..validation import (
    check_choice,
    check_fraction,
    check_int,
    check_non_negative,
    check_optional_positive_int,
    check_positive,
    check_seed,
)

# the whole-network estimators, the literature's trainers (training/literature.py), and the
# layer-local one of target projection (tpSGD on the chip)
TRAIN_ESTIMATORS = (*ESTIMATORS, *TRAINERS, "layer-local")
# dataset → model family (``network.MODELS`` holds ``{family}-{model}``; 8×8 MNIST has the dense one only)
MODEL_FOR = {"digits": "digits", "mnist": "mnist", "fashion-mnist": "mnist", "mnist-8x8": "mnist8"}
DERIVATIVES = ("sparse-grid", "monte-carlo", "fd", "least-squares")
MAX_REPEATS = 10_000  # pinn/stein.py's MAX_REPEATS (kept here: this module imports no torch)
PINN_MODELS = ("tt", "dense", "small")
READOUT_CHOICES = ("coherent", "intensity")
INIT_CHOICES = ("random", "deployed")  # a classification run's starting phases
# the PDE parameters a PINN configuration sets (the PDE classes' ``params`` it passes on)
PDE_SETTINGS = ("volatility", "interest_rate", "maturity", "viscosity")
# keys of config.json files written before a field was retired, with the only value they ever held
RETIRED = {"extra": {}}
# options that only some estimators use: (the value that means "not set", those estimators)
ESTIMATOR_OPTIONS = {
    "switch_step": (None, ("hybrid",)),
    "cge_subset": (None, ("cge", "hybrid")),
    "per_group": (False, ("rge", "hybrid")),
    "density": (1.0, ("rge", "hybrid")),
    "joint": (False, ("layer-local",)),
    "local_loss": ("mse", ("layer-local",)),
    "projection_seed": (1, ("layer-local",)),
    "target_scale": (1.0, ("layer-local",)),
    "active_fraction": (None, ("szo-scd",)),
    "coordinate_fraction": (None, ("szo-scd",)),
}
# classification and PINN runs both take sparse RGE directions
DENSITY_HELP = (
    "fraction of the coordinates each RGE direction perturbs (sparse directions: the perturbation's "
    "norm shrinks by its square root while --mu stays one phase-DAC step; training/estimators.py)"
)
# settings added since config.json files were first written, with the value older runs had
ADDED = {  # repeats .. gain_scale: PINN runs only
    "edge_blocks": "padded",
    "repeats": 1,
    "tensorwise": False,
    "tensor_level": "layer",
    "per_group": False,
    "cge_max": 128,
    "detector_noise": None,
    "gain_scale": 1.0,
    "init": "random",
    "density": 1.0,
    "cge_scheme": "forward",  # PINN runs before it was a setting
}


def setting(
    default,
    help: str,
    *,
    positive: bool = False,
    none: str | None = None,
    cli: bool = True,
    positional: bool = False,
    factory=None,
):
    """A configuration field: ``help`` is its CLI help; ``positive`` makes the CLI refuse values <= 0;
    ``none``: the CLI word that means None (e.g. ``"0"`` for "never"); ``cli=False`` keeps it off the
    command line (e.g. a mapping only sweeps set); ``positional``: a positional argument."""
    metadata = {"help": help, "positive": positive, "none": none, "cli": cli, "positional": positional}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def _check_literals(section) -> None:
    """Every ``Literal`` field holds one of its values."""
    for f in dataclasses.fields(section):
        choices = literal_choices(type(section), f.name)
        if choices is not None:
            check_choice(f.name.replace("_", " "), getattr(section, f.name), choices)


@functools.cache
def _hints(cls) -> dict:
    """A section's field types, read once: each read compiles every (string) annotation again, which
    made building the options of ``photonzo train --help`` (and every configuration) cost 0.1 s."""
    return typing.get_type_hints(cls)


def literal_choices(cls, name: str) -> tuple | None:
    hint = _hints(cls)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is Literal:
        return typing.get_args(hint)
    if len(args) == 1 and typing.get_origin(args[0]) is Literal:  # Literal[...] | None
        return typing.get_args(args[0])
    return None


def _positive(section, names) -> None:
    for name in names:
        check_positive(name.replace("_", "-"), getattr(section, name), integer=True)


# ---- the classification run ----------------------------------------------------------------------


@dataclass(frozen=True)
class DataConfig:
    dataset: Literal[DATASETS] = setting("digits", "dataset (digits works offline)", positional=True)
    valid_fraction: float = setting(0.1, "share of the training split held out for validation")
    eval_size: int | None = setting(None, "validation images per evaluation (default: all)", positive=True)
    data_dir: str | None = setting(None, "folder with the IDX files (else $PHOTONZO_DATA, the cache)")

    def __post_init__(self):
        _check_literals(self)
        check_optional_positive_int("eval-size", self.eval_size)
        if not 0 < self.valid_fraction < 1:
            raise ValueError(f"valid-fraction must lie in (0, 1), got {self.valid_fraction}")


@dataclass(frozen=True)
class ChipConfig:
    model: Literal["tt", "dense"] = setting("tt", "tensor-train or dense optical MLP")
    block: int = setting(8, "mesh size k of the U Σ V† blocks", positive=True)
    mesh: Literal[MESH_KINDS] = setting("clements", "mesh topology")
    edge_blocks: Literal[EDGE_BLOCKS] = setting(
        "rectangular",
        "blocks at a matrix's edge: an r-mode U, attenuators and a c-mode V† for r×c (rectangular), or "
        "the corner of a full k×k block (padded, the layout of runs made before rectangular edges)",
    )
    readout: Literal[READOUT_CHOICES] = setting("coherent", "detection of every layer's outputs")
    hardware: Literal[tuple(PRESETS)] = setting("ideal", "hardware preset of the chip")
    phase_bits: int | None = setting(None, "override the preset's phase DAC bits", positive=True)
    hardware_overrides: dict = setting(None, "other HardwareModel fields (sweeps)", cli=False, factory=dict)  # noqa: RUF009
    chip_seed: int = setting(0, "seed of the chip's fabrication errors and noise")
    output_gain: float = setting(
        10.0,
        "electronic gain after the output detectors (a passive chip's outputs are small; the gain lets "
        "the cross-entropy saturate)",
        positive=True,
    )

    def __post_init__(self):
        _check_literals(self)
        _positive(self, ["block"])
        check_optional_positive_int("phase-bits", self.phase_bits)
        check_positive("output-gain", self.output_gain)
        check_seed("chip-seed", self.chip_seed)
        self.hardware_model()  # unknown fields or impossible values fail here, before any work

    def hardware_model(self) -> HardwareModel:
        hw = HardwareModel.preset(self.hardware)
        changes = dict(self.hardware_overrides)
        if self.phase_bits is not None:
            changes["phase_bits"] = self.phase_bits
        return hw.replace(**changes) if changes else hw


@dataclass(frozen=True)
class EstimatorConfig:
    estimator: Literal[TRAIN_ESTIMATORS] = setting(
        "rge",
        "rge: randomised; cge: coordinate-wise; hybrid: sign-RGE, then CGE when validation stalls; "
        "layer-local: target projection (tpSGD), each layer's RGE on its own local loss, read from "
        "per-layer detector taps. The literature's trainers, whole-vector and with their papers' step "
        "rules (--optimizer, --distribution, --scheme and --tensorwise do not apply): flops (Gaussian "
        "forward differences, --q samples, plain SGD at --lr), szo-scd (MixedTrain: sparse coordinate "
        "descent, step --mu), stp (stochastic three points, best of 2 --q + 1 points, step --mu; "
        "--distribution applies), zo-signsgd (sign descent at --lr), zo-adamm (AMSGrad-style moments "
        "at --lr); subspace: deploy back-propagation weights, then train only the Σ attenuators and "
        "biases in situ by RGE with the configured optimiser (training/literature.py)",
    )
    tensorwise: bool = setting(True, "perturb each named slice (see --level) with its own directions")
    level: Literal[LEVELS] = setting("core", "slices of the tensor-wise estimator")
    q: int = setting(10, "RGE directions per slice and step", positive=True)
    mu: float = setting(0.025, "perturbation step (rad)", positive=True)
    distribution: Literal[DISTRIBUTIONS] = setting("rademacher", "RGE directions")
    density: float = setting(
        1.0,
        DENSITY_HELP,
        positive=True,
    )
    scheme: Literal[SCHEMES] = setting("central", "RGE differences (central = antithetic)")
    per_group: bool = setting(False, "CGE on small attenuator/bias groups, RGE on the meshes")
    cge_scheme: Literal[SCHEMES] = setting("forward", "CGE differences")
    cge_subset: int | None = setting(None, "coordinates per CGE step (default: all)", positive=True)
    cge_max: int = setting(128, "per-group: the largest group CGE takes", positive=True)
    switch_step: int | None = setting(
        None, "hybrid: switch to CGE at this step at the latest (earlier if validation stalls)"
    )
    patience: int | None = setting(
        3, "hybrid: switch after this many evaluations without a better validation loss (0: never)", none="0"
    )
    local_loss: Literal[LOCAL_LOSSES] = setting(
        "mse", "layer-local: hidden layers' loss against their projected targets (linear = DRTP)"
    )
    joint: bool = setting(
        False, "layer-local: perturb all layers at once and read every local loss from the same queries"
    )
    projection_seed: int = setting(1, "layer-local: seed of the target projections")
    target_scale: float = setting(
        1.0,
        "layer-local: scale of the projected targets (a passive layer's outputs are small)",
        positive=True,
    )

    active_fraction: float | None = setting(
        None, "szo-scd: fraction α of the parameters trained, a random set fixed by --seed (default 0.15)"
    )
    coordinate_fraction: float | None = setting(
        None, "szo-scd: fraction s of the trained parameters swept each step (default 0.1)"
    )
    bp_epochs: int | None = setting(
        None,
        "subspace and --init deployed: epochs of the digital back-propagation training deployed "
        "before the in-situ fine-tuning (default 20)",
        positive=True,
    )

    def __post_init__(self):
        _check_literals(self)
        _positive(self, ["q", "cge_max"])
        check_positive("mu", self.mu)
        check_positive("target-scale", self.target_scale)
        check_fraction("density", self.density, open_bottom=True)
        for name in ("active_fraction", "coordinate_fraction"):
            if getattr(self, name) is not None:
                check_fraction(name.replace("_", "-"), getattr(self, name), open_bottom=True)
        check_optional_positive_int("bp-epochs", self.bp_epochs)
        check_optional_positive_int("cge-subset", self.cge_subset)
        check_optional_positive_int("patience", self.patience)
        check_seed("projection-seed", self.projection_seed)
        if self.switch_step is not None and (not isinstance(self.switch_step, int) or self.switch_step < 0):
            raise ValueError(f"switch-step must be an integer >= 0, got {self.switch_step!r}")
        self._check_estimator_options()

    def _check_estimator_options(self) -> None:
        """An option that only some estimators use, set away from its unset value, must go with one
        of them: any other would ignore it silently."""
        for name, (unset, users) in ESTIMATOR_OPTIONS.items():
            if getattr(self, name) != unset and self.estimator not in users:
                option = "--" + name.replace("_", "-")
                raise ValueError(f"{option} is for --estimator {' or '.join(users)}, not {self.estimator}")


@dataclass(frozen=True)
class OptimizerConfig:
    optimizer: Literal[OPTIMIZERS] = setting("adam", "optimiser of the phases")
    lr: float = setting(0.01, "learning rate (rad per step for Adam)", positive=True)
    schedule: Literal[SCHEDULES] = setting("cosine", "learning-rate schedule")

    def __post_init__(self):
        _check_literals(self)
        check_positive("lr", self.lr)


@dataclass(frozen=True)
class RunLoopConfig:
    steps: int = setting(1500, "training steps", positive=True)
    batch_size: int = setting(64, "inputs per training query", positive=True)
    eval_every: int = setting(100, "validate (and checkpoint) every N steps", positive=True)
    max_queries: int | None = setting(None, "stop when this many training queries are spent", positive=True)
    seed: int = setting(0, "seed of the initial phases, batches and directions")
    init: Literal[INIT_CHOICES] = setting(
        "random",
        "starting phases: random, or back-propagation weights trained on the run's split (--bp-epochs) "
        "and deployed onto the chip, for deploy + in-situ fine-tuning (fine-tune at a tenth of a "
        "from-scratch rate, --lr 0.001, with --mu one phase-DAC step: benchmarks/fine_tune_step.py)",
    )

    def __post_init__(self):
        _check_literals(self)
        _positive(self, ["steps", "batch_size", "eval_every"])
        check_optional_positive_int("max-queries", self.max_queries)
        check_seed("seed", self.seed)


class Sections:
    """A run configuration made of sections (see the module docstring)."""

    SECTIONS: tuple[tuple[str, type], ...] = ()

    @classmethod
    def of(cls, **flat):
        """Build from flat field names; unknown names are refused."""
        known = {f.name: name for name, section in cls.SECTIONS for f in dataclasses.fields(section)}
        unknown = sorted(set(flat) - set(known) - set(RETIRED))
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown}; accepted: {', '.join(sorted(known))}")
        parts = {name: {} for name, _ in cls.SECTIONS}
        for key, value in flat.items():
            if key in known:
                parts[known[key]][key] = value
        return cls(**{name: section(**parts[name]) for name, section in cls.SECTIONS})

    def __getattr__(self, name):  # flat read access: config.steps is config.loop.steps
        for section, _ in type(self).SECTIONS:
            part = self.__dict__.get(section)
            if part is not None and name in {f.name for f in dataclasses.fields(part)}:
                return getattr(part, name)
        raise AttributeError(f"{type(self).__name__} has no setting {name!r}")

    def flat(self) -> dict:
        """Every field by its name, JSON-able (what ``config.json`` holds)."""
        return {k: v for name, _ in self.SECTIONS for k, v in dataclasses.asdict(getattr(self, name)).items()}

    def replace(self, **changes):
        return type(self).of(**{**self.flat(), **changes})


@dataclass(frozen=True)
class TrainConfig(Sections):
    """A classification run on the chip (``run_training``)."""

    data: DataConfig = field(default_factory=DataConfig)
    chip: ChipConfig = field(default_factory=ChipConfig)
    estimation: EstimatorConfig = field(default_factory=EstimatorConfig)
    optimisation: OptimizerConfig = field(default_factory=OptimizerConfig)
    loop: RunLoopConfig = field(default_factory=RunLoopConfig)

    SECTIONS = (
        ("data", DataConfig),
        ("chip", ChipConfig),
        ("estimation", EstimatorConfig),
        ("optimisation", OptimizerConfig),
        ("loop", RunLoopConfig),
    )

    def __post_init__(self):
        if self.bp_epochs is not None and not (self.estimator == "subspace" or self.init == "deployed"):
            raise ValueError(
                f"--bp-epochs is for --estimator subspace or --init deployed, not {self.estimator}"
            )
        if self.model_name not in MODEL_NAMES:
            have = [
                name.removeprefix(f"{MODEL_FOR[self.dataset]}-")
                for name in MODEL_NAMES
                if name.startswith(f"{MODEL_FOR[self.dataset]}-")
            ]
            raise ValueError(
                f"{self.dataset} has no {self.model} model; accepted: --model {' or '.join(have)}"
            )

    @property
    def model_name(self) -> str:
        """The key in ``network.MODELS`` of the network this run trains: the dataset's model family and
        ``model`` (``digits-tt``; ``fashion-mnist`` uses the ``mnist`` models, ``mnist-8x8`` MixedTrain's
        ``mnist8-dense``)."""
        return f"{MODEL_FOR[self.dataset]}-{self.model}"

    def hardware_model(self) -> HardwareModel:
        """The chip's ``HardwareModel`` (``ChipConfig.hardware_model``): the ``hardware`` preset with
        ``phase_bits`` and ``hardware_overrides`` applied."""
        return self.chip.hardware_model()


# ---- the PINN run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PDEConfig:
    pde: Literal[PDE_NAMES] = setting(
        "hjb",
        "hjb: HJB-20 of the reference; heat: u_t = Δu; black-scholes: a European call in log-price and "
        "time to maturity (1-D); burgers: viscous Burgers, Cole-Hopf closed form (1-D); fisher: the "
        "Fisher-KPP travelling front u_t = Δu + u(1 - u)",
    )
    dim: int | None = setting(
        None,
        "spatial dimension (default: the PDE's, 20 for hjb, heat and fisher, 1 for black-scholes and "
        "burgers)",
        positive=True,
    )
    points: int = setting(100, "collocation points per step", positive=True)
    test_points: int = setting(10_000, "test points of the relative l2 errors", positive=True)
    volatility: float | None = setting(
        None, "black-scholes: volatility sigma of the asset (default 0.2)", positive=True
    )
    interest_rate: float | None = setting(None, "black-scholes: risk-free interest rate r (default 0.05)")
    maturity: float | None = setting(
        None, "black-scholes: maturity T; the domain is T/2..T to maturity (default 1)", positive=True
    )
    viscosity: float | None = setting(None, "burgers: viscosity nu (default 0.1)", positive=True)

    def __post_init__(self):
        from ..pinn.pde import PDES

        _check_literals(self)
        if self.dim is None:  # the PDE's own dimension, recorded as such in config.json
            object.__setattr__(self, "dim", PDES[self.pde].default_dim)
        _positive(self, ["dim", "points", "test_points"])
        for name in PDE_SETTINGS:  # every PDE option given must be one the PDE uses: none ignored silently
            users = [pde for pde, cls in PDES.items() if name in cls.params]
            if getattr(self, name) is not None and name not in PDES[self.pde].params:
                option = "--" + name.replace("_", "-")
                raise ValueError(f"{option} is a setting of {', '.join(users)}, not of the {self.pde} PDE")
        self.build_pde()  # a dimension or parameter outside the PDE's domain fails here, before any work

    def pde_params(self) -> dict:
        """The PDE parameters given (the others take the PDE's defaults)."""
        return {name: getattr(self, name) for name in PDE_SETTINGS if getattr(self, name) is not None}

    def build_pde(self):
        from ..pinn.pde import build_pde

        return build_pde(self.pde, self.dim, **self.pde_params())


@dataclass(frozen=True)
class PINNChipConfig:
    model: Literal[PINN_MODELS] = setting(
        "tt", "tt / dense: the reference 21→512→512→1 networks (dim 20); small: (d+1)→32→32→1"
    )
    edge_blocks: Literal[EDGE_BLOCKS] = setting(
        "rectangular",
        "blocks at a matrix's edge: an r-mode U, attenuators and a c-mode V† for r×c (rectangular), or "
        "the corner of a full k×k block (padded, the layout of runs made before rectangular edges)",
    )
    hardware: Literal[tuple(PRESETS)] = setting("ideal", "hardware preset of the chip")
    detector_noise: float | None = setting(
        None,
        "override the preset's detector noise, relative to each readout's RMS (1e-3: an SNR of 1000); with "
        "it, read the derivatives by --estimator fd --sigma 2 --centre-repeats 41 (see pinn/stein.py)",
    )
    chip_seed: int = setting(0, "seed of the chip's fabrication errors and noise")
    gain_scale: float = setting(
        1.0,
        "multiply every optical matrix's electronic gain (nominal: a random chip's) by this; a matrix "
        "realises singular values up to its gain, and first-order PINN solutions can need more than the "
        "nominal gain (e.g. 3.2x on burgers' hidden layer)",
        positive=True,
    )
    float64: bool = setting(
        True,
        "simulate in complex128 (the default: the sparse grid's negative weights amplify float32 rounding "
        "in the Laplacian); --no-float64 for complex64, about 2x faster",
    )

    def __post_init__(self):
        _check_literals(self)
        check_seed("chip-seed", self.chip_seed)
        check_positive("gain-scale", self.gain_scale)
        if self.detector_noise is not None:
            check_non_negative("detector-noise", self.detector_noise)

    def hardware_model(self) -> HardwareModel:
        """The chip's ``HardwareModel``: the ``hardware`` preset, its detector noise replaced by
        ``detector_noise`` if given."""
        hw = HardwareModel.preset(self.hardware)
        return hw if self.detector_noise is None else hw.replace(detector_noise_std=self.detector_noise)


@dataclass(frozen=True)
class DerivativeConfig:
    estimator: Literal[DERIVATIVES] = setting(
        "sparse-grid",
        "derivative estimator: sparse-grid (Stein's identity on the grid), monte-carlo (Stein on sampled "
        "nodes), fd (finite differences), least-squares (a quadratic fit on the sparse grid's points: "
        "about 1000x less amplification of the readings' rounding, so it keeps float64 quality on a "
        "complex64 chip at sigma 0.1, with --no-float64)",
    )
    rule: Literal[RULES] = setting(
        "gauss-hermite",
        "quadrature rule of the Stein estimator: a sparse grid (gauss-hermite, gauss-hermite-odd) for "
        "--estimator sparse-grid; monte-carlo or antithetic for --estimator monte-carlo",
    )
    level: int = setting(
        2, "sparse-grid level (2 or more: a lower grid measures no Laplacian); monte-carlo: its node count"
    )
    nodes: int | None = setting(
        None, "monte-carlo nodes per point (default: as many as the sparse grid)", positive=True
    )
    sigma: float = setting(0.1, "smoothing radius (and finite-difference step)", positive=True)
    repeats: int = setting(
        1,
        "reads of every node per point, averaged (R reads: R x the queries, 1/sqrt(R) of the detector noise)",
        positive=True,
    )
    centre_repeats: int | None = setting(
        None,
        "reads of the centre node per point (default: --repeats); it carries most of the Laplacian's noise: "
        "41 x --repeats balances it for --estimator fd in 21 inputs (sqrt(4 x spatial x inputs)); with "
        "detector noise, take --estimator fd with a step of 1-2 and --centre-repeats 41 (see pinn/stein.py)",
        positive=True,
    )
    force: bool = setting(False, "build a sparse grid past the node limit (or read more than its limit)")

    def __post_init__(self):
        _check_literals(self)
        check_positive("sigma", self.sigma)
        check_optional_positive_int("nodes", self.nodes)
        for name in ("repeats", "centre_repeats"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_REPEATS
            ):
                raise ValueError(
                    f"{name.replace('_', '-')} must be an integer in 1..{MAX_REPEATS:,}, got {value!r}"
                )
        check_int("level", self.level, 0)
        if self.level < 2 and self.estimator in ("sparse-grid", "least-squares"):
            # level 0 is the centre alone, level 1 has no node off the axes: the Stein Laplacian of a
            # quadratic comes out 0 or with its sign flipped (tests/test_bad_inputs.py), the fit is singular
            raise ValueError(
                f"--level {self.level} is too low for the {self.estimator} estimator: a sparse grid "
                "below level 2 measures no Laplacian; use --level 2 or more"
            )
        # every option a derivative estimator is given must be one it uses: nothing ignored silently
        default = "gauss-hermite"  # also what an unset --rule means for monte-carlo: plain sampling
        if self.estimator in ("sparse-grid", "least-squares") and self.rule not in SPARSE_RULES:
            raise ValueError(
                f"--rule {self.rule} is a sampled rule: use it with --estimator monte-carlo "
                f"(the {self.estimator} estimator takes {', '.join(SPARSE_RULES)})"
            )
        if self.estimator == "monte-carlo" and self.rule not in (*SAMPLED_RULES, default):
            raise ValueError(
                f"--rule {self.rule} is a sparse grid: use it with --estimator sparse-grid "
                f"(the monte-carlo estimator takes {', '.join(SAMPLED_RULES)})"
            )
        if self.estimator == "fd" and self.rule != default:
            raise ValueError(f"finite differences take no quadrature rule, got --rule {self.rule}")
        if self.nodes is not None and self.estimator != "monte-carlo":
            raise ValueError(
                f"--nodes is for --estimator monte-carlo (the {self.estimator} estimator "
                "fixes its own evaluations)"
            )


@dataclass(frozen=True)
class PINNTrainConfig:
    q: int = setting(10, "RGE directions per step (per slice with --tensorwise)", positive=True)
    mu: float = setting(0.025, "phase perturbation (rad)", positive=True)
    density: float = setting(
        1.0,
        DENSITY_HELP,
        positive=True,
    )
    tensorwise: bool = setting(
        False, "perturb each named slice (see --tensor-level) with its own directions (2·q queries per slice)"
    )
    tensor_level: Literal[LEVELS] = setting("layer", "slices of the tensor-wise estimator")
    per_group: bool = setting(
        False,
        "CGE on the small attenuator/bias groups (the output bias alone carries the solution's constant), "
        "RGE on the meshes",
    )
    cge_max: int = setting(128, "per-group: the largest group CGE takes", positive=True)
    cge_scheme: Literal[SCHEMES] = setting(
        "central",
        "per-group: CGE differences (central: a forward difference's bias μ·f''/2 pushes a residual's "
        "bias and gains past their optimum, and the run diverges)",
    )
    lr: float = setting(0.01, "learning rate (Adam, cosine schedule)", positive=True)
    steps: int = setting(200, "training steps", positive=True)
    eval_every: int = setting(20, "evaluate (and checkpoint) every N steps", positive=True)
    seed: int = setting(0, "seed of the initial phases, points and directions")
    max_queries: int | None = setting(None, "stop when this many training queries are spent", positive=True)

    def __post_init__(self):
        _check_literals(self)
        _positive(self, ["q", "steps", "eval_every", "cge_max"])
        check_positive("mu", self.mu)
        check_fraction("density", self.density, open_bottom=True)
        check_positive("lr", self.lr)
        check_optional_positive_int("max-queries", self.max_queries)
        check_seed("seed", self.seed)


@dataclass(frozen=True)
class PINNConfig(Sections):
    """A PINN run on the chip (``run_pinn``)."""

    problem: PDEConfig = field(default_factory=PDEConfig)
    chip: PINNChipConfig = field(default_factory=PINNChipConfig)
    derivatives: DerivativeConfig = field(default_factory=DerivativeConfig)
    zo: PINNTrainConfig = field(default_factory=PINNTrainConfig)

    SECTIONS = (
        ("problem", PDEConfig),
        ("chip", PINNChipConfig),
        ("derivatives", DerivativeConfig),
        ("zo", PINNTrainConfig),
    )

    def __post_init__(self):
        if self.model != "small" and self.dim != 20:
            raise ValueError(
                f"the {self.model} reference network takes 21 inputs (dim 20); "
                f"use --model small for dim {self.dim}"
            )


# ---- the digital reference ----------------------------------------------------------------------


@dataclass(frozen=True)
class BackpropConfig:
    """The digital (back-propagation) training of weights that are then deployed onto a chip."""

    epochs: int = setting(20, "epochs of the digital training", positive=True)
    lr: float = setting(3e-3, "learning rate (Adam)", positive=True)
    batch_size: int = setting(64, "inputs per step", positive=True)

    def __post_init__(self):
        _positive(self, ["epochs", "batch_size"])
        check_positive("the backprop learning rate", self.lr)


# ---- where a run's queries are evaluated -------------------------------------------------------


@dataclass(frozen=True)
class ExecutionConfig:
    """Where a run's chip queries are evaluated (``photonics/parallel.py``). Not part of the
    experiment — its results are the same wherever the settings are evaluated — so it is kept out
    of ``config.json``, and a run may resume with other values."""

    workers: int | None = setting(
        None,
        "worker processes (one thread each) that share every chip call's settings (default 1: the chip "
        "in this process; at most the settings of one call of the step)",
        positive=True,
    )
    scheduler: str | None = setting(
        None, "address of a Dask scheduler (tcp://host:8786) whose workers evaluate the settings instead"
    )

    def __post_init__(self):
        check_optional_positive_int("workers", self.workers)
        if self.scheduler is not None and (not isinstance(self.scheduler, str) or not self.scheduler.strip()):
            raise ValueError(
                f"scheduler must be a Dask scheduler address such as tcp://host:8786, got {self.scheduler!r}"
            )
        if self.scheduler is not None and self.workers not in (None, 1):
            raise ValueError(
                f"--workers {self.workers} starts local worker processes; with --scheduler the Dask "
                "cluster's workers evaluate the settings: give one or the other"
            )


@dataclass(frozen=True)
class RunOptions(Sections):
    """The options of a run that are not its configuration (the CLI's ``--workers``, ``--scheduler``)."""

    execution: ExecutionConfig = field(default_factory=ExecutionConfig)

    SECTIONS = (("execution", ExecutionConfig),)


# ---- the command line ---------------------------------------------------------------------------


def _parser(kind, positive: bool, none: str | None):
    """The argparse type of a field: its Python type, refusing values <= 0 if ``positive``."""

    def parse(text: str):
        if none is not None and text == none:
            return None
        try:
            value = kind(text)
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if positive and (not value > 0 or (kind is float and not math.isfinite(value))):
            what = "a positive integer" if kind is int else "a positive finite number"
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}")
        return value

    return parse


def add_arguments(parser: argparse.ArgumentParser, config: type[Sections]) -> None:
    """One option per CLI field of ``config``'s sections, defaults and help from the fields."""
    for _, section in config.SECTIONS:
        hints = _hints(section)
        for f in dataclasses.fields(section):
            meta = f.metadata
            if not meta.get("cli", True):
                continue
            choices = literal_choices(section, f.name)
            name = f.name if meta["positional"] else "--" + f.name.replace("_", "-")
            shown = (
                f.default not in (None, False) and "default" not in meta["help"] and not meta["positional"]
            )
            kw = {"help": meta["help"] + (f" (default: {f.default})" if shown else "")}
            if hints[f.name] is bool:
                kw.update(
                    action=argparse.BooleanOptionalAction if f.default else "store_true", default=f.default
                )
            elif choices is not None:
                kw.update(choices=list(choices), default=f.default)
            else:
                kind = next(
                    t for t in (int, float, str) if t in (hints[f.name], *typing.get_args(hints[f.name]))
                )
                kw.update(type=_parser(kind, meta["positive"], meta["none"]), default=f.default)
            if meta["positional"]:
                kw.pop("default")
            parser.add_argument(name, **kw)


def from_arguments(config: type[Sections], args: argparse.Namespace):
    """The configuration the parsed options describe."""
    names = [f.name for _, s in config.SECTIONS for f in dataclasses.fields(s) if f.metadata.get("cli", True)]
    return config.of(**{name: getattr(args, name) for name in names})


__all__ = [
    "DERIVATIVES",
    "PINN_MODELS",
    "TRAIN_ESTIMATORS",
    "BackpropConfig",
    "ExecutionConfig",
    "PINNConfig",
    "RunOptions",
    "TrainConfig",
    "add_arguments",
    "from_arguments",
]
