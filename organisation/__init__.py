"""Layer 3, the organisation: branch offices, Wadah, staff accounts and their roles, agents (Perisai) and their
status, API tokens, web sessions and the logins of the API and the web pages. Imports only core."""
