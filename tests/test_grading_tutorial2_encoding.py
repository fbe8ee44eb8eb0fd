"""Autograding round trip of tutorial2_encoding (see tests/grading_harness.py)."""

from grading_tests import make_tests

globals().update(make_tests("tutorial2_encoding"))
