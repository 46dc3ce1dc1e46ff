"""Layer 7, a capability: branch finance. Bank statements imported and matched, deposits declared, matches
proposed and decided, daily batches closed and approved, reports, the API and the finance desk (/keuangan).
Imports auto-debit, sponsors, the ledger and everything below them."""
