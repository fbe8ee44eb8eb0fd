"""Course tooling for instructors and maintainers (not needed by students).

Building the course:

- :mod:`~nmautils.course.__main__` - command line ``python -m nmautils.course`` (``build``,
  ``check``, ``main``, ``grade``, ``publish``)
- :mod:`~nmautils.course.build` - the build: ``source/`` -> ``release/`` + ``solutions/``
- :mod:`~nmautils.course.notebooks` - pure notebook transformations (markers, solutions)
- :mod:`~nmautils.course.homeurl` - the course's URLs in the notebooks' badges and install cells
- :mod:`~nmautils.course.publish` - the students' edition: what the public repository holds
- :mod:`~nmautils.course.redact` - redaction by content: no solution or hidden-test line leaks
- ``data/`` - nbval's output sanitiser for the committed solutions

Grading (nbgrader, configured by the course's ``nbgrader_config.py``):

- :mod:`~nmautils.course.grading` - a scratch nbgrader folder (``GradingFolder``), autograding
- :mod:`~nmautils.course.guard` - the hardened ``Execute`` preprocessor (``GuardedExecute``)
- :mod:`~nmautils.course.kernel_guard` - its kernel side: snapshot the interpreter, restore it
- :mod:`~nmautils.course.slicing` - which demonstration cells a grading run may skip
- :mod:`~nmautils.course.sandbox` - the bubblewrap sandbox around every grading kernel
- :mod:`~nmautils.course._sandbox_entry` - the first program inside that sandbox
- :mod:`~nmautils.course.hidden` - hidden tests' kernel side: report named values, never a verdict
- :mod:`~nmautils.course.verdicts` - hidden tests' grader side: judge those values
- :mod:`~nmautils.course.live_kernel` - the graded kernel, handed from the executor to the next step
- :mod:`~nmautils.course.score_competition` - preprocessor scoring a competition in that kernel
- :mod:`~nmautils.course.competition` - assignment 3's competition: held-out set, scores, signatures
- :mod:`~nmautils.course.overwrite` - nbgrader's ``OverwriteCells`` without false tampering warnings
- :mod:`~nmautils.course.feedback` - sanitised feedback HTML: scores and visible checks, no secrets
- :mod:`~nmautils.course.formgrade` - formgrader shows each written answer's model answer and rubric
- :mod:`~nmautils.course.classgrade` - class-size grading on Dask workers, resumable (intake,
  worker, scheduling, recording, reports, run)

They need nbgrader and the rest of the ``instructor`` extra (``pip install
'nmautils[instructor]'``); the sandbox also needs the system package bubblewrap.
"""
