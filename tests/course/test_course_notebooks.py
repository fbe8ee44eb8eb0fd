"""Unit tests of the pure notebook transformations in nmautils.course.notebooks."""

from __future__ import annotations

import nbformat
import pytest
from notebook_markers import has_markers, hidden_tests, public_lines

from nmautils.course import notebooks as nbt


def _cell(kind, source, grade_id=None, points=None, cell_type="code"):
    maker = nbformat.v4.new_code_cell if cell_type == "code" else nbformat.v4.new_markdown_cell
    cell = maker(source)
    roles = {
        "answer": dict(grade=False, solution=True, locked=False),
        "test": dict(grade=True, solution=False, locked=True),
        "written": dict(grade=True, solution=True, locked=False),
        "readonly": dict(grade=False, solution=False, locked=True),
    }
    if kind:
        meta = dict(roles[kind], task=False, grade_id=grade_id, schema_version=3)
        if points is not None:
            meta["points"] = points
        cell.metadata["nbgrader"] = meta
    return cell


@pytest.fixture
def source_nb():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _cell(None, "import math"),
        _cell("answer", "def f(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", "ex_f"),
        _cell("test", "assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(3) == 6\n### END HIDDEN TESTS", "test_f", 2),
        _cell("test", "assert f(0) == 0", "test_f__zero", 1),
        _cell("written", "### BEGIN SOLUTION\nBecause.\n### END SOLUTION", "written_why", 3, "markdown"),
    ]
    return nb


def test_graded_cells_and_answer_tests(source_nb):
    kinds = [(c.grade_id, c.kind, c.points) for c in nbt.graded_cells(source_nb)]
    assert kinds == [("ex_f", "answer", 0.0), ("test_f", "test", 2.0),
                     ("test_f__zero", "test", 1.0), ("written_why", "written", 3.0)]
    assert nbt.answer_tests(source_nb) == {"ex_f": ["test_f", "test_f__zero"]}


def test_test_cell_without_answer_is_an_error(source_nb):
    source_nb.cells.append(_cell("test", "pass", "test_g", 1))
    with pytest.raises(ValueError, match="test_g"):
        nbt.answer_tests(source_nb)


def test_solution_notebook_strips_markers_hidden_tests_and_metadata(source_nb):
    sol = nbt.solution_notebook(source_nb, "demo")
    assert "Solution notebook" in sol.cells[0].source
    body = "\n".join(c.source for c in sol.cells)
    assert "return 2 * x" in body and "assert f(1) == 2" in body
    assert "f(3) == 6" not in body, "hidden tests must not reach the solution notebook"
    assert not has_markers(sol)
    assert all("nbgrader" not in c.metadata for c in sol.cells)
    assert has_markers(source_nb), "the source itself is left untouched"


def test_unterminated_hidden_region_is_an_error(source_nb):
    source_nb.cells[2].source = "### BEGIN HIDDEN TESTS\nassert True"
    with pytest.raises(ValueError, match="never closed"):
        nbt.solution_notebook(source_nb, "demo")


def test_fill_submission_replaces_and_blanks(source_nb):
    release = nbformat.from_dict(nbformat.v4.new_notebook())
    release.cells = [nbformat.from_dict(c) for c in source_nb.cells]
    release.cells[1].source = "def f(x):\n    raise NotImplementedError()"
    full = nbt.fill_submission(release, source_nb)
    assert "return 2 * x" in full.cells[1].source and "BEGIN SOLUTION" not in full.cells[1].source
    wrong = nbt.fill_submission(release, source_nb, replace={"ex_f": "def f(x):\n    return x"})
    assert wrong.cells[1].source == "def f(x):\n    return x"
    blank = nbt.fill_submission(release, source_nb, blank=("ex_f",))
    assert "NotImplementedError" in blank.cells[1].source
    with pytest.raises(KeyError, match="ex_nope"):
        nbt.fill_submission(release, source_nb, replace={"ex_nope": ""})


def test_solution_region(source_nb):
    assert nbt.solution_region(source_nb.cells[1].source) == "    return 2 * x"
    assert nbt.solution_region("x = 1") == "x = 1"


def test_animation_ids_become_stable():
    from nmautils.course.build import stabilise_animation_ids

    html = ('<img id="_anim_img0123456789abcdef0123456789abcdef">'
            '<input oninput="anim0123456789abcdef0123456789abcdef.set_frame(1)">'
            '<label for="_anim_radio1_0123456789abcdef0123456789abcdef">Once</label>')
    cell = nbformat.v4.new_code_cell("x")
    cell["id"] = "anim-cell"
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": html})]
    other = nbformat.from_dict(cell)
    other.outputs[0]["data"]["text/html"] = html.replace("0123456789abcdef", "fedcba9876543210")
    stabilise_animation_ids(cell)
    stabilise_animation_ids(other)
    text = cell.outputs[0]["data"]["text/html"]
    assert "0123456789abcdef" not in text
    assert text == other.outputs[0]["data"]["text/html"], "two builds should give the same ids"
    assert text.count("anim") == 3 and "_anim_img" in text and "_anim_radio1_" in text


def test_hidden_tests_and_public_lines(source_nb):
    assert hidden_tests(source_nb.cells[2].source).strip() == "assert f(3) == 6"
    assert hidden_tests(source_nb.cells[3].source) == ""
    public = public_lines(source_nb)
    assert "assert f(1) == 2" in public and "assert f(3) == 6" not in public
    assert "Because." not in public, "written answers (model answers) are not public"


def test_regions_parse_every_marker_kind():
    src = ("a = 1\n### BEGIN SOLUTION\nb = 2\n### END SOLUTION\n"
           "### BEGIN HIDDEN TESTS\nassert b == 2\n### END HIDDEN TESTS\n"
           "### BEGIN MARK SCHEME\nrubric\n### END MARK SCHEME")
    found = nbt.regions(src)
    assert [(r.kind, r.begin, r.end) for r in found] == [
        ("solution", 1, 3), ("hidden tests", 4, 6), ("mark scheme", 7, 9)]
    assert found[1].body(src) == "assert b == 2"
    assert nbt.drop_regions(src, ("hidden tests", "mark scheme")) == (
        "a = 1\n### BEGIN SOLUTION\nb = 2\n### END SOLUTION")
    assert nbt.strip_solution_markers("x\n### BEGIN SOLUTION\n    y\n### END SOLUTION") == "x\n    y"
    assert nbt.region_text(src, "solution") == "b = 2"
    assert nbt.region_text("nothing here", "solution") == ""


@pytest.mark.parametrize("src, message", [
    ("### BEGIN SOLUTION\nx\n### BEGIN HIDDEN TESTS\ny\n### END HIDDEN TESTS\n### END SOLUTION",
     "inside an open"),
    ("### BEGIN HIDDEN TESTS\nassert True", "never closed"),
    ("x\n### END SOLUTION", "without a matching"),
    ("### BEGIN SOLUTION\nx\n### END HIDDEN TESTS", "without a matching"),
])
def test_malformed_markers_raise_everywhere(src, message):
    with pytest.raises(nbt.MarkerError, match=message):
        nbt.regions(src)
    with pytest.raises(nbt.MarkerError):
        nbt.drop_regions(src, ("solution",))
    with pytest.raises(nbt.MarkerError):
        hidden_tests(src)


def test_feedback_hides_everything_after_a_malformed_marker():
    from nmautils.course.feedback import sanitize_cell

    cell = nbformat.v4.new_code_cell("check(x)\n### BEGIN HIDDEN TESTS\nassert secret_value == 3")
    assert sanitize_cell(cell).source == "check(x)"
