"""The benchmarks stay runnable: each imports, answers ``--help``, and runs a tiny configuration into a
folder of the test's (never into the committed ``benchmarks/results``); they reach the library through
its public names only; and their reports still render the committed results as committed."""

import ast
import importlib.util
import json
import math
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
RESULTS = BENCHMARKS / "results"
NAMES = (
    "bench_simulator",
    "mnist_table",
    "hjb_table",
    "noise_sweep",
    "bench_stein",
    "bench_deploy",
    "bench_training",
    "onchip_training",
    "fine_tune_step",
    "pinn_chip_model",
    "bench_edge_blocks",
    "bench_torchonn",
)
ZO_ROWS = ("zo-rge", "zo-hybrid-tw", "zo-layer-local", "zo-dense")
LOADED = {}


def load(name: str):
    """The benchmark script as a module (registered, as dataclasses need to find their module)."""
    if name not in LOADED:
        spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        LOADED[name] = module
    return LOADED[name]


def snapshot(folder: Path) -> dict:
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(autouse=True)
def committed_results_untouched():
    """No benchmark run of a test writes into the committed results; torch's threads are restored
    (the benchmarks set them, and the golden histories are recorded with the default)."""
    before, threads = snapshot(RESULTS), torch.get_num_threads()
    yield
    torch.set_num_threads(threads)
    assert snapshot(RESULTS) == before


# ---- public entry points only -------------------------------------------------------------------


def private_uses(source: str) -> list[str]:
    """Private names of photonzo a script imports or reaches: ``from photonzo.x import _y``,
    ``import photonzo._x``, and ``m._y`` on anything (the library's objects included)."""
    private = lambda dotted: any(part.startswith("_") for part in dotted.split("."))
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "photonzo":
            names = [alias.name for alias in node.names]
            if private(node.module) or any(map(private, names)):
                found.append((node.lineno, f"from {node.module} import {', '.join(names)}"))
        elif isinstance(node, ast.Import):
            ours = [a.name for a in node.names if a.name.split(".")[0] == "photonzo" and private(a.name)]
            found += [(node.lineno, f"import {name}") for name in ours]
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.endswith("__"):
            found.append((node.lineno, f".{node.attr}"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


def test_the_checker_finds_private_names():
    source = (
        "from photonzo.experiments.plots import _figure, pyplot\n"
        "from photonzo.training._hidden import x\n"
        "import photonzo._core\n"
        "from photonzo.experiments import plots\n"
        "plots._figure()\n"
        "chip._gains\n"
        "x.__class__\n"
        "from os import _exit\n"
    )
    assert private_uses(source) == [
        "line 1: from photonzo.experiments.plots import _figure, pyplot",
        "line 2: from photonzo.training._hidden import x",
        "line 3: import photonzo._core",
        "line 5: ._figure",
        "line 6: ._gains",
    ]


@pytest.mark.parametrize("name", NAMES)
def test_benchmarks_use_public_names_only(name):
    assert private_uses((BENCHMARKS / f"{name}.py").read_text()) == []


# ---- imports, --help ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_benchmark_imports_and_answers_help(name, capsys):
    module = load(name)
    with pytest.raises(SystemExit) as done:
        module.main(["--help"])
    assert done.value.code == 0
    assert "usage:" in capsys.readouterr().out


# ---- the committed results, as committed ---------------------------------------------------------


def committed(stem: str) -> tuple[dict, str]:
    return json.loads((RESULTS / f"{stem}.json").read_text()), (RESULTS / f"{stem}.md").read_text()


def test_the_reports_render_the_committed_results_as_committed():
    data, text = committed("bench_simulator")
    assert load("bench_simulator").markdown_table(data) == text
    for stem in ("mnist_table", "mnist_table_60k", "mnist_table_measured"):
        data, text = committed(stem)
        assert load("mnist_table").markdown(data) == text
    for stem in ("onchip_fine_tune", "onchip_fine_tune_grid", "onchip_fine_tune_szo"):
        data, text = committed(stem)
        assert load("fine_tune_step").markdown(data) == text, stem
    for stem in (
        "hjb_black_scholes_10k",
        "hjb_gain",
        "hjb_pde_gain",
        "hjb_pde_chip_fo",
        "hjb_pde_bs_gain2",
        "hjb_pde_burgers_sparse",
        "hjb_pde_bs_seed1",
        "hjb_pde_bs_seed2",
        "hjb_pde_burgers_seed1",
        "hjb_pde_burgers_seed2",
    ):
        data, text = committed(stem)
        assert load("hjb_table").markdown(data) == text, stem
    for stem in ("onchip_training", "onchip_variants"):
        data, text = committed(stem)
        assert load("onchip_training").markdown(data) == text, stem
    for stem, render in (
        ("hjb_table", "markdown"),
        ("noise_sweep", "report"),
        ("bench_stein", "markdown"),
        ("bench_deploy", "markdown"),
        ("bench_edge_blocks", "markdown"),
        ("bench_torchonn", "markdown"),
    ):
        data, text = committed(stem)
        assert getattr(load(stem), render)(data) == text, stem


# ---- tiny configurations ----------------------------------------------------------------------------


def test_bench_simulator_tiny(tmp_path):
    has_photontorch = importlib.util.find_spec("photontorch") is not None
    out = tmp_path / "bench_simulator.json"
    args = "--sizes 4 --queries 1 --fields 4 --min-time 0 --photontorch-budget 0 --photontorch-max-n"
    argv = [*args.split(), "4" if has_photontorch else "0", "--out", str(out)]
    assert load("bench_simulator").main(argv) == 0
    result = json.loads(out.read_text())
    assert [(r["n"], r["q"], r["fields"]) for r in result["rows"]] == [(4, 1, 4)]
    assert (result["rows"][0]["speedup_vs_photontorch"] is not None) == has_photontorch
    assert out.with_suffix(".md").exists()


def test_mnist_table_tiny_digits(tmp_path):
    args = "--datasets digits --digits-budget 25 --bp-epochs 1 --bp-min-steps 1 --digital-subset 64 "
    args += "--tp-lrs 0.01 --chips ideal --eval-every 1 --eval-size 20 --threads 1"
    assert load("mnist_table").main([*args.split(), "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "mnist_table.json").read_text())
    (digits,) = results["datasets"]
    rows = {(r["row"], r["hardware"]) for r in digits["rows"]}
    digital = {(name, "-") for name in ("bp (digital)", "tpsgd (digital)", "drtp (digital)")}
    on_chip = {("bp → chip", "typical")} | {(name, "ideal") for name in ("bp → chip", *ZO_ROWS)}
    assert rows == digital | on_chip
    for r in digits["rows"]:
        assert 0 <= r["test_acc"] <= 1
        if r["row"].startswith("zo"):
            assert r["queries"] > 0 and r["curve"] and r["steps"] >= 1
    assert digits["step_overhead"]["queries_per_step"] > 1
    assert (tmp_path / "mnist_table.md").exists() and (tmp_path / "mnist_table.png").exists()


def test_mnist_table_on_another_preset_keeps_its_runs(tmp_path):
    """--chips measured: bp → chip on ideal, typical and measured, the ZO row on measured; with
    --work-dir a rerun reads the finished run back instead of training it again."""
    args = "--datasets digits --digits-budget 25 --bp-epochs 1 --bp-min-steps 1 --digital-subset 64 "
    args += "--rows bp zo --only zo-rge --chips measured --eval-every 1 --eval-size 20 --threads 1"
    argv = [*args.split(), "--work-dir", str(tmp_path / "runs"), "--out", str(tmp_path)]
    assert load("mnist_table").main(argv) == 0
    results = json.loads((tmp_path / "mnist_table.json").read_text())
    (digits,) = results["datasets"]
    rows = [(r["row"], r["hardware"]) for r in digits["rows"]]
    chips = [("bp → chip", hw) for hw in ("ideal", "typical", "measured")]
    assert rows == [("bp (digital)", "-"), *chips, ("zo-rge", "measured")]
    assert "commit" in results and "Commit " in (tmp_path / "mnist_table.md").read_text()
    metrics = tmp_path / "runs" / "digits-zo-rge-measured" / "metrics.jsonl"
    before = metrics.stat().st_mtime_ns
    again = [a for a in argv if a != "bp"]  # the ZO row only, this time
    assert load("mnist_table").main(again) == 0
    assert metrics.stat().st_mtime_ns == before  # read back, not trained again
    again = json.loads((tmp_path / "mnist_table.json").read_text())["datasets"][0]["rows"][-1]
    assert again["test_acc"] == digits["rows"][-1]["test_acc"]
    with pytest.raises(SystemExit):
        load("mnist_table").main(["--chips", "nonsense"])


def test_hjb_table_tiny(tmp_path, monkeypatch):
    pytest.importorskip("Tasmanian")  # the sparse grids
    monkeypatch.setenv("PHOTONZO_CACHE", str(tmp_path / "cache"))
    args = "--model small --points 1 --sigmas 0.1 --fo-steps 1 --fo-lrs 0.01 --collocation 2 --zo-steps 1 "
    args += "--zo-points 1 --zo-q 1 --eval-every 1 --test-points 20 --threads 1 --robust-centre-repeats 3"
    out = tmp_path / "out"
    argv = [*args.split(), "--work-dir", str(tmp_path / "runs"), "--out", str(out)]
    assert load("hjb_table").main(argv) == 0
    results = json.loads((out / "hjb_table.json").read_text())
    assert len(results["derivatives"]["rows"]) == 2 * 2 * 5  # precisions × noise × estimators
    rows = results["training"]["rows"]
    zo = [f"ZO + FD (h 0.1), {hw} chip" for hw in ("ideal", "typical")]
    zo_ideal = zo[0]
    # chips with readout noise read the derivatives by the noise-robust estimator
    zo += [
        "ZO + FD (h 2, centre ×3), measured chip",
        "ZO + FD (h 2, centre ×3), typical chip, detector noise 0.001",
    ]
    assert [r["row"] for r in rows] == ["first-order (digital), lr 0.01", *zo]
    assert all(r["curve"] and r["rel_l2"] > 0 for r in rows)
    assert [r["config"]["centre_repeats"] for r in rows[1:]] == [None, None, 3, 3]
    assert set(rows[0]["deployed"]) == {"ideal", "typical"}
    assert all(r["on_chip_energy_j"] > 0 for r in rows[1:])
    assert (out / "hjb_table.md").exists() and (out / "hjb_training.png").exists()
    # rerun: the finished ZO runs and the first-order reference are read back, not trained again
    assert load("hjb_table").main([*argv, "--part", "training"]) == 0
    again = json.loads((out / "hjb_table.json").read_text())
    assert again["training"]["rows"] == rows and again["derivatives"] == results["derivatives"]
    assert load("hjb_table").main([*argv, "--part", "training", "--fo-steps", "2"]) == 0
    assert json.loads((out / "hjb_table.json").read_text())["training"]["rows"][0]["steps"] == 2
    with pytest.raises(
        ValueError, match="differs from this run's options"
    ):  # a finished run of other options
        load("hjb_table").main([*argv, "--part", "training", "--zo-lr", "0.02"])
    # gains scaled: a first-order and a ZO row per chip for each scale, the unscaled ones read back
    scaled = [*argv, "--part", "training", "--gain-scales", "1", "0.5", "--zo-hardware", "ideal"]
    assert load("hjb_table").main([*scaled, "--zo-detector-noises"]) == 0
    rows = json.loads((out / "hjb_table.json").read_text())["training"]["rows"]
    fo = "first-order (digital), lr 0.01"
    assert [r["row"] for r in rows] == [fo, f"{fo}, start of gains ×0.5", zo[0], f"{zo[0]}, gains ×0.5"]
    assert [r["config"]["gain_scale"] for r in rows[2:]] == [1.0, 0.5]
    assert rows[2]["rel_l2"] == results["training"]["rows"][1]["rel_l2"] and rows[3]["rel_l2"] > 0
    assert (tmp_path / "runs" / "zo-ideal-gain0.5" / "summary.json").exists()

    # part 3: the other PDEs, first order against ZO on the chip; the other parts are kept
    part3 = [*argv, "--part", "pdes", "--pde-steps", "2", "--pde-fo-lrs", "0.01", "--pde-zo-lrs", "0.01"]
    part3 += ["--pde-q", "1", "--pde-points", "2", "--pde-gain-scales", "1", "4"]
    assert load("hjb_table").main(part3) == 0
    results = json.loads((out / "hjb_table.json").read_text())
    assert set(results["pdes"]["pdes"]) == {"black-scholes", "burgers"} and "training" in results
    fo, zo = "first-order (digital), lr 0.01", "ZO, typical chip, lr 0.01"
    for table in results["pdes"]["pdes"].values():
        assert [r["row"] for r in table["rows"]] == [fo, f"{fo}, start of gains ×4", zo, f"{zo}, gains ×4"]
        assert table["rows"][2]["queries"] == 2 * 3  # 2 steps of q = 1 central pairs and a centre
        assert table["rows"][0]["points"] == 2  # first order on as many points per step as ZO
    text = (out / "hjb_table.md").read_text()
    assert "### black-scholes (1-D; volatility 0.2" in text and "target ≤ 3×" in text
    assert load("hjb_table").markdown(results) == text

    # sparse directions: their own run directories, said in the table
    sparse = [*part3[:-3], "--pde-gain-scales", "4", "--pdes", "burgers", "--pde-density", "0.5"]
    assert load("hjb_table").main(sparse) == 0
    rows = json.loads((out / "hjb_table.json").read_text())["pdes"]["pdes"]["burgers"]["rows"]
    assert rows[-1]["config"]["density"] == 0.5 and rows[-1]["queries"] == 2 * 3
    assert (
        tmp_path / "runs" / "burgers-zo-typical-lr0.01-gain4-q1-density0.5-steps2" / "summary.json"
    ).exists()
    assert (
        "sparse directions (each perturbs a fraction 0.5 of the coordinates)"
        in (out / "hjb_table.md").read_text()
    )

    # first order on the chip's own parameters, next to the ZO row of the same chip, gains and lr
    chip_fo = [*part3[:-3], "--pde-gain-scales", "4", "--pde-chip-fo", "--pdes", "burgers"]
    assert load("hjb_table").main(chip_fo) == 0
    rows = json.loads((out / "hjb_table.json").read_text())["pdes"]["pdes"]["burgers"]["rows"]
    label = "first order on the chip's parameters, typical chip, lr 0.01, gains ×4"
    assert [r["row"] for r in rows] == [f"{fo}, start of gains ×4", label, f"{zo}, gains ×4"]
    assert rows[1]["queries"] is None and rows[1]["steps"] == 2 and 0 < rows[1]["rel_l2"] < float("inf")
    assert rows[1]["rel_l2"] != rows[2]["rel_l2"]  # the exact gradient, not ZO's estimate
    text = (out / "hjb_table.md").read_text()
    assert f"- {label}: ZO ÷ it **{rows[2]['rel_l2'] / rows[1]['rel_l2']:.2f}×**" in text
    cached = (
        tmp_path / "runs" / "chip-first-order-burgers-small-typical-lr0.01-steps2-points2-seed0-gain4.json"
    )
    assert json.loads(cached.read_text())["rel_l2"] == rows[1]["rel_l2"]  # kept: a rerun reads it back
    with pytest.raises(ValueError, match=r"made with other options \(sigma\)"):
        load("hjb_table").main([*chip_fo, "--pde-h", "0.2"])
    training = [*argv, "--part", "training", "--zo-hardware", "ideal", "--zo-detector-noises"]
    assert load("hjb_table").main([*training, "--chip-fo-hardware", "ideal"]) == 0
    rows = json.loads((out / "hjb_table.json").read_text())["training"]["rows"]
    label = "first order on the chip's parameters, ideal chip, lr 0.01"
    assert [r["row"] for r in rows] == ["first-order (digital), lr 0.01", label, zo_ideal]
    assert f"- {label}: ZO ÷ it" in (out / "hjb_table.md").read_text()


def test_hjb_table_refuses_a_chip_first_order_of_a_noisy_chip(tmp_path, capsys):
    argv = ["--part", "pdes", "--pde-chip-fo", "--pde-hardware", "measured", "--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as done:
        load("hjb_table").main(argv)
    assert done.value.code == 2 and "hardware 'measured' draws per-query noise" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        load("hjb_table").main(["--chip-fo-hardware", "measured", "--out", str(tmp_path / "out")])
    assert "invalid choice: 'measured'" in capsys.readouterr().err and not (tmp_path / "out").exists()
    with pytest.raises(SystemExit):
        load("hjb_table").main(["--part", "pdes", "--pde-density", "1.5", "--out", str(tmp_path / "out")])
    assert "--pde-density must lie in (0, 1], got 1.5" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_hjb_table_noise_from_a_preset(tmp_path, monkeypatch):
    pytest.importorskip("Tasmanian")
    monkeypatch.setenv("PHOTONZO_CACHE", str(tmp_path / "cache"))
    argv = "--part derivatives --model small --points 1 --sigmas 0.1 --threads 1 --noise-from measured"
    argv = [*argv.split(), "--name", "hjb_measured", "--out", str(tmp_path)]
    assert load("hjb_table").main(argv) == 0
    results = json.loads((tmp_path / "hjb_measured.json").read_text())["derivatives"]
    noisy = [r for r in results["rows"] if r["noise"] > 0]
    assert len(noisy) == 2 * 5 and all(r["noise"] == 0.002 and r["shot_noise_photons"] == 8e5 for r in noisy)
    assert all("shot_noise_photons" not in r for r in results["rows"] if r["noise"] == 0)
    assert "0.002 + shot (800000 photons)" in (tmp_path / "hjb_measured.md").read_text()
    with pytest.raises(SystemExit):  # the level comes from the preset or from --noise, not both
        load("hjb_table").main([*argv, "--noise", "0.01"])


def test_noise_sweep_smoke(tmp_path):
    module = load("noise_sweep")
    out, work = tmp_path / "out", tmp_path / "runs"
    argv = ["--smoke", "--datasets", "digits", "--workers", "1", "--work-dir", str(work), "--out", str(out)]
    assert module.main([*argv, "--part", "all"]) == 0  # throughput: two spawned workers
    data = json.loads((out / "noise_sweep.json").read_text())
    part = data["sweep"]["digits"]
    assert {(r["mode"], r["phase_bits"]) for r in part["rows"]} == {
        (m, b) for m in ("deploy", "in-situ") for b in module.SMOKE.bits
    }
    assert 0 < part["digital_test_acc"] <= 1 and part["target"]["in_situ_acc"] is not None
    assert {r["mode"] for r in data["calibration"]["rows"]} == {"deploy", "calibrated"}
    assert (out / "noise_sweep" / "digits" / "summary.csv").exists()
    assert [r["cells"] for r in data["throughput"]["runs"].values()] == [1, 1, 1]
    assert (out / "noise_sweep.md").read_text() == module.report(data)
    with pytest.raises(SystemExit):  # a smoke run never lands in the committed results
        module.main(["--smoke", "--part", "report"])


def test_noise_sweep_on_a_preset_at_listed_points(tmp_path):
    module = load("noise_sweep")
    out, work = tmp_path / "out", tmp_path / "runs"
    argv = ["--smoke", "--part", "sweep", "--datasets", "digits", "--workers", "1", "--threads", "1"]
    argv += ["--hardware", "measured", "--points", "6:0.02", "12:0.005", "--seeds", "0", "--name", "noise_m"]
    assert module.main([*argv, "--work-dir", str(work), "--out", str(out)]) == 0
    data = json.loads((out / "noise_m.json").read_text())
    part = data["sweep"]["digits"]
    assert part["hardware"] == "measured" and part["seeds"] == [0]
    points = {(m, b, s) for m in ("deploy", "in-situ") for b, s in ((6, 0.02), (12, 0.005))}
    assert {(r["mode"], r["phase_bits"], r["phase_noise_std"]) for r in part["rows"]} == points
    assert part["target"]["in_situ_acc"] is not None
    assert (out / "noise_m.md").read_text() == module.report(data)
    assert (out / "noise_m" / "digits" / "summary.csv").exists()
    for bad in (["--points", "6:x"], ["--points", "6:0.02", "--bits", "6"], ["--hardware", "nonsense"]):
        with pytest.raises(SystemExit):
            module.main(["--smoke", "--part", "report", "--out", str(out), *bad])


def test_bench_stein_tiny(tmp_path, monkeypatch):
    pytest.importorskip("Tasmanian")
    monkeypatch.setenv("PHOTONZO_CACHE", str(tmp_path / "cache"))
    argv = ["--model", "small", "--points", "1", "--sigmas", "0.1", "--rules", "gauss-hermite"] + [
        "--out",
        str(tmp_path),
    ]
    assert load("bench_stein").main(argv) == 0
    data = json.loads((tmp_path / "bench_stein.json").read_text())
    assert data["rows"] and (tmp_path / "bench_stein.md").read_text() == load("bench_stein").markdown(data)


def test_bench_edge_blocks_tiny(tmp_path):
    argv = ["--models", "digits-tt", "--repeats", "1", "--out", str(tmp_path)]
    assert load("bench_edge_blocks").main(argv) == 0
    data = json.loads((tmp_path / "bench_edge_blocks.json").read_text())
    (row,) = data["rows"]
    assert row["model"] == "digits-tt" and row["rectangular_mzis"] < row["padded_mzis"]
    assert (tmp_path / "bench_edge_blocks.md").read_text() == load("bench_edge_blocks").markdown(data)


def test_bench_torchonn_tiny(tmp_path):
    """The peer comparison on a small layer (torchonn lives in a venv of its own: skipped without it)."""
    pytest.importorskip("torchonn")
    argv = ["--layer", "16,8,4", "--blocks", "4", "--threads", "1", "--settings", "1", "2", "--repeats", "1"]
    assert load("bench_torchonn").main([*argv, "--out", str(tmp_path)]) == 0
    data = json.loads((tmp_path / "bench_torchonn.json").read_text())
    assert [(r["block"], r["threads"], r["settings"]) for r in data["rows"]] == [(4, 1, 1), (4, 1, 2)]
    assert all(r["photonzo_ms"] > 0 and r["torchonn_ms"] > 0 and r["ratio"] > 0 for r in data["rows"])
    assert (
        data["rows"][0]["batched_vs_one_at_a_time"] is None
        and data["rows"][1]["batched_vs_one_at_a_time"] > 0
    )
    assert data["torchonn_knobs"]["w_bit"] == 8 and data["torchonn_knobs"]["crosstalk_factor"] == 0.005
    assert (tmp_path / "bench_torchonn.md").read_text() == load("bench_torchonn").markdown(data)


def test_bench_torchonn_without_torchonn_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torchonn", None)  # import torchonn raises ImportError
    with pytest.raises(SystemExit) as done:
        load("bench_torchonn").main(["--layer", "16,8,4", "--blocks", "4", "--out", str(tmp_path)])
    message = str(done.value.code)
    assert "torchonn is not importable" in message and "--no-build-isolation" in message
    assert "\n" not in message and not list(tmp_path.iterdir())


def test_bench_deploy_tiny(tmp_path):
    argv = ["--sizes", "12,10,4", "--networks", "digits-tt", "--repeats", "1", "--out", str(tmp_path)]
    assert load("bench_deploy").main(argv) == 0
    data = json.loads((tmp_path / "bench_deploy.json").read_text())
    assert data and (tmp_path / "bench_deploy.md").read_text() == load("bench_deploy").markdown(data)


def test_bench_training_tiny(tmp_path):
    argv = ["--cases", "digits-tt", "--repeats", "1", "--no-workers", "--out", str(tmp_path)]
    assert load("bench_training").main(argv) == 0
    data = json.loads((tmp_path / "bench_training.json").read_text())
    (row,) = data["rows"]
    assert (
        row["case"] == "digits-tt" and row["queries_per_step"] == 121 and row["vs_1_thread"]["1 thread"] == 1
    )
    assert row["forward"]["products"] >= 2 and row["forward"]["vs_floor"] > 0
    assert (tmp_path / "bench_training.md").read_text() == load("bench_training").markdown(data)


@pytest.mark.parametrize("model", ["digits-tt", "mnist-tt", "hjb-tt"])
def test_the_kept_old_forward_gives_todays_outputs(model, rng):
    """bench_training's speed-up is measured against a copy of the forward before issue 15: it must
    compute what today's forward computes (to rounding), taps included."""
    from photonzo.photonics.chip import Chip
    from photonzo.photonics.network import build_network

    load("bench_training")  # puts benchmarks/ on the path
    from reference_forward import use_reference_forward

    # the old forward knows full k×k blocks only (edge blocks padded, the layout it had)
    chip = Chip(build_network(model, edge_blocks="padded"), "typical", seed=3, dtype=torch.complex128)
    phases = torch.tensor(rng.uniform(0, 6.3, (5, chip.n_params)))
    x = torch.tensor(rng.random((70, chip.network.in_features)))
    today = chip.layer_outputs(phases, x)
    use_reference_forward(chip)
    old = chip.layer_outputs(phases, x)
    use_reference_forward(chip, False)
    assert chip.queries == 10
    for a, b in zip(today, old):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_the_autograd_reference_is_exact_on_a_known_field():
    """hjb_table's part 1 measures the chip's derivatives against ``autograd_derivatives``."""
    from photonzo.training.backprop import autograd_derivatives

    x = torch.rand(5, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    d = autograd_derivatives(lambda x: (x**3).sum(-1) + x[:, 0] * x[:, 3], x, spatial=3)
    grad = 3 * x**2 + torch.stack([x[:, 3], 0 * x[:, 0], 0 * x[:, 0], x[:, 0]], -1)
    torch.testing.assert_close(d["grad"], grad)
    torch.testing.assert_close(d["laplacian"], 6 * x[:, :3].sum(-1))
    assert not d["grad"].requires_grad and not x.requires_grad


def test_onchip_training_merge_keeps_each_rows_sitting():
    """Rows merged from several sittings each keep the command and commit that measured them (a
    legacy file's rows share its one); a sitting whose every row was measured again is dropped."""
    module = load("onchip_training")
    row = lambda name, acc: {"dataset": "digits", "hardware": "typical", "row": name, "test_acc": acc}
    legacy = {"command": "c0", "commit": "k0", "rows": [row("rge", 0.9), row("flops", 0.5)]}
    one = module.merge(legacy, {"command": "c1", "commit": "k1", "rows": [row("flops", 0.6)]})
    assert one["sittings"] == [{"command": "c0", "commit": "k0"}, {"command": "c1", "commit": "k1"}]
    assert {r["row"]: (r["sitting"], r["test_acc"]) for r in one["rows"]} == {
        "rge": (0, 0.9),
        "flops": (1, 0.6),
    }
    two = module.merge(one, {"command": "c2", "commit": "k2", "rows": [row("rge", 0.95)]})
    assert [s["command"] for s in two["sittings"]] == ["c1", "c2"]  # c0's last row was replaced
    assert {r["row"]: r["sitting"] for r in two["rows"]} == {"rge": 1, "flops": 0}
    text = module.markdown(two)
    assert "1. `c1` — commit k1" in text and "2. `c2` — commit k2" in text
    assert "| rge | – | – | – | 95.0 %" in text and text.count(" sitting |") == 1


def test_onchip_training_tiny_leaderboard_resumes_and_reports(tmp_path):
    """Every kind of row runs into its own run directory; a second invocation reads the finished rows
    back instead of training again, and a changed row configuration is refused."""
    module = load("onchip_training")
    argv = [
        "--datasets", "digits", "--chips", "typical", "--budget", "300", "--bp-epochs", "1",
        "--eval-every", "2", "--eval-size", "30", "--rows", "bp", "rge-tw", "flops", "in-situ", "subspace",
        "--in-situ", "rge-tw", "--work-dir", str(tmp_path / "runs"), "--out", str(tmp_path),
    ]  # fmt: skip
    assert module.main(argv) == 0
    results = json.loads((tmp_path / "onchip_training.json").read_text())
    names = [r["row"] for r in results["rows"]]
    assert names == ["bp (digital)", "bp → chip", "rge-tw", "flops", "in-situ rge-tw", "subspace"]
    trained = [r for r in results["rows"] if "curve" in r]
    assert all(0 < r["queries"] <= 300 + 121 and r["on_chip_energy_j"] > 0 for r in trained)
    assert (tmp_path / "onchip_training.png").exists()
    assert "## digits, `typical` chip" in (tmp_path / "onchip_training.md").read_text()
    runs = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert runs == sorted(f"digits-typical-{n}" for n in ("rge-tw", "flops", "in-situ-rge-tw", "subspace"))
    stamp = (tmp_path / "runs" / "digits-typical-flops" / "metrics.jsonl").stat().st_mtime_ns
    assert module.main([*argv, "--rows", "flops"]) == 0  # read back, not trained again
    assert (tmp_path / "runs" / "digits-typical-flops" / "metrics.jsonl").stat().st_mtime_ns == stamp
    saved_path = tmp_path / "runs" / "digits-typical-flops" / "config.json"
    saved = json.loads(saved_path.read_text())
    del saved["init"]  # a row written before the setting existed: it had the value run.ADDED names
    saved_path.write_text(json.dumps(saved))
    assert module.main([*argv, "--rows", "flops"]) == 0
    assert (tmp_path / "runs" / "digits-typical-flops" / "metrics.jsonl").stat().st_mtime_ns == stamp
    with pytest.raises(SystemExit, match="another configuration"):
        module.main([*argv, "--rows", "flops", "--lr", "flops=0.5"])
    with pytest.raises(SystemExit):
        module.main(["--lr", "sgd=0.1"])
    with pytest.raises(SystemExit):
        module.main(["--phase-bits", "33"])


def test_onchip_training_variant_rows_run_only_when_named_with_their_directions(tmp_path):
    """The variant rows (other direction counts, sparse directions) are not among the default rows;
    named, each trains with its own q or density, and ``--lr`` accepts them; ``--seed`` makes rows of
    their own."""
    module = load("onchip_training")
    assert not set(module.VARIANTS) & set(module.make_parser().parse_args([]).rows)
    argv = [
        "--datasets", "digits", "--chips", "typical", "--budget", "200", "--bp-epochs", "1",
        "--eval-every", "2", "--eval-size", "30", "--rows", "rge-tw-q3", "rge-d16",
        "--lr", "rge-tw-q3=0.02", "--work-dir", str(tmp_path / "runs"), "--out", str(tmp_path),
    ]  # fmt: skip
    assert module.main(argv) == 0
    read = lambda name: json.loads((tmp_path / "runs" / f"digits-typical-{name}" / "config.json").read_text())
    q3, d16 = read("rge-tw-q3"), read("rge-d16")
    assert (q3["q"], q3["density"], q3["tensorwise"], q3["lr"]) == (3, 1.0, True, 0.02)
    assert (d16["density"], d16["tensorwise"]) == (1 / 16, False) and d16["q"] == 10
    names = [r["row"] for r in json.loads((tmp_path / "onchip_training.json").read_text())["rows"]]
    assert names == ["rge-tw-q3", "rge-d16"]
    # another seed: a row of its own beside seed 0's, in its own run directory
    assert module.main([*argv, "--rows", "rge-tw-q3", "--seed", "1", "--merge"]) == 0
    assert read("rge-tw-q3-s1")["seed"] == 1 and read("rge-tw-q3")["seed"] == 0
    results = json.loads((tmp_path / "onchip_training.json").read_text())
    assert [r["row"] for r in results["rows"]] == ["rge-tw-q3", "rge-d16", "rge-tw-q3 (s1)"]
    text = (tmp_path / "onchip_training.md").read_text()
    assert "unless its name ends in sN" in text
    q3 = [r["test_acc"] for r in results["rows"] if r["row"].startswith("rge-tw-q3")]
    mean, sd = 100 * sum(q3) / 2, 100 * abs(q3[0] - q3[1]) / math.sqrt(2)
    assert "| rge-tw-q3 | 0, 1 | " in text and f" | {mean:.1f} ± {sd:.1f} % | " in text
    assert "| rge-d16 | 0" not in text  # one seed: no spread to give
    assert module.seed_of("rge-tw (1e6, s2)") == ("rge-tw (1e6)", 2)
    assert module.seed_of("in-situ rge-tw") == ("in-situ rge-tw", 0)
    for bad in (["--seed", "-1"], ["--seed", "x"]):
        with pytest.raises(SystemExit):
            module.main([*bad, "--out", str(tmp_path / "never")])
    assert not (tmp_path / "never").exists()


def test_fine_tune_step_regains_measured_shares_per_step_and_seed_and_reads_cells_back(tmp_path):
    """Each (lr, μ) and seed is its own in-situ run from the seed's deployed BP weights, on the chip of
    the given phase bits; its regained share is (kept − deployed) / (BP − deployed); a rerun reads the
    finished cells back; bad steps and seeds are refused before anything runs."""
    module = load("fine_tune_step")
    argv = [
        "--dataset", "digits", "--chip", "typical", "--phase-bits", "4", "--budget", "200",
        "--bp-epochs", "1", "--eval-every", "2", "--steps", "0.01:0.025", "0.001:0.1", "--seeds", "0", "1",
        "--work-dir", str(tmp_path / "runs"), "--out", str(tmp_path),
    ]  # fmt: skip
    assert module.main(argv) == 0
    results = json.loads((tmp_path / "onchip_fine_tune.json").read_text())
    cells = [(r["lr"], r["mu"], r["seed"]) for r in results["rows"]]
    assert cells == [(0.01, 0.025, 0), (0.001, 0.1, 0), (0.01, 0.025, 1), (0.001, 0.1, 1)]
    for r in results["rows"]:
        assert r["start_test_acc"] == r["deployed_acc"] < r["bp_acc"]  # 4-bit phases lose accuracy
        assert r["regained"] == pytest.approx(
            (r["test_acc"] - r["deployed_acc"]) / (r["bp_acc"] - r["deployed_acc"])
        )
        assert 0 < r["queries"] <= 200 + 121
    run_dir = tmp_path / "runs" / "digits-typical-4bit-s1-rge-tw-lr0.001-mu0.1"
    assert json.loads((run_dir / "config.json").read_text())["mu"] == 0.1
    stamp = (run_dir / "metrics.jsonl").stat().st_mtime_ns
    assert module.main(argv) == 0  # read back, not trained again
    assert (run_dir / "metrics.jsonl").stat().st_mtime_ns == stamp
    text = (tmp_path / "onchip_fine_tune.md").read_text()
    assert "`typical` chip" in text and "| rge-tw | 4 | 0.001 | 0.1 | 1 |" in text and "(n = 2)" in text
    for bad in (["--steps", "0:0.1"], ["--steps", "0.01"], ["--seeds", "-1"], ["--phase-bits", "0"]):
        with pytest.raises(SystemExit):
            module.main([*bad, "--out", str(tmp_path / "never")])
    assert not (tmp_path / "never").exists()


def test_onchip_training_fine_tuning_rows_step_at_their_own_rate_on_a_chip_of_other_phase_bits(tmp_path):
    """A deploy + in-situ row steps with μ one DAC step of its chip and at its own rate (``--lr
    in-situ=``), not a from-scratch row's; ``--phase-bits`` programs the chip with that DAC and files
    its rows, run directory included, under ``<preset>-<B>bit``; the table gives the fine-tuning row's
    regained share."""
    module = load("onchip_training")
    argv = [
        "--datasets", "digits", "--chips", "typical", "--budget", "300", "--bp-epochs", "1",
        "--eval-every", "2", "--eval-size", "30", "--rows", "bp", "in-situ", "--in-situ", "rge-tw",
        "--phase-bits", "4", "--lr", "in-situ=0.002", "rge-tw=0.5",
        "--work-dir", str(tmp_path / "runs"), "--out", str(tmp_path),
    ]  # fmt: skip
    assert module.main(argv) == 0
    config = json.loads(
        (tmp_path / "runs" / "digits-typical-4bit-in-situ-rge-tw" / "config.json").read_text()
    )
    assert (config["phase_bits"], config["lr"], config["mu"]) == (4, 0.002, pytest.approx(2 * math.pi / 16))
    results = json.loads((tmp_path / "onchip_training.json").read_text())
    assert {r["hardware"] for r in results["rows"]} == {"-", "typical-4bit"}
    (row,) = [r for r in results["rows"] if r["row"] == "in-situ rge-tw"]
    bp = next(r["test_acc"] for r in results["rows"] if r["row"] == "bp (digital)")
    deployed = next(r["test_acc"] for r in results["rows"] if r["row"] == "bp → chip")
    assert row["start_test_acc"] == deployed < bp  # 4-bit phases lose accuracy
    share = f"{100 * (row['test_acc'] - deployed) / (bp - deployed):.0f} %"
    text = (tmp_path / "onchip_training.md").read_text()
    assert "## digits, `typical-4bit` chip" in text and f"| {share} |" in text


def test_pinn_chip_model_refuses_bad_values_before_any_work(tmp_path, capsys):
    module = load("pinn_chip_model")
    out = tmp_path / "row.json"
    for argv, message in (
        (["--steps", "0"], "--steps must be a positive integer, got 0"),
        (["--lr", "-1"], "--lr must be a finite number > 0, got -1.0"),
        (["--gain-scale", "inf"], "--gain-scale must be a finite number > 0"),
        (["--hardware", "measured"], "draws per-query noise"),
    ):
        with pytest.raises(SystemExit) as done:
            module.main([*argv, "--out", str(out)])
        assert done.value.code == 2 and message in capsys.readouterr().err
    assert not out.exists()


def test_pinn_chip_model_writes_its_row(tmp_path):
    out = tmp_path / "row.json"
    argv = ["--pde", "heat", "--steps", "4", "--points", "8", "--eval-every", "2", "--test-points", "50"]
    assert load("pinn_chip_model").main([*argv, "--out", str(out)]) == 0
    row = json.loads(out.read_text())
    assert row["steps"] == 4 and [c["step"] for c in row["curve"]] == [2, 4]
    assert 0 < row["rel_l2"] < float("inf")
