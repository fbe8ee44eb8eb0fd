"""The point totals of assignment3_interpret, read from the source notebook's nbgrader metadata.

The curriculum fixes the points: question 1 (parts a-e) 30, question 2 60, presentation 10, so
the core total is 100. Extra credit: +1 for a better decoder (1b), +5 for the lowest held-out
error of the class (1b, awarded by the class grader, nmautils/course/competition.py) and up to
+2 for the dimensionality reduction (1e).

Extra credit in nbgrader: nbgrader has no extra-credit cell type, but every grade has an
"extra credit" field in the formgrader that adds to the score without raising the maximum. The
extra-credit cells (grade ids ``written_extracredit_*``) are therefore manually graded cells worth
0 points, and the instructor (or, for the competition, the class grader) enters the bonus in that
field; each cap is stated in the heading of its section and in the rubric, and checked here.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest

SOURCE = Path(__file__).resolve().parents[2] / "source" / "assignment3_interpret" / "assignment3_interpret.ipynb"

#: grade id -> (part, points, how graded). The single place that says what each cell is worth.
POINTS = {
    "test_plot_activity": ("1a", 2, "auto"),
    "written_q1a_data": ("1a", 2, "manual"),
    "test_deep_net": ("1b", 1, "auto"),
    "written_q1b_untrained": ("1b", 1, "manual"),
    "test_train": ("1b", 2, "auto"),
    "test_test_mse": ("1b", 1, "auto"),
    "written_q1b_decoding": ("1b", 2, "manual"),
    "test_cnn__layers": ("1c", 3, "auto"),
    "test_cnn__forward": ("1c", 2, "auto"),
    "written_q1c_cnn": ("1c", 2, "manual"),
    "test_rdm_correlation": ("1d", 4, "auto"),
    "written_q1d_rsa": ("1d", 3, "manual"),
    "test_binned_response": ("1e", 3, "auto"),
    "written_q1e_tuning": ("1e", 2, "manual"),
    "written_q2a_question": ("2", 15, "manual"),
    "written_q2b_methods": ("2", 25, "manual"),
    "written_q2c_interpretation": ("2", 20, "manual"),
    "task_presentation": ("3", 10, "manual"),
}
#: Extra-credit cells -> (heading of their section, at most this many points, the cell whose
#: rubric states them; None: awarded by the class grader, not by hand).
EXTRA_CREDIT = {
    "written_extracredit_decoder": (r"### Bonus \(\+(\d+) points?\)", 1, "written_extracredit_decoder"),
    "written_extracredit_competition": (r"### Competition \(\+(\d+) points", 5, None),
    "written_extracredit_code": (r"### Extra credit \(up to \+(\d+) points\)", 2,
                                 "written_extracredit_dimred"),
    "written_extracredit_dimred": (r"### Extra credit \(up to \+(\d+) points\)", 2,
                                   "written_extracredit_dimred"),
}
EXTRA_CREDIT_CELLS = tuple(EXTRA_CREDIT)

RUBRIC_ITEM = re.compile(r"^\s*- \+?(\d+) pts?:", re.MULTILINE)


@pytest.fixture(scope="module")
def nb():
    return nbformat.read(str(SOURCE), as_version=4)


def _graded(nb) -> dict[str, tuple[float, str, object]]:
    """grade id -> (points, 'auto' or 'manual', cell) for every cell that carries points."""
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") or meta.get("task"):
            how = "auto" if (meta.get("grade") and not meta.get("solution") and not meta.get("task")) else "manual"
            out[meta["grade_id"]] = (float(meta["points"]), how, cell)
    return out


def _solution_text(source: str) -> str:
    m = re.search(r"### BEGIN SOLUTION(.*?)### END SOLUTION", source, re.DOTALL)
    return m.group(1) if m else ""


def test_graded_cells_match_the_point_table(nb):
    graded = _graded(nb)
    core = {gid: (pts, how) for gid, (pts, how, _) in graded.items() if gid not in EXTRA_CREDIT_CELLS}
    assert core == {gid: (float(pts), how) for gid, (_, pts, how) in POINTS.items()}


def test_question_totals(nb):
    per_part = defaultdict(float)
    for gid, (pts, _, _) in _graded(nb).items():
        if gid in POINTS:
            per_part[POINTS[gid][0]] += pts
    q1 = sum(v for part, v in per_part.items() if part.startswith("1"))
    assert q1 == 30
    assert per_part["2"] == 60
    assert per_part["3"] == 10
    assert q1 + per_part["2"] == 90  # "90 points of analysis"
    assert sum(per_part.values()) == 100
    assert {p for p in per_part if p.startswith("1")} == {"1a", "1b", "1c", "1d", "1e"}


def test_headings_state_the_same_points(nb):
    """Students read the points in the headings; they must agree with the metadata."""
    per_part = defaultdict(float)
    for part, pts, _ in POINTS.values():
        per_part[part] += pts
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for part in ("1a", "1b", "1c", "1d", "1e"):
        m = re.search(rf"^## {part}\. .*\((\d+) points\)$", text, re.MULTILINE)
        assert m, f"no heading for part {part}"
        assert float(m.group(1)) == per_part[part], part
    assert re.search(r"^# Question 1 \(30 points\)$", text, re.MULTILINE)
    assert re.search(r"^# Question 2 \(60 points\)", text, re.MULTILINE)
    assert re.search(r"^# Presentation \(10 points\)$", text, re.MULTILINE)


def test_extra_credit_is_separate_and_capped(nb):
    """+1 for a better decoder, +5 for the competition's winner(s), +2 for the reduction."""
    graded = _graded(nb)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for gid, (heading, cap, rubric_cell) in EXTRA_CREDIT.items():
        assert gid in graded, gid
        pts, how, _ = graded[gid]
        assert pts == 0 and how == "manual", "extra credit must not raise the maximum score"
        m = re.search("^" + heading, text, re.MULTILINE)
        assert m and int(m.group(1)) == cap, gid
        if rubric_cell is not None:
            rubric = _solution_text(graded[rubric_cell][2].source)
            assert sum(int(x) for x in RUBRIC_ITEM.findall(rubric)) == cap, gid
    from nmautils.course.competition import COMPETITIONS

    assert COMPETITIONS["assignment3_interpret"].cell == "written_extracredit_competition"
    assert COMPETITIONS["assignment3_interpret"].bonus == EXTRA_CREDIT["written_extracredit_competition"][1]
    # the header's table states the total
    assert re.search(r"\| extra credit \|.*\| up to \+8 \|", text)


def test_every_manual_cell_has_a_rubric_that_adds_up(nb):
    for gid, (pts, how, cell) in _graded(nb).items():
        if how != "manual" or gid in EXTRA_CREDIT_CELLS:
            continue
        # written cells keep the rubric in the (removed) solution region; the presentation
        # task's criteria are public and sit in the cell itself
        text = cell.source if gid.startswith("task_") else _solution_text(cell.source)
        items = [int(x) for x in RUBRIC_ITEM.findall(text)]
        assert items, f"{gid} has no rubric"
        assert sum(items) == pts, f"{gid}: rubric items add up to {sum(items)}, cell is worth {pts:g}"
