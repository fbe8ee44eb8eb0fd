"""Every question of the curriculum is asked in release/ before anything answers it.

Each question is a markdown cell tagged ``question:<id>`` in the source notebook, followed by a
written-answer cell (nbgrader ``written_<name>``: the model answer sits in a solution region, so
the release shows an empty answer). ``tests/course/questions/<assignment>.py`` lists the ids of
the assignment's questions (curriculum section A / E) and, for each, regular expressions that
would give its answer away. No cell before the question may state such an answer: neither its
text in release/ nor what it prints (the executed outputs in solutions/, which the student's
run reproduces).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from nmautils.course import notebooks
from nmautils.course.build import assignments, release_path, solution_path

REGISTRY = Path(__file__).parent / "questions"


def registry(assignment: str) -> dict[str, list[str]]:
    """``QUESTIONS`` of ``questions/<assignment>.py``: question id -> give-away patterns."""
    path = REGISTRY / f"{assignment}.py"
    spec = importlib.util.spec_from_file_location(f"questions_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.QUESTIONS)


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def question_index(nb, qid: str) -> int:
    found = [i for i, c in enumerate(nb.cells) if f"question:{qid}" in _tags(c)]
    assert len(found) == 1, f"question {qid!r}: expected one tagged cell, found {len(found)}"
    return found[0]


def cell_texts(cell) -> list[str]:
    """The cell's source and everything its outputs show as text."""
    texts = [cell.source]
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            texts.append(out.get("text", ""))
        elif "data" in out:
            for mime in ("text/plain", "text/markdown", "text/html", "text/latex"):
                if mime in out["data"]:
                    value = out["data"][mime]
                    texts.append("".join(value) if isinstance(value, list) else value)
    return texts


def give_aways(nb_cells, patterns: list[str]) -> list[tuple[int, str]]:
    """(cell index, pattern) for every pattern some cell states."""
    hits = []
    for i, cell in enumerate(nb_cells):
        for text in cell_texts(cell):
            for pattern in patterns:
                if re.search(pattern, text):
                    hits.append((i, pattern))
    return hits


CASES = [(a, q) for a in assignments() if (REGISTRY / f"{a}.py").exists() for q in registry(a)]


@pytest.mark.parametrize("assignment", assignments())
def test_every_assignment_has_a_question_registry(assignment):
    assert (REGISTRY / f"{assignment}.py").exists()
    assert registry(assignment), f"{assignment} asks no question"


@pytest.mark.parametrize("assignment, qid", CASES, ids=[f"{a}-{q}" for a, q in CASES])
def test_question_is_asked_before_it_is_answered(assignment, qid):
    release = notebooks.read(release_path(assignment))
    solved = notebooks.read(solution_path(assignment))
    # the solution notebook starts with a banner cell the release does not have
    solved.cells = [c for c in solved.cells if c.get("id") != "solution-banner"]
    i = question_index(release, qid)
    assert question_index(solved, qid) == i, "release/ and solutions/ differ in cell order"
    follow = [notebooks.nbgrader_meta(c).get("grade_id", "") for c in release.cells[i + 1 : i + 3]]
    assert any(g.startswith("written_") for g in follow), (
        f"question {qid!r} is not followed by a written-answer cell (got {follow})"
    )
    patterns = registry(assignment)[qid]
    before = give_aways(release.cells[:i], patterns) + give_aways(solved.cells[:i], patterns)
    assert not before, f"question {qid!r} is answered before it is asked: {before}"


def test_give_away_detection_can_fail():
    cell = notebooks.nbformat.v4.new_code_cell("print(n)")
    cell.outputs = [notebooks.nbformat.v4.new_output("stream", text="1152 units\n")]
    assert give_aways([cell], [r"1,?152"]) == [(0, r"1,?152")]
    assert give_aways([cell], [r"27,?174,?528"]) == []
