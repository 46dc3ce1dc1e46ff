"""Layer 11, an entry point: the operators' CLI commands (``flask --app app …``) and the demo data. Imports
whatever its commands need; nothing imports it but app.py."""
