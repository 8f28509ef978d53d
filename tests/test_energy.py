"""The time and energy model (photonics/energy.py): counts from the network, the terms of one query,
how they scale with the run, the bad inputs, every run's summary.json, and the sequel's HJB budget."""

import dataclasses
import json
import math

import numpy as np
import pytest

from photonzo.experiments.run import PINNConfig, TrainConfig, build_pinn_network, run_pinn, run_training
from photonzo.photonics.energy import (
    ENERGY_MODELS,
    MEMS,
    SEQUEL_HJB,
    THERMAL,
    EnergyModel,
    estimate,
    phase_load,
    run_estimate,
    sequel_hjb_budget,
    workload,
)
from photonzo.photonics.hardware import HardwareModel
from photonzo.photonics.layers import OpticalLinear, TTOpticalLinear
from photonzo.photonics.network import OpticalNetwork, build_network
from photonzo.pinn.quadrature import sparse_grid_size

IDEAL = HardwareModel.preset("ideal")


def test_counts_of_a_dense_network():
    w = workload(build_network("digits-dense"))  # 64 → 64 → 10
    assert (w.stages, w.symbols, w.modes, w.dac_conversions, w.adc_conversions, w.buffered) == (
        2,
        1,
        128,
        128,
        74,
        0,
    )
    # 64→64: 64 blocks of 8×8 (64 + 8 + 64 phases); 64→10: 8 such blocks and 8 edge blocks of 2×8
    # (a 2-mode U, 2 attenuators, an 8-mode V†: 4 + 2 + 64)
    assert (w.phases, w.outputs) == (72 * 136 + 8 * 70, 10)


def test_counts_of_a_tt_layer_follow_its_slices():
    # in (2, 3) → out (4, 5), rank 2: core 1 (applied first) is 10×3 on 2 slices per input, read by
    # I/Q receivers; core 0 is 4×4 on 5 slices, driven by I/Q modulators, read coherently
    layer = TTOpticalLinear((2, 3), (4, 5), 2, block=4)
    w = workload(OpticalNetwork([layer], []))
    assert (w.stages, w.symbols) == (2, 5)
    assert w.modes == 2 * 3 + 5 * 4
    assert w.dac_conversions == 2 * 3 + 5 * 4 * 2
    assert w.adc_conversions == 2 * 10 * 2 + 5 * 4
    assert w.buffered == 2 * 10
    hjb = workload(build_network("hjb-tt"))  # 4 + 4 TT cores and the dense readout; 64 slices at most
    assert (hjb.stages, hjb.symbols, hjb.phases) == (9, 64, 5134)


def test_one_query_is_the_sum_of_its_terms():
    w = workload(build_network("hjb-tt"))
    e = estimate(w, IDEAL, batch=100)
    m = THERMAL
    t_q = m.settle_time + 100 * 64 / m.symbol_rate + 9 * m.latency + m.digital_time
    assert e.time_s == pytest.approx(t_q, rel=1e-12)
    assert e.time_s == pytest.approx(sum(e.time.values()))
    assert e.energy_j == pytest.approx(sum(e.energy.values()))
    # heaters: P_π per π, one π per phase shifter by default, held for the whole query
    assert e.energy["heaters"] == pytest.approx(m.heater_power_per_pi * w.phases * t_q)
    # laser: 8e5 photons per mode and symbol through 10 dB at 20 % wall-plug efficiency
    h_nu = 6.62607015e-34 * 299_792_458.0 / 1550e-9
    assert e.energy["laser"] == pytest.approx(100 * w.modes * 8e5 * h_nu * 10 / 0.2)
    assert e.energy["adcs"] == pytest.approx(100 * w.adc_conversions * (1.4e-12 + 0.6e-12))


def test_energy_and_time_scale_linearly_with_queries():
    w = workload(build_network("digits-tt"))
    one, many = estimate(w, IDEAL, 32, 10), estimate(w, IDEAL, 32, 30)
    for key in one.energy:
        assert many.energy[key] == pytest.approx(3 * one.energy[key])
    for key in one.time:
        assert many.time[key] == pytest.approx(3 * one.time[key])
    # fewer re-programmings (the same setting on several batches) save settling and DAC writes only
    reused = estimate(w, IDEAL, 32, 30, reprogrammings=10)
    assert reused.time["settle"] == pytest.approx(one.time["settle"])
    assert reused.energy["program"] == pytest.approx(one.energy["program"])
    assert reused.time["stream"] == pytest.approx(many.time["stream"])


def test_heater_energy_is_proportional_to_the_programmed_phase():
    network = build_network("digits-dense")
    w, hw = workload(network), HardwareModel.preset("typical")
    params = np.full(network.n_params, math.pi / 2)
    half = phase_load(network, params, hw)
    assert half == pytest.approx(w.phases / 2)
    # phases are wrapped to [0, 2π) before they drive a heater; electronic biases draw nothing
    wrapped = params + 4 * math.pi
    wrapped[~network.phase_mask] = 1e6
    assert phase_load(network, wrapped, hw) == pytest.approx(half)
    e1, e2 = (estimate(w, hw, 8, 5, load=load) for load in (half, 2 * half))
    assert e2.energy["heaters"] == pytest.approx(2 * e1.energy["heaters"])
    assert e2.energy["laser"] == e1.energy["laser"]
    assert estimate(w, hw, 8, 5, load=0.0).energy["heaters"] == 0.0


def test_light_and_converters_follow_the_hardware_model():
    w = workload(build_network("digits-tt"))
    base = estimate(w, IDEAL, 16)
    bright = estimate(w, HardwareModel(shot_noise_photons=1.6e6), 16)
    assert bright.energy["laser"] == pytest.approx(2 * base.energy["laser"])  # 8e5 photons by default
    lossy = estimate(w, IDEAL, 16, model=THERMAL.replace(path_loss_db=20.0))
    assert lossy.energy["laser"] == pytest.approx(10 * base.energy["laser"])
    fine = estimate(w, HardwareModel(input_bits=10, phase_bits=12), 16)
    assert fine.energy["dacs"] == pytest.approx(4 * base.energy["dacs"])  # Walden: 2× per bit
    assert fine.energy["program"] == pytest.approx(16 * base.energy["program"])


def test_mems_phase_shifters_hold_no_power_and_settle_faster():
    w = workload(build_network("hjb-tt"))
    thermal, mems = (estimate(w, IDEAL, 100, model=m) for m in (THERMAL, MEMS))
    assert mems.energy["heaters"] == 0.0 and thermal.energy["heaters"] > 300 * mems.energy_j
    assert thermal.time_s - mems.time_s == pytest.approx(8e-6)
    assert set(ENERGY_MODELS) == {"thermal", "mems"} and EnergyModel.preset("mems") is MEMS


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"heater_power_per_pi": -1.0}, r"heater_power_per_pi must be a finite number in \[0, inf\).*-1.0"),
        ({"settle_time": float("nan")}, r"settle_time must be a finite number in \[0, inf\).*nan"),
        ({"dac_energy": float("inf")}, r"dac_energy must be a finite number in \[0, inf\).*inf"),
        ({"symbol_rate": 0.0}, r"symbol_rate must be a finite number in \(0, inf\) Hz, got 0.0"),
        ({"laser_efficiency": 1.5}, r"laser_efficiency must be a finite number in \(0, 1\], got 1.5"),
        ({"latency": "3 ns"}, r"latency must be a finite number"),
        ({"converter_bits": 0}, r"converter_bits must be an integer in 1..32, got 0"),
    ],
)
def test_bad_constants_are_refused_naming_value_and_range(changes, message):
    with pytest.raises(ValueError, match=message):
        EnergyModel(**changes)
    with pytest.raises(ValueError, match=message):
        THERMAL.replace(**changes)


def test_unknown_models_constants_and_counts_are_refused():
    with pytest.raises(ValueError, match="unknown energy model 'optical'; accepted models are thermal, mems"):
        EnergyModel.preset("optical")
    with pytest.raises(ValueError, match=r"unknown EnergyModel constant\(s\) \['heater_power'\]"):
        THERMAL.replace(heater_power=1.0)
    w = workload(build_network("digits-tt"))
    with pytest.raises(ValueError, match="batch must be an integer >= 1, got 0"):
        estimate(w, IDEAL, 0)
    with pytest.raises(ValueError, match="queries must be an integer >= 0, got -1"):
        estimate(w, IDEAL, 1, -1)
    with pytest.raises(ValueError, match=r"the phase load must lie in \[0, 5056\]"):
        estimate(w, IDEAL, 1, load=-2.0)
    assert THERMAL.replace(settle_time=1e-6).name == "thermal+settle_time=1e-06"


def test_every_training_run_states_its_on_chip_cost(tmp_path):
    config = TrainConfig.of(steps=2, eval_every=2, batch_size=16, hardware="measured")
    summary = run_training(config, tmp_path / "run", progress=False)
    thermal = summary["on_chip"]["thermal"]
    assert (thermal["queries"], thermal["batch"]) == (summary["train_queries"], 16)
    assert summary["on_chip_energy_j"] == thermal["energy_j"] > 0
    assert summary["on_chip_time_s"] == thermal["time_s"] > summary["train_queries"] * 10e-6
    assert summary["on_chip"]["mems"]["energy_j"] < thermal["energy_j"]


def test_every_pinn_run_states_its_on_chip_cost(tmp_path):
    config = PINNConfig.of(pde="heat", dim=3, model="small", steps=2, eval_every=2, q=2, test_points=50)
    summary = run_pinn(config, tmp_path / "run", progress=False)
    thermal = summary["on_chip"]["thermal"]
    assert (thermal["queries"], thermal["batch"]) == (
        summary["train_queries"],
        summary["inferences_per_query"],
    )
    assert summary["on_chip_time_s"] == thermal["time_s"] > 0
    phases = int(build_pinn_network(config).phase_mask.sum())
    load = summary["on_chip"]["phase_load"]
    assert 0 < load < 2 * phases and load != phases  # read off the run's last phases, not the default


def test_run_estimate_reads_the_heater_load_off_the_phases():
    network = OpticalNetwork([OpticalLinear(8, 8, block=4)], [])
    zero = run_estimate(network, IDEAL, 4, 10, params=np.zeros(network.n_params))
    default = run_estimate(network, IDEAL, 4, 10)
    assert zero["on_chip"]["thermal"]["energy_terms_j"]["heaters"] == 0.0
    assert default["on_chip"]["phase_load"] == int(network.phase_mask.sum())
    assert default["on_chip_energy_j"] > zero["on_chip_energy_j"]


def test_the_sequels_hjb_budget_and_ours():
    """The sequel's 1.36 J / 1.15 s for 10,000 steps × 56 queries on the HJB TT-PINN, under this model.

    Within 3× of both only with MEMS phase shifters (no static heater power, 2 µs settling), a
    collocation point read as one input, and one pass per input through every TT core; thermal
    heaters alone cost ~900× the claimed energy (5,134 phase shifters at P_π per π: 128 W)."""
    network, typical = build_network("hjb-tt"), HardwareModel.preset("typical")  # the sequel's 8-bit phases
    evaluations = sparse_grid_size("gauss-hermite", 21, 2)
    rows = {r["case"]: r for r in sequel_hjb_budget(network, typical, evaluations)}
    assert evaluations == 925 and SEQUEL_HJB["steps"] * SEQUEL_HJB["queries_per_step"] == 560_000
    best = rows["mems-one-pass"]
    assert best["time_ratio"] == pytest.approx(1.28, abs=0.01) and best["energy_ratio"] == pytest.approx(
        2.43, abs=0.01
    )
    thermal = rows["thermal"]
    assert thermal["time_s"] == pytest.approx(9.48, abs=0.01) and thermal["energy_j"] == pytest.approx(
        1220, rel=1e-3
    )
    assert max(thermal["largest_energy_terms"], key=thermal["largest_energy_terms"].get) == "heaters"
    mems = rows["mems"]
    assert (mems["time_s"], mems["energy_j"]) == (
        pytest.approx(5.00, abs=0.01),
        pytest.approx(3.30, abs=0.01),
    )
    # our own `photonzo hjb` defaults: 200 steps × 21 queries (RGE q = 10, central) of 100 × 925 inputs
    defaults = PINNConfig()
    queries = defaults.steps * (1 + 2 * defaults.q)
    ours = {
        m.name: estimate(workload(network), IDEAL, defaults.points * evaluations, queries, model=m)
        for m in (THERMAL, MEMS)
    }
    assert queries == 4200
    assert ours["thermal"].time_s == pytest.approx(24.9, abs=0.1)
    assert ours["thermal"].energy_j == pytest.approx(3.22e3, rel=0.01)
    assert ours["mems"].energy_j == pytest.approx(22.7, rel=0.01)
    assert dataclasses.asdict(MEMS)["heater_power_per_pi"] == 0.0


def test_info_lists_every_preset_and_reports_one_querys_cost(capsys):
    from photonzo.cli import main
    from photonzo.photonics.hardware import PRESETS

    assert main(["info", "--hardware"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in PRESETS) and "measured-lowpower" in out
    assert "shot_noise_photons" in out and "800000" in out and "8000" in out
    assert "heater_power_per_pi" in out and "mems" in out
    assert main(["info", "hjb-tt", "--batch", "100", "--json"]) == 0
    per_query = json.loads(capsys.readouterr().out)["per_query"]
    assert per_query["thermal"]["time_s"] == pytest.approx(10e-6 + 6.4e-6 + 9 * 3e-9 + 0.5e-6)
    assert per_query["mems"]["energy_terms_j"]["heaters"] == 0.0
    assert main(["info", "digits-tt", "--hardware", "measured"]) == 0
    out = capsys.readouterr().out
    assert "one query of 1 input on silicon, thermal phase shifters: 10.5 µs" in out


def test_the_cli_reports_a_runs_on_chip_cost_last(tmp_path, capsys):
    from photonzo.cli import main

    run = tmp_path / "run"
    args = ["train", "digits", "--steps", "2", "--eval-every", "2", "--eval-size", "40", "--q", "2"]
    assert main([*args, "--quiet", "--run-dir", str(run)]) == 0
    lines = capsys.readouterr().out.splitlines()
    summary = json.loads((run / "summary.json").read_text())
    line = next(x for x in lines if x.startswith("estimated on silicon"))
    assert lines.index(line) >= len(lines) - 2
    assert f"for the {summary['train_queries']:,} training queries with thermal phase shifters" in line
