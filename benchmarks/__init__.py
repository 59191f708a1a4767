"""Benchmarks: every figure is a ratio against torch measured in the same run (``make bench``)."""
