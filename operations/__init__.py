"""Watching it run, just below ``commands``: /healthz, /readyz and the Prometheus metrics at /metrics. It reads
the ledger's, the callbacks' and the outbox's tables (so it sits above every capability) and changes nothing."""
