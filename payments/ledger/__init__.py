"""Layer 5, the ledger: payments, their allocation to months, receipts and their public verification page,
reversals, an agent's cash on hand and his days (locked once finance approves them), deposits' rows. Imports
collection.members and everything below it."""
