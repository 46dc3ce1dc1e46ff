"""Money: ``payments.ledger`` (layer 5) and the capabilities on it, ``payments.autodebit`` (layer 6),
``payments.finance`` (layer 7) and ``payments.remittance`` (layer 8). Only subpackages live here, one per layer."""
