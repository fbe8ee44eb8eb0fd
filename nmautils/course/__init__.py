"""Course tooling for instructors and maintainers (not needed by students).

- :mod:`nmautils.course.notebooks` - pure notebook transformations (solutions, submissions)
- :mod:`nmautils.course.grading` - a temporary nbgrader course: generate, autograde, read scores
- :mod:`nmautils.course.build` - the one build command: source/ -> release/ + solutions/
- ``python -m nmautils.course`` - command line (``build``, ``check``, ``main``)

These modules import nbgrader lazily; install the ``dev`` extra to use them.
"""
