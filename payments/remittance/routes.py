"""The remittance API: a branch's files (with overdue acknowledgements), one file, its CSV, the acknowledgement."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from core.clock import app_now
from core.extensions import db
from organisation.auth import current_user, require_roles
from payments.remittance.schemas import AcknowledgementSchema, RemittanceFileSchema
from payments.remittance.services import (
    ACKNOWLEDGERS,
    READERS,
    FileView,
    acknowledge,
    file_content,
    get_file,
    list_files,
)

bp = Blueprint("remittance", __name__, description="Remittance files for BPJS Ketenagakerjaan's national system")


def file_body(view: FileView) -> dict[str, Any]:
    f = view.file
    return {
        "id": f.id,
        "branch_id": f.branch_id,
        "sequence": f.sequence,
        "name": f.name,
        "business_date": f.business_date,
        "made_at": f.made_at,
        "line_count": f.line_count,
        "total_idr": f.total_idr,
        "body_sha256": f.body_sha256,
        "sha256": f.sha256,
        "size_bytes": f.size_bytes,
        "acknowledged_at": f.acknowledged_at,
        "acknowledged_by": view.acknowledged_by,
        "acknowledgement_reference": f.acknowledgement_reference,
        "acknowledgement_due_on": view.acknowledgement_due_on,
        "overdue": view.overdue,
    }


@bp.route("/branches/<int:branch_id>/remittance-files")
class BranchRemittanceFiles(MethodView):
    @require_roles(*READERS)
    @bp.response(200, RemittanceFileSchema(many=True))
    @bp.paginate()
    def get(self, branch_id: int, pagination_parameters: Any) -> list[dict[str, Any]]:
        """The branch's files, newest first; ``overdue`` marks one not acknowledged after 2 working days."""
        pp = pagination_parameters
        views, total = list_files(
            db.session, current_user(), branch_id, app_now(), offset=pp.first_item, limit=pp.page_size
        )
        pp.item_count = total
        return [file_body(view) for view in views]


@bp.route("/remittance-files/<int:file_id>")
class RemittanceFileById(MethodView):
    @require_roles(*READERS)
    @bp.response(200, RemittanceFileSchema)
    def get(self, file_id: int) -> dict[str, Any]:
        """One file's figures, checksums and acknowledgement."""
        return file_body(get_file(db.session, current_user(), file_id, app_now()))


@bp.route("/remittance-files/<int:file_id>/csv")
class RemittanceFileCsv(MethodView):
    @require_roles(*READERS)
    @bp.response(200, content_type="text/csv", description="The file's bytes, exactly as made")
    def get(self, file_id: int) -> Response:
        """Download the file (the same bytes every time; ``X-Checksum-SHA256`` is their hash)."""
        record, content = file_content(db.session, current_user(), file_id, app_now())
        response = Response(content, mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{record.name}"'
        response.headers["X-Checksum-SHA256"] = record.sha256 or ""
        response.headers["Cache-Control"] = "no-store"
        return response


@bp.route("/remittance-files/<int:file_id>/acknowledgement")
class RemittanceAcknowledgement(MethodView):
    @require_roles(*ACKNOWLEDGERS)
    @bp.arguments(AcknowledgementSchema)
    @bp.response(200, RemittanceFileSchema)
    @bp.alt_response(409, description="The file was acknowledged before with another reference")
    def post(self, payload: dict[str, Any], file_id: int) -> dict[str, Any]:
        """Record the national system's acknowledgement of the file (who, when, its reference); audited."""
        return file_body(acknowledge(db.session, current_user(), file_id, payload["reference"], app_now()))
