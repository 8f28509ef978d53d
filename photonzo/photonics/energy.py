"""Time and energy of queries on a silicon photonic chip: what a run would cost on hardware.

A query programs one parameter setting, streams a batch of B inputs through the chip and reads
the detectors. Its time is

    T_q = t_set + S·B / f_sym + n_stages · t_lat + t_dig

    t_set       settling of the phase shifters after re-programming
    S·B / f_sym streaming: each input takes S symbol slots of the slowest optical stage. A dense
                layer takes S = 1 (all its modulators fire at once). A TT core is realised once
                and time-multiplexed over its slices: core k of in-shape (m₁..m_d) and out-shape
                (n₁..n_d) takes Π_{j<k} m_j · Π_{j>k} n_j passes per input. Stages are pipelined
                (every matrix has its own meshes), so the slowest one sets the pace
    n_stages · t_lat  pipeline fill: one latency per optical stage (an O-E-O pass)
    t_dig       digital overhead of the query (reducing the loss, forming the next setting)

and its energy, term by term (``Estimate.energy``):

    heaters     P_π · Σ_i φ_i/π · T_q   (power ∝ programmed phase φ_i ∈ [0, 2π), P_π per π, the
                rule of MixedTrain, Gu et al. AAAI 2021; held for the whole query)
    laser       N_ph · hν · 10^(L/10) / η per modulated mode and symbol: the light that brings a
                full-scale input N_ph photons at a detector through L dB from laser to detector,
                at wall-plug efficiency η; N_ph is the hardware model's shot-noise photon count
                (the measured chip's where the model has no shot noise: an ideal chip still
                needs light to be read)
    modulators  E_mod per real value modulated (an I/Q modulator counts 2)
    dacs        E_DAC(b_in) per real input conversion (I/Q: 2)
    adcs        E_ADC(b_out) + E_TIA per real detected value (an I/Q receiver counts 2)
    buffers     E_buf per value held between TT cores (the I/Q readings re-modulated into the
                next core after an electronic rearrangement)
    digital     E_op per operation: the loss over B·out readings and forming a P-value setting
    program     E_DAC(b_phase) per phase shifter and re-programming (the phase DACs' writes)

with converter energies scaled from their 8-bit values by the Walden figure of merit,
E(b) = E₈ · 2^(b − 8) (energy per conversion step constant; Walden, IEEE JSAC 17, 539 (1999)).

One query, in time (heaters hold their power throughout; the laser and converters work while
the batch streams):

    |---- t_set ----|==== S·B symbols at f_sym ====|-- fill --|-- t_dig --|
    heaters  ###############################################################
    laser, modulators, DACs, ADCs   ##############################

Two constant sets (``EnergyModel.preset``): ``thermal`` (the default: thermo-optic heaters) and
``mems`` (MEMS phase shifters: ~0 static power, ≈ 2 µs to settle). Every constant is a field of
``EnergyModel`` and can be overridden (``EnergyModel.replace``); its source is beside it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch

from ..validation import is_int
from .hardware import HardwareModel
from .layers import OpticalLinear, TTOpticalLinear
from .network import OpticalNetwork

PLANCK = 6.62607015e-34  # J s (exact, SI)
LIGHT_SPEED = 299_792_458.0  # m/s (exact, SI)

# field → (unit, the smallest accepted value, whether that value itself is excluded, the largest)
_RANGES = {
    "symbol_rate": ("Hz", 0.0, True, math.inf),
    "wavelength": ("m", 0.0, True, math.inf),
    "photons": ("photons per symbol", 0.0, True, math.inf),
    "laser_efficiency": ("", 0.0, True, 1.0),
}


@dataclass(frozen=True)
class EnergyModel:
    """The constants of the time and energy model (SI units; see the module docstring)."""

    # heater power per π of programmed phase: 24.77 mW (Harris et al., Opt. Express 22, 10487
    # (2014)); ≈ 25 mW on FICONN (Bandyopadhyay et al., 2022)
    heater_power_per_pi: float = 25e-3
    # settling after re-programming: SimPhony's 10 µs default (Yin et al., 2024);
    # measured heaters settle with τ ≈ 1.2–2 µs, so 10 µs is ~5τ, to within a DAC step
    settle_time: float = 10e-6
    # 1 GS/s (Pai et al., Science 380, 398 (2023)); commercial chips 0.5–1 GHz
    symbol_rate: float = 1e9
    # per optical stage: 0.4–3 ns (FICONN 435 ps through the chip; Lightelligence 3 ns including
    # its conversions); the upper end, since every stage here is detected and re-modulated
    latency: float = 3e-9
    # digital overhead ≈ 0.5 µs per step (arXiv 2502.12384, from its reviews), charged to every
    # query: an upper bound (a step has at least two queries)
    digital_time: float = 0.5e-6
    # per conversion at ``converter_bits`` (8): DAC 3.6–5 pJ, ADC 1.4 pJ, TIA 0.6–0.7 pJ (Pai et
    # al. 2023; the Lightening-Transformer (HPCA 2024) and SimPhony device libraries)
    dac_energy: float = 3.6e-12
    adc_energy: float = 1.4e-12
    tia_energy: float = 0.6e-12
    # the resolution those energies are quoted at, and the one assumed where the hardware model
    # has no converter bits
    converter_bits: int = 8
    # per real value modulated: a silicon MZM, 450 fJ/bit (SimPhony); LN/BTO modulators ≈ 1 fJ
    modulator_energy: float = 450e-15
    # laser wall-plug efficiency 0.2 (SimPhony; Lightening-Transformer)
    laser_efficiency: float = 0.2
    # laser to detector: 1 mW per mode at 1 GS/s is 7.8e6 photons per symbol, ≈ 8e5 of which
    # reach a detector (Pai et al. 2023, inferred in the project's REFERENCES.md): 10 dB
    path_loss_db: float = 10.0
    # photons per symbol at unit detected power where the hardware model has no shot noise: the
    # measured chip's (``hardware.MEASURED``)
    photons: float = 8e5
    wavelength: float = 1550e-9  # m (telecom C band): the photon energy is hc/λ
    # 32-bit float multiply 3.7 pJ + add 0.9 pJ, 45 nm (Horowitz, ISSCC 2014)
    digital_op_energy: float = 4.6e-12
    # one write and one read of a 32-bit value in an 8 kB SRAM: ≈ 10 pJ per 64-bit access
    # (Horowitz, ISSCC 2014)
    buffer_energy: float = 10e-12
    name: str = "thermal"  # the constant set's name (``ENERGY_MODELS``), or what ``replace`` changed

    def __post_init__(self):
        for f in dataclasses.fields(self):
            if f.name in ("name", "converter_bits"):
                continue
            _check_constant(f.name, getattr(self, f.name))
        if not is_int(self.converter_bits) or not 1 <= self.converter_bits <= 32:
            raise ValueError(
                f"energy constant converter_bits must be an integer in 1..32, got {self.converter_bits!r}"
            )

    @staticmethod
    def preset(name: str) -> EnergyModel:
        """A named constant set: ``thermal`` or ``mems`` (see the module docstring)."""
        try:
            return ENERGY_MODELS[name]
        except KeyError:
            raise ValueError(
                f"unknown energy model {name!r}; accepted models are {', '.join(ENERGY_MODELS)}"
            ) from None

    def replace(self, **changes) -> EnergyModel:
        """A copy with some constants changed (unknown names raise ``ValueError``)."""
        fields = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - fields
        if unknown:
            raise ValueError(
                f"unknown EnergyModel constant(s) {sorted(unknown)}; accepted constants are {sorted(fields)}"
            )
        changes.setdefault("name", f"{self.name}+" + ",".join(f"{k}={v}" for k, v in changes.items()))
        return dataclasses.replace(self, **changes)

    def describe(self) -> dict:
        """Every constant by name (SI units), for ``photonzo info --hardware`` and the records."""
        return dataclasses.asdict(self)

    def conversion_energy(self, energy_8bit: float, bits: int | None) -> float:
        """Energy of one conversion at ``bits`` (``converter_bits`` if None), Walden scaling."""
        bits = self.converter_bits if bits is None else bits
        return energy_8bit * 2.0 ** (bits - self.converter_bits)

    @property
    def photon_energy(self) -> float:
        """hν = hc/λ of one photon at ``wavelength``, in J."""
        return PLANCK * LIGHT_SPEED / self.wavelength


def _check_constant(name: str, value) -> None:
    unit, low, open_low, high = _RANGES.get(name, ("", 0.0, False, math.inf))
    number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    ok = number and math.isfinite(value) and (value > low if open_low else value >= low) and value <= high
    if not ok:
        bracket = "(" if open_low else "["
        top = "inf)" if high == math.inf else f"{high:g}]"
        unit = f" {unit}" if unit else ""
        raise ValueError(
            f"energy constant {name} must be a finite number in {bracket}{low:g}, {top}{unit}, got {value!r}"
        )


THERMAL = EnergyModel()
# MEMS phase shifters: ~0 static power, ≈ 2 µs to settle (measured MEMS actuators, as collected
# in the project's REFERENCES.md)
MEMS = dataclasses.replace(THERMAL, heater_power_per_pi=0.0, settle_time=2e-6, name="mems")
#: The named constant sets (``EnergyModel.preset``): ``thermal`` (the default) and ``mems``.
ENERGY_MODELS = {"thermal": THERMAL, "mems": MEMS}


@dataclass(frozen=True)
class Workload:
    """What one input costs on a network's chip, in counts (``workload(network)``)."""

    phases: int  # optical phase shifters (heaters)
    params: int  # the flat parameter vector: phases and electronic values
    mzis: int
    stages: int  # optical passes one input goes through in sequence (one per matrix / TT core)
    symbols: int  # symbol slots one input takes on the slowest stage (S)
    modes: int  # optical modes × passes modulated per input (each carries laser light)
    dac_conversions: int  # real values converted into modulators per input (I/Q: 2 per value)
    adc_conversions: int  # real values detected per input (I/Q receivers: 2 per value)
    buffered: int  # values held between TT cores per input (I/Q readings re-modulated)
    outputs: int  # the network's outputs per input


def _matrix_passes(layer) -> list[tuple[int, int, int, bool, bool]]:
    """(passes per input, in width, out width, complex input, I/Q output) of every matrix of a
    layer, in the order light meets them (a TT layer's last core first)."""
    if isinstance(layer, TTOpticalLinear):
        d = len(layer.cores)
        return [
            (
                math.prod(layer.in_shape[:k]) * math.prod(layer.out_shape[k + 1 :]),
                core.in_features,
                core.out_features,
                k < d - 1,  # every core but the first one applied reads the I/Q of the one before
                k > 0,  # every core but the last one applied is read by I/Q receivers
            )
            for k, core in reversed(list(enumerate(layer.cores)))
        ]
    if isinstance(layer, OpticalLinear):
        return [(1, layer.in_features, layer.out_features, False, False)]
    raise TypeError(f"no energy model for a layer of type {type(layer).__name__}")


def workload(network: OpticalNetwork) -> Workload:
    """Per-input counts of ``network``'s forward on the chip (see the module docstring)."""
    stages = symbols = modes = dacs = adcs = buffered = 0
    for layer in network.layers:
        for passes, n_in, n_out, complex_in, iq_out in _matrix_passes(layer):
            stages += 1
            symbols = max(symbols, passes)
            modes += passes * n_in
            dacs += passes * n_in * (2 if complex_in else 1)
            adcs += passes * n_out * (2 if iq_out else 1)
            buffered += passes * n_out if iq_out else 0
    return Workload(
        phases=int(network.phase_mask.sum()),
        params=network.n_params,
        mzis=network.n_mzis,
        stages=stages,
        symbols=symbols,
        modes=modes,
        dac_conversions=dacs,
        adc_conversions=adcs,
        buffered=buffered,
        outputs=network.out_features,
    )


def phase_load(network: OpticalNetwork, params, hardware: HardwareModel) -> float:
    """Σ φ_i/π over the phase shifters of ``params`` as the DACs program them (wrapped to
    [0, 2π) and quantised): the heater power is ``heater_power_per_pi`` times this."""
    phases = torch.as_tensor(np.asarray(params, dtype=np.float64))
    mask = torch.as_tensor(network.phase_mask)
    return float(hardware.quantise_phases(phases[mask]).sum() / math.pi)


@dataclass(frozen=True)
class Estimate:
    """Time (s) and energy (J) of ``queries`` queries of ``batch`` inputs, term by term."""

    model: str
    queries: int
    batch: int
    reprogrammings: int
    time: dict  # settle, stream, fill, digital
    energy: dict  # heaters, laser, modulators, dacs, adcs, buffers, digital, program

    @property
    def time_s(self) -> float:
        """The total time, in s: the sum of the ``time`` terms."""
        return sum(self.time.values())

    @property
    def energy_j(self) -> float:
        """The total energy, in J: the sum of the ``energy`` terms."""
        return sum(self.energy.values())

    def as_json(self) -> dict:
        """The estimate as ``summary.json``'s ``on_chip`` records it: counts, totals (s, J) and terms."""
        return {
            "model": self.model,
            "queries": self.queries,
            "batch": self.batch,
            "reprogrammings": self.reprogrammings,
            "time_s": self.time_s,
            "energy_j": self.energy_j,
            "time_terms_s": dict(self.time),
            "energy_terms_j": dict(self.energy),
        }


def _count(name: str, value, low: int) -> int:
    if not is_int(value) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def estimate(
    work: Workload,
    hardware: HardwareModel,
    batch: int,
    queries: int = 1,
    *,
    reprogrammings: int | None = None,
    load: float | None = None,
    model: EnergyModel = THERMAL,
) -> Estimate:
    """Time and energy of ``queries`` queries of ``batch`` inputs each on a chip with ``work``'s
    counts and ``hardware``'s converters and photon count. ``reprogrammings``: settings
    programmed (default one per query: every ZO query is a new setting); ``load``: Σ φ/π of the
    programmed phases (``phase_load``; default one π per phase shifter, the mean of uniform
    random phases)."""
    batch, queries = _count("batch", batch, 1), _count("queries", queries, 0)
    reprogrammings = queries if reprogrammings is None else _count("reprogrammings", reprogrammings, 0)
    load = work.phases if load is None else load
    if not (isinstance(load, (int, float)) and math.isfinite(load) and 0 <= load <= 2 * work.phases):
        raise ValueError(f"the phase load must lie in [0, {2 * work.phases}] (Σ φ/π), got {load!r}")
    m, inputs = model, queries * batch
    time = {
        "settle": reprogrammings * m.settle_time,
        "stream": inputs * work.symbols / m.symbol_rate,
        "fill": queries * work.stages * m.latency,
        "digital": queries * m.digital_time,
    }
    photons = hardware.shot_noise_photons or m.photons
    per_mode = photons * m.photon_energy * 10 ** (m.path_loss_db / 10) / m.laser_efficiency
    adc = m.conversion_energy(m.adc_energy, hardware.output_bits) + m.tia_energy
    energy = {
        "heaters": m.heater_power_per_pi * load * sum(time.values()),
        "laser": inputs * work.modes * per_mode,
        "modulators": inputs * work.dac_conversions * m.modulator_energy,
        "dacs": inputs * work.dac_conversions * m.conversion_energy(m.dac_energy, hardware.input_bits),
        "adcs": inputs * work.adc_conversions * adc,
        "buffers": inputs * work.buffered * m.buffer_energy,
        "digital": (inputs * work.outputs + queries * work.params) * m.digital_op_energy,
        "program": reprogrammings * work.phases * m.conversion_energy(m.dac_energy, hardware.phase_bits),
    }
    return Estimate(m.name, queries, batch, reprogrammings, time, energy)


def run_estimate(
    network: OpticalNetwork, hardware: HardwareModel, batch: int, queries: int, params=None
) -> dict:
    """The ``summary.json`` fields of a run: its training queries' estimated on-chip time and
    energy on the ``thermal`` chip (``on_chip_time_s``, ``on_chip_energy_j``) and the estimates
    of every model, term by term, under ``on_chip``. The heaters hold ``params`` (the run's last
    setting: ZO perturbations are small beside the phases), one π per phase if None."""
    work = workload(network)
    load = None if params is None else phase_load(network, params, hardware)
    runs = {
        name: estimate(work, hardware, batch, queries, load=load, model=m)
        for name, m in ENERGY_MODELS.items()
    }
    return {
        "on_chip_time_s": runs["thermal"].time_s,
        "on_chip_energy_j": runs["thermal"].energy_j,
        "on_chip": {
            "note": "estimated for the training queries (evaluations excluded), photonics/energy.py",
            "phase_load": work.phases if load is None else load,
            **{name: r.as_json() for name, r in runs.items()},
        },
    }


# The optical sequel's claim (Zhao, Xiao et al., arXiv 2401.00413: HJB-20 solved in 1.36 J and
# 1.15 s) and the training it describes, as far as it can be inferred: the authors' code perturbs
# 28 tensors with one ± pair each (56 queries per step), 10,000 steps, 100 collocation points.
# Implied per query: 1.15 s / 560,000 ≈ 2.05 µs and 1.36 J / 560,000 ≈ 2.4 µJ (1.2 W on average).
#: The sequel's claimed HJB-20 training: steps, queries per step, collocation points per query,
#: time (s) and energy (J).
SEQUEL_HJB = {"steps": 10_000, "queries_per_step": 56, "points": 100, "time_s": 1.15, "energy_j": 1.36}


def sequel_hjb_budget(network: OpticalNetwork, hardware: HardwareModel, evaluations: int) -> list[dict]:
    """``SEQUEL_HJB``'s training on ``network`` (the HJB TT-PINN) under this model, one row per set
    of assumptions: energy model, inputs per query (a collocation point as one input, as the
    sequel's budget allows, or as the ``evaluations`` inputs our Stein estimator reads for it),
    and whether a TT core is time-multiplexed over its slices (this model) or gets one pass per
    input (as if every slice had its own copy of the core). Each row: its label, time and
    energy, their ratios to the claim, and the largest energy terms; ``case`` names it."""
    work, s = workload(network), SEQUEL_HJB
    queries, points = s["steps"] * s["queries_per_step"], s["points"]
    one_pass = dataclasses.replace(work, symbols=1)
    cases = (
        ("thermal", "thermal, 1 input per point, TT time-multiplexed", THERMAL, points, work),
        ("mems", "MEMS, 1 input per point, TT time-multiplexed", MEMS, points, work),
        ("mems-one-pass", "MEMS, 1 input per point, one pass per input", MEMS, points, one_pass),
        (
            "thermal-stein",
            f"thermal, {evaluations} Stein inputs per point, TT time-multiplexed",
            THERMAL,
            points * evaluations,
            work,
        ),
        (
            "mems-stein",
            f"MEMS, {evaluations} Stein inputs per point, TT time-multiplexed",
            MEMS,
            points * evaluations,
            work,
        ),
    )
    rows = []
    for case, label, model, batch, counts in cases:
        e = estimate(counts, hardware, batch, queries, model=model)
        top = sorted(e.energy.items(), key=lambda kv: -kv[1])[:2]
        rows.append(
            {
                "case": case,
                "assumptions": label,
                "batch": batch,
                "queries": queries,
                "time_s": e.time_s,
                "energy_j": e.energy_j,
                "time_ratio": e.time_s / s["time_s"],
                "energy_ratio": e.energy_j / s["energy_j"],
                "largest_energy_terms": dict(top),
            }
        )
    return rows
