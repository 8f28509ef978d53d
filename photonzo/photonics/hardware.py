"""HardwareModel: every non-ideality of the simulated chip, all off by default.

How a commanded phase φ becomes the phase light sees (per phase shifter i, per query q):

    1. wrap to [0, 2π) and quantise to 2^b DAC levels          (``phase_bits``)
    2. φ_i ← γ_i · φ_i + κ · Σ_{j ∈ nb(i)} φ_j + β_i               static: gain γ_i = 1 + N(0, σ_γ²)
                                                                 (``gamma_std``), thermal crosstalk κ
                                                                 from neighbouring heaters
                                                                 (``crosstalk``), bias β_i ~ U(−b, b)
                                                                 (``phase_bias``)
    3. φ_i ← φ_i + N(0, σ²) fresh for every query                (``phase_noise_std``)

Every MZI also carries static coupler errors ε ~ N(0, σ_bs²) (``bs_error_std``, see ``mzi.py``)
and an insertion loss (``insertion_loss_db``). Electronic converters: inputs are quantised by
``input_bits`` DACs and detected outputs by ``output_bits`` ADCs, each with a full scale set
per vector (max |value|), as in range-normalised ONN front ends. Detectors add a Gaussian
noise of standard deviation ``detector_noise_std`` × (RMS of that readout vector), i.e.
``1 / detector_noise_std`` is the detection SNR, and optionally shot noise for
``shot_noise_photons`` photons per unit of detected power.

Static errors are drawn once per chip from the chip's seed; dynamic noise is fresh for every
query, from a generator seeded by the same seed, so a run is reproducible end to end.

Presets (``HardwareModel.preset(name)``):
  * ``ideal``: nothing on.
  * ``typical``: 8-bit phase DACs, phase-shifter gain error σ_γ = 0.002 and thermal crosstalk
    κ = 0.005: the "typical chip" settings of the reference papers' released configs for
    tensorized ONN training (project design notes), in the non-ideality model of L2ight
    (Gu et al., "L2ight: Enabling On-Chip Learning for Optical Neural Networks via Efficient
    in-situ Subspace Optimization", NeurIPS 2021). A calibrated chip: no static bias.
  * ``uncalibrated``: ``typical`` plus the static phase bias U(−1, 1) rad those configs assume
    before calibration.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch

from ..validation import is_int

TWO_PI = 2 * math.pi


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _bits_ok(name: str, value) -> None:
    if value is None:
        return
    if not is_int(value) or not 1 <= value <= 32:
        raise ValueError(
            f"{name} must be an integer number of bits in 1..32 (or None for no quantisation), got {value!r}"
        )


@dataclass(frozen=True)
class HardwareModel:
    """All non-idealities of one chip design (see the module docstring for the model)."""

    phase_bits: int | None = None
    phase_bias: float = 0.0  # half-width (rad) of the static uniform phase bias
    gamma_std: float = 0.0  # static relative phase-shifter gain error
    phase_noise_std: float = 0.0  # dynamic phase jitter per query (rad)
    crosstalk: float = 0.0  # thermal crosstalk coefficient between neighbouring heaters
    bs_error_std: float = 0.0  # static coupler error ε (rad), see mzi.py
    insertion_loss_db: float = 0.0  # per MZI (power, dB)
    detector_noise_std: float = 0.0  # relative to each readout vector's RMS
    shot_noise_photons: float | None = None  # photons per unit detected power; None = off
    input_bits: int | None = None
    output_bits: int | None = None
    name: str = "custom"

    def __post_init__(self):
        _bits_ok("phase_bits", self.phase_bits)
        _bits_ok("input_bits", self.input_bits)
        _bits_ok("output_bits", self.output_bits)
        for f in (
            "phase_bias",
            "gamma_std",
            "phase_noise_std",
            "bs_error_std",
            "insertion_loss_db",
            "detector_noise_std",
        ):
            v = getattr(self, f)
            if not _is_number(v) or not math.isfinite(v) or v < 0:
                raise ValueError(f"{f} must be a finite number >= 0, got {v!r}")
        if not _is_number(self.crosstalk) or not 0 <= self.crosstalk < 0.5:
            raise ValueError(f"crosstalk must be a number in [0, 0.5), got {self.crosstalk!r}")
        photons = self.shot_noise_photons
        if photons is not None and not (_is_number(photons) and math.isfinite(photons) and photons > 0):
            raise ValueError(
                f"shot_noise_photons must be a number > 0 (or None for no shot noise), got {photons!r}"
            )

    # ---- presets -------------------------------------------------------------------------
    @staticmethod
    def preset(name: str) -> HardwareModel:
        """A named preset: ``ideal``, ``typical`` or ``uncalibrated`` (see module docstring)."""
        try:
            return PRESETS[name]
        except KeyError:
            raise ValueError(
                f"unknown hardware preset {name!r}; accepted presets are {', '.join(PRESETS)}"
            ) from None

    def replace(self, **changes) -> HardwareModel:
        """A copy with some fields changed (unknown field names raise ``ValueError``)."""
        fields = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - fields
        if unknown:
            raise ValueError(
                f"unknown HardwareModel field(s) {sorted(unknown)}; accepted fields are {sorted(fields)}"
            )
        changes.setdefault("name", f"{self.name}+" + ",".join(f"{k}={v}" for k, v in changes.items()))
        return dataclasses.replace(self, **changes)

    def describe(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def is_ideal(self) -> bool:
        return self == dataclasses.replace(IDEAL, name=self.name)

    # ---- static errors -------------------------------------------------------------------
    def draw_static(self, n_phases: int, n_mzis: int, seed: int) -> StaticErrors:
        """Fabrication errors of one chip: drawn once from ``seed`` (numpy PCG64)."""
        rng = np.random.default_rng(seed)
        gain = 1.0 + self.gamma_std * rng.standard_normal(n_phases) if self.gamma_std else None
        bias = rng.uniform(-self.phase_bias, self.phase_bias, n_phases) if self.phase_bias else None
        bs = self.bs_error_std * rng.standard_normal((n_mzis, 2)) if self.bs_error_std else None
        return StaticErrors(phase_gain=gain, phase_bias=bias, bs_error=bs)

    # ---- phase programming ---------------------------------------------------------------
    def quantise_phases(self, phases: torch.Tensor) -> torch.Tensor:
        """Wrap to [0, 2π) and round to the 2^b DAC levels k·2π/2^b (no-op rounding if bits=None)."""
        wrapped = torch.remainder(phases, TWO_PI)
        if self.phase_bits is None:
            return wrapped
        levels = 2**self.phase_bits
        step = TWO_PI / levels
        return torch.remainder(torch.round(wrapped / step), levels) * step

    # ---- converters and detection --------------------------------------------------------
    @staticmethod
    def quantise_signal(x: torch.Tensor, bits: int | None) -> torch.Tensor:
        """Symmetric uniform quantiser, full scale = max |x| per vector (an all-zero vector stays zero).

        b bits give the 2^b − 1 levels k·s, |k| ≤ 2^(b−1) − 1 (zero included); one bit gives the two
        levels ±max |x|.
        """
        if bits is None:
            return x
        full_scale = x.abs().amax(-1, keepdim=True)
        if bits == 1:
            return torch.where(x >= 0, full_scale, -full_scale)
        step = full_scale / (2 ** (bits - 1) - 1)
        step = torch.where(
            step > 0, step, torch.ones_like(step)
        )  # zero vectors (or underflow): x is 0 anyway
        return torch.round(x / step) * step


@dataclass(frozen=True)
class StaticErrors:
    """Per-chip fabrication errors (None where the model has that error off)."""

    phase_gain: np.ndarray | None  # [n_phases]
    phase_bias: np.ndarray | None  # [n_phases]
    bs_error: np.ndarray | None  # [n_mzis, 2]


IDEAL = HardwareModel(name="ideal")
TYPICAL = HardwareModel(phase_bits=8, gamma_std=0.002, crosstalk=0.005, name="typical")
UNCALIBRATED = dataclasses.replace(TYPICAL, phase_bias=1.0, name="uncalibrated")
PRESETS = {"ideal": IDEAL, "typical": TYPICAL, "uncalibrated": UNCALIBRATED}
