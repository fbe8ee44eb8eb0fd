"""Fault catalogue of tutorial2_encoding: every fault costs only its own exercise (tests/faults_harness.py)."""

from faults_harness import make_tests

globals().update(make_tests("tutorial2_encoding"))
