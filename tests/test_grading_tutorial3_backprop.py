"""Autograding round trip of tutorial3_backprop (see tests/grading_harness.py)."""

from grading_tests import make_tests

globals().update(make_tests("tutorial3_backprop"))
