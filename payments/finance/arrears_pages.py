"""The finance desk's arrears page (/keuangan/tunggakan): members and rupiah by months owed, and the list of whom
to chase by agent and village, in pages, with its CSV (the API's chase list, collection/members/chase.py)."""

from __future__ import annotations

from flask import Response, g, render_template, stream_with_context, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext, pgettext

from collection.members.chase import CHASE_STATUSES, chase_csv
from core.charts import Series, bar_chart
from core.clock import app_now
from core.csvexport import csv_filename
from core.extensions import db
from core.i18n import label
from core.paging import asked_page, desk_page, desk_window
from payments.finance import reports
from payments.finance.arrears import arrears_list
from payments.finance.desk import bp, branch_today, csv_response, finance_required, wants_csv

AGEING_HEADER = ("on", "bucket", "members", "owed_idr")


@bp.get("/tunggakan")
@finance_required
def ageing_page() -> ResponseReturnValue:
    """Members by months owed (1, 2, 3) and lapsed, with what they owe now, active alongside; then whom to chase,
    by agent and village (members, months, amount, phone), a page at a time."""
    today = branch_today()
    ageing = reports.arrears_ageing(db.session, g.branch, today)
    number = asked_page()
    offset, limit = desk_window(number)
    chase = arrears_list(db.session, g.user, g.branch, today, app_now(), offset, limit)
    if wants_csv():
        rows: list[list[object]] = [
            [ageing.on, r.bucket, r.members, chase.owed_by_bucket[r.bucket]] for r in ageing.rows
        ]
        rows.append([ageing.on, "active", ageing.active, 0])
        return csv_response(csv_filename("arrears-ageing", g.branch.code, ageing.on), AGEING_HEADER, rows)
    counts = {r.bucket: r.members for r in ageing.rows}
    chart = bar_chart(
        [label("arrears_bucket", r.bucket) for r in ageing.rows],
        [Series(pgettext("members (finance)", "Members"), [r.members for r in ageing.rows], "#d48a00")],
        title=gettext("Members in arrears by age bucket"),
        description=gettext(
            "1 month: %(b1)s; 2 months: %(b2)s; 3 months: %(b3)s; lapsed: %(lapsed)s.",
            b1=counts["1 month"],
            b2=counts["2 months"],
            b3=counts["3 months"],
            lapsed=counts["lapsed"],
        ),
        height=240,
    )
    g.page_url = url_for("keuangan.ageing_page")
    return render_template(
        "keuangan/ageing.html",
        ageing=ageing,
        chart=chart,
        chase=chase,
        page=desk_page(chase.count, number),
    )


@bp.get("/tunggakan/daftar-tagih.csv")
@finance_required
def chase_list_csv() -> ResponseReturnValue:
    """The branch's whole chase list as CSV (the API's: KPJ, name, status, months and rupiah owed, last paid
    month, agent, village, phone), streamed."""
    lines = chase_csv(db.session, g.user, CHASE_STATUSES, app_now(), g.branch.id)
    response = Response(stream_with_context(lines), mimetype="text/csv")
    name = csv_filename("chase", g.branch.code, branch_today())
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
