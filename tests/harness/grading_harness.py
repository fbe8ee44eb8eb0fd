"""Shared autograding round trip used by ``tests/grading/test_grading.py``.

For one assignment it generates the release with nbgrader, then autogrades these submissions:

- ``full``: every answer filled with the solution -> full marks;
- ``blank``: the untouched release -> zero, and the grader does not crash;
- ``mixed0``, ``mixed1``, ``mixed2``: in ``mixed<k>``, answer ``i`` holds a plausible wrong
  answer (``tests/grading/mutants/<assignment>.py``) when ``i % 3 == k``, is left unfinished
  when ``i % 3 == (k + 1) % 3``, and is correct otherwise -> each broken answer loses exactly the
  points of its own test cells, and its correct neighbours keep theirs.

Over the three, every answer is wrong once, unfinished once and correct once, beside neighbours
that are broken the other way, so five autograding runs per assignment prove that every broken
answer costs its own points and no other cell's. Each submission is autograded once per test
session (module-scoped fixture).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from nmautils.course import notebooks
from nmautils.course.build import source_path
from nmautils.course.grading import SubmissionResult, environment, temporary_grading_folder

MUTANTS_DIR = Path(__file__).resolve().parents[1] / "grading" / "mutants"


def load_all_mutants(assignment: str) -> dict[str, list[str]]:
    """The ``MUTANTS`` mapping of an assignment: answer grade id -> its wrong cell sources (a list,
    two or more per answer, each modelled on a student's mistake)."""
    path = MUTANTS_DIR / f"{assignment}.py"
    spec = importlib.util.spec_from_file_location(f"mutants_{assignment}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {answer: list(wrong) for answer, wrong in module.MUTANTS.items()}


def load_mutants(assignment: str) -> dict[str, str]:
    """The first mutant of each answer (answer grade id -> wrong cell source): the one that the
    grading round trip and the other end-to-end tests submit, so their cost does not grow with
    the number of mutants."""
    return {answer: wrong[0] for answer, wrong in load_all_mutants(assignment).items()}


@dataclass
class GradingRun:
    assignment: str
    answer_tests: dict[str, list[str]]  # answer grade id -> its test cells
    test_points: dict[str, float]  # test grade id -> points
    broken: dict[str, set[str]]  # submission -> answers that are wrong or unfinished
    wrong: dict[str, set[str]]  # submission -> answers that hold a mutant
    results: dict[str, SubmissionResult]

    def expected_scores(self, submission: str) -> dict[str, float]:
        lost = {t for a in self.broken[submission] for t in self.answer_tests[a]}
        return {t: (0.0 if t in lost else p) for t, p in self.test_points.items()}

    def submission_with_mutant(self, answer: str) -> str:
        """The submission in which ``answer`` holds its wrong answer."""
        return next(s for s in MIXED if answer in self.wrong[s])

    def submission_with_blank(self, answer: str) -> str:
        """The submission in which ``answer`` is left unfinished."""
        return next(s for s in MIXED if answer in self.broken[s] - self.wrong[s])

    def actual_scores(self, submission: str) -> dict[str, float | None]:
        cells = self.results[submission].cells
        return {t: cells[t].score if t in cells else None for t in self.test_points}


#: The submissions with broken answers (see the module docstring).
MIXED = ("mixed0", "mixed1", "mixed2")


def mixed_plan(answers: list[str], k: int) -> tuple[list[str], list[str]]:
    """``(wrong, unfinished)`` answers of submission ``mixed<k>``."""
    return ([a for i, a in enumerate(answers) if i % 3 == k],
            [a for i, a in enumerate(answers) if i % 3 == (k + 1) % 3])


#: Grading runs on the small surrogate (few neurons): the mechanics are the same, and it is fast.
GRADING_ENV = {"NMAUTILS_SURROGATE_SIZE": "small"}


def write_class(folder: Path, assignment: str, submissions: dict[str, notebooks.NotebookNode]) -> Path:
    """Write ``{student: notebook}`` as nbgrader's ``submitted/<student>/<assignment>/`` folders
    under ``folder``; return the ``submitted`` folder."""
    submitted = Path(folder) / "submitted"
    for student, nb in submissions.items():
        notebooks.write(nb, submitted / student / assignment / f"{assignment}.ipynb")
    return submitted


def source_and_release(assignment: str) -> tuple[notebooks.NotebookNode, notebooks.NotebookNode]:
    """The source notebook of ``assignment`` and its release as nbgrader generates it."""
    from nmautils.course.grading import generated_release

    return notebooks.read(source_path(assignment)), generated_release(assignment)


def grading_environment():
    """Set :data:`GRADING_ENV` for the kernels started inside the block, then restore."""
    return environment(GRADING_ENV)


def run_grading(assignment: str) -> GradingRun:
    """Generate the release of ``assignment`` and autograde the standard set of submissions."""
    source = notebooks.read(source_path(assignment))
    answer_tests = notebooks.answer_tests(source)
    test_points = {c.grade_id: c.points for c in notebooks.graded_cells(source) if c.kind == "test"}
    answers = list(answer_tests)
    mutants = load_mutants(assignment)
    name = f"{assignment}.ipynb"

    with grading_environment(), temporary_grading_folder() as course:
        course.add_source(assignment)
        release = notebooks.read(course.generate(assignment) / name)
        subs: dict[str, tuple[notebooks.NotebookNode, set[str]]] = {
            "full": (notebooks.fill_submission(release, source), set()),
            "blank": (release, set(answers)),
        }
        wrong_in: dict[str, set[str]] = {"full": set(), "blank": set()}
        for k, label in enumerate(MIXED):
            chosen, unfinished = mixed_plan(answers, k)
            wrong = {a: mutants[a] for a in chosen if a in mutants}
            nb = notebooks.fill_submission(release, source, replace=wrong, blank=tuple(unfinished))
            subs[label], wrong_in[label] = (nb, set(wrong) | set(unfinished)), set(wrong)
        results = {}
        for student, (nb, _) in subs.items():
            course.submit(assignment, student, {name: nb})
            results[student] = course.autograde(assignment, student)
    return GradingRun(
        assignment,
        answer_tests,
        test_points,
        {s: broken for s, (_, broken) in subs.items()},
        wrong_in,
        results,
    )


def describe(run: GradingRun, submission: str) -> str:
    """A readable diff of expected and actual per-cell scores (for assertion messages)."""
    exp, act = run.expected_scores(submission), run.actual_scores(submission)
    lines = [f"{submission} of {run.assignment}:"]
    for cell in exp:
        flag = "" if exp[cell] == act[cell] else "   <-- differs"
        lines.append(f"  {cell:40s} expected {exp[cell]:g}  got {act[cell]}{flag}")
    return "\n".join(lines)


def gradebook_auto_scores(path: Path) -> dict[str, float]:
    """Each student's summed autograded score in the nbgrader gradebook at ``path``, read with
    plain SQL (no nbgrader objects kept open across the tests)."""
    import sqlite3

    db = sqlite3.connect(path)
    try:
        rows = db.execute(
            "SELECT student.id, SUM(COALESCE(grade.auto_score, 0)) FROM grade "
            "JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
            "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
            "JOIN student ON submitted_assignment.student_id = student.id GROUP BY student.id"
        ).fetchall()
    finally:
        db.close()
    return {s: float(v) for s, v in rows}
