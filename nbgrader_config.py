"""nbgrader configuration of the course (read by nbgrader and by nmautils.course).

Run nbgrader from the repository root: source/ holds the instructor notebooks, release/ the
student versions (generated; see README "For instructors").
"""

c = get_config()  # noqa: F821  (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "dl-neural-data"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"

# What students see in place of a removed solution.
c.ClearSolutions.code_stub = {
    "python": "# YOUR CODE HERE\nraise NotImplementedError()",
}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Autograding: one cell may run at most Execute.timeout seconds, set below from
# nmautils.settings.GRADING_LIMITS (which holds every grading limit's default; put a number in
# its place below to change it for this course); a cell that loops forever is interrupted and
# counted as an error in that cell only.
c.Execute.interrupt_on_timeout = True

# Autograding runs in nmautils' hardened Execute (nmautils/course/guard.py): every kernel runs in
# a bubblewrap sandbox (nmautils/course/sandbox.py) and grading refuses when none can be made (opt
# out explicitly: `nbgrader autograde A --GuardedExecute.sandbox=False`); hidden tests report
# values that the grader compares, in its own process, with the model answer's
# (nmautils/course/verdicts.py); a kernel that dies or ignores the timeout is restarted. Feedback
# shows scores, visible checks and error messages, never hidden tests or model answers, and is
# sanitised HTML (nmautils/course/feedback.py).
#
# Grading fails closed: when these tools cannot be imported (nmautils missing or broken in this
# environment), autograde and feedback refuse instead of running student code unguarded.
try:
    from nmautils.course.feedback import feedback_preprocessors, formgrader_preprocessors
    from nmautils.course.guard import autograde_preprocessors
    from nmautils.course.overwrite import sanitize_preprocessors
    from nmautils.settings import GRADING_LIMITS
except Exception as _error:  # noqa: BLE001 - any failure to load the guard must refuse grading
    from nbgrader.preprocessors import NbGraderPreprocessor

    _WHY = (f"the course's grading tools (nmautils.course) cannot be loaded: "
            f"{type(_error).__name__}: {_error}. Install them in this environment "
            "(pip install 'nmautils[instructor]', or `make setup` in the course repository) and "
            "run nbgrader from it; nbgrader will not grade or write feedback without them.")

    class RefuseWithoutGuard(NbGraderPreprocessor):
        """Stands in for every preprocessor, so that nothing runs unguarded."""

        def preprocess(self, nb, resources):
            raise RuntimeError(_WHY)

    c.Autograde.autograde_preprocessors = [RefuseWithoutGuard]
    c.Autograde.sanitize_preprocessors = [RefuseWithoutGuard]
    c.GenerateFeedback.preprocessors = [RefuseWithoutGuard]
    c.HTMLExporter.preprocessors = [RefuseWithoutGuard]
else:
    c.Execute.timeout = GRADING_LIMITS.cell_timeout
    c.Autograde.autograde_preprocessors = autograde_preprocessors()
    # the competition's scorer, after the executor, runs in the kernel that graded the notebook
    c.GuardedExecute.hand_over_kernel = True
    # untouched release cells are not reported as edited (nbgrader#1961)
    c.Autograde.sanitize_preprocessors = sanitize_preprocessors()
    c.GenerateFeedback.preprocessors = feedback_preprocessors()
    # formgrader renders submissions with an HTMLExporter configured here: the same cleaning
    c.HTMLExporter.preprocessors = formgrader_preprocessors()
