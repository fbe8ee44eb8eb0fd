"""Fault catalogue of tutorial1_decoding: every fault costs only its own exercise (tests/faults_harness.py)."""

from faults_harness import make_tests

globals().update(make_tests("tutorial1_decoding"))
