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

# Autograding runs in nmautils' hardened Execute (nmautils/course/guard.py): the kernel gets an
# address-space limit, global state (np/torch rebound, monkeypatched helpers, default dtype, seeds)
# is reset before every test cell, and a kernel that dies or ignores the timeout is restarted,
# so a faulty answer costs only its own exercise.
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
