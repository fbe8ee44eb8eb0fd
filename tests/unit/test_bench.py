"""Smoke tests of bench/: the line format, goal checks and the entry command (no timing asserts)."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import bench_notebooks  # noqa: E402
import bench_train  # noqa: E402
import calibration  # noqa: E402
import common  # noqa: E402
import floors  # noqa: E402


def _fields(line):
    parsed = common.parse_line(line)
    assert parsed is not None, f"not a figure line: {line!r}"
    return parsed


def test_line_format_and_goal_check():
    line = common.format_line("train_overhead", 1.0123, "x", "<=1.05", note="a note")
    assert line == "train_overhead 1.01 x <=1.05 ok  # a note"
    assert _fields(line)["status"] == "ok"
    assert _fields(common.format_line("vs_course_loop", 1.2, "x", ">=1.5"))["status"] == "FAIL"
    assert _fields(common.format_line("surrogate", 1.5, "s", "<1"))["status"] == "FAIL"
    assert _fields(common.format_line("flop_efficiency", 0.3, "fraction"))["status"] == "info"
    skipped = _fields(common.format_line("ci", None, "s"))
    assert (skipped["value"], skipped["status"]) == ("n/a", "skip")
    assert common.parse_line("# a comment") is None
    with pytest.raises(ValueError, match="goal should start"):
        common.format_line("x", 1.0, "s", "1")
    with pytest.raises(ValueError, match="spaces"):
        common.format_line("two words", 1.0, "s")


def test_interleaved_returns_medians_and_ratios():
    seconds, ratios = common.interleaved({"a": lambda: None, "b": lambda: None}, 3)
    assert set(seconds) == {"a", "b"} and set(ratios) == {"b"}
    assert common.wanted("notebook_tutorial1", "notebook") and not common.wanted("ci", "surr")


def test_ci_line_reads_the_makefile_record(tmp_path, capsys):
    record = tmp_path / "ci_seconds.txt"
    assert _fields(bench_notebooks.ci_line(record))["status"] == "skip"
    record.write_text("321 2026-01-02T03:04:05Z\n")
    parsed = _fields(bench_notebooks.ci_line(record))
    assert parsed["value"] == "321" and "2026-01-02T03:04:05Z" in parsed["note"]
    assert bench_notebooks.goal_for("assignment3_interpret") == "<=90"


def test_goals_in_reference_seconds_scale_with_the_machine():
    assert bench_notebooks.goal_for("tutorial2_encoding") == "<=40"
    assert bench_notebooks.goal_for("tutorial3_backprop") == "<=20"
    ref = dict(calibration.REFERENCE_RATES)
    assert calibration.speed_index(ref) == pytest.approx(1.0)
    half = {name: rate / 2 for name, rate in ref.items()}
    assert calibration.speed_index(half) == pytest.approx(0.5)
    # half as fast: twice the seconds allowed
    assert calibration.reference_seconds(50.0, calibration.speed_index(half)) == pytest.approx(25.0)


def test_speed_index_weighs_each_probe_by_the_notebooks_share_of_time():
    ref = dict(calibration.REFERENCE_RATES)
    numpy_slow = {**ref, "numpy_small": ref["numpy_small"] / 4}  # 4x slower numpy, rest the same
    shares = calibration.shares_for("tutorial3_backprop")
    expected = 1 / (1 - shares["numpy_small"] + 4 * shares["numpy_small"])
    assert calibration.speed_index(numpy_slow, shares) == pytest.approx(expected)
    # tutorial 2 does no numpy work of that kind: its index does not move
    assert calibration.speed_index(numpy_slow, calibration.shares_for("tutorial2_encoding")) == 1.0
    for name, work in calibration.SHARES.items():
        assert sum(work.values()) == pytest.approx(1.0), name
        assert set(work) <= set(calibration.PROBES), name
    assert set(calibration.shares_for("some_new_notebook")) == set(calibration.PROBES)
    with pytest.raises(ValueError, match="sum to 1"):
        calibration.speed_index(ref, {"python": 0.5})
    with pytest.raises(ValueError, match="missing"):
        calibration.speed_index({"python": 1.0}, {"stream": 1.0})
    with pytest.raises(ValueError, match="positive"):
        calibration.speed_index({**ref, "python": 0.0}, {"python": 1.0})


def test_cheap_probes_measure_a_rate():
    assert set(calibration.PROBES) == set(calibration.REFERENCE_RATES) == set(calibration.UNITS)
    cheap = ("gemm_decoder", "small_steps", "numpy_small", "python")
    rates = calibration.measure(True, cheap)
    assert list(rates) == list(cheap) and all(rate > 0 for rate in rates.values()), rates
    with pytest.raises(ValueError, match="names of calibration.PROBES"):
        calibration.measure(True, ["python", "warp_drive"])


def test_standard_main_passes_the_numeric_configuration():
    calls = []
    common.standard_main(lambda *a, **k: calls.append((a, k)), "doc", ["--config", "generic"],
                         config_choices=("native", "generic"))
    common.standard_main(lambda *a, **k: calls.append((a, k)), "doc", ["--quick"])
    assert calls == [((False, None), {"config": "generic"}), ((True, None), {})]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA path")
def test_train_figures_skip_cleanly_without_cuda(capsys):
    bench_train.run(quick=True, device="cuda")
    lines = capsys.readouterr().out.splitlines()
    assert [_fields(x)["name"] for x in lines] == list(bench_train.FIGURES)
    assert all(_fields(x)["status"] == "skip" for x in lines)


def test_run_py_entry_command():
    proc = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--quick", "--only", "ci"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = [x for x in proc.stdout.splitlines() if not x.startswith("#")]
    assert [_fields(x)["name"] for x in lines] == ["ci"]


def test_cell_seconds_and_the_slowest_cells():
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("text"), nbformat.v4.new_code_cell("a"),
                nbformat.v4.new_code_cell("b"), nbformat.v4.new_code_cell("never run")]
    nb.cells[1].id, nb.cells[2].id = "fast", "slow"
    nb.cells[1].metadata.execution = {"iopub.execute_input": "2026-11-28T01:00:00.000000Z",
                                      "shell.execute_reply": "2026-11-28T01:00:00.250000Z"}
    nb.cells[2].metadata.execution = {"iopub.execute_input": "2026-11-28T01:00:01Z",
                                      "shell.execute_reply": "2026-11-28T01:00:04.5Z"}
    times = bench_notebooks.cell_seconds(nb)
    assert times == pytest.approx({"fast": 0.25, "slow": 3.5})
    assert bench_notebooks.slowest(times, 1) == "slow 3.5 s"


def test_floor_line_adds_the_kernels_to_everything_else(monkeypatch, capsys):
    monkeypatch.setattr(bench_notebooks, "floor_seconds", lambda name, quick=False: 10.0)
    cells = floors.TRAINING_CELLS["tutorial2_encoding"]
    times = {cell: 5.0 for cell in cells} | {"setup": 2.0}
    total = 5.0 * len(cells) + 2.0 + 3.0  # 3 s outside any cell (kernel start)
    line = _fields(bench_notebooks.emit_floor("tutorial2_encoding", total, times, index=2.0))
    assert (line["name"], line["status"]) == ("notebook_tutorial2_encoding_floor", "info")
    assert float(line["value"]) == pytest.approx(2.0 * (10.0 + 5.0))  # reference seconds
    assert line["note"].endswith(f"took {total / 15.0:.2f}x this floor")
    missing = _fields(bench_notebooks.emit_floor("tutorial2_encoding", total, {}, index=1.0))
    assert missing["status"] == "skip"


def test_floors_name_cells_that_exist_and_time_real_kernels():
    import nbformat

    for name, cells in floors.TRAINING_CELLS.items():
        source = BENCH.parent / "source" / name / f"{name}.ipynb"
        ids = {cell.get("id") for cell in nbformat.read(source, as_version=4).cells}
        assert set(cells) <= ids, f"{name}: a training cell of bench/floors.py was renamed"
    assert floors.floor_seconds("tutorial1_decoding") is None
    assert floors.floor_seconds("tutorial3_backprop", quick=True) > 0
