"""Every question of the curriculum is asked in release/ before anything answers it.

Each question is a markdown cell tagged ``question:<id>`` in the source notebook, followed by a
written-answer cell (nbgrader ``written_<name>``: the model answer sits in a solution region, so
the release shows an empty answer). ``tests/course/questions/<assignment>.py`` lists the ids of
the assignment's questions (curriculum section A / E) and, for each, regular expressions that
would give its answer away. No cell before the question may state such an answer: neither its
text in release/ nor what it prints (the executed outputs in solutions/, which the student's
run reproduces). Nor may the cells right after it: the answer box and the ``AFTER - 1`` cells
below it. Where the lesson needs the answer to go on, it states it further down, after a
"Compare with your answer" break, so that the student writes an answer before reading one.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from nmautils.course import notebooks
from nmautils.course.build import assignments, release_path, solution_path

REGISTRY = Path(__file__).parent / "questions"

#: How many cells after a question (its answer box included) may not state its answer.
AFTER = 3


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


def output_texts(cell) -> list[str]:
    """What the cell's outputs show as text (not its source)."""
    return cell_texts(cell)[1:]


def give_aways(nb_cells, patterns: list[str], texts=cell_texts,
               start: int = 0) -> list[tuple[int, str]]:
    """(cell index, pattern) for every pattern some cell states; indices count from ``start``."""
    hits = []
    for i, cell in enumerate(nb_cells, start):
        for text in texts(cell):
            for pattern in patterns:
                if re.search(pattern, text):
                    hits.append((i, pattern))
    return hits


def release_and_solved(assignment: str):
    """The release and the executed solution of ``assignment``, cell for cell (without the
    banner cell the solution opens with)."""
    release = notebooks.read(release_path(assignment))
    solved = notebooks.read(solution_path(assignment))
    solved.cells = [c for c in solved.cells if c.get("id") != "solution-banner"]
    return release, solved


CASES = [(a, q) for a in assignments() if (REGISTRY / f"{a}.py").exists() for q in registry(a)]


@pytest.mark.parametrize("assignment", assignments())
def test_every_assignment_has_a_question_registry(assignment):
    assert (REGISTRY / f"{assignment}.py").exists()
    assert registry(assignment), f"{assignment} asks no question"


@pytest.mark.parametrize("assignment, qid", CASES, ids=[f"{a}-{q}" for a, q in CASES])
def test_question_is_asked_before_it_is_answered(assignment, qid):
    release, solved = release_and_solved(assignment)
    i = question_index(release, qid)
    assert question_index(solved, qid) == i, "release/ and solutions/ differ in cell order"
    follow = [notebooks.nbgrader_meta(c).get("grade_id", "") for c in release.cells[i + 1 : i + 3]]
    assert any(g.startswith("written_") for g in follow), (
        f"question {qid!r} is not followed by a written-answer cell (got {follow})"
    )
    patterns = registry(assignment)[qid]
    before = give_aways(release.cells[:i], patterns) + give_aways(solved.cells[:i], patterns)
    assert not before, f"question {qid!r} is answered before it is asked: {before}"


def answered_right_after(release, solved, i: int, patterns: list[str]) -> list[tuple[int, str]]:
    """Give-aways in the ``AFTER`` cells after the question at ``i``: the release's text, and
    what the solutions print there (their sources hold the model answers, so only outputs). What
    the student's own answer cells print is the student's work, not a give-away."""
    window = range(i + 1, min(i + 1 + AFTER, len(release.cells)))
    hits = give_aways([release.cells[j] for j in window], patterns, start=i + 1)
    for j in window:
        if notebooks.cell_kind(release.cells[j]) not in ("answer", "written"):
            hits += [(j, pattern) for _, pattern in
                     give_aways([solved.cells[j]], patterns, texts=output_texts)]
    return hits


@pytest.mark.parametrize("assignment, qid", CASES, ids=[f"{a}-{q}" for a, q in CASES])
def test_question_is_not_answered_right_after(assignment, qid):
    release, solved = release_and_solved(assignment)
    i = question_index(release, qid)
    after = answered_right_after(release, solved, i, registry(assignment)[qid])
    assert not after, (
        f"question {qid!r} (release cell {i}) is answered within {AFTER} cells after it: {after}; "
        "state the answer later, after a 'Compare with your answer' break"
    )


def test_answer_right_after_is_detected():
    new = notebooks.nbformat.v4
    question = new.new_markdown_cell("**Question.** How many conv units?")
    box = new.new_markdown_cell("YOUR ANSWER HERE")
    spoiler = new.new_markdown_cell("There are 1,152 conv units.")
    release = new.new_notebook(cells=[question, box, spoiler])
    assert answered_right_after(release, release, 0, [r"1,?152"]) == [(2, r"1,?152")]
    # printed by a code cell of the solutions, but its source is silent
    code = new.new_code_cell("print(n)")
    ran = new.new_code_cell("print(n)")
    ran.outputs = [new.new_output("stream", text="1152 units\n")]
    release = new.new_notebook(cells=[question, box, code])
    solved = new.new_notebook(cells=[question, box, ran])
    assert answered_right_after(release, solved, 0, [r"1,?152"]) == [(2, r"1,?152")]
    # far enough below, after a break, the answer may be stated
    gap = [new.new_markdown_cell("Compare with your answer.") for _ in range(AFTER - 1)]
    release = new.new_notebook(cells=[question, box, *gap, spoiler])
    assert answered_right_after(release, release, 0, [r"1,?152"]) == []


def test_give_away_detection_can_fail():
    cell = notebooks.nbformat.v4.new_code_cell("print(n)")
    cell.outputs = [notebooks.nbformat.v4.new_output("stream", text="1152 units\n")]
    assert give_aways([cell], [r"1,?152"]) == [(0, r"1,?152")]
    assert give_aways([cell], [r"27,?174,?528"]) == []
