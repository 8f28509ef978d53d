import math

import numpy as np
import pytest
import torch

from photonzo.photonics.chip import Chip
from photonzo.photonics.hardware import HardwareModel
from photonzo.photonics.layers import OpticalLinear
from photonzo.photonics.network import OpticalNetwork


def small_chip(hardware, seed=0, bias=True):
    return Chip(
        OpticalNetwork([OpticalLinear(8, 8, block=4, bias=bias)], []),
        hardware,
        seed=seed,
        dtype=torch.complex128,
    )


@pytest.mark.parametrize("bits", [1, 3, 6, 8])
def test_quantisation_maps_onto_2_to_the_b_levels(bits, rng):
    hw = HardwareModel(phase_bits=bits)
    phases = torch.tensor(rng.uniform(-20, 20, 20000))
    q = hw.quantise_phases(phases)
    step = 2 * math.pi / 2**bits
    levels = torch.round(q / step)
    assert torch.allclose(levels * step, q)  # every value is a level k·2π/2^b
    assert set(levels.long().tolist()) <= set(range(2**bits))
    assert len(set(levels.long().tolist())) == 2**bits  # and all levels get used
    err = torch.remainder(phases - q + math.pi, 2 * math.pi) - math.pi  # wrapped rounding error
    assert err.abs().max() <= step / 2 + 1e-12


def test_converter_quantiser_levels():
    x = torch.linspace(-2, 2, 1001)[None]
    q = HardwareModel.quantise_signal(x, 4)  # 2^(4-1)-1 = 7 levels per sign
    assert len(torch.unique(q)) == 15
    assert (q - x).abs().max() <= 2 / 7 / 2 + 1e-6


def test_presets_and_validation():
    typical = HardwareModel.preset("typical")
    assert (typical.phase_bits, typical.gamma_std, typical.crosstalk) == (8, 0.002, 0.005)
    assert HardwareModel.preset("ideal").is_ideal and not typical.is_ideal
    assert HardwareModel.preset("uncalibrated").phase_bias == 1.0
    with pytest.raises(ValueError, match="unknown hardware preset 'noisy'.*ideal, typical"):
        HardwareModel.preset("noisy")
    with pytest.raises(ValueError, match="phase_bits must be an integer number of bits in 1..32"):
        HardwareModel(phase_bits=0)
    with pytest.raises(ValueError, match="phase_noise_std must be a finite number >= 0"):
        HardwareModel(phase_noise_std=-0.1)
    with pytest.raises(ValueError, match="crosstalk"):
        HardwareModel(crosstalk=0.7)
    with pytest.raises(ValueError, match="unknown HardwareModel field"):
        typical.replace(phase_bitz=4)
    assert typical.replace(phase_bits=4).phase_bits == 4
    # per-query readout noise: detector or shot noise (phase jitter is not the detectors')
    assert not typical.reads_noise and not typical.replace(phase_noise_std=0.01).reads_noise
    assert (
        typical.replace(detector_noise_std=1e-3).reads_noise and HardwareModel.preset("measured").reads_noise
    )
    assert typical.replace(shot_noise_photons=1e4).reads_noise


def test_static_errors_are_fixed_per_seed_and_differ_between_seeds(rng):
    hw = HardwareModel(gamma_std=0.01, phase_bias=0.2, bs_error_std=0.02)
    a, b, c = small_chip(hw, seed=1), small_chip(hw, seed=1), small_chip(hw, seed=2)
    phases = torch.tensor(rng.uniform(0, 6, (2, a.n_params)))
    x = torch.tensor(rng.standard_normal((5, 8)))
    out_a = a.outputs(phases, x)
    assert torch.equal(out_a, a.outputs(phases, x))  # static only: the same chip answers the same
    assert torch.equal(out_a, b.outputs(phases, x))  # and the same seed builds the same chip
    assert (out_a - c.outputs(phases, x)).abs().max() > 1e-3  # another seed, another chip
    ideal = small_chip("ideal").outputs(phases, x)
    assert (out_a - ideal).abs().max() > 1e-3


def test_dynamic_noise_is_fresh_per_query_and_reproducible_by_seed(rng):
    hw = HardwareModel(phase_noise_std=0.02, detector_noise_std=0.01)
    a, b = small_chip(hw, seed=5), small_chip(hw, seed=5)
    phases = torch.tensor(rng.uniform(0, 6, (1, a.n_params))).repeat(3, 1)
    x = torch.tensor(rng.standard_normal((4, 8)))
    first = a.outputs(phases, x)
    assert (first[0] - first[1]).abs().max() > 1e-4  # same setting, different query, different noise
    assert (first - a.outputs(phases, x)).abs().max() > 1e-4  # and again on the next call
    assert torch.equal(first, b.outputs(phases, x))  # yet the whole sequence repeats with the seed


def test_programming_applies_gain_crosstalk_and_bias_to_phases_only(rng):
    hw = HardwareModel(gamma_std=0.01, crosstalk=0.01, phase_bias=0.1)
    chip = small_chip(hw, seed=3)
    net = chip.network
    commanded = torch.tensor(rng.uniform(0, 6, (1, chip.n_params)))
    actual = chip.program(commanded)[0]
    static = hw.draw_static(chip.n_params, net.n_mzis, 3)
    q = commanded[0].numpy()
    expected = static.phase_gain * q + static.phase_bias
    pairs = net.crosstalk_pairs
    np.add.at(expected, pairs[:, 0], 0.01 * q[pairs[:, 1]])
    mask = net.phase_mask
    np.testing.assert_allclose(actual.numpy()[mask], expected[mask], atol=1e-12)
    np.testing.assert_array_equal(actual.numpy()[~mask], q[~mask])  # electronic biases untouched


def test_shot_noise_scales_with_photon_number(rng):
    net = OpticalNetwork([OpticalLinear(8, 8, block=4, bias=False)], [], readout="intensity")
    phases = torch.tensor(rng.uniform(0, 6, (1, net.n_params))).repeat(400, 1)
    x = torch.ones(1, 8, dtype=torch.float64)
    spreads = []
    for photons in (1e2, 1e4):
        chip = Chip(net, HardwareModel(shot_noise_photons=photons), seed=0, dtype=torch.complex128)
        spreads.append(chip.outputs(phases, x).std(0).mean().item())
    assert spreads[0] / spreads[1] == pytest.approx(10, rel=0.2)  # std ∝ 1/√photons


@pytest.mark.parametrize("bits", [2, 8, 26, 32])
def test_converters_keep_zero_vectors_zero_at_any_resolution(bits):
    x = torch.zeros(3, 5)
    x[1] = torch.tensor([0.0, 1e-3, -2e-3, 0.0, 5e-4])
    q = HardwareModel.quantise_signal(x, bits)
    assert torch.isfinite(q).all() and torch.equal(q[0], x[0])
    assert (q[1] - x[1]).abs().max() <= 2e-3 / (2 ** (bits - 1) - 1) / 2 * 1.0001


def test_one_bit_converter_has_two_levels():
    q = HardwareModel.quantise_signal(torch.tensor([[0.3, -0.1, 0.0, 0.7]], dtype=torch.float64), 1)
    assert q.tolist() == [[0.7, -0.7, 0.7, 0.7]]


def test_hardware_rejects_values_of_the_wrong_type():
    with pytest.raises(ValueError, match="shot_noise_photons must be a number > 0"):
        HardwareModel(shot_noise_photons="10")
    with pytest.raises(ValueError, match="phase_bias must be a finite number"):
        HardwareModel(phase_bias=True)
    with pytest.raises(ValueError, match="output_bits"):
        HardwareModel(output_bits=2.5)


# ---- the measured presets -----------------------------------------------------------------------


def test_typical_is_unchanged_and_the_measured_presets_hold_their_sourced_values():
    assert HardwareModel.preset("typical") == HardwareModel(
        phase_bits=8, gamma_std=0.002, crosstalk=0.005, name="typical"
    )
    measured = HardwareModel.preset("measured")
    assert measured.describe() == {
        "phase_bits": 12,
        "phase_bias": 0.016,
        "gamma_std": 0.01,
        "phase_noise_std": 0.005,
        "crosstalk": 0.00735,
        "bs_error_std": 0.01,
        "insertion_loss_db": 0.2,
        "detector_noise_std": 0.002,
        "shot_noise_photons": 8e5,
        "input_bits": 10,
        "output_bits": 11,
        "name": "measured",
    }
    uncalibrated = HardwareModel.preset("measured-uncalibrated")
    assert uncalibrated == measured.replace(phase_bias=math.pi, name="measured-uncalibrated")
    lowpower = HardwareModel.preset("measured-lowpower")
    assert lowpower == measured.replace(
        shot_noise_photons=8e3, detector_noise_std=0.01, name="measured-lowpower"
    )
    with pytest.raises(ValueError, match="accepted presets are ideal, typical, uncalibrated, measured, "):
        HardwareModel.preset("fabricated")
    with pytest.raises(ValueError, match=r"unknown HardwareModel field\(s\) \['detector_noise'\]"):
        measured.replace(detector_noise=0.01)


def repeated_readings(hardware, setting, x, repeats):
    """[repeats, B, out]: one setting read ``repeats`` times (one query each) on a fresh chip."""
    chip = small_chip(hardware, seed=4, bias=False)
    return chip.outputs(setting.repeat(repeats, 1), x)


def test_two_queries_on_the_measured_chip_differ_by_its_detector_and_phase_noise(rng):
    """Query-to-query spread of one setting's readings on the ``measured`` chip: at least what its
    detector noise (0.2 % of each readout's RMS) and its 5 mrad phase jitter give, the latter
    propagated through the chip's own Jacobian. ``typical`` has no per-query noise at all."""
    measured = HardwareModel.preset("measured")
    chip = small_chip(measured, seed=4, bias=False)
    setting = chip.initial_params(3).double()[None]
    x = torch.as_tensor(rng.standard_normal((16, 8)))
    readings = repeated_readings(measured, setting, x, 400)
    var = (readings[1:] - readings[:-1]).pow(2).mean(0) / 2  # two consecutive queries differ by √2 σ
    rms = readings.pow(2).mean((0, 2), keepdim=True).sqrt()[0]  # RMS of each readout vector [B, 1]
    # the phase jitter's share: σ_φ² · Σ_p (∂out/∂φ_p)², by central differences on the chip without
    # its per-query noise (static errors and converters as measured)
    quiet = measured.replace(
        phase_noise_std=0.0, detector_noise_std=0.0, shot_noise_photons=None, output_bits=None
    )
    h = 1e-4
    steps = h * torch.eye(chip.n_params, dtype=torch.float64)
    static = small_chip(quiet.replace(phase_bits=None), seed=4, bias=False)
    jac = (static.outputs(setting + steps, x) - static.outputs(setting - steps, x)) / (2 * h)  # [P, B, out]
    phase_var = measured.phase_noise_std**2 * jac.pow(2).sum(0)
    detector_var = (measured.detector_noise_std * rms) ** 2
    assert phase_var.mean() > detector_var.mean()  # the jitter is visible above the detectors
    assert var.mean() >= 0.9 * (phase_var + detector_var).mean()
    assert var.mean() <= 1.5 * (phase_var + detector_var).mean()  # and of that order: the units hold
    # without the jitter the detectors alone still separate two queries by ≥ 0.2 % of the RMS
    detectors_only = measured.replace(phase_noise_std=0.0)
    alone = repeated_readings(detectors_only, setting, x, 400)
    spread = ((alone[1:] - alone[:-1]).pow(2).mean(0) / 2).sqrt() / rms
    assert spread.mean() >= 0.95 * measured.detector_noise_std
    # and on their own (no shot noise, no ADC) at just that level: σ_D is relative to each readout's RMS
    pure = detectors_only.replace(shot_noise_photons=None, output_bits=None)
    alone = repeated_readings(pure, setting, x, 400)
    spread = ((alone[1:] - alone[:-1]).pow(2).mean(0) / 2).sqrt() / rms
    assert spread.mean() == pytest.approx(measured.detector_noise_std, rel=0.05)
    fixed = repeated_readings(HardwareModel.preset("typical"), setting, x, 3)
    assert (fixed[0] - fixed[1]).abs().max() < 1e-9 * fixed.abs().max()
