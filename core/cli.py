"""Operators' commands (``flask --app app …``)."""

from __future__ import annotations

import click
from flask import Flask, current_app

from core.clock import utcnow
from extensions import db


def register_commands(app: Flask) -> None:
    """Attach every CLI command to the app."""

    @app.cli.command("demo-data")
    @click.option("--members-per-branch", default=750, show_default=True, help="Members to create in each branch.")
    def demo_data(members_per_branch: int) -> None:
        """Load demo branches, agents, members and a year of payments (does nothing if any branch exists)."""
        from pathlib import Path

        from core.demo import load_demo_data, write_demo_logins

        counts = load_demo_data(db.session, utcnow(), members_per_branch=members_per_branch)
        write_demo_logins(Path(current_app.instance_path) / "demo-logins.txt")
        if counts:
            click.echo("demo data: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
        else:
            click.echo("demo data: the database already has branches; nothing loaded")
