"""Layer 6, a capability: sponsors (Pemda, donors) paying members' contributions for a while. Programmes, the
lists they send (read, checked and enrolled), their bulk payments, retention and the programmes' end. Imports
the ledger and everything below it; independent of the other capabilities of layer 6."""
