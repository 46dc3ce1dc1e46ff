"""Benchmarks: they measure and report; none of them passes or fails on a time.

Tooling above the app, outside its layers. A benchmark imports the app's modules inside the functions that run in
its child processes or after it has set their environment (IURAN_INSTANCE, DATABASE_URL), not at the top:
core/settings.py reads the environment when it is imported."""
