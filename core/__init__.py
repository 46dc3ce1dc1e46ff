"""Layer 1, the floor: what every layer shares. Settings, the extensions (database, Redis, the API), the clock,
months, errors and their envelope, the audit log, the outbox of texts, request guards, rate limits, the
Idempotency-Key header, the pages' languages, charts and CSV. Imports nothing of the project but itself."""
