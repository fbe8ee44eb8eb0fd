"""Class-size grading: autograde a folder of submissions on Dask workers, resumably.

    python -m nmautils.course grade <assignment> <submitted_dir> --workers 2 --out <dir>
    python -m nmautils.course grade <assignment> <submitted_dir> --scheduler tcp://HOST:8786 --out <dir>

``submitted_dir`` holds ``<student>/<assignment>/*.ipynb`` (nbgrader's layout) or
``<student>/*.ipynb``. The grader generates the assignment once into a template course and
computes the hidden tests' reference values once; each student is then one task on a Dask
worker (an embedded cluster of ``--workers`` processes, or the cluster at ``--scheduler``),
which receives the template course and the student's notebooks as bytes and returns scores,
messages, the autograded notebooks and (``--feedback``) sanitised HTML feedback as data. The
grader alone writes ``<out>``, recording each result as it arrives; running the command again
grades only what is not recorded yet.

The concerns, one module each:

- :mod:`.intake`: reading a submission as data; the checks before nbgrader (missing, misnamed
  and unreadable notebooks, deleted or edited locked cells, answers to review by hand);
- :mod:`.worker`: what a task carries and how a worker grades it (in the sandbox, or not at all);
- :mod:`.scheduling`: in this process or on Dask; workers lost, submissions that kill them;
- :mod:`.recording`: the output folder, written atomically, and what lets a run resume;
- :mod:`.reports`: the competition's bonus (:mod:`nmautils.course.competition`), ``grades.csv``
  and ``report.txt``;
- :mod:`.run`: :func:`grade_class` and the ``grade`` command (:func:`main`).
"""

from __future__ import annotations

from ..grading import SubmissionResult
from .intake import expected_notebooks, find_students, intake, restore_deleted_cells
from .recording import OutputBusy, Recorder, ResumeKey, record_competition
from .reports import ClassResult, award_competition, csv_text, report
from .run import (
    GRADING_VARIABLES,
    grade_class,
    main,
    make_context,
    make_template,
    prime_references,
)
from .worker import ClassContext, SubmissionTask, grade_submission

__all__ = [
    "GRADING_VARIABLES", "ClassContext", "ClassResult", "OutputBusy", "Recorder", "ResumeKey",
    "SubmissionResult", "SubmissionTask", "award_competition", "csv_text",
    "expected_notebooks", "find_students", "grade_class", "grade_submission", "intake", "main",
    "make_context", "make_template", "prime_references", "record_competition", "report",
    "restore_deleted_cells",
]
