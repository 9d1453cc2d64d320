"""Benchmarks: each prints a table and writes JSON. Speed targets live here, never in tests."""
