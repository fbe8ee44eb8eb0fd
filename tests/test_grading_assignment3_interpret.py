"""Autograding round trip of assignment3_interpret (see tests/grading_harness.py)."""

from grading_tests import make_tests

globals().update(make_tests("assignment3_interpret"))
