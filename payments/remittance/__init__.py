"""Layer 8: the remittance file, what a branch collected handed over to BPJS Ketenagakerjaan's national system:
one file per branch after its day end, numbered, immutable, downloaded and acknowledged by finance."""
