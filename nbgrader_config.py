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
