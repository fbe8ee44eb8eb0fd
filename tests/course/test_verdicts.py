"""Hidden tests judged in the grader's process (nmautils.course.hidden and .verdicts).

Each defence is tested with and without itself: the same forged report passes when the defence
is switched off (the student's tolerance trusted, duplicates accepted, a kernel-made
execute_result kept), so the test can fail.
"""

from __future__ import annotations

import base64

import numpy as np
import pytest
import torch
from nbformat import NotebookNode
from notebook_markers import hidden_tests

from nmautils.course import guard, hidden, notebooks, verdicts
from nmautils.course.build import source_path


def _report(name, value, **kwargs):
    record = {"name": name, "value": hidden.encode(value), "atol": kwargs.get("atol", 0.0),
              "rtol": kwargs.get("rtol", 0.0), "what": kwargs.get("what", "")}
    return NotebookNode(output_type="display_data", data={hidden.MIME: record}, metadata={})


def _reference(*outputs):
    return verdicts.reference_records(outputs)


def test_encode_decode_round_trip_keeps_values_shapes_and_kinds():
    value = {"a": [torch.arange(6.0).reshape(2, 3), 3, True, None, "text"],
             "b": np.array([[1, 2]], dtype=np.int32)}
    decoded = verdicts.decode(hidden.encode(value))
    assert decoded["a"][0].dtype == np.float64 and decoded["a"][0].shape == (2, 3)
    assert decoded["a"][0].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert decoded["a"][1].dtype == np.int64 and decoded["a"][1].shape == ()
    assert decoded["a"][2].dtype == np.bool_
    assert decoded["a"][3:] == [None, "text"]
    assert decoded["b"].tolist() == [[1, 2]]
    assert verdicts.decode(hidden.encode(object())) == ("object", "builtins.object")


@pytest.mark.parametrize("bad", [
    {"kind": "float", "shape": [10**12], "data": "AAAA"},
    {"kind": "float", "shape": [2], "data": base64.b64encode(b"\0" * 8).decode()},
    {"kind": "float", "shape": [-1], "data": ""},
    {"kind": "float", "shape": [1], "data": "!!not base64!!"},
    {"kind": "pickle", "data": "gASV"},
    {"kind": "list", "items": "no"},
    ["not", "a", "dict"],
])
def test_malformed_values_are_refused_without_executing_anything(bad):
    with pytest.raises(verdicts.InvalidRecord):
        verdicts.decode(bad)


def test_judge_passes_equal_values_within_the_reference_tolerance():
    expected = _reference(_report("out", torch.tensor([1.0, 2.0]), atol=1e-3, what="the output"))
    got = verdicts.collect([_report("out", torch.tensor([1.0005, 2.0]))])
    assert verdicts.judge(expected, got) == []
    wrong = verdicts.collect([_report("out", torch.tensor([1.1, 2.0]))])
    assert verdicts.judge(expected, wrong) == ["the output: differs from the expected value"]


def test_the_students_tolerance_is_ignored():
    expected = _reference(_report("out", torch.ones(3), atol=1e-6))
    forged = [_report("out", torch.zeros(3), atol=1e9, rtol=1e9)]
    assert verdicts.judge(expected, verdicts.collect(forged))
    # defence off: trusting the tolerance the kernel sent would pass the forged zeros
    trusted = {"out": {**expected["out"], "atol": 1e9, "rtol": 1e9}}
    assert verdicts.judge(trusted, verdicts.collect(forged)) == []


def test_a_name_reported_twice_fails_the_test():
    expected = _reference(_report("out", torch.ones(2)))
    twice = [_report("out", torch.zeros(2)), _report("out", torch.ones(2))]
    problems = verdicts.judge(expected, verdicts.collect(twice))
    assert any("reported twice" in p for p in problems)
    # defence off: keeping the last report would let a correct-looking value win
    assert verdicts.judge(expected, verdicts.collect(twice[1:])) == []


def test_missing_shape_kind_and_type_mismatches_fail():
    expected = _reference(_report("a", torch.ones(2, 1)), _report("b", True), _report("c", [1.0, 2.0]),
                          _report("d", "Adam"))
    cases = {
        "missing": [_report("b", True), _report("c", [1.0, 2.0]), _report("d", "Adam")],
        "shape": [_report("a", torch.ones(2)), _report("b", True), _report("c", [1.0, 2.0]),
                  _report("d", "Adam")],
        "bool as number": [_report("a", torch.ones(2, 1)), _report("b", 1.0),
                           _report("c", [1.0, 2.0]), _report("d", "Adam")],
        "list length": [_report("a", torch.ones(2, 1)), _report("b", True), _report("c", [1.0]),
                        _report("d", "Adam")],
        "string": [_report("a", torch.ones(2, 1)), _report("b", True), _report("c", [1.0, 2.0]),
                   _report("d", "SGD")],
    }
    for label, outputs in cases.items():
        assert verdicts.judge(expected, verdicts.collect(outputs)), label
    honest = [_report("a", torch.ones(2, 1)), _report("b", True), _report("c", [1.0, 2.0]),
              _report("d", "Adam")]
    assert verdicts.judge(expected, verdicts.collect(honest)) == []


def test_no_reference_values_means_no_points():
    assert verdicts.judge({}, verdicts.collect([_report("out", 1.0)]))


def test_nan_matches_only_nan():
    expected = _reference(_report("x", np.array([np.nan, 1.0])))
    assert verdicts.judge(expected, verdicts.collect([_report("x", np.array([np.nan, 1.0]))])) == []
    assert verdicts.judge(expected, verdicts.collect([_report("x", np.array([0.0, 1.0]))]))


def test_kernel_made_execute_results_never_score():
    from nbgrader.utils import determine_grade

    cell = NotebookNode(cell_type="code", source="", metadata={"nbgrader": {
        "grade": True, "solution": False, "points": 2.0, "grade_id": "test_x"}}, outputs=[
        NotebookNode(output_type="execute_result", data={"text/plain": "'full marks'"},
                     metadata={}, execution_count=1),
        guard.error_output("HiddenTestFailed", "hidden test failed")])
    cell_off = NotebookNode(cell_type="code", source="", metadata=cell.metadata,
                            outputs=[cell.outputs[0]])
    # defence off: nbgrader scores a cell by its first execute_result, errors or not
    assert determine_grade(cell_off)[0] == 2.0
    guard._demote_results(cell_off)
    assert determine_grade(cell_off)[0] == 2.0  # no error: full marks come from the grader only
    guard._demote_results(cell)
    assert [o.output_type for o in cell.outputs] == ["display_data", "error"]
    assert determine_grade(cell)[0] == 0


def test_split_hidden_separates_the_hidden_region():
    source = "a = 1\ncheck(a)\n### BEGIN HIDDEN TESTS\nexpect('a', a)\n### END HIDDEN TESTS\n"
    visible, secret = guard.split_hidden(source)
    assert visible == "a = 1\ncheck(a)"
    assert secret == "expect('a', a)"


def test_expect_publishes_only_while_grading(capsys):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    published = []
    original = shell.display_pub.publish
    shell.display_pub.publish = lambda data, metadata=None, **kw: published.append(data)
    try:
        hidden.configure(7, grading=False)
        hidden.expect("x", 1.0)
        assert published == [] and hidden.fixture_seed() == 7 and hidden.fixture_seed(2) == 9
        hidden.configure(7, grading=True)
        hidden.expect("x", 1.0, atol=0.5)
        assert published and published[0][hidden.MIME]["name"] == "x"
    finally:
        shell.display_pub.publish = original
        hidden.configure(hidden.DEFAULT_SEED, grading=False)


def _test_cells(assignment):
    nb = notebooks.read(source_path(assignment))
    return [(c.metadata["nbgrader"]["grade_id"], c.source) for c in nb.cells
            if notebooks.cell_kind(c) == "test"]


@pytest.mark.parametrize("assignment", ["tutorial1_decoding", "tutorial2_encoding",
                                        "tutorial3_backprop", "assignment3_interpret"])
def test_every_hidden_test_reports_values_and_draws_its_fixtures_per_run(assignment):
    for gid, source in _test_cells(assignment):
        body = hidden_tests(source)
        assert body.strip(), f"{gid} has no hidden tests: its points would rest on the kernel"
        assert "_expect(" in body, f"{gid}: hidden tests must report values with expect"
        assert "_fixture_seed(" in body, f"{gid}: fixtures must come from the run's seed"
        assert not any(line.lstrip().startswith("assert ") for line in body.splitlines()), (
            f"{gid}: an assert in a hidden test is judged by the student's kernel")


def test_reference_values_are_keyed_by_what_the_notebooks_compute_under(monkeypatch):
    monkeypatch.setenv("NMAUTILS_SURROGATE_SIZE", "small")
    small = verdicts.reference_key("source", 3)
    monkeypatch.setenv("NMAUTILS_SURROGATE_SIZE", "full")
    assert verdicts.reference_key("source", 3) != small
    assert verdicts.reference_key("source", 4) != verdicts.reference_key("source", 3)
    assert verdicts.reference_key("other", 3) != verdicts.reference_key("source", 3)


def test_a_reference_store_runs_each_model_answer_once_across_processes(monkeypatch, tmp_path):
    monkeypatch.setattr(verdicts, "REFERENCES", {})
    monkeypatch.setenv(verdicts.STORE_VARIABLE, str(tmp_path / "store"))
    runs = []

    def compute():
        runs.append(1)
        return {"test_x": {"x": {"value": hidden.encode(1.5), "atol": 0.0, "rtol": 0.0, "what": ""}}}

    first = verdicts.references_for("source", 3, compute)
    verdicts.REFERENCES.clear()  # another process: only the folder is shared
    assert verdicts.references_for("source", 3, compute) == first and len(runs) == 1
    verdicts.references_for("source", 4, compute)  # another seed is another model answer run
    assert len(runs) == 2
    monkeypatch.delenv(verdicts.STORE_VARIABLE)
    verdicts.REFERENCES.clear()
    verdicts.references_for("source", 3, compute)  # no store: computed again
    assert len(runs) == 3


def test_every_run_draws_its_own_fixture_seed_unless_one_is_fixed(monkeypatch):
    monkeypatch.delenv(guard.FIXTURE_SEED_VARIABLE, raising=False)
    assert len({guard.draw_fixture_seed() for _ in range(5)}) > 1
    monkeypatch.setenv(guard.FIXTURE_SEED_VARIABLE, "12345")
    assert {guard.draw_fixture_seed() for _ in range(3)} == {12345}
