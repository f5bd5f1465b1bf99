"""Reproducible benchmarks with peers in the same run: ``python -m benchmarks.run [--quick] [names...]``."""
