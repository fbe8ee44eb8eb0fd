"""Fault catalogue of tutorial3_backprop: every fault costs only its own exercise (tests/faults_harness.py)."""

from faults_harness import make_tests

globals().update(make_tests("tutorial3_backprop"))
