"""What every package shares: the API error envelope and the append-only audit log."""
