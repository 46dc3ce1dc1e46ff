"""Layer 6: a branch's existing BPU members loaded from the national system's export (BPJS Ketenagakerjaan), with
their KPJs kept, their paid months booked as imported history, and their serving agents from a second CSV."""
