"""Benchmarks: they measure and report; none of them passes or fails on a time."""
