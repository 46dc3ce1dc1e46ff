"""The finance desk's remittance pages (/keuangan/remitansi): the branch's files, those not acknowledged after 2
working days, the download, and the form that records the national system's acknowledgement."""

from __future__ import annotations

from flask import Blueprint, Response, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from core.clock import app_now
from core.errors import DomainError
from core.extensions import db
from payments.finance.desk import DECIDERS, bp, finance_required, refusal_page
from payments.remittance.services import acknowledge, file_content, list_files, overdue_files

# No routes: only the folder of these pages' templates, so they live beside the code that renders them.
templates = Blueprint("remittance_pages", __name__, template_folder="templates")
PAGE_FILES = 60


@bp.get("/remitansi")
@finance_required
def remittance_page() -> ResponseReturnValue:
    """The branch's latest files, newest first, with the overdue ones on top and the acknowledgement form."""
    try:
        views, total = list_files(db.session, g.user, g.branch.id, app_now(), limit=PAGE_FILES)
        overdue = overdue_files(db.session, g.user, g.branch.id, app_now())
    except DomainError as refused:
        return refusal_page(refused)
    g.page_url = url_for("keuangan.remittance_page")
    return render_template(
        "keuangan/remittance.html",
        views=views,
        total=total,
        overdue=overdue,
        can_acknowledge=g.user.role in DECIDERS,
    )


@bp.get("/remitansi/<int:file_id>/unduh")
@finance_required
def download_remittance(file_id: int) -> ResponseReturnValue:
    """The file's bytes, exactly as made."""
    try:
        record, content = file_content(db.session, g.user, file_id, app_now())
    except DomainError as refused:
        return refusal_page(refused)
    response = Response(content, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{record.name}"'
    response.headers["X-Checksum-SHA256"] = record.sha256 or ""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/remitansi/<int:file_id>/konfirmasi")
@finance_required
def acknowledge_remittance(file_id: int) -> ResponseReturnValue:
    """Record the national system's acknowledgement (finance and admins; a supervisor gets a 403)."""
    try:
        view = acknowledge(db.session, g.user, file_id, request.form.get("reference", ""), app_now())
    except DomainError as refused:
        return refusal_page(refused)
    flash(gettext("The acknowledgement of %(name)s is recorded.", name=view.file.name))
    return redirect(url_for("keuangan.remittance_page"), code=303)
