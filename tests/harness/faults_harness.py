"""Fault catalogue round trip used by ``tests/grading/test_faults.py``.

For one assignment it builds submissions from the solution with the faults of
:mod:`faults` (tests/harness/faults.py) injected, grades them all with the project's class-grading step
(:mod:`nmautils.course.classgrade`, the nbgrader API with the guarded executor), and checks for
every fault that the run finished, the instructor got a message, and the student lost only the
points of the exercise at fault. To stay cheap, independent cell faults share submissions (one
per answer cell, see :func:`faults.pack_cell_faults`); kernel-killing and notebook-level faults
get their own. Everything is graded once per module (module-scoped fixture).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import faults
from grading_harness import grading_environment

from nmautils.course import classgrade, notebooks
from nmautils.course.build import source_path
from nmautils.course.grading import generated_release

#: Seconds a cell may run while grading the fault submissions (an endless loop costs this much):
#: several times the slowest graded cell, so that a heavily loaded CI machine stays inside it.
DEFAULT_TIMEOUT = 10


@dataclass
class FaultRun:
    assignment: str
    answer_tests: dict[str, list[str]]
    test_points: dict[str, float]
    plan: dict[str, dict[str, list[str]]]  # submission -> answer -> faults injected there
    notebook_faults: dict[str, list[str]]  # submission -> notebook-level faults
    grades: dict[str, classgrade.SubmissionResult]
    out: Path

    def expectation(self, submission: str, test: str) -> str:
        answer = next(a for a, tests in self.answer_tests.items() if test in tests)
        kinds = {faults.CATALOGUE[f].expect for f in self.plan[submission].get(answer, [])}
        if "missing_notebook" in self.notebook_faults.get(submission, []) or \
                "corrupted_json" in self.notebook_faults.get(submission, []):
            return "zero"
        for kind in ("zero", "own"):
            if kind in kinds:
                return kind
        return "keep"

    def describe(self, submission: str) -> str:
        g = self.grades[submission]
        lines = [f"{submission} of {self.assignment} ({g.status}), faults {self.plan[submission]} "
                 f"{self.notebook_faults.get(submission, [])}:"]
        for test, points in self.test_points.items():
            got = g.cells[test].score if test in g.cells else None
            lines.append(f"  {test:36s} expect {self.expectation(submission, test):4s} "
                         f"of {points:g}  got {got}")
        lines += [f"  message: {m}" for m in g.messages]
        return "\n".join(lines)


def build_submissions(assignment: str, folder: Path):
    """Write the fault submissions of ``assignment`` under ``folder``; return the plan."""
    source = notebooks.read(source_path(assignment))
    answer_tests = notebooks.answer_tests(source)
    answers = list(answer_tests)
    solutions = {notebooks.nbgrader_meta(c)["grade_id"]: c.source for c in source.cells
                 if notebooks.cell_kind(c) == "answer"}
    name = f"{assignment}.ipynb"
    release = generated_release(assignment)

    def make(plan: dict[str, list[str]]):
        replace = {a: faults.inject(solutions[a], fs) for a, fs in plan.items()}
        return notebooks.fill_submission(release, source, replace=replace)

    def put(student: str, nb=None, filename: str = name, text: str | None = None) -> None:
        target = folder / student / assignment
        target.mkdir(parents=True, exist_ok=True)
        if text is not None:
            (target / filename).write_text(text)
        elif nb is not None:
            notebooks.write(nb, target / filename)

    plan: dict[str, dict[str, list[str]]] = {}
    nb_faults: dict[str, list[str]] = {}
    for k, sub in enumerate(faults.pack_cell_faults(answers)):
        student = f"cells{k}"
        plan[student] = sub
        nb = make(sub)
        if k == 0:  # also saved under another name
            nb_faults[student] = ["misnamed_notebook"]
            put(student, nb, filename=f"Copy of {name}")
            continue
        if k == 1:  # also tampered with
            nb_faults[student] = ["deleted_test_cell", "edited_test_cell", "edited_readonly_cell"]
            for fault in nb_faults[student]:
                nb = faults.tamper(nb, fault)
        put(student, nb)
    kernel_faults = [f.name for f in faults.KERNEL_FAULTS]
    if len(answers) >= len(kernel_faults):
        plan["kernel"] = {answers[0]: [kernel_faults[0]], answers[-1]: [kernel_faults[1]]}
        put("kernel", make(plan["kernel"]))
    else:
        for fault in kernel_faults:
            plan[f"kernel_{fault}"] = {answers[0]: [fault]}
            put(f"kernel_{fault}", make(plan[f"kernel_{fault}"]))
    plan["missing"], nb_faults["missing"] = {}, ["missing_notebook"]
    put("missing")
    plan["corrupt"], nb_faults["corrupt"] = {}, ["corrupted_json"]
    put("corrupt", text=faults.corrupt_json(notebooks.fill_submission(release, source)))
    test_points = {c.grade_id: c.points for c in notebooks.graded_cells(source) if c.kind == "test"}
    return answer_tests, test_points, plan, nb_faults


def run_faults(assignment: str, tmp: Path, timeout: int = DEFAULT_TIMEOUT) -> FaultRun:
    with grading_environment():
        answer_tests, test_points, plan, nb_faults = build_submissions(assignment, tmp / "submitted")
        result = classgrade.grade_class(assignment, tmp / "submitted", tmp / "out", workers=1,
                                        timeout=timeout)
    grades = {g.student: g for g in result.grades}
    return FaultRun(assignment, answer_tests, test_points, plan, nb_faults, grades, tmp / "out")
