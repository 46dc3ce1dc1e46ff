"""Layer 6: the branch's roster of field agents (Perisai): enrolling an agent, his areas, deactivation and
termination, handing his members and visits to another agent, and the proposals to deactivate idle agents."""
