"""Fault catalogue of assignment3_interpret: every fault costs only its own exercise (tests/faults_harness.py)."""

from faults_harness import make_tests

globals().update(make_tests("assignment3_interpret"))
