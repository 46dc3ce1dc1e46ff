"""Layer 6, a capability: auto-debit. Mandates and their transitions, providers and their signatures, the sandbox
provider, debit runs, the providers' webhooks and the processing of their callbacks, settlement reports.
Imports the ledger and everything below it; independent of the other capabilities of layer 6."""
