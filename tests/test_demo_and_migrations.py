"""Demo data and migrations, on both databases."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from collection.members.models import Member, PaymentAllocation
from commands.demo import load_demo_data
from core.extensions import db
from payments.ledger.models import Channel, Payment, Receipt
from tests.factories import NOW, enrolment


def test_demo_data_is_consistent_with_the_rules_and_loads_once(app):
    with app.app_context():
        counts = load_demo_data(db.session, NOW, members_per_branch=60)
        assert counts["branches"] == 4 and counts["members"] >= 230

        statuses = Counter(db.session.scalars(select(Member.status)))
        assert statuses["active"] > statuses["in_arrears"] > 0
        assert statuses["lapsed"] > 0
        # Money in = money allocated + credit, for every payment.
        allocated = dict(
            db.session.execute(
                select(PaymentAllocation.payment_id, func.sum(PaymentAllocation.amount_idr)).group_by(
                    PaymentAllocation.payment_id
                )
            ).all()
        )
        for payment in db.session.scalars(select(Payment)):
            assert payment.amount_idr == allocated.get(payment.id, 0) + payment.credit_idr
        # A receipt for every payment but a sponsor's breakdown (the sponsor's bulk payment has the receipt).
        assert db.session.scalar(select(func.count()).select_from(Receipt)) == db.session.scalar(
            select(func.count()).select_from(Payment).where(Payment.channel != Channel.SPONSOR)
        )
        assert all(m.kpj for m in db.session.scalars(select(Member)))

        assert load_demo_data(db.session, NOW) == {}


def test_the_models_and_the_migrations_agree_and_downgrade_cleanly(app):
    import flask_migrate
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with app.app_context():
        with db.engine.connect() as connection:
            drift = compare_metadata(MigrationContext.configure(connection), db.metadata)
        assert drift == []
        flask_migrate.downgrade(revision="base")
        flask_migrate.upgrade()
        assert db.session.scalar(select(func.count()).select_from(db.metadata.tables["rate_brackets"])) == 33


@pytest.mark.postgresql_only
def test_concurrent_enrolments_of_one_nik_make_one_member(pinned_app, world):
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def enrol_once() -> None:
        client = pinned_app.test_client()
        barrier.wait()
        response = client.post("/api/v1/members", json=enrolment(), headers=world["agent"].headers)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=enrol_once) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201] + [409] * 7
    with pinned_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Member)) == 1
