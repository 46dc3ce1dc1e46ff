"""Layer 4, members and what they owe: NIK, KPJ, names and phones, the rate table, due dates, the months paid,
standing and arrears, and the nightly reconciliation of every standing. Imports the organisation and core."""
