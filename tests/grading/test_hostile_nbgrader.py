"""The verdict attacks against plain ``nbgrader autograde`` with the project's configuration.

``tests/grading/test_hostile.py`` grades the other hostile cases with the class grader; here one
attack on each layer of the verdict (``PLAIN_CASES`` of ``tests/harness/hostile_verdicts.py``)
and one honest student are graded by
``python -m nbgrader autograde`` in a course folder of their own, as an instructor who never
uses ``python -m nmautils.course`` would: no forged verdict scores a point. Both graders run the
same ``GuardedExecute``; this run proves that ``nbgrader_config.py`` puts every layer in place.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from grading_harness import grading_environment
from hostile_catalogue import ASSIGNMENT, CELL_TIMEOUT, FIRST_ANSWER, SUBMISSION_TIMEOUT
from hostile_verdicts import PLAIN_CASES, VERDICT_CASES

from nmautils.course import notebooks, sandbox
from nmautils.course.build import source_path
from nmautils.course.grading import REPO_ROOT, generated_release

HONEST = "zz_honest"
CASES = [c for c in VERDICT_CASES if c.name in PLAIN_CASES]


@pytest.fixture(scope="session")
def plain_nbgrader_run(tmp_path_factory):
    """The verdict attacks and an honest student, graded by plain ``nbgrader autograde`` in a
    course folder with the project's configuration; ``{student: total auto score}``."""
    if not sandbox.sandbox_available():
        pytest.fail("no sandbox can be made on this machine: " + sandbox._probe())
    course = tmp_path_factory.mktemp("plain-nbgrader")
    shutil.copy(REPO_ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copytree(REPO_ROOT / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    source = notebooks.read(source_path(ASSIGNMENT))
    release = generated_release(ASSIGNMENT)
    blank = tuple(g for g in notebooks.answer_tests(source) if g != FIRST_ANSWER)
    submissions = {c.name: notebooks.fill_submission(release, source, replace={FIRST_ANSWER: c.code.format()},
                                                     blank=blank) for c in CASES}
    submissions[HONEST] = notebooks.fill_submission(release, source)
    for student, nb in submissions.items():
        notebooks.write(nb, course / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    bindir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}
    with grading_environment():
        env.update({k: v for k, v in os.environ.items() if k.startswith("NMAUTILS_")})
        for step in (["generate_assignment", ASSIGNMENT, "--force"],
                     ["autograde", ASSIGNMENT, "--force", f"--Execute.timeout={CELL_TIMEOUT}",
                      f"--GuardedExecute.submission_timeout={SUBMISSION_TIMEOUT}"]):
            proc = subprocess.run([sys.executable, "-m", "nbgrader", *step], cwd=course, env=env,
                                  capture_output=True, text=True, timeout=1800)
            # autograde exits 1 when one notebook could not be graded: the scores below decide
            assert proc.returncode == 0 or step[0] == "autograde", proc.stderr[-3000:]
    db = sqlite3.connect(course / "gradebook.db")
    rows = db.execute(
        "SELECT student.id, SUM(COALESCE(grade.auto_score, 0)), COUNT(grade.auto_score) FROM grade "
        "JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
        "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
        "JOIN student ON submitted_assignment.student_id = student.id GROUP BY student.id"
    ).fetchall()
    db.close()
    return {student: (float(total), int(graded)) for student, total, graded in rows}


@pytest.mark.parametrize("case", PLAIN_CASES)
def test_plain_nbgrader_autograde_gives_a_forged_verdict_nothing(plain_nbgrader_run, case):
    total, graded = plain_nbgrader_run[case]
    assert graded > 0, "the submission was not autograded at all"
    assert total == 0.0


def test_plain_nbgrader_autograde_gives_the_honest_student_full_marks(plain_nbgrader_run):
    total, graded = plain_nbgrader_run[HONEST]
    points = sum(c.points for c in notebooks.graded_cells(notebooks.read(source_path(ASSIGNMENT)))
                 if c.kind == "test")
    assert graded > 0 and total == points > 0, plain_nbgrader_run[HONEST]
