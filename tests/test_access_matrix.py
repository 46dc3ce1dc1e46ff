"""The access matrix, kept: every operation in the OpenAPI, as every kind of caller, answers the class it should.

Callers: nobody (no token), the agent, supervisor and finance of branch A, the same roles of branch B acting on
branch A's objects, and an admin. Every path id points at one of branch A's real objects (tests/two_branches.py).
Classes:

- ``OK``: the caller may: 2xx, or a 400/409/422 that refuses the request on its merits (a state or a field);
- ``401``: no token; ``403``: the caller's role may not do this;
- ``HID``: another branch's object: 404 or 403, never its data;
- ``REF``: another branch's id in the body: 403, 404 or a 422 naming the field, never done.

Every answer to nobody and to branch B's callers must also be free of branch A's secrets (NIKs, KPJs, receipt
numbers, order ids, bank references): a list that answers 200 shows branch B's own rows only.

A new route without a row fails ``test_every_operation_has_a_row``; so does a row whose operation is gone. Rows are
run in table order on one world per database, callers that must be refused first, so a refusal is checked before
branch A's own callers change anything.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest

from agents.roster.models import DeactivationProposal
from app import create_app
from collection.members.models import Member
from collection.members.paylinks import make_token
from collection.members.position import member_position
from core.clock import app_now
from core.extensions import db
from organisation.logins import start_web_session
from organisation.models import Agent, StaffUser
from payments.autodebit.models import Mandate
from payments.finance.desk import BRANCH_CHOICE
from payments.finance.models import MatchProposal
from payments.ledger.models import DailyBatch, Deposit, Payment
from payments.remittance.models import RemittanceFile
from payments.selfpay.models import SelfCharge
from tests.factories import PASSWORD, nik_for
from tests.two_branches import DAY, MONTH, TwoBranches, app_with_two_branches

OK, HID, REF = "ok", "404/403", "403/404/422"
ITEM_2 = "issue 10 item 2: finance of another branch sees branch A's data (fixed by scoping each capability's routes)"

CALLERS = ("anonymous", "agent_a", "supervisor_a", "finance_a", "agent_b", "supervisor_b", "finance_b", "admin")
# Who runs first: those who must be refused, then branch A's own callers (who may change things), then the admin.
RUN_ORDER = ("anonymous", "agent_b", "supervisor_b", "finance_b", "agent_a", "supervisor_a", "finance_a", "admin")

# fmt: off
MATRIX: dict[str, tuple[Any, ...]] = {
    # operation (under /api/v1)                                  anon agentA supA finA agentB supB finB admin
    "POST /auth/token":                                          (OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "GET /branches":                                             (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "GET /members":                                              (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "GET /members/chase.csv":                                    (401, 403, OK,  OK,  403, OK,  OK,  OK),
    "POST /members":                                             (401, OK,  OK,  403, REF, REF, 403, OK),
    "GET /members/{member_id}":                                  (401, OK,  OK,  OK,  HID, HID, HID, OK),
    "GET /members/{member_id}/schedule":                         (401, OK,  OK,  OK,  HID, HID, HID, OK),
    "GET /rates":                                                (OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "POST /contributions":                                       (401, OK,  403, 403, HID, 403, 403, 403),
    "POST /contributions/{payment_id}/reversal":                 (401, 403, OK,  403, 403, HID, 403, OK),
    "GET /receipts/{number}":                                    (401, OK,  OK,  OK,  HID, HID, HID, OK),
    "POST /deposits":                                            (401, OK,  403, 403, OK,  403, 403, 403),
    "GET /agents/me/cash":                                       (401, OK,  403, 403, OK,  403, 403, 403),
    "GET /alerts":                                               (401, 403, OK,  OK,  403, OK,  OK,  OK),
    "GET /mandates":                                             (401, OK,  OK,  OK,  HID, HID, HID, OK),
    "POST /mandates":                                            (401, OK,  OK,  403, HID, HID, 403, OK),
    "POST /mandates/{mandate_id}/pause":                         (401, OK,  OK,  403, HID, HID, 403, OK),
    "POST /mandates/{mandate_id}/resume":                        (401, OK,  OK,  403, HID, HID, 403, OK),
    "POST /mandates/{mandate_id}/cancel":                        (401, OK,  OK,  403, HID, HID, 403, OK),
    "GET /visits":                                               (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "GET /webhook-events/review":                                (401, 403, 403, OK,  403, 403, OK,  OK),
    "POST /webhook-events/{event_id}/resolution":                 (401, 403, 403, OK,  403, 403, HID, OK),
    "POST /settlements/{provider_name}":                         (401, 403, 403, OK,  403, 403, OK,  OK),
    "GET /settlement-imports/{import_id}":                       (401, 403, 403, OK,  403, 403, HID, OK),
    "POST /debit-runs":                                          (401, 403, 403, 403, 403, 403, 403, OK),
    "GET /statement-formats":                                    (401, OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "POST /branches/{branch_id}/statements":                     (401, 403, OK,  OK,  403, HID, HID, OK),
    "GET /statement-imports/{import_id}":                        (401, 403, OK,  OK,  403, HID, HID, OK),
    "GET /branches/{branch_id}/statement-lines":                 (401, 403, OK,  OK,  403, HID, HID, OK),
    "POST /statement-lines/{line_id}/proposals":                 (401, 403, OK,  OK,  403, HID, HID, OK),
    "POST /match-proposals/{proposal_id}/approve":               (401, 403, OK,  OK,  403, HID, HID, OK),
    "POST /match-proposals/{proposal_id}/reject":                (401, 403, OK,  OK,  403, HID, HID, OK),
    "GET /branches/{branch_id}/batches":                         (401, 403, OK,  OK,  403, HID, HID, OK),
    "POST /branches/{branch_id}/batches/close":                  (401, 403, OK,  OK,  403, HID, HID, OK),
    "GET /batches/{batch_id}":                                   (401, 403, OK,  OK,  403, HID, HID, OK),
    "POST /batches/{batch_id}/approve":                          (401, 403, 403, OK,  403, 403, HID, OK),
    "POST /batches/{batch_id}/return":                           (401, 403, 403, OK,  403, 403, HID, OK),
    "POST /batches/{batch_id}/answer":                           (401, OK,  403, 403, HID, 403, 403, 403),
    "POST /branches/{branch_id}/batches/approve-clean":          (401, 403, 403, OK,  403, 403, HID, OK),
    "GET /branches/{branch_id}/reports/arrears-ageing":          (401, 403, OK,  OK,  403, HID, HID, OK),
    "GET /branches/{branch_id}/reports/collections":             (401, 403, OK,  OK,  403, HID, HID, OK),
    "GET /branches/{branch_id}/reports/coverage":                (401, 403, OK,  OK,  403, HID, HID, OK),
    "PUT /branches/{branch_id}/coverage-targets/{year}":         (401, 403, OK,  OK,  403, HID, HID, OK),
    "GET /branches/{branch_id}/reports/collections-by-channel":  (401, 403, OK,  OK,  403, HID, HID, OK),
    "GET /branches/{branch_id}/reports/agent-scorecard":         (401, 403, OK,  OK,  403, HID, HID, OK),
    "GET /sponsors":                                             (401, 403, OK,  OK,  403, OK,  OK,  OK),
    "POST /sponsors":                                            (401, 403, OK,  OK,  403, OK,  OK,  OK),
    "GET /sponsor-programmes":                                   (401, 403, OK,  OK,  403, OK,  OK,  OK),
    "POST /sponsor-programmes":                                  (401, 403, OK,  OK,  403, REF, REF, OK),
    "GET /sponsor-programmes/{programme_id}":                    (401, 403, OK,  OK,  403, HID, HID, OK),
    "PATCH /sponsor-programmes/{programme_id}":                  (401, 403, OK,  OK,  403, HID, HID, OK),
    "GET /sponsor-programmes/{programme_id}/members":            (401, 403, OK,  OK,  403, HID, HID, OK),
    "POST /sponsor-programmes/{programme_id}/members":           (401, 403, OK,  OK,  403, HID, HID, OK),
    "POST /sponsor-programmes/{programme_id}/imports":           (401, 403, OK,  OK,  403, HID, HID, OK),
    "GET /sponsor-imports/{import_id}":                          (401, 403, OK,  OK,  403, HID, HID, OK),
    "GET /sponsor-programmes/{programme_id}/payments":           (401, 403, OK,  OK,  403, HID, HID, OK),
    "POST /sponsor-programmes/{programme_id}/payments":          (401, 403, OK,  OK,  403, HID, HID, OK),
    "GET /sponsor-payments/{sponsor_payment_id}":                (401, 403, OK,  OK,  403, HID, HID, OK),
    "GET /sponsor-payments/{sponsor_payment_id}/members":        (401, 403, OK,  OK,  403, HID, HID, OK),
    "POST /sponsor-programmes/{programme_id}/end":               (401, 403, OK,  403, 403, HID, HID, OK),
    "GET /sponsor-programmes/{programme_id}/retention":          (401, 403, OK,  OK,  403, HID, HID, OK),
    "POST /branches/{branch_id}/national-imports":               (401, 403, OK,  403, 403, HID, 403, OK),
    "GET /national-imports/{import_id}":                         (401, 403, OK,  403, 403, HID, 403, OK),
    "POST /branches/{branch_id}/member-agents":                  (401, 403, OK,  403, 403, HID, 403, OK),
    "GET /branches/{branch_id}/incentives/{month}":              (401, 403, OK,  OK,  403, HID, HID, OK),
    "GET /branches/{branch_id}/incentives/{month}/agents/{agent_id}": (401, 403, OK, OK, 403, HID, HID, OK),
    "POST /branches/{branch_id}/incentives/{month}/approve":     (401, 403, 403, OK,  403, 403, HID, OK),
    "GET /agents/me/incentives/{month}":                         (401, OK,  403, 403, OK,  403, 403, 403),
    "GET /branches/{branch_id}/remittance-files":                (401, 403, OK,  OK,  403, HID, HID, OK),
    "GET /remittance-files/{file_id}":                           (401, 403, OK,  OK,  403, HID, HID, OK),
    "GET /remittance-files/{file_id}/csv":                       (401, 403, OK,  OK,  403, HID, HID, OK),
    "POST /remittance-files/{file_id}/acknowledgement":          (401, 403, 403, OK,  403, 403, HID, OK),
    # the roster (agents/roster): its changes run in this order on one agent of branch A
    "POST /branches/{branch_id}/agents":                         (401, 403, OK,  403, 403, HID, 403, OK),
    "GET /branches/{branch_id}/agents":                          (401, 403, OK,  OK,  403, HID, HID, OK),
    "GET /agents/{agent_id}":                                    (401, 403, OK,  OK,  403, HID, HID, OK),
    "PATCH /agents/{agent_id}":                                  (401, 403, OK,  403, 403, HID, 403, OK),
    "POST /agents/{agent_id}/deactivate":                        (401, 403, OK,  403, 403, HID, 403, OK),
    "POST /agents/{agent_id}/reactivate":                        (401, 403, OK,  403, 403, HID, 403, OK),
    "POST /agents/{agent_id}/terminate":                         (401, 403, OK,  403, 403, HID, 403, OK),
    "POST /agents/{agent_id}/hand-over":                         (401, 403, OK,  403, 403, HID, 403, OK),
    # finance declares the setoran of an agent no longer active (the roster agent, terminated above: no cash, 422)
    "POST /agents/{agent_id}/deposits":                          (401, 403, 403, OK,  403, 403, HID, OK),
    "POST /deposits/{deposit_id}/correction":                    (401, 403, 403, OK,  403, 403, HID, OK),
    "POST /branches/{branch_id}/member-agents/by-area":          (401, 403, OK,  403, 403, HID, 403, OK),
    "GET /branches/{branch_id}/agent-proposals":                 (401, 403, OK,  403, 403, HID, 403, OK),
    "POST /agent-proposals/{proposal_id}/accept":                (401, 403, OK,  403, 403, HID, 403, OK),
    "POST /agent-proposals/{proposal_id}/dismiss":               (401, 403, OK,  403, 403, HID, 403, OK),
    "POST /auth/password":                                       (OK,  OK,  OK,  OK,  OK,  OK,  OK,  OK),
    "POST /branches":                                            (401, 403, 403, 403, 403, 403, 403, OK),
    "GET /branches/{branch_id}":                                 (401, OK,  OK,  OK,  HID, HID, HID, OK),
    "PATCH /branches/{branch_id}":                               (401, 403, 403, 403, 403, 403, 403, OK),
    "GET /wadahs":                                               (401, 403, OK,  403, 403, OK,  403, OK),
    "POST /wadahs":                                              (401, 403, OK,  403, 403, REF, 403, OK),
    "PATCH /wadahs/{wadah_id}":                                  (401, 403, OK,  403, 403, HID, 403, OK),
    "GET /staff":                                                (401, 403, OK,  403, 403, OK,  403, OK),
    "POST /staff":                                               (401, 403, OK,  403, 403, REF, 403, OK),
    "PATCH /staff/{user_id}":                                    (401, 403, OK,  403, 403, HID, 403, OK),
    "POST /staff/{user_id}/password-reset":                      (401, 403, OK,  403, 403, HID, 403, OK),
    "POST /staff/{user_id}/disable":                             (401, 403, OK,  403, 403, HID, 403, OK),
    "POST /staff/{user_id}/enable":                              (401, 403, OK,  403, 403, HID, 403, OK),
}
# fmt: on

# Cells known to be wrong today, with the issue that fixes them. Strict: once fixed, the cell passes and the
# xfail fails, so the line is deleted here.
KNOWN: dict[tuple[str, str], str] = {}


# --- what each operation is sent ------------------------------------------------------------------------------


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


def _csv_file(text: str, name: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(text.encode()), name


def path_values(world: TwoBranches, operation: str) -> dict[str, Any]:
    """Every path parameter, as one of branch A's objects."""
    ids = world.ids
    return {
        "member_id": ids["member"],
        "payment_id": ids["payment"],
        "number": ids["receipt_number"],
        "mandate_id": ids["mandate"],
        "provider_name": "midtrans",
        "branch_id": world.a,
        "line_id": ids["line"],
        "proposal_id": ids[
            ("agent_proposal" if "/agent-proposals/" in operation else "proposal")
            + ("_2" if operation.endswith(("/reject", "/dismiss")) else "")
        ],
        "batch_id": ids["batch"],
        "deposit_id": ids["deposit"],
        "year": 2026,
        "programme_id": ids["programme"],
        "import_id": ids[
            "settlement_import"
            if operation.startswith("GET /settlement-imports")
            else "statement_import"
            if operation.startswith("GET /statement-imports")
            else "national_import"
            if operation.startswith("GET /national-imports")
            else "import"
        ],
        "sponsor_payment_id": ids["sponsor_payment"],
        "month": MONTH,
        "agent_id": ids["roster_agent"]
        if operation.split(" ", 1)[1].startswith("/agents/{agent_id}")
        else world.staff["agent_a"].agent_id,
        "file_id": ids["remittance_file"],
        "wadah_id": ids["wadah"],
        "user_id": ids["clerk"],
        "event_id": ids["review_event"],  # a member's own charge (SP-) paid with another amount: in review
    }


Request = Callable[[TwoBranches, str], dict[str, Any]]

# What each operation is sent besides its path: a valid request naming branch A's objects, so that a refusal can
# only come from who is asking, never from a missing field. ``caller`` makes bodies unique where a repeat would be
# refused as a duplicate.
REQUESTS: dict[str, Request] = {
    "POST /auth/token": lambda w, caller: {
        "json": {"username": "agent.a" if caller == "anonymous" else w.staff[caller].username, "password": PASSWORD}
    },
    "GET /members": lambda w, caller: {"query_string": {"q": w.ids["member_name"]}},
    # every status: branch A's members would be in branch B's answer if the list were not scoped
    "GET /members/chase.csv": lambda w, caller: {"query_string": {"status": "active,in_arrears,lapsed"}},
    "POST /members": lambda w, caller: {
        "json": {
            "nik": nik_for(serial=100 + CALLERS.index(caller)),
            "name": "anggota matriks",
            "occupation": "pedagang",
            "sector": "other",
            "declared_income_idr": 1_500_000,
            "package": "JKK+JKM",
            "branch_id": w.a,
        }
    },
    "POST /contributions": lambda w, caller: {
        "json": {"member_id": w.ids["member"], "months": 1},
        "headers": _key(),
    },
    "POST /contributions/{payment_id}/reversal": lambda w, caller: {"json": {"reason": "salah catat"}},
    "POST /deposits": lambda w, caller: {
        "json": {"amount_idr": 1_000, "bank_reference": f"SETOR-{caller}"},
        "headers": _key(),
    },
    "GET /mandates": lambda w, caller: {"query_string": {"member_id": w.ids["member"]}},
    "POST /mandates": lambda w, caller: {
        "json": {
            "member_id": w.ids["member"],
            "provider": "midtrans",
            "account": "081234567890",
            "months_per_debit": 1,
        },
        "headers": _key(),
    },
    "POST /mandates/{mandate_id}/pause": lambda w, caller: {"json": {"reason": "anggota ke luar kota"}},
    "POST /mandates/{mandate_id}/resume": lambda w, caller: {"json": {"reason": "anggota kembali"}},
    "POST /mandates/{mandate_id}/cancel": lambda w, caller: {"json": {"reason": "permintaan anggota"}},
    "POST /settlements/{provider_name}": lambda w, caller: {
        "data": "order_id,transaction_id,gross_amount,settlement_time\n"
        f"X-{caller},trx-{caller},8400.00,2026-11-22 08:00:00\n",
        "content_type": "text/csv",
    },
    "POST /branches/{branch_id}/statements": lambda w, caller: {
        "data": {
            "bank": "generic",
            "file": _csv_file(f"date,description,reference,amount\n2026-11-21,TRF {caller},,5000\n", "m.csv"),
        },
        "content_type": "multipart/form-data",
    },
    "POST /statement-lines/{line_id}/proposals": lambda w, caller: {
        "json": {"action": "ignore", "reason": "bukan setoran kami"}
    },
    "POST /match-proposals/{proposal_id}/approve": lambda w, caller: {"json": {"note": "sudah diperiksa"}},
    "POST /match-proposals/{proposal_id}/reject": lambda w, caller: {"json": {"note": "bukan bunga"}},
    "POST /webhook-events/{event_id}/resolution": lambda w, caller: {
        "json": {"note": "dikembalikan ke anggota", "outcome": "refunded"}
    },
    "GET /branches/{branch_id}/batches": lambda w, caller: {"query_string": {"date": DAY.isoformat()}},
    "POST /branches/{branch_id}/batches/close": lambda w, caller: {"json": {"date": DAY.isoformat()}},
    "POST /batches/{batch_id}/approve": lambda w, caller: {"json": {"note": "selisih sudah dijelaskan"}},
    "POST /batches/{batch_id}/return": lambda w, caller: {"json": {"reason": "setoran kurang"}},
    "POST /batches/{batch_id}/answer": lambda w, caller: {"json": {"note": "slip setoran sudah dikirim"}},
    "POST /branches/{branch_id}/batches/approve-clean": lambda w, caller: {"json": {"date": DAY.isoformat()}},
    "PUT /branches/{branch_id}/coverage-targets/{year}": lambda w, caller: {
        "json": {"targets": [{"regency_code": "1971", "target_population": 5_000}]}
    },
    "POST /sponsors": lambda w, caller: {
        "json": {"kind": "donor", "name": f"Yayasan {caller.replace('_', ' ')}", "region_code": None}
    },
    "POST /sponsor-programmes": lambda w, caller: {
        "json": {
            "code": f"MX-{caller}",
            "name": "Programme matriks",
            "sponsor_id": w.ids["sponsor"],
            "branch_id": w.a,
            "package": "JKK+JKM",
            "first_month": "2026-12",
            "months": 2,
            "budget_idr": 1_000_000,
        }
    },
    "PATCH /sponsor-programmes/{programme_id}": lambda w, caller: {"json": {"budget_idr": 60_000_000}},
    "POST /sponsor-programmes/{programme_id}/members": lambda w, caller: {
        "json": {"nik": w.ids["new_nik"], "name": "matrixa tambahan", "birth_date": "1986-05-06"}
    },
    "POST /sponsor-programmes/{programme_id}/imports": lambda w, caller: {
        "data": {
            "file": _csv_file(
                f"nik,name,birth_date,phone,occupation,village\n"
                f"{nik_for(serial=200 + CALLERS.index(caller))},peserta {caller.replace('_', ' ')},"
                f"12-01-1990,081300000099,petani,Gerunggang\n",
                "peserta.csv",
            )
        },
        "content_type": "multipart/form-data",
    },
    "POST /sponsor-programmes/{programme_id}/payments": lambda w, caller: {"json": {}, "headers": _key()},
    "POST /remittance-files/{file_id}/acknowledgement": lambda w, caller: {"json": {"reference": f"BPJS-ACK-{caller}"}},
    "POST /branches/{branch_id}/agents": lambda w, caller: {
        "json": {
            "nik": nik_for(serial=400 + CALLERS.index(caller)),
            "name": "perisai matriks",
            "phone": f"0813-4200-{CALLERS.index(caller):04d}",
            "wadah_id": w.ids["wadah"],
            "areas": ["Gerunggang"],
        },
        "headers": _key(),
    },
    "PATCH /agents/{agent_id}": lambda w, caller: {"json": {"phone": "0813-7777-0000", "areas": ["Semabung"]}},
    "POST /agents/{agent_id}/deactivate": lambda w, caller: {"json": {"reason": "tiga bulan tanpa transaksi"}},
    "POST /agents/{agent_id}/reactivate": lambda w, caller: {"json": {"reason": "kembali bekerja"}},
    "POST /agents/{agent_id}/terminate": lambda w, caller: {"json": {"reason": "penipuan setoran"}},
    "POST /agents/{agent_id}/hand-over": lambda w, caller: {"json": {"to_agent_id": w.staff["agent_a"].agent_id}},
    # branch A's deposit, matched in full: finance is refused on its merits (409, not short)
    "POST /deposits/{deposit_id}/correction": lambda w, caller: {
        "json": {"amount_idr": 1_000, "reason": "bank mengkredit kurang"}
    },
    "POST /agents/{agent_id}/deposits": lambda w, caller: {
        "json": {"amount_idr": 1_000, "bank_reference": f"SETOR-{caller}", "deposited_on": DAY.isoformat()},
        "headers": _key(),
    },
    "POST /agent-proposals/{proposal_id}/accept": lambda w, caller: {"json": {"note": "setuju"}},
    "POST /agent-proposals/{proposal_id}/dismiss": lambda w, caller: {"json": {"note": "masih aktif"}},
    # the same password again: checked through the login, refused (422) before anything changes
    "POST /auth/password": lambda w, caller: {
        "json": {
            "username": "agent.a" if caller == "anonymous" else w.staff[caller].username,
            "password": PASSWORD,
            "new_password": PASSWORD,
        }
    },
    "POST /branches": lambda w, caller: {
        "json": {
            "code": f"MX{CALLERS.index(caller)}",
            "name": "Cabang matriks",
            "province_code": "19",
            "regency_code": "1971",
        }
    },
    "PATCH /branches/{branch_id}": lambda w, caller: {"json": {"name": "Kantor Cabang PKP"}},
    "POST /wadahs": lambda w, caller: {"json": {"branch_id": w.a, "name": f"Wadah {caller}"}},
    "PATCH /wadahs/{wadah_id}": lambda w, caller: {"json": {"agreement_ref": f"PKS-{caller}"}},
    "POST /staff": lambda w, caller: {
        "json": {
            "username": f"baru.{CALLERS.index(caller)}",
            "full_name": "Staf Matriks",
            "role": "branch_finance",
            "branch_id": w.a,
        }
    },
    "PATCH /staff/{user_id}": lambda w, caller: {"json": {"full_name": "Clerk A"}},
    "POST /branches/{branch_id}/national-imports": lambda w, caller: {
        "data": {
            "file": _csv_file(
                "kpj,nik,name,birth_date,phone,occupation,package,declared_income,period_started_on,paid_through\n"
                f"2319000{300 + CALLERS.index(caller):04d},{nik_for(serial=300 + CALLERS.index(caller))},"
                f"nasional {caller.replace('_', ' ')},12-01-1990,081300000098,petani,JKK+JKM,1000000,"
                "01-06-2025,2026-10\n",
                "nasional.csv",
            )
        },
        "headers": _key(),
        "content_type": "multipart/form-data",
    },
    "POST /branches/{branch_id}/member-agents": lambda w, caller: {
        "data": {"file": _csv_file(f"kpj,agent_code\n{w.ids['national_kpj']},A-{w.staff['agent_a'].id}\n", "a.csv")},
        "content_type": "multipart/form-data",
    },
}


def no_body(world: TwoBranches, caller: str) -> dict[str, Any]:
    return {}


def call(client: Any, world: TwoBranches, operation: str, caller: str) -> Any:
    """Send ``operation`` as ``caller`` with its path filled from branch A's objects."""
    method, template = operation.split(" ", 1)
    request = REQUESTS.get(operation, no_body)(world, caller)
    headers = dict(request.pop("headers", {}))
    if caller != "anonymous":
        headers |= world.staff[caller].headers
    path = "/api/v1" + template.format(**path_values(world, operation))
    return client.open(path, method=method, headers=headers, **request)


# --- the classes ----------------------------------------------------------------------------------------------


def in_class(expected: Any, status: int) -> bool:
    if expected == OK:
        return 200 <= status < 300 or status in (400, 409, 422)
    if expected == HID:
        return status in (403, 404)
    if expected == REF:
        return status in (403, 404, 422)
    return bool(status == expected)


def leaked(world: TwoBranches, body: str) -> list[str]:
    """Branch A's secrets found in an answer to someone who may not see them."""
    lowered = body.lower()
    return sorted(s for s in world.secrets if s.lower() in lowered)


def must_not_see_branch_a(caller: str) -> bool:
    return caller == "anonymous" or caller.endswith("_b")


def check(world: TwoBranches, response: Any, expected: Any, caller: str, what: str) -> None:
    body = response.get_data(as_text=True)
    status = response.status_code
    assert status < 500, f"{what}: {status} {body[:500]}"
    assert in_class(expected, status), f"{what}: expected {expected}, got {status} {body[:500]}"
    if must_not_see_branch_a(caller):
        assert not leaked(world, body), f"{what}: {status} shows branch A's {leaked(world, body)}: {body[:500]}"


# --- the world, once per database ---------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def matrix(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    """Two branches full of objects on one database (the cells run in order against it); its app."""
    with app_with_two_branches(request, request.param, tmp_path_factory.mktemp("matrix")) as (app, world):
        yield app, world


def _cells() -> list[Any]:
    cells = []
    for operation, row in MATRIX.items():
        for caller in RUN_ORDER:
            expected = row[CALLERS.index(caller)]
            marks = (
                [pytest.mark.xfail(reason=KNOWN[operation, caller], strict=True)]
                if (operation, caller) in KNOWN
                else []
            )
            cells.append(pytest.param(operation, caller, expected, id=f"{operation} as {caller}", marks=marks))
    return cells


@pytest.mark.parametrize(("operation", "caller", "expected"), _cells())
def test_the_operation_answers_the_caller_as_the_table_says(matrix, operation, caller, expected):
    app, world = matrix
    response = call(app.test_client(), world, operation, caller)

    check(world, response, expected, caller, f"{operation} as {caller}")
    if response.status_code in (401, 403, 404):
        envelope = response.get_json()
        assert {"code", "status", "message"} <= set(envelope), envelope
        assert envelope["code"] == response.status_code


# --- the table is complete ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "test"})
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()  # type: ignore[no-any-return]


def operations(spec: dict[str, Any]) -> set[str]:
    methods = {"get", "post", "put", "patch", "delete", "head", "options"}
    return {
        f"{method.upper()} {path.removeprefix('/api/v1')}"
        for path, item in spec["paths"].items()
        for method in item
        if method in methods
    }


def test_every_operation_has_a_row_and_every_row_an_operation(openapi):
    documented = operations(openapi)

    assert sorted(documented - MATRIX.keys()) == [], "add a row to MATRIX for each new operation"
    assert sorted(MATRIX.keys() - documented) == [], "these rows name operations no longer in the OpenAPI"
    assert all(len(row) == len(CALLERS) for row in MATRIX.values())
    assert set(REQUESTS) <= set(MATRIX), "a request for an operation that has no row"


def test_every_path_parameter_has_an_object_of_branch_a(openapi):
    world = TwoBranches(a=1, b=2, staff={"agent_a": _StaffStub()}, ids=dict.fromkeys(_ID_KEYS, 1))
    for operation in operations(openapi):
        template = operation.split(" ", 1)[1]
        template.format(**path_values(world, operation))  # a KeyError names the parameter without a value


_ID_KEYS = (
    "member", "payment", "receipt_number", "mandate", "line", "proposal", "proposal_2", "batch", "programme",
    "import", "sponsor_payment", "statement_import", "settlement_import", "remittance_file", "roster_agent",
    "agent_proposal", "agent_proposal_2", "wadah", "clerk", "national_import", "review_event", "deposit",
)  # fmt: skip


class _StaffStub:
    agent_id = 1


def test_the_table_is_one_of_the_classes_everywhere():
    assert {cell for row in MATRIX.values() for cell in row} <= {OK, HID, REF, 401, 403}
    assert all(caller in CALLERS for _, caller in KNOWN) and all(op in MATRIX for op, _ in KNOWN)


# --- the web pages: the agents' app, finance's desktop, the public receipt and the webhooks --------------------

LOGIN, BACK = "to login", "303 back, nothing done"

# fmt: off
WEB: dict[str, tuple[Any, ...]] = {
    # method and Flask rule                                     anon   agentA supA   finA   agentB supB   finB   admin
    "GET /agen/":                                               (LOGIN, OK,   LOGIN, LOGIN, OK,   LOGIN, LOGIN, LOGIN),
    "GET /agen/cari":                                           (LOGIN, OK,   LOGIN, LOGIN, OK,   LOGIN, LOGIN, LOGIN),
    "GET /agen/anggota/<int:member_id>":                        (LOGIN, OK,   LOGIN, LOGIN, HID,  LOGIN, LOGIN, LOGIN),
    "POST /agen/anggota/<int:member_id>/autodebet":             (LOGIN, OK,   LOGIN, LOGIN, BACK, LOGIN, LOGIN, LOGIN),
    "POST /agen/anggota/<int:member_id>/bayar":                 (LOGIN, OK,   LOGIN, LOGIN, HID,  LOGIN, LOGIN, LOGIN),
    "GET /agen/kuitansi/<string:number>":                       (LOGIN, OK,   LOGIN, LOGIN, HID,  LOGIN, LOGIN, LOGIN),
    "GET /agen/daftar":                                         (LOGIN, OK,   LOGIN, LOGIN, OK,   LOGIN, LOGIN, LOGIN),
    "POST /agen/daftar":                                        (LOGIN, OK,   LOGIN, LOGIN, OK,   LOGIN, LOGIN, LOGIN),
    "GET /agen/setoran":                                        (LOGIN, OK,   LOGIN, LOGIN, OK,   LOGIN, LOGIN, LOGIN),
    "POST /agen/setoran":                                       (LOGIN, OK,   LOGIN, LOGIN, OK,   LOGIN, LOGIN, LOGIN),
    "GET /agen/insentif":                                       (LOGIN, OK,   LOGIN, LOGIN, OK,   LOGIN, LOGIN, LOGIN),
    "GET /agen/sesi":                                           (401,   OK,   401,   401,   OK,   401,   401,   401),
    "GET /agen/antrean":                                        (OK,    OK,   OK,    OK,    OK,   OK,    OK,    OK),
    "GET /keuangan/":                                           (LOGIN, LOGIN, OK,   OK,    LOGIN, OK,   OK,    OK),
    "GET /keuangan/batch":                                      (LOGIN, LOGIN, OK,   OK,    LOGIN, OK,   OK,    OK),
    "GET /keuangan/batch/<int:batch_id>":                       (LOGIN, LOGIN, OK,   OK,    LOGIN, HID,  HID,   OK),
    "POST /keuangan/batch/<int:batch_id>/setujui":              (LOGIN, LOGIN, 403,  OK,    LOGIN, HID,  HID,   OK),
    "POST /keuangan/batch/<int:batch_id>/kembalikan":           (LOGIN, LOGIN, 403,  OK,    LOGIN, HID,  HID,   OK),
    "POST /keuangan/batch/<int:batch_id>/setoran/<int:deposit_id>/koreksi":
                                                                (LOGIN, LOGIN, 403,  OK,    LOGIN, HID,  HID,   OK),
    "GET /agen/dikembalikan/<int:batch_id>":                    (LOGIN, OK,   LOGIN, LOGIN, HID,  LOGIN, LOGIN, LOGIN),
    "POST /agen/dikembalikan/<int:batch_id>":                   (LOGIN, OK,   LOGIN, LOGIN, HID,  LOGIN, LOGIN, LOGIN),
    "POST /keuangan/batch/setujui-bersih":                      (LOGIN, LOGIN, 403,  OK,    LOGIN, 403,  OK,    OK),
    "GET /keuangan/mutasi":                                     (LOGIN, LOGIN, OK,   OK,    LOGIN, OK,   OK,    OK),
    "POST /keuangan/mutasi/unggah":                             (LOGIN, LOGIN, OK,   OK,    LOGIN, OK,   OK,    OK),
    "POST /keuangan/mutasi/<int:line_id>/usul":                 (LOGIN, LOGIN, OK,   OK,    LOGIN, HID,  HID,   OK),
    "POST /keuangan/usulan/<int:proposal_id>/putuskan":         (LOGIN, LOGIN, OK,   OK,    LOGIN, HID,  HID,   OK),
    "GET /keuangan/mutasi/impor/<int:import_id>":               (LOGIN, LOGIN, OK,   OK,    LOGIN, HID,  HID,   OK),
    "GET /keuangan/tunggakan":                                  (LOGIN, LOGIN, OK,   OK,    LOGIN, OK,   OK,    OK),
    "GET /keuangan/tunggakan/daftar-tagih.csv":                 (LOGIN, LOGIN, OK,   OK,    LOGIN, OK,   OK,    OK),
    "GET /keuangan/setoran-harian":                             (LOGIN, LOGIN, OK,   OK,    LOGIN, OK,   OK,    OK),
    "GET /keuangan/insentif":                                   (LOGIN, LOGIN, OK,   OK,    LOGIN, OK,   OK,    OK),
    "POST /keuangan/insentif/setujui":                          (LOGIN, LOGIN, 403,  OK,    LOGIN, 403,  OK,    OK),
    "GET /keuangan/insentif/<int:agent_id>":                    (LOGIN, LOGIN, OK,   OK,    LOGIN, HID,  HID,   OK),
    "GET /keuangan/cakupan":                                    (LOGIN, LOGIN, OK,   OK,    LOGIN, OK,   OK,    OK),
    "POST /keuangan/cakupan/target":                            (LOGIN, LOGIN, OK,   OK,    LOGIN, OK,   OK,    OK),
    "GET /keuangan/saluran":                                    (LOGIN, LOGIN, OK,   OK,    LOGIN, OK,   OK,    OK),
    "GET /keuangan/kinerja":                                    (LOGIN, LOGIN, OK,   OK,    LOGIN, OK,   OK,    OK),
    "GET /keuangan/retensi":                                    (LOGIN, LOGIN, OK,   OK,    LOGIN, OK,   OK,    OK),
    "GET /keuangan/agen-nonaktif":                              (LOGIN, LOGIN, OK,   OK,    LOGIN, OK,   OK,    OK),
    "POST /keuangan/agen-nonaktif/<int:agent_id>/setoran":      (LOGIN, LOGIN, 403,  OK,    LOGIN, 403,  HID,   OK),
    "GET /keuangan/remitansi":                                  (LOGIN, LOGIN, OK,   OK,    LOGIN, OK,   OK,    OK),
    "GET /keuangan/remitansi/<int:file_id>/unduh":              (LOGIN, LOGIN, OK,   OK,    LOGIN, HID,  HID,   OK),
    "POST /keuangan/remitansi/<int:file_id>/konfirmasi":        (LOGIN, LOGIN, 403,  OK,    LOGIN, HID,  HID,   OK),
    "GET /r/<string:code>":                                     (OK,    OK,   OK,    OK,    OK,   OK,    OK,    OK),
    # the member's own page (payments/selfpay): a staff session is not a member's; without his code, to /masuk
    "GET /peserta/":                                        (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
    "POST /peserta/autodebet":                              (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
    "GET /peserta/bayar":                                   (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
    "POST /peserta/bayar":                                  (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
    "GET /peserta/bayar/<int:charge_id>":                   (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN),
    # a pay link (payments/selfpay/links.py): anyone holding it opens and pays its months, no session needed
    "GET /peserta/b/<string:token>":                            (OK,    OK,   OK,    OK,    OK,   OK,    OK,    OK),
    "POST /peserta/b/<string:token>":                           (OK,    OK,   OK,    OK,    OK,   OK,    OK,    OK),
    "GET /peserta/b/<string:token>/<int:charge_id>":            (OK,    OK,   OK,    OK,    OK,   OK,    OK,    OK),
    "POST /webhooks/<string:provider_name>":                    (401,   401,  401,   401,   401,  401,   401,   401),
    # the SMS gateway's inbound texts (payments/selfpay/sms_webhook.py): only its signature opens it
    "POST /webhooks/sms/<string:provider_name>":                (401,   401,  401,   401,   401,  401,   401,   401),
    "GET /admin/":                                              (LOGIN, LOGIN, OK,   LOGIN, LOGIN, OK,   LOGIN, OK),
    "GET /admin/cabang":                                        (LOGIN, LOGIN, 403,  LOGIN, LOGIN, 403,  LOGIN, OK),
    "POST /admin/cabang":                                       (LOGIN, LOGIN, 403,  LOGIN, LOGIN, 403,  LOGIN, OK),
    "GET /admin/cabang/<int:branch_id>":                        (LOGIN, LOGIN, 403,  LOGIN, LOGIN, 403,  LOGIN, OK),
    "POST /admin/cabang/<int:branch_id>":                       (LOGIN, LOGIN, 403,  LOGIN, LOGIN, 403,  LOGIN, OK),
    "GET /admin/wadah":                                         (LOGIN, LOGIN, OK,   LOGIN, LOGIN, OK,   LOGIN, OK),
    "POST /admin/wadah":                                        (LOGIN, LOGIN, OK,   LOGIN, LOGIN, REF,  LOGIN, OK),
    "GET /admin/wadah/<int:wadah_id>":                          (LOGIN, LOGIN, OK,   LOGIN, LOGIN, HID,  LOGIN, OK),
    "POST /admin/wadah/<int:wadah_id>":                         (LOGIN, LOGIN, OK,   LOGIN, LOGIN, HID,  LOGIN, OK),
    "GET /admin/staf":                                          (LOGIN, LOGIN, OK,   LOGIN, LOGIN, OK,   LOGIN, OK),
    "POST /admin/staf":                                         (LOGIN, LOGIN, OK,   LOGIN, LOGIN, OK,   LOGIN, OK),
    "GET /admin/staf/<int:user_id>":                            (LOGIN, LOGIN, OK,   LOGIN, LOGIN, HID,  LOGIN, OK),
    "POST /admin/staf/<int:user_id>":                           (LOGIN, LOGIN, OK,   LOGIN, LOGIN, HID,  LOGIN, OK),
    "POST /admin/staf/<int:user_id>/reset":                     (LOGIN, LOGIN, OK,   LOGIN, LOGIN, HID,  LOGIN, OK),
    "POST /admin/staf/<int:user_id>/nonaktifkan":               (LOGIN, LOGIN, OK,   LOGIN, LOGIN, HID,  LOGIN, OK),
    "POST /admin/staf/<int:user_id>/aktifkan":                  (LOGIN, LOGIN, OK,   LOGIN, LOGIN, HID,  LOGIN, OK),
    # the roster's pages on the /admin desk (agents/roster/pages.py), on the roster API's agent and proposals
    "GET /admin/agen":                                          (LOGIN, LOGIN, OK,   LOGIN, LOGIN, OK,   LOGIN, OK),
    "POST /admin/agen":                                         (LOGIN, LOGIN, OK,   LOGIN, LOGIN, REF,  LOGIN, OK),
    "GET /admin/agen/<int:agent_id>":                           (LOGIN, LOGIN, OK,   LOGIN, LOGIN, HID,  LOGIN, OK),
    "POST /admin/agen/<int:agent_id>":                          (LOGIN, LOGIN, OK,   LOGIN, LOGIN, HID,  LOGIN, OK),
    "POST /admin/agen/<int:agent_id>/nonaktifkan":              (LOGIN, LOGIN, OK,   LOGIN, LOGIN, HID,  LOGIN, OK),
    "POST /admin/agen/<int:agent_id>/aktifkan":                 (LOGIN, LOGIN, OK,   LOGIN, LOGIN, HID,  LOGIN, OK),
    "POST /admin/agen/<int:agent_id>/berhentikan":              (LOGIN, LOGIN, OK,   LOGIN, LOGIN, HID,  LOGIN, OK),
    "POST /admin/agen/<int:agent_id>/serahkan":                 (LOGIN, LOGIN, OK,   LOGIN, LOGIN, HID,  LOGIN, OK),
    "GET /admin/agen/usulan":                                   (LOGIN, LOGIN, OK,   LOGIN, LOGIN, OK,   LOGIN, OK),
    "POST /admin/agen/usulan/<int:proposal_id>/terima":         (LOGIN, LOGIN, OK,   LOGIN, LOGIN, HID,  LOGIN, OK),
    "POST /admin/agen/usulan/<int:proposal_id>/tolak":          (LOGIN, LOGIN, OK,   LOGIN, LOGIN, HID,  LOGIN, OK),
    "GET /akun/kata-sandi":                                     (LOGIN, OK,   OK,    OK,    OK,   OK,    OK,    OK),
    "POST /akun/kata-sandi":                                    (LOGIN, OK,   OK,    OK,    OK,   OK,    OK,    OK),
    # the operator's addresses (operations/routes.py): no login; /metrics answers loopback (the test client's)
    "GET /healthz":                                             (OK,    OK,   OK,    OK,    OK,   OK,    OK,    OK),
    "GET /readyz":                                              (OK,    OK,   OK,    OK,    OK,   OK,    OK,    OK),
    "GET /metrics":                                             (OK,    OK,   OK,    OK,    OK,   OK,    OK,    OK),
}
# fmt: on

# Web routes with no row, and why.
WEB_EXEMPT = {
    "GET /agen/static/<path:filename>": "the app's script and stylesheet",
    "GET /keuangan/static/<path:filename>": "the pages' stylesheet",
    "GET /admin/static/<path:filename>": "the pages' stylesheet",
    "GET /akun/static/<path:filename>": "the password page's stylesheet",
    "GET /agen/sw.js": "the service worker script",
    "GET /agen/masuk": "the login form",
    "POST /agen/masuk": "logging in (tests/agents/field/test_pages.py)",
    "POST /agen/keluar": "logging out",
    "GET /keuangan/masuk": "the login form",
    "POST /keuangan/masuk": "logging in (tests/payments/finance/test_desk.py)",
    "POST /keuangan/keluar": "logging out",
    "GET /admin/masuk": "the login form",
    "POST /admin/masuk": "logging in (tests/organisation/test_admin_cli_and_pages.py)",
    "POST /admin/keluar": "logging out",
    "POST /akun/keluar": "logging out from the password page",
    "GET /peserta/masuk": "the member's sign-in form (tests/payments/selfpay/test_sign_in.py)",
    "POST /peserta/masuk": "asking for a code: the same answer for anyone (tests/payments/selfpay/test_sign_in.py)",
    "GET /peserta/kode": "the code form (tests/payments/selfpay/test_sign_in.py)",
    "POST /peserta/kode": "signing a member in (tests/payments/selfpay/test_sign_in.py)",
    "POST /peserta/keluar": "signing a member out",
}
CSRF = "csrf-token-of-the-matrix"


def web_form(world: TwoBranches, rule: str, caller: str) -> dict[str, Any]:
    """What a page is sent: a valid form (with the session's CSRF token) naming branch A's objects."""
    serial = CALLERS.index(caller)
    forms: dict[str, dict[str, Any]] = {
        "POST /agen/anggota/<int:member_id>/autodebet": {
            "action": "create",
            "provider": "midtrans",
            "account": "081234567890",
            "idempotency_key": str(uuid.uuid4()),
        },
        "POST /agen/anggota/<int:member_id>/bayar": {"months": "1", "idempotency_key": str(uuid.uuid4())},
        "POST /agen/daftar": {
            "nik": nik_for("6171" if caller.endswith("_b") else "1971", serial=300 + serial),
            "name": "anggota halaman",
            "occupation": "pedagang",
            "sector": "other",
            "declared_income_idr": "1.500.000",
            "package": "JKK+JKM",
        },
        "POST /agen/setoran": {
            "amount_idr": "1000",
            "bank_reference": f"WEB-{caller}",
            "idempotency_key": str(uuid.uuid4()),
        },
        "POST /keuangan/batch/<int:batch_id>/setujui": {"note": "selisih sudah dijelaskan"},
        "POST /keuangan/batch/<int:batch_id>/kembalikan": {"reason": "setoran kurang"},
        "POST /keuangan/batch/<int:batch_id>/setoran/<int:deposit_id>/koreksi": {
            "amount_idr": "1000",
            "reason": "bank mengkredit kurang",
        },
        "POST /agen/dikembalikan/<int:batch_id>": {
            "note": "slip setoran sudah dikirim",
            "idempotency_key": str(uuid.uuid4()),
        },
        "POST /keuangan/mutasi/unggah": {
            "bank": "generic",
            "file": _csv_file(f"date,description,reference,amount\n2026-11-21,WEB {caller},,7000\n", "w.csv"),
        },
        "POST /keuangan/mutasi/<int:line_id>/usul": {"action": "ignore", "reason": "bukan setoran kami"},
        "POST /keuangan/usulan/<int:proposal_id>/putuskan": {"decision": "reject", "note": "bukan bunga"},
        "POST /keuangan/insentif/setujui": {"month": MONTH},
        "POST /keuangan/cakupan/target": {"year": "2026", "targets": "1971,5000,BPS"},
        "POST /keuangan/remitansi/<int:file_id>/konfirmasi": {"reference": f"WEB-ACK-{caller}"},
        "POST /keuangan/agen-nonaktif/<int:agent_id>/setoran": {
            "amount_idr": "1000",
            "bank_reference": f"WEB-{caller}",
            "deposited_on": DAY.isoformat(),
            "idempotency_key": str(uuid.uuid4()),
        },
        "POST /admin/cabang": {
            "code": f"WX{serial}",
            "name": "Cabang web",
            "province_code": "19",
            "regency_code": "1971",
        },
        "POST /admin/cabang/<int:branch_id>": {"name": "Kantor Cabang PKP"},
        "POST /admin/wadah": {"branch_id": str(world.a), "name": f"Wadah web {serial}"},
        "POST /admin/wadah/<int:wadah_id>": {"name": "Wadah Test", "agreement_ref": f"PKS-WEB-{serial}"},
        "POST /admin/staf": {
            "username": f"web.{serial}",
            "full_name": "Staf Web",
            "role": "branch_finance",
            "branch_id": str(world.a),
        },
        "POST /admin/staf/<int:user_id>": {"full_name": "Clerk A", "role": "branch_finance"},
        "POST /admin/agen": {
            "branch_id": str(world.a),
            "nik": nik_for(born=date(1987, 6, 5), serial=400 + serial),
            "name": "perisai halaman",
            "phone": f"0813-4200-00{serial:02d}",
            "wadah_id": str(world.ids["wadah"]),  # branch A's: another branch's supervisor is refused on it (422)
            "areas": "Gerunggang\n197102",
            "idempotency_key": f"matrix-web-agent-{serial}",
        },
        "POST /admin/agen/<int:agent_id>": {
            "phone": "0813-7777-0001",
            "wadah_id": str(world.ids["wadah"]),
            "areas": "",
        },
        "POST /admin/agen/<int:agent_id>/nonaktifkan": {"reason": "tiga bulan tanpa transaksi"},
        "POST /admin/agen/<int:agent_id>/aktifkan": {"reason": "kembali bekerja"},
        "POST /admin/agen/<int:agent_id>/berhentikan": {"reason": "penipuan setoran"},
        "POST /admin/agen/<int:agent_id>/serahkan": {"to_agent_id": str(world.staff["agent_a"].agent_id)},
        "POST /admin/agen/usulan/<int:proposal_id>/terima": {"note": "setuju"},
        "POST /admin/agen/usulan/<int:proposal_id>/tolak": {"note": "masih aktif"},
        # two new passwords that differ: refused (422) before anything changes
        "POST /akun/kata-sandi": {"current_password": PASSWORD, "new_password": "a" * 12, "repeat_password": "b" * 12},
        "POST /peserta/autodebet": {"mandate_id": "1", "action": "cancel"},
        "POST /peserta/bayar": {"months": "1", "method": "va"},
        "POST /peserta/b/<string:token>": {"method": "va"},
    }
    pages = ("POST /agen", "POST /k", "POST /admin", "POST /akun", "POST /peserta")
    return forms.get(rule, {}) | ({"csrf_token": CSRF} if rule.startswith(pages) else {})


def web_path(world: TwoBranches, rule: str) -> str:
    ids = world.ids
    values = {
        "member_id": ids["member"],
        "number": ids["receipt_number"],
        "batch_id": ids["batch"],
        "deposit_id": ids["deposit"],
        "line_id": ids["line"],
        "proposal_id": ids[("agent_proposal_2" if rule.endswith("/tolak") else "agent_proposal")]
        if rule.startswith("POST /admin/agen/usulan/")
        else ids["proposal"],
        "agent_id": ids["roster_agent"] if " /admin/agen/" in rule else world.staff["agent_a"].agent_id,
        "code": ids["receipt_code"],
        "provider_name": "gateway" if "/sms/" in rule else "midtrans",
        "import_id": ids["statement_import"],
        "file_id": ids["remittance_file"],
        "branch_id": world.a,
        "wadah_id": ids["wadah"],
        "user_id": ids["clerk"],
        "charge_id": ids["self_charge"],
        "token": ids.get("pay_link", ""),
    }
    path = rule.split(" ", 1)[1]
    for name, value in values.items():
        for kind in ("int", "string"):
            path = path.replace(f"<{kind}:{name}>", str(value))
    query = {"GET /agen/cari": f"?q={ids['member_name'].replace(' ', '+')}"}
    return path + query.get(rule, "")


def web_probe(app: Any, world: TwoBranches, rule: str) -> Any:
    """What a refused POST must leave as it was: branch A's rows the page would change."""
    from sqlalchemy import func, select

    ids = world.ids
    probes = {
        "POST /agen/anggota/<int:member_id>/autodebet": select(func.count())
        .select_from(Mandate)
        .where(Mandate.member_id == ids["member"]),
        "POST /agen/anggota/<int:member_id>/bayar": select(func.count())
        .select_from(Payment)
        .where(Payment.member_id == ids["member"]),
        "POST /keuangan/batch/<int:batch_id>/setujui": select(DailyBatch.status).where(DailyBatch.id == ids["batch"]),
        "POST /keuangan/batch/<int:batch_id>/kembalikan": select(DailyBatch.status).where(
            DailyBatch.id == ids["batch"]
        ),
        "POST /agen/dikembalikan/<int:batch_id>": select(DailyBatch.status).where(DailyBatch.id == ids["batch"]),
        "POST /keuangan/batch/<int:batch_id>/setoran/<int:deposit_id>/koreksi": select(Deposit.amount_idr).where(
            Deposit.id == ids["deposit"]
        ),
        "POST /keuangan/mutasi/<int:line_id>/usul": select(func.count())
        .select_from(MatchProposal)
        .where(MatchProposal.statement_line_id == ids["line"]),
        "POST /keuangan/usulan/<int:proposal_id>/putuskan": select(MatchProposal.decision).where(
            MatchProposal.id == ids["proposal"]
        ),
        "POST /keuangan/remitansi/<int:file_id>/konfirmasi": select(RemittanceFile.acknowledgement_reference).where(
            RemittanceFile.id == ids["remittance_file"]
        ),
        "POST /keuangan/agen-nonaktif/<int:agent_id>/setoran": select(func.count())
        .select_from(Deposit)
        .where(Deposit.agent_id == world.staff["agent_a"].agent_id),
    }
    roster_agent = ids["roster_agent"]
    status = select(Agent.status).where(Agent.id == roster_agent)
    for move in ("nonaktifkan", "aktifkan", "berhentikan"):
        probes[f"POST /admin/agen/<int:agent_id>/{move}"] = status
    probes["POST /admin/agen/<int:agent_id>"] = (
        select(StaffUser.phone).join(Agent, Agent.user_id == StaffUser.id).where(Agent.id == roster_agent)
    )
    for decision, key in (("terima", "agent_proposal"), ("tolak", "agent_proposal_2")):
        probes[f"POST /admin/agen/usulan/<int:proposal_id>/{decision}"] = select(DeactivationProposal.status).where(
            DeactivationProposal.id == ids[key]
        )
    probes["POST /admin/agen"] = select(func.count()).select_from(Agent)
    if rule not in probes:
        return None
    with app.app_context():
        return db.session.scalar(probes[rule])


def pay_link(app: Any, world: TwoBranches, rule: str) -> str:
    """A live pay link (payments/selfpay/links.py) of branch A's member, made when the cell runs (earlier cells pay
    his months): for his first open months, or for the months of his charge on the charge's page."""
    with app.app_context():
        member = db.session.get(Member, world.ids["member"])
        assert member is not None
        if rule.endswith("<int:charge_id>"):
            charge = db.session.get(SelfCharge, world.ids["self_charge"])
            assert charge is not None
            first, months = charge.first_month, charge.months
        else:
            choice = member_position(db.session, member, app_now().date()).choices[0]
            first, months = choice.first, choice.months
        return make_token(str(app.config["SECRET_KEY"]), member.id, first, months, app_now(), phone=member.phone)


def web_call(app: Any, world: TwoBranches, rule: str, caller: str) -> Any:
    client = app.test_client()
    if caller != "anonymous":
        with app.app_context():  # a live web session on the server, as a login makes
            user = db.session.get(StaffUser, world.staff[caller].id)
            sid = start_web_session(db.session, user, "matrix", app_now(), 3600)
            db.session.commit()
        with client.session_transaction() as session:
            session["sid"] = sid
            session["csrf"] = CSRF
            session[BRANCH_CHOICE] = world.a  # an admin's chosen branch on the finance pages
    if "<string:token>" in rule:
        world.ids["pay_link"] = pay_link(app, world, rule)
    method = rule.split(" ", 1)[0]
    path = web_path(world, rule)
    if rule.startswith("POST /webhooks/"):
        return client.post(path, data=b'{"order_id": "x"}', headers={"Content-Type": "application/json"})
    headers = {"Accept": "application/json"} if rule.endswith("/bayar") else {}  # as the app's script sends it
    form = web_form(world, rule, caller)
    return client.open(path, method=method, data=form or None, headers=headers)


def in_web_class(expected: Any, response: Any) -> bool:
    status, location = response.status_code, response.headers.get("Location", "")
    if expected == LOGIN:
        return (status in (302, 303) and "/masuk" in location) or status == 401
    if expected == BACK:
        return status == 303 and "/masuk" not in location
    if expected == OK and 300 <= status < 400:
        return "/masuk" not in location
    return in_class(expected, status)


def _web_cells() -> list[Any]:
    return [
        pytest.param(rule, caller, WEB[rule][CALLERS.index(caller)], id=f"{rule} as {caller}")
        for rule in WEB
        for caller in RUN_ORDER
    ]


@pytest.mark.parametrize(("rule", "caller", "expected"), _web_cells())
def test_the_page_answers_the_caller_as_the_table_says(matrix, rule, caller, expected):
    app, world = matrix
    before = web_probe(app, world, rule)
    response = web_call(app, world, rule, caller)

    body = response.get_data(as_text=True)
    what = f"{rule} as {caller}"
    assert response.status_code < 500, f"{what}: {response.status_code} {body[:500]}"
    assert in_web_class(expected, response), f"{what}: expected {expected}, got {response.status_code} {body[:300]}"
    if expected != OK:
        assert web_probe(app, world, rule) == before, f"{what}: refused, yet branch A's data changed"
    if must_not_see_branch_a(caller) or rule == "GET /r/<string:code>":
        shown = {s for s in leaked(world, body) if s not in web_path(world, rule)}  # the caller sent those
        if rule == "GET /r/<string:code>":  # the public page shows the receipt itself, and nothing else of A's
            shown -= {world.ids["receipt_number"], world.ids["receipt_code"]}
        assert not shown, f"{what}: shows branch A's {sorted(shown)}"


def test_every_web_route_has_a_row_or_a_reason(openapi):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "test"})
    routes = {
        f"{method} {rule.rule}"
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0]
        in ("agen", "keuangan", "public_receipt", "webhooks", "sms", "admin", "akun", "operations", "peserta")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    }

    assert sorted(routes - WEB.keys() - WEB_EXEMPT.keys()) == [], "add a row to WEB (or a reason to WEB_EXEMPT)"
    assert sorted((WEB.keys() | WEB_EXEMPT.keys()) - routes) == [], "these rows name routes that are gone"
