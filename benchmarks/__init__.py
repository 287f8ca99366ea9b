"""Reproducible performance measurements (run from the repository root: `benchmarks/run.sh`)."""
