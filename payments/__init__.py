"""Money: ``payments.ledger`` (layer 5) and two capabilities on it, ``payments.autodebit`` (layer 6) and
``payments.finance`` (layer 7). Only subpackages live here, one per layer."""
