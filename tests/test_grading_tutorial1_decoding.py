"""Autograding round trip of tutorial1_decoding (see tests/grading_harness.py)."""

from grading_tests import make_tests

globals().update(make_tests("tutorial1_decoding"))
