"""Layer 9, a capability: agents' and Wadahs' monthly incentives (Perdir 13/2022). The pure rules, the
statements worked out from approved batches and banked cash, their API, and their pages on the finance desk.
Imports branch finance and everything below it."""
