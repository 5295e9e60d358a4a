"""Benchmarks: run them from the top of the checkout as ``python -m bench.NAME``."""
