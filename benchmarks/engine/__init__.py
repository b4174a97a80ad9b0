"""Benchmarks of the matching engine; run each as ``python -m benchmarks.engine.<name>``."""
