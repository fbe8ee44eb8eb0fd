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

# Autograding: one cell may run at most this many seconds; a cell that loops forever is
# interrupted and counted as an error in that cell only.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True

# Autograding runs in nmautils' hardened Execute (nmautils/course/guard.py): every kernel runs in
# a bubblewrap sandbox (nmautils/course/sandbox.py: only its own submission copy, no network, an
# unprivileged user, resource limits, a PID namespace) and grading refuses when none can be made
# (opt out explicitly: `nbgrader autograde A --GuardedExecute.sandbox=False`); the interpreter
# (module attributes, IPython hooks, builtins, library classes, dtype, seeds) is restored before
# every test cell, a test counts only when the kernel attests it ran to completion, and a kernel
# that dies or ignores the timeout is restarted, so a faulty answer costs only its own exercise.
try:
    from nmautils.course.guard import autograde_preprocessors
except ImportError:  # nmautils not installed: plain nbgrader behaviour
    pass
else:
    c.Autograde.autograde_preprocessors = autograde_preprocessors()
    c.GuardedExecute.memory_limit_gb = 8.0

# Feedback shows scores, visible checks and error messages, never hidden tests, the tracebacks of
# failed hidden tests or rubrics (nmautils/course/feedback.py).
try:
    from nmautils.course.feedback import feedback_preprocessors
except ImportError:
    pass
else:
    c.GenerateFeedback.preprocessors = feedback_preprocessors()
