"""Helpers for testing ops: ``strategies`` holds the hypothesis strategies the test suite uses.

Importing ``minigrad.testing.strategies`` needs hypothesis (``pip install "minigrad-course[test]"``);
``import minigrad`` does not.
"""
