"""The generated notebooks are fresh, and every notebook follows the course's conventions."""

from __future__ import annotations

import re

import pytest
from notebook_markers import has_markers, hidden_tests, public_lines

from nmautils.course import build, notebooks

ASSIGNMENTS = build.assignments()


def test_there_are_assignments():
    assert "tutorial1_decoding" in ASSIGNMENTS


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solution_cells_are_up_to_date(name):
    """Cheap staleness check of solutions/ (no nbgrader). The releases are regenerated and
    compared exactly, and the solutions' outputs compared, by the main job in a fresh clone
    (tests/course/test_main_job.py), so the suite no longer runs ``stale_files`` (a second
    generate_assignment of every assignment); ``make check`` still does."""
    expected = notebooks.solution_notebook(notebooks.read(build.source_path(name)), name)
    committed = notebooks.strip_outputs(notebooks.read(build.solution_path(name)))
    assert build._normalise(committed) == build._normalise(expected), "run `make build` and commit"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_source_has_no_outputs_and_valid_grade_ids(name):
    build.check_sources([name])


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_release_hides_solutions_and_hidden_tests(name):
    text = build.release_path(name).read_text()
    assert "BEGIN HIDDEN TESTS" not in text and "BEGIN SOLUTION" not in text
    src = notebooks.read(build.source_path(name))
    rel = notebooks.read(build.release_path(name))
    rel_text = "\n".join(c.source for c in rel.cells)
    public = public_lines(src)
    for cell in src.cells:
        if notebooks.cell_kind(cell) == "test":
            hidden = hidden_tests(cell.source)
            for line in hidden.strip().splitlines():
                if len(line.strip()) > 25 and line.strip() not in public:
                    assert line not in rel_text, f"hidden test line leaked into the release: {line}"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_every_test_cell_has_visible_checks_and_hidden_tests(name):
    src = notebooks.read(build.source_path(name))
    for cell in src.cells:
        if notebooks.cell_kind(cell) != "test":
            continue
        gid = notebooks.nbgrader_meta(cell)["grade_id"]
        visible, _, rest = cell.source.partition(notebooks.BEGIN_HIDDEN)
        assert rest, f"{gid}: no hidden tests"
        assert "check" in visible, f"{gid}: no visible checks before the hidden tests"
        assert notebooks.nbgrader_meta(cell).get("points", 0) > 0, f"{gid}: no points"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_solutions_are_executed_and_marker_free(name):
    nb = notebooks.read(build.solution_path(name))
    assert not has_markers(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count is not None for c in code), "solution notebook not executed"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"the solution notebook stores errors: {errors[:1]}"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_colab_badge_points_at_own_release(name):
    first = notebooks.read(build.source_path(name)).cells[0].source
    links = re.findall(r"colab\.research\.google\.com/github/[^)\s\"']+", first)
    assert links, "the first cell needs an Open-in-Colab badge"
    assert links[0].endswith(f"/release/{name}/{name}.ipynb")


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_notebook_prints_its_data_source(name):
    src = "\n".join(c.source for c in notebooks.read(build.source_path(name)).cells)
    if "load_data" in src:
        assert "data_source(" in src, "notebooks that load V1 data must print which data they use"
