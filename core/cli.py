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

    @app.cli.command("reconcile")
    @click.option("--branch", "branch_code", help="Branch code (e.g. PKP); every branch when left out.")
    @click.option("--on", "on", help="Reconcile as of this day, YYYY-MM-DD (default: now).")
    def reconcile(branch_code: str | None, on: str | None) -> None:
        """Recompute members' standings, flags and notices, with a progress bar."""
        from datetime import date, datetime, time

        from sqlalchemy import func, select

        from agents.models import Branch
        from collection.models import Member
        from collection.reconciliation import reconcile_branch, summary

        query = select(Branch).order_by(Branch.code)
        if branch_code:
            query = query.where(Branch.code == branch_code.upper())
        branches = list(db.session.scalars(query))
        if not branches:
            raise click.BadParameter(f"no branch with code {branch_code!r}", param_hint="--branch")
        try:
            now = datetime.combine(date.fromisoformat(on), time(12)) if on else utcnow()
        except ValueError as error:
            raise click.BadParameter("write the day as YYYY-MM-DD", param_hint="--on") from error
        for branch in branches:
            total = db.session.scalar(select(func.count()).where(Member.branch_id == branch.id)) or 0
            with click.progressbar(length=total, label=f"{branch.code} {branch.name}") as bar:
                result = reconcile_branch(db.session, branch.id, now, on_chunk=bar.update)
            click.echo(f"{branch.code}: {summary(result)}")
