"""Layer 10, a capability: the agents' phone app (/agen). Search, enrol, take cash, set up auto-debit, deposit,
see incentives; works offline with a queue on the phone. Imports every capability below it."""
