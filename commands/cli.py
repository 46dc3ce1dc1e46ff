"""Operators' commands (``flask --app app …``)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from datetime import date, datetime, time
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from agents.roster.assignment import assign_by_area as assign_by_area_service
from collection.members.models import Member
from collection.members.paylinks import signer_of
from collection.members.reconciliation import reconcile_branch, summary
from collection.national import imports as national_imports
from collection.national.agents import assign_agents
from collection.sponsors.imports import import_file, report_rows
from collection.sponsors.programmes import programme_by_code
from commands.admin import admin_group, english
from commands.agents import agent_cli, echo_area_assignment
from commands.demo import load_demo_data, write_demo_logins
from core.clock import utcnow
from core.errors import DomainError
from core.extensions import db
from core.outbox import retry_given_up
from organisation.logins import end_sessions_of
from organisation.models import Branch, StaffUser
from payments.finance.bank import import_statement
from payments.finance.batches import close_day
from payments.finance.statements import BANK_FORMATS
from payments.remittance import services as remittance
from workers.queues import schedule_outbox_delivery


def register_commands(app: Flask) -> None:
    """Attach every CLI command to the app."""
    app.cli.add_command(agent_cli)
    app.cli.add_command(admin_group)

    @app.cli.command("demo-data")
    @click.option("--members-per-branch", default=750, show_default=True, help="Members to create in each branch.")
    def demo_data(members_per_branch: int) -> None:
        """Load demo branches, agents, members and a year of payments (does nothing if any branch exists)."""
        counts = load_demo_data(db.session, utcnow(), members_per_branch=members_per_branch)
        write_demo_logins(Path(current_app.instance_path) / "demo-logins.txt")
        if counts:
            click.echo("demo data: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
        else:
            click.echo("demo data: the database already has branches; nothing loaded")

    @app.cli.command("outbox-retry")
    @click.option("--kind", help="Only texts of this kind (receipt, debit_failed, standing_arrears_1, …).")
    @click.option("--since", help="Only texts written on or after this day, YYYY-MM-DD (UTC).")
    @click.option("--dry-run", is_flag=True, help="Say how many there are; change nothing.")
    def outbox_retry(kind: str | None, since: str | None, dry_run: bool) -> None:
        """Send again the texts that were given up (8 failed deliveries, or refused by the gateway), once what failed
        them is fixed; the next delivery (at the latest the minute's sweep) sends them."""
        try:
            after = datetime.combine(date.fromisoformat(since), time(0)) if since else None
        except ValueError as error:
            raise click.BadParameter("write the day as YYYY-MM-DD", param_hint="--since") from error
        count = retry_given_up(db.session, utcnow(), kind=kind, since=after, dry_run=dry_run)
        if dry_run:
            click.echo(f"outbox: {count} given-up texts would be sent again")
            return
        if count:
            schedule_outbox_delivery()
        click.echo(f"outbox: {count} given-up texts will be sent again")

    @app.cli.command("reconcile")
    @click.option("--branch", "branch_code", help="Branch code (e.g. PKP); every branch when left out.")
    @click.option("--on", "on", help="Reconcile as of this day, YYYY-MM-DD (default: now).")
    def reconcile(branch_code: str | None, on: str | None) -> None:
        """Recompute members' standings, flags and notices, with a progress bar."""
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
                result = reconcile_branch(db.session, branch.id, now, on_chunk=bar.update, links=signer_of(app.config))
            click.echo(f"{branch.code}: {summary(result)}")

    @app.cli.command("import-statement")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
    @click.option("--bank", required=True, help="The bank's format: generic, bri, bca or mandiri.")
    @click.option("--branch", "branch_code", required=True, help="Branch code (e.g. PKP) whose account it is.")
    @english
    def import_statement_command(file: str, bank: str, branch_code: str) -> None:
        """Import a bank statement CSV for a branch and match its credits, with progress bars."""
        if bank not in BANK_FORMATS:
            raise click.BadParameter(f"choose one of {', '.join(sorted(BANK_FORMATS))}", param_hint="--bank")
        branch = db.session.scalar(select(Branch).where(Branch.code == branch_code.upper()))
        if branch is None:
            raise click.BadParameter(f"no branch with code {branch_code!r}", param_hint="--branch")
        content = Path(file).read_bytes()
        with ExitStack() as bars:

            def progress(stage: str, total: int) -> Callable[[int], None]:
                label = {"rows": "reading rows", "credits": "matching credits"}.get(stage, stage)
                return bars.enter_context(click.progressbar(length=max(total, 1), label=label)).update

            try:
                report = import_statement(db.session, branch, bank, Path(file).name, content, None, utcnow(), progress)
            except DomainError as error:
                details = error.errors or {}
                rows = [m for field in details.values() for messages in field.values() for m in messages]
                raise click.ClickException("\n".join([error.message, *rows])) from error
        if report.already_imported:
            click.echo(f"{Path(file).name} was imported before (import {report.import_id}): nothing changed")
            return
        matched = ", ".join(f"{n} by {kind}" for kind, n in sorted(report.matched.items())) or "none"
        click.echo(
            f"import {report.import_id}: {report.credit_lines} credits ({report.new_lines} new), "
            f"{report.debit_lines} debits and {report.skipped_credits} credits with sen skipped; "
            f"matched {matched}; {report.unmatched} to review"
        )

    @app.cli.command("close-day")
    @click.option("--branch", "branch_code", help="Branch code; every branch when left out.")
    @click.option("--on", "on", required=True, help="The business day to close, YYYY-MM-DD.")
    def close_day_command(branch_code: str | None, on: str) -> None:
        """Close a day into agents' batches for finance (the schedule does this at each branch's day end)."""
        try:
            day = date.fromisoformat(on)
        except ValueError as error:
            raise click.BadParameter("write the day as YYYY-MM-DD", param_hint="--on") from error
        query = select(Branch).order_by(Branch.code)
        if branch_code:
            query = query.where(Branch.code == branch_code.upper())
        for branch in list(db.session.scalars(query)):
            click.echo(f"{branch.code}: {close_day(db.session, branch.id, day, utcnow())} batch(es) closed")

    @app.cli.command("import-sponsored")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
    @click.option("--programme", "programme_code", required=True, help="The programme's code (e.g. BASEL-APBD-2025).")
    @english
    def import_sponsored_command(file: str, programme_code: str) -> None:
        """Enrol a sponsor's list (CSV) into a programme, with a progress bar; the same file again changes nothing."""
        programme = programme_by_code(db.session, programme_code)
        if programme is None:
            raise click.BadParameter(f"no programme with code {programme_code!r}", param_hint="--programme")
        content = Path(file).read_bytes()
        rows = max(content.count(b"\n"), 1)
        try:
            with click.progressbar(length=rows, label=f"{programme.code} {Path(file).name}") as bar:
                record, new = import_file(db.session, None, programme, Path(file).name, content, utcnow(), bar.update)
        except DomainError as error:
            details = [
                f"  {field}: {' '.join(messages)}" for field, messages in (error.errors or {}).get("files", {}).items()
            ]
            raise click.ClickException("\n".join([error.message, *details])) from error
        if not new and record.status == "done":
            click.echo(f"{Path(file).name} was imported before (import {record.id}): nothing changed")
        click.echo(
            f"import {record.id}: {record.rows_total} rows: {record.created} created, {record.sponsored} sponsored, "
            f"{record.unchanged} unchanged, {record.rejected} rejected"
        )
        for row in report_rows(record, "rejected")[:50]:
            click.echo(f"  row {row['row']} ({row['nik']}): {row.get('field')}: {row.get('reason')}")
        if record.rejected > 50:
            click.echo(f"  … and {record.rejected - 50} more rejected rows (GET /api/v1/sponsor-imports/{record.id})")

    @app.cli.group("remittance")
    def remittance_group() -> None:
        """Remittance files for BPJS Ketenagakerjaan's national system."""

    @remittance_group.command("make")
    @click.option("--branch", "branch_code", required=True, help="Branch code, e.g. PKP.")
    def remittance_make(branch_code: str) -> None:
        """Make the branch's next file now (what came since its last one) and write it to the pick-up folder."""
        try:
            branch = remittance.branch_by_code(db.session, branch_code)
        except DomainError as error:
            raise click.BadParameter(error.message, param_hint="--branch") from error
        record = remittance.make_file(db.session, branch.id, utcnow())
        pickup_dir = Path(current_app.config["REMITTANCE_PICKUP_DIR"])
        folder = remittance.pickup_folder(pickup_dir, branch.code)
        written = remittance.write_pickup(db.session, branch.id, pickup_dir)
        if record is None:
            click.echo(f"{branch.code}: nothing new since the last file; no file made")
        else:
            total = f"{record.total_idr:,}".replace(",", ".")
            click.echo(f"{record.name}: {record.line_count} lines, total Rp{total}, sha256 {record.sha256}")
        for path in written:
            click.echo(f"written: {folder / path.name}")

    @app.cli.command("import-members")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, readable=True))
    @click.option("--branch", "branch_code", required=True, help="The branch's code (e.g. PKP).")
    @click.option(
        "--agents",
        "agents_file",
        type=click.Path(exists=True, dir_okay=False, readable=True),
        help="A CSV kpj,agent_code: the agent who serves each member, set after the import.",
    )
    @click.option(
        "--assign-by-area",
        is_flag=True,
        help="Then give members still without an agent to the one active agent whose areas cover their village "
        "or district.",
    )
    @english
    def import_members_command(file: str, branch_code: str, agents_file: str | None, assign_by_area: bool) -> None:
        """Load a branch's existing members from the national system's export (CSV), with a progress bar; the same
        file again changes nothing."""
        branch = db.session.scalar(select(Branch).where(Branch.code == branch_code.strip().upper()))
        if branch is None:
            raise click.BadParameter(f"no branch with code {branch_code!r}", param_hint="--branch")
        content = Path(file).read_bytes()
        rows = max(content.count(b"\n"), 1)
        try:
            with click.progressbar(length=rows, label=f"{branch.code} {Path(file).name}") as bar:
                record, new = national_imports.import_file(
                    db.session, None, branch, Path(file).name, content, utcnow(), bar.update
                )
            report = (
                assign_agents(db.session, None, branch, Path(agents_file).read_bytes(), utcnow())
                if agents_file
                else None
            )
            by_area = assign_by_area_service(db.session, None, branch.id, utcnow()) if assign_by_area else None
        except DomainError as error:
            details = [
                f"  {field}: {' '.join(messages)}" for field, messages in (error.errors or {}).get("files", {}).items()
            ]
            raise click.ClickException("\n".join([error.message, *details])) from error
        if not new and record.status == "done":
            click.echo(f"{Path(file).name} was imported before (import {record.id}): nothing changed")
        click.echo(
            f"import {record.id}: {record.rows_total} rows: {record.created} created, {record.existing} already in "
            f"iuran, {record.unchanged} unchanged, {record.rejected} rejected"
        )
        not_created = [r for r in national_imports.report_rows(record) if r["outcome"] in ("rejected", "existing")]
        for row in not_created[:50]:
            click.echo(f"  row {row['row']} ({row['kpj']}): {row['outcome']}: {row.get('field')}: {row.get('reason')}")
        if len(not_created) > 50:
            click.echo(f"  … and {len(not_created) - 50} more (GET /api/v1/national-imports/{record.id})")
        if report is not None:
            click.echo(f"agents: {report.assigned} assigned, {report.unchanged} unchanged, {report.rejected} rejected")
            for line in [r for r in report.rows if r.outcome == "rejected"][:50]:
                click.echo(f"  row {line.row} ({line.kpj}): {line.field}: {line.reason}")
        if by_area is not None:
            echo_area_assignment(by_area)

    @app.cli.command("end-sessions")
    @click.argument("username")
    def end_sessions(username: str) -> None:
        """End every web session and API token of a user at once (a lost phone, a password seen by someone)."""
        user = db.session.scalar(select(StaffUser).where(StaffUser.username == username.strip().lower()))
        if user is None:
            raise click.ClickException(f"There is no user {username!r}.")
        ended = end_sessions_of(db.session, user.id, None, utcnow())
        db.session.commit()
        click.echo(f"{user.username}: {ended} sessions and tokens ended; the next request of each is asked to log in")
