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
query, from streams of the same seed and the query's index (``noise.py``), so a run is
reproducible end to end, however its queries are grouped into calls or spread over workers.

Units and conventions (what a preset value means here):
  * ``gamma_std`` is *relative*: γ_i = 1 + N(0, σ_γ²) multiplies the commanded phase.
  * ``phase_noise_std`` is in radians, added to every phase shifter, fresh for every query.
  * ``crosstalk`` κ is the phase (rad) a heater induces in each neighbour per rad of its own.
  * ``detector_noise_std`` is relative to the RMS of each readout vector (one detection of one
    input: a layer's outputs, or a TT core's outputs for one slice), so 1/σ is its SNR.
  * ``shot_noise_photons`` N is the photon count per symbol of a detector that reads unit power
    in the simulator's units (|field|² = 1 after the simulated loss and electronic gain): a
    reading of power p carries N·p photons, so its relative shot noise is 1/√(N·p) (intensity:
    Poisson, std √(p/N); coherent: homodyne vacuum noise, std 1/(2√N) on the quadrature).
  * ``insertion_loss_db`` is per MZI (power), applied to the field of every MZI on a path.

Presets (``HardwareModel.preset(name)``; ``photonzo info --hardware`` lists them all):
  * ``ideal``: nothing on.
  * ``typical``: 8-bit phase DACs, phase-shifter gain error σ_γ = 0.002 and thermal crosstalk
    κ = 0.005: the "typical chip" settings of the reference papers' released configs for
    tensorized ONN training (project design notes), in the non-ideality model of L2ight
    (Gu et al., "L2ight: Enabling On-Chip Learning for Optical Neural Networks via Efficient
    in-situ Subspace Optimization", NeurIPS 2021). A calibrated chip: no static bias.
    What it leaves out: it draws *no per-query noise at all* (no phase jitter, no detector or
    shot noise), so two queries of one setting return the same numbers; and no coupler
    errors, insertion loss or converter resolution. Its σ_γ = 0.002 is relative here, while the
    reference code's 0.002 is absolute on γ = π/V_π² ≈ 0.165 rad/V², i.e. ≈ 1.2 % relative:
    ``typical`` is six times milder in γ than the code it quotes. Kept as it is because it is
    the setting the reference papers' numbers were produced with.
  * ``uncalibrated``: ``typical`` plus the static phase bias U(−1, 1) rad those configs assume
    before calibration.
  * ``measured``: a calibrated fabricated silicon MZI mesh, every value from published
    measurements (``REFERENCES.md`` of the project lists them; checked and chosen as follows):

      - ``phase_bits = 12``: real chips drive heaters with 16-bit DACs (Shen et al., Nat.
        Photonics 11, 441 (2017); Bandyopadhyay et al., "Single chip photonic deep neural
        network with accelerated training" (FICONN), arXiv 2208.01623); since φ ∝ V² the
        phase step is largest at the top of the range (2·φ_max/2^16, i.e. 15 bits), and DAC
        non-linearity and drift cost a few more: ≥ 12 effective bits is the conservative
        reading. (At 1.5 mrad per step it sits below the 5 mrad jitter anyway.)
      - ``phase_bias = 0.016`` rad: FICONN's residual after calibration, ±0.003π (read from a
        figure), as the half-width of U(−b, b).
      - ``gamma_std = 0.01`` (relative): ≈ 1 % phase-shifter gain (V_π) error, the reference
        code's absolute 0.002 on γ ≈ 0.165 rad/V² (≈ 1.2 %), rounded down to the 1 % that a
        per-device V_π calibration leaves.
      - ``phase_noise_std = 0.005`` rad per query: Shen et al. 2017's phase-encoding noise
        σ_Φ ≈ 5×10⁻³ rad (second-hand). No source separates how much of it changes from query
        to query; it is all taken as per-query jitter here, the pessimistic reading.
      - ``crosstalk = 0.00735``: FICONN's measured nearest-neighbour thermal crosstalk,
        7.35 mrad per rad, which is exactly this model's κ.
      - ``bs_error_std = 0.01`` rad: MZI extinction > 40 dB (FICONN, inferred). In ``mzi.py``'s
        convention the best extinction of an MZI is sin²(ε₁ + ε₂); with σ_ε = 0.01 the median
        |ε₁ + ε₂| is 0.0095, i.e. a median extinction of ≈ 40 dB.
      - ``insertion_loss_db = 0.2`` per MZI: < 0.1 dB per passive component and 0.23 dB per
        heater (FICONN; Pai et al., Science 380, 398 (2023)); ≈ 0.2 dB per MZI.
      - ``detector_noise_std = 0.002`` (relative to the readout RMS): Shen et al. 2017's
        σ_D ≈ 0.1 % of the output *norm* of a 4-output chip, i.e. 0.1 % · √4 = 0.2 % of its
        RMS (second-hand).
      - ``shot_noise_photons = 8e5``: 1 mW per mode at 1 GS/s is 7.8×10⁶ photons per symbol
        at 1550 nm (Pai et al. 2023's operating point); after ≈ 10 dB from laser to detector
        ≈ 8×10⁵ reach a detector (inferred), taken as the count at unit detected power.
      - ``input_bits = 10``, ``output_bits = 11``: the input DAC and output ADC resolutions of
        Lightmatter's accelerator (second-hand).

  * ``measured-uncalibrated``: ``measured`` before calibration: static phase bias U(−π, π).
    A fabricated MZI's arm imbalance is random over the whole circle (a few nm of waveguide
    width over a ~100 µm arm shift the phase by radians), which is why the measured chips are
    calibrated phase by phase; ``uncalibrated``'s U(−1, 1) is the reference configs' milder
    assumption.
  * ``measured-lowpower``: ``measured`` read through µW taps: shot noise at 8×10³ photons (100×
    less light) and detector noise 1 % of the RMS (µW-level taps measure 0.5–1.2 %: Pai et al.
    2023, second-hand; the upper end taken).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..validation import check_non_negative, is_int

if TYPE_CHECKING:  # numpy and torch are imported where a chip is made and programmed: the presets
    import numpy as np  # and the CLI's options need neither (seconds of imports on a busy machine)
    import torch

TWO_PI = 2 * math.pi


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)  # numpy's numbers too


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

    phase_bits: int | None = None  # phase DAC resolution (bits) over [0, 2π); None = not quantised
    phase_bias: float = 0.0  # half-width (rad) of the static uniform phase bias
    gamma_std: float = 0.0  # static relative phase-shifter gain error
    phase_noise_std: float = 0.0  # dynamic phase jitter per query (rad)
    crosstalk: float = 0.0  # thermal crosstalk coefficient between neighbouring heaters
    bs_error_std: float = 0.0  # static coupler error ε (rad), see mzi.py
    insertion_loss_db: float = 0.0  # per MZI (power, dB)
    detector_noise_std: float = 0.0  # relative to each readout vector's RMS
    shot_noise_photons: float | None = None  # photons per unit detected power; None = off
    input_bits: int | None = None  # input modulator DAC resolution (bits); None = exact
    output_bits: int | None = None  # detector ADC resolution (bits); None = exact
    name: str = "custom"  # the preset's name, or what ``replace`` changed

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
            check_non_negative(f, getattr(self, f))
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
        """A named preset (``PRESETS``: ``ideal``, ``typical``, ``uncalibrated``, ``measured``, … —
        see the module docstring)."""
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
        """Every field by name (units as in the class), for run records and ``photonzo info``."""
        return dataclasses.asdict(self)

    @property
    def reads_noise(self) -> bool:
        """Whether the detectors add per-query readout noise (shot or detector noise)."""
        return self.shot_noise_photons is not None or self.detector_noise_std > 0

    @property
    def draws_noise(self) -> bool:
        """Whether every query draws fresh noise (readout noise, or phase noise on the heaters)."""
        return self.reads_noise or bool(self.phase_noise_std)

    @property
    def is_ideal(self) -> bool:
        """Whether every non-ideality is off (the name aside)."""
        return self == dataclasses.replace(IDEAL, name=self.name)

    # ---- static errors -------------------------------------------------------------------
    def draw_static(self, n_phases: int, n_mzis: int, seed: int) -> StaticErrors:
        """Fabrication errors of one chip: drawn once from ``seed`` (numpy PCG64)."""
        import numpy as np

        rng = np.random.default_rng(seed)
        gain = 1.0 + self.gamma_std * rng.standard_normal(n_phases) if self.gamma_std else None
        bias = rng.uniform(-self.phase_bias, self.phase_bias, n_phases) if self.phase_bias else None
        bs = self.bs_error_std * rng.standard_normal((n_mzis, 2)) if self.bs_error_std else None
        return StaticErrors(phase_gain=gain, phase_bias=bias, bs_error=bs)

    # ---- phase programming ---------------------------------------------------------------
    def quantise_phases(self, phases: torch.Tensor) -> torch.Tensor:
        """Wrap to [0, 2π) and round to the 2^b DAC levels k·2π/2^b (no-op rounding if bits=None)."""
        import torch

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
        import torch

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
MEASURED = HardwareModel(
    phase_bits=12,
    phase_bias=0.016,
    gamma_std=0.01,
    phase_noise_std=0.005,
    crosstalk=0.00735,
    bs_error_std=0.01,
    insertion_loss_db=0.2,
    detector_noise_std=0.002,
    shot_noise_photons=8e5,
    input_bits=10,
    output_bits=11,
    name="measured",
)
MEASURED_UNCALIBRATED = dataclasses.replace(MEASURED, phase_bias=math.pi, name="measured-uncalibrated")
MEASURED_LOWPOWER = dataclasses.replace(
    MEASURED, shot_noise_photons=8e3, detector_noise_std=0.01, name="measured-lowpower"
)
#: Every named preset (``HardwareModel.preset``), name → model; the module docstring gives each one's
#: values and their sources.
PRESETS = {
    "ideal": IDEAL,
    "typical": TYPICAL,
    "uncalibrated": UNCALIBRATED,
    "measured": MEASURED,
    "measured-uncalibrated": MEASURED_UNCALIBRATED,
    "measured-lowpower": MEASURED_LOWPOWER,
}
