"""Smoke tests of bench/: the line format, goal checks and the entry command (no timing asserts)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import bench_classgrade  # noqa: E402
import bench_notebooks  # noqa: E402
import bench_runtime  # noqa: E402
import bench_train  # noqa: E402
import common  # noqa: E402
import floors  # noqa: E402
import lessons  # noqa: E402
import spreads  # noqa: E402


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


def test_standard_main_passes_the_options():
    calls = []
    common.standard_main(lambda *a: calls.append(a), "doc", ["--quick", "--only", "ci"])
    common.standard_main(lambda *a: calls.append(a), "doc", ["--device", "cuda"], device_help="d")
    assert calls == [(True, "ci"), (False, None, "cuda")]
    assert common.best_seconds(lambda: None, 2) >= 0


def test_lesson_models_come_from_the_source_notebooks():
    conv_fc = lessons.lesson_class("tutorial2_encoding", "ConvFC")
    net = conv_fc(7, c_out=2, K=3, b=4 * 5)
    assert net(torch.zeros(3, 1, 4, 5)).shape == (3, 7)
    assert bench_train.CNN(48, 64)(torch.zeros(2, 1, 48, 64)).shape == (2, 1)
    with pytest.raises(LookupError, match="no code cell"):
        lessons.lesson_class("tutorial2_encoding", "NoSuchModel")


def test_spreads_recorder_wraps_approx_without_a_library_hook(tmp_path, monkeypatch):
    import nmautils.report

    log = tmp_path / "approx.jsonl"
    monkeypatch.setattr(nmautils.report, "approx", nmautils.report.approx)  # undone afterwards
    exec(spreads.RECORDER.format(log=str(log)), {})
    assert nmautils.report.approx(torch.tensor([0.764]), 0.05, spread=0.01) == "0.75"
    assert log.read_text().count("\n") == 1 and '"step": 0.05' in log.read_text()


def test_kernels_get_the_pinned_thread_count(monkeypatch):
    from nmautils.course.grading import THREAD_VARIABLES, thread_budget

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    with bench_classgrade.threads_per_kernel(1):
        assert set(thread_budget(1).values()) == {"1"}
    assert "OMP_NUM_THREADS" not in os.environ
    with bench_classgrade.threads_per_kernel(None):
        assert all(k not in os.environ for k in THREAD_VARIABLES)


def test_parallel_ceiling_runs_the_work_one_after_the_other_and_at_once(monkeypatch, tmp_path):
    """Each of the two ways runs the work twice per round, and the ratio is sequential / parallel."""
    log = tmp_path / "runs"
    monkeypatch.setattr(bench_classgrade, "CEILING_WORK",
                        f"open({str(log)!r}, 'a').write('x')")
    ratio, seconds = bench_classgrade.parallel_ceiling(rounds=2)
    assert log.read_text() == "x" * (2 + 2 * 2 * 2)  # warm-up, then two ways x two rounds x two
    assert set(seconds) == {"sequential", "parallel"} and ratio > 0


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


def test_floor_line_divides_the_notebook_by_its_floor(monkeypatch, capsys):
    monkeypatch.setattr(bench_notebooks, "floor_seconds", lambda name, quick=False: 10.0)
    cells = floors.TRAINING_CELLS["tutorial2_encoding"]
    times = {cell: 5.0 for cell in cells} | {"setup": 2.0}
    total = 5.0 * len(cells) + 2.0 + 3.0  # 3 s outside any cell (kernel start)
    line = _fields(bench_notebooks.emit_floor("tutorial2_encoding", total, times))
    assert (line["name"], line["unit"], line["goal"]) == ("notebook_tutorial2_encoding_vs_floor",
                                                          "x", "<=1.3")
    assert float(line["value"]) == pytest.approx(total / (10.0 + 5.0), rel=1e-2)
    missing = _fields(bench_notebooks.emit_floor("tutorial2_encoding", total, {}))
    assert missing["status"] == "skip"


def test_floors_name_cells_that_exist_and_time_real_kernels():
    import nbformat

    for name, cells in floors.TRAINING_CELLS.items():
        source = BENCH.parent / "source" / name / f"{name}.ipynb"
        ids = {cell.get("id") for cell in nbformat.read(source, as_version=4).cells}
        assert set(cells) <= ids, f"{name}: a training cell of bench/floors.py was renamed"
    assert floors.floor_seconds("tutorial1_decoding") is None
    assert floors.floor_seconds("tutorial3_backprop", quick=True) > 0


def test_runtime_figure_compares_fresh_processes_with_and_without_the_tuning(monkeypatch, capsys):
    seen = []

    def fake_step_seconds(env, n_steps):
        seen.append({k: env.get(k) for k in bench_runtime.ALLOCATOR_ENV})
        return 2.0 if env.get("MALLOC_MMAP_MAX_") is None else 1.0

    monkeypatch.setattr(bench_runtime, "step_seconds", fake_step_seconds)
    bench_runtime.run(quick=True)
    line = _fields(capsys.readouterr().out.strip().splitlines()[-1])
    assert (line["name"], line["value"], line["status"]) == ("runtime_tune", "2", "info")
    assert {tuple(s.values()) for s in seen} == {(None,) * len(bench_runtime.ALLOCATOR_ENV),
                                                 tuple(bench_runtime.ALLOCATOR_ENV.values())}
    compile(bench_runtime.CHILD, "child", "exec")
