"""In-situ calibration through the Oracle: it compensates static phase bias and coupler errors for
a program, a calibration on several programs carries over to unseen ones, an ideal chip is left
alone, and bad input is refused."""

import numpy as np
import pytest
import torch

from photonzo.photonics.chip import Chip
from photonzo.photonics.hardware import HardwareModel
from photonzo.photonics.layers import OpticalLinear
from photonzo.photonics.network import OpticalNetwork
from photonzo.training.calibration import (
    CalibrationConfig,
    calibrate,
    calibration_loss,
    config_from_dict,
    design_targets,
    load_offset,
)


def small_network():
    return OpticalNetwork(
        [OpticalLinear(8, 8, block=4), OpticalLinear(8, 4, block=4)], ["relu"], name="small"
    )


def chips(hardware: HardwareModel, seed: int = 3):
    network = small_network()
    chip = Chip(network, hardware, seed=seed, dtype=torch.complex128)
    design = Chip(network, "ideal", seed=seed, dtype=torch.complex128)
    return network, chip, design


def probe_inputs(n=32, features=8, seed=0):
    return torch.as_tensor(np.random.default_rng(seed).uniform(0, 1, (n, features)))


def error(oracle, design, settings, x, offset=None):
    offset = torch.zeros(settings.shape[1], dtype=torch.float64) if offset is None else offset
    return float(calibration_loss(oracle, offset[None], settings, x, design_targets(design, settings, x))[0])


def test_calibration_compensates_phase_bias_and_coupler_errors_for_a_program(tmp_path):
    hw = HardwareModel(phase_bias=0.15, bs_error_std=0.05)
    network, chip, design = chips(hw)
    oracle = chip.oracle()
    phases = chip.initial_params(7).double()
    x = probe_inputs()
    before = error(oracle, design, phases[None], x)
    queries = oracle.queries
    result = calibrate(oracle, design, phases, x, CalibrationConfig(steps=150, q=4, lr=0.01))
    assert result.queries == oracle.queries - queries  # it reports what it spent through the Oracle
    assert result.loss_before == pytest.approx(before, rel=1e-9)
    after = error(oracle, design, phases[None], x, result.offset)
    assert before > 0.02 and after < before / 5, (before, after)
    assert result.loss_after == pytest.approx(after, rel=1e-9)
    # electronic parameters are set exactly, so the offset leaves them alone
    mask = torch.as_tensor(network.phase_mask)
    assert torch.all(result.offset[~mask] == 0)
    # the compensated program's outputs approach the design's, on inputs it was not tuned on
    fresh = probe_inputs(64, seed=5)
    want = design.outputs(phases[None], fresh)
    gap = lambda p: float((chip.outputs(p[None], fresh) - want).norm() / want.norm())
    assert gap(result.apply(phases)) < gap(phases) / 2
    result.save(tmp_path)
    assert torch.equal(load_offset(tmp_path), result.offset)
    assert (tmp_path / "calibration.json").exists()


def test_a_calibration_on_several_programs_carries_over_to_unseen_programs():
    """One offset for many programs can only fit a setting-independent error: the static bias."""
    network, chip, design = chips(HardwareModel(phase_bias=0.2), seed=11)
    oracle = chip.oracle()
    x = probe_inputs()
    result = calibrate(
        oracle,
        design,
        oracle.initial_params(100).double(),
        x,
        CalibrationConfig(steps=400, q=10, lr=0.01, random_settings=11),
    )
    unseen = torch.stack([oracle.initial_params(200 + i).double() for i in range(4)])
    before, after = error(oracle, design, unseen, x), error(oracle, design, unseen, x, result.offset)
    assert after < before / 4, (before, after)


def test_an_ideal_chip_needs_no_calibration():
    network, chip, design = chips(HardwareModel())
    phases = chip.initial_params(1).double()
    result = calibrate(chip.oracle(), design, phases, probe_inputs(), CalibrationConfig(steps=20))
    assert result.loss_before < 1e-20 and result.loss_after == result.loss_before
    assert torch.all(result.offset == 0)  # an already calibrated chip comes out no worse


def test_bad_calibration_input_is_refused():
    network, chip, design = chips(HardwareModel(phase_bias=0.1))
    x = probe_inputs()
    with pytest.raises(ValueError, match="probe settings must have shape"):
        calibrate(chip.oracle(), design, torch.zeros(3, 5), x)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        calibrate(chip.oracle(), design, chip.initial_params(0), x, CalibrationConfig(steps=0))
    with pytest.raises(ValueError, match="lr must be a positive finite number"):
        config_from_dict({"lr": -1.0})
    with pytest.raises(ValueError, match="unknown calibration setting"):
        config_from_dict({"stepz": 3})

    class OutputsOnly:  # an Oracle without layer taps
        n_params = chip.n_params

    with pytest.raises(TypeError, match="LayerTapOracle"):
        calibrate(OutputsOnly(), design, chip.initial_params(0), x)
