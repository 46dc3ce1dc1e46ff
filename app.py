"""Layer 12, the application factory: configuration, extensions, every blueprint and the CLI. Nothing else."""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import agents.field.pages
import agents.field.texts
import agents.incentives.models
import agents.incentives.pages
import agents.incentives.routes
import agents.roster.models
import agents.roster.pages
import agents.roster.routes
import agents.roster.texts
import collection.members.models
import collection.members.routes
import collection.national.models
import collection.national.routes
import collection.sponsors.models
import collection.sponsors.routes
import core.audit
import core.blobs
import core.outbox
import core.periodic
import operations.metrics
import operations.routes
import organisation.account_pages
import organisation.admin_pages
import organisation.models
import organisation.routes
import organisation.texts
import payments.autodebit.models
import payments.autodebit.orders
import payments.autodebit.routes
import payments.autodebit.webhooks
import payments.finance.arrears_pages
import payments.finance.batch_pages
import payments.finance.departed_pages
import payments.finance.desk
import payments.finance.models
import payments.finance.report_pages
import payments.finance.routes
import payments.finance.statement_pages
import payments.finance.texts
import payments.ledger.models
import payments.ledger.pages
import payments.ledger.routes
import payments.remittance.models
import payments.remittance.pages
import payments.remittance.routes
import payments.selfpay.models
import payments.selfpay.orders
import payments.selfpay.pages
import payments.selfpay.sms_webhook
import payments.selfpay.texts
from commands.cli import register_commands
from core import compression, docs, guards, i18n, logs, query_arguments, settings
from core.errors import ErrorSchema, register_error_handlers
from core.extensions import api, db, migrate
from organisation import web_login

MODELS = (  # every table, registered before db.create_all() and Alembic look at the metadata
    core.audit,
    core.blobs,
    core.outbox,
    core.periodic,
    organisation.models,
    collection.members.models,
    collection.sponsors.models,
    collection.national.models,
    payments.ledger.models,
    payments.autodebit.models,
    payments.finance.models,
    agents.incentives.models,
    payments.remittance.models,
    agents.roster.models,
    payments.selfpay.models,
)
API_BLUEPRINTS = (  # each capability's API under /api/v1, in the order of the docs' sections
    organisation.routes.bp,
    collection.members.routes.bp,
    payments.ledger.routes.bp,
    payments.autodebit.routes.bp,
    payments.finance.routes.bp,
    collection.sponsors.routes.bp,
    collection.national.routes.bp,
    agents.incentives.routes.bp,
    payments.remittance.routes.bp,
    agents.roster.routes.bp,
)
FINANCE_DESK = (  # the modules that add their pages to the finance desk's blueprint (/keuangan)
    payments.finance.batch_pages,
    payments.finance.statement_pages,
    payments.finance.departed_pages,
    payments.finance.report_pages,
    payments.finance.arrears_pages,
    agents.incentives.pages,
    payments.remittance.pages,
)
ADMIN_DESK = (  # the modules that add their pages to the administration desk's blueprint (/admin)
    agents.roster.pages,
)
# Each package's words for its stored values (a status, a kind), looked up by the pages with label() (core/i18n.py)
LABELS = (
    agents.field.texts.LABELS,
    agents.roster.texts.LABELS,
    organisation.texts.LABELS,
    payments.finance.texts.LABELS,
    payments.selfpay.texts.LABELS,
)
# Orders other capabilities open at the payment providers: the review queue and settlement matching find them
ORDER_KINDS = (payments.selfpay.orders.SELF_CHARGES,)
PAGE_BLUEPRINTS = (  # the pages people use, and the providers' webhooks
    agents.field.pages.bp,
    payments.finance.desk.bp,
    payments.ledger.pages.bp,
    payments.autodebit.webhooks.bp,
    payments.selfpay.pages.bp,  # /peserta: the member's own page
    payments.selfpay.sms_webhook.bp,  # /webhooks/sms/<gateway>: CEK <KPJ> texts
    payments.remittance.pages.templates,  # no routes: the folder of its finance-desk templates
    organisation.admin_pages.bp,
    agents.roster.pages.templates,  # no routes: the folder of its /admin templates
    organisation.account_pages.bp,
    operations.routes.bp,  # /healthz, /readyz, /metrics
)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the iuran app; ``config`` overrides the environment (tests pass a database and Redis URL)."""
    app = Flask(__name__, instance_path=str(settings.INSTANCE))
    app.config.update(settings.from_environment())
    if config:
        app.config.update(config)
    logs.configure(app.config)  # one logging set-up for web, CLI and workers (each builds the app)
    settings.check(app.config)  # IURAN_ENV=production refuses unsafe settings, naming each (core/settings.py)
    settings.INSTANCE.mkdir(parents=True, exist_ok=True)
    if app.config["PROXY_COUNT"]:
        proxies = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    db.init_app(app)
    migrate.init_app(app, db, directory=str(settings.ROOT / "migrations"), render_as_batch=True)
    api.ERROR_SCHEMA = ErrorSchema
    api.init_app(app, spec_kwargs={"extra_plugins": [docs.PlainTextDocs()]})
    for blueprint in API_BLUEPRINTS:
        api.register_blueprint(blueprint, url_prefix="/api/v1")
    register_error_handlers(app)
    logs.install(app)  # first: every request gets its id and access line, refused or not
    compression.install(app)  # its after_request runs after every other but the access line's
    operations.metrics.install(app)
    guards.install(app)
    query_arguments.install(app, api)  # after the guards: a NUL in an argument is their 400
    i18n.install(app, *LABELS)
    payments.autodebit.orders.register(*ORDER_KINDS)
    web_login.install(app)
    for page_blueprint in PAGE_BLUEPRINTS:
        app.register_blueprint(page_blueprint)
    if app.config["BENCH_ENDPOINTS"]:
        from bench.endpoints import register as register_bench_endpoints  # bench/ is tooling: only when asked

        register_bench_endpoints(app)
    docs.install(app)
    register_commands(app)
    return app
