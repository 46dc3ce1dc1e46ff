"""Members on their own (peserta mandiri): the member's page with a one-time code, and paying by VA or QRIS."""
