"""The field agents' (Perisai) capabilities: ``agents.incentives`` (layer 8) and ``agents.field``, their phone
app (layer 9). Who the agents are is the organisation's (``organisation``). Only subpackages live here."""
