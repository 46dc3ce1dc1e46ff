"""Fault drills: the real stack (gunicorn, rq workers, Redis, PostgreSQL or SQLite) under load while processes are
killed, stopped and hung, then the ledger's invariants checked by SQL. ``python -m drill --help``."""
