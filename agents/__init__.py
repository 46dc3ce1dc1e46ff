"""The field agents' (Perisai) capabilities: ``agents.roster`` (layer 6), ``agents.incentives`` (layer 9) and
``agents.field``, their phone app (layer 10). Who the agents are, as logins, is the organisation's. Only
subpackages live here."""
