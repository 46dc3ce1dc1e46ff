"""Fault drills: the real stack (gunicorn, rq workers, Redis, PostgreSQL or SQLite) under load while processes are
killed, stopped and hung, then the ledger's invariants checked by SQL. ``python -m drill --help``.

Tooling above the app, outside its layers. The drill imports the app's modules inside the functions that seed and
check a database, not at the top: the harness process sets each run's environment (IURAN_INSTANCE, DATABASE_URL)
first, and core/settings.py reads the environment when it is imported."""
