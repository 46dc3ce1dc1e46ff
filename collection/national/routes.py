"""The national import API: a branch's existing members uploaded from the national system's export (small files at
once, large ones by a worker), the import's report, and the serving agents from a CSV."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_babel import gettext
from flask_smorest import Blueprint

from collection.members import csv_files
from collection.national import agents as national_agents
from collection.national import imports as national_import
from collection.national.models import NationalImport
from collection.national.schemas import (
    MemberAgentsSchema,
    MemberAgentsUploadSchema,
    NationalImportQuerySchema,
    NationalImportSchema,
    NationalUploadSchema,
)
from core.clock import app_now
from core.errors import ServiceUnavailable, field_error
from core.extensions import db
from core.idempotency import IDEMPOTENCY_DOC, idempotency_key
from organisation.auth import current_user, require_roles
from workers.queues import IMPORT_NATIONAL_FILE, job_alive, queue_import

bp = Blueprint("national", __name__, description="Members from the national system (BPJS Ketenagakerjaan) loaded")
ROLES = national_import.ROLES


@bp.route("/branches/<int:branch_id>/national-imports")
class Imports(MethodView):
    @require_roles(*ROLES)
    @bp.arguments(NationalUploadSchema, location="files")
    @bp.response(201, NationalImportSchema, description="Imported: the counts and the per-row report")
    @bp.alt_response(
        202, schema=NationalImportSchema, description="A large file: queued; GET the import for its progress"
    )
    @bp.alt_response(200, schema=NationalImportSchema, description="This file (or this key) was imported before")
    @bp.alt_response(409, description="The Idempotency-Key was used for another file")
    @bp.doc(**IDEMPOTENCY_DOC)
    def post(self, files: dict[str, Any], branch_id: int) -> Any:
        """Load the branch's existing members from the national system's export (multipart field ``file``)."""
        key = idempotency_key()
        branch = national_import.branch_for(db.session, current_user(), branch_id)
        upload = files["file"]
        content = upload.read(national_import.MAX_IMPORT_BYTES + 1)
        if len(content) > national_import.MAX_IMPORT_BYTES:
            raise field_error("file", national_import.too_large(), "files")
        now = app_now()
        record, new = national_import.start_import(
            db.session, current_user(), branch, upload.filename or "", content, now, key
        )
        if not new and record.status == "running" and not job_alive(_job_id(record)):
            _queue(record, content, now)  # its worker died (a timeout, a deploy): the import resumes
            return _view(record, True, None, 1, 100), 202
        if not new and record.status != "failed":
            return _view(record, True, None, 1, 100), 200 if record.status == "done" else 202
        inline_rows = current_app.config.get("NATIONAL_IMPORT_INLINE_ROWS", national_import.INLINE_ROWS)
        if record.rows_total <= inline_rows:
            record = national_import.run_import(db.session, record.id, content, now)
            return _view(record, False, None, 1, 100), 201
        _queue(record, content, now)
        return _view(record, False, None, 1, 100), 202


@bp.route("/national-imports/<int:import_id>")
class ImportById(MethodView):
    @require_roles(*ROLES)
    @bp.arguments(NationalImportQuerySchema, location="query")
    @bp.response(200, NationalImportSchema)
    def get(self, query: dict[str, Any], import_id: int) -> Any:
        """An import's progress (rows_done of rows_total) and, once done, its per-row report in pages."""
        record = national_import.import_for(db.session, current_user(), import_id)
        return _view(record, False, query.get("outcome"), query["page"], query["page_size"])


@bp.route("/branches/<int:branch_id>/member-agents")
class MemberAgents(MethodView):
    @require_roles(*ROLES)
    @bp.arguments(MemberAgentsUploadSchema, location="files")
    @bp.response(200, MemberAgentsSchema, description="Each row assigned, unchanged or rejected with its reason")
    def post(self, files: dict[str, Any], branch_id: int) -> Any:
        """Set the agent who serves each member (by KPJ) from a CSV ``kpj,agent_code``; the same file again is a
        no-op (the enrolling agent, who earned the acquisition incentive, is never changed)."""
        branch = national_import.branch_for(db.session, current_user(), branch_id)
        content = files["file"].read(national_agents.MAX_ASSIGNMENT_BYTES + 1)
        if len(content) > national_agents.MAX_ASSIGNMENT_BYTES:
            raise field_error(
                "file",
                gettext(
                    "The file is over %(size)s MB: split it in parts.",
                    size=national_agents.MAX_ASSIGNMENT_BYTES // 1_000_000,
                ),
                "files",
            )
        report = national_agents.assign_agents(db.session, current_user(), branch, content, app_now())
        return {**vars(report), "rows": report.compact_rows()}


def _view(
    record: NationalImport, already_imported: bool, outcome: str | None, page: int, page_size: int
) -> dict[str, Any]:
    rows = national_import.report_rows(record, outcome)
    start = (page - 1) * page_size
    view = {column: getattr(record, column) for column in NationalImportSchema().fields if hasattr(record, column)}
    page_rows = csv_files.worded_rows(rows[start : start + page_size])
    view |= {"already_imported": already_imported, "rows": page_rows, "rows_matching": len(rows)}
    return view


def _job_id(record: NationalImport) -> str:
    return f"national-import-{record.id}"


def _queue(record: NationalImport, content: bytes, now: datetime) -> None:
    """Keep the file in the database, where a worker on any host finds it, and enqueue its import (after the
    commit that registered it)."""
    national_import.keep_upload(db.session, record.id, content, now)
    if not queue_import(IMPORT_NATIONAL_FILE, record.id, _job_id(record)):
        raise ServiceUnavailable(
            gettext(
                "The import could not be queued (the job queue is unavailable): upload the same file again in a minute."
            )
        )
