"""The application factory: configuration, extensions, blueprints and CLI. Nothing else."""

from __future__ import annotations

from typing import Any

from flask import Flask, send_from_directory
from flask.typing import ResponseReturnValue
from werkzeug.middleware.proxy_fix import ProxyFix

from core import settings
from core.extensions import api, db, migrate


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the iuran app; ``config`` overrides the environment (tests pass a database and Redis URL)."""
    app = Flask(__name__, instance_path=str(settings.INSTANCE))
    app.config.update(settings.from_environment())
    if config:
        app.config.update(config)
    settings.INSTANCE.mkdir(parents=True, exist_ok=True)
    if app.config["PROXY_COUNT"]:
        proxies = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]

    db.init_app(app)
    migrate.init_app(app, db, directory=str(settings.ROOT / "migrations"), render_as_batch=True)
    from core.errors import ErrorSchema

    api.ERROR_SCHEMA = ErrorSchema
    api.init_app(app)

    import collection.members.models  # noqa: F401
    import core.audit
    import core.outbox  # noqa: F401
    import organisation.models  # noqa: F401  (every model is registered before migrations look)
    import payments.ledger.models  # noqa: F401
    from agents.incentives.routes import bp as incentives_bp
    from collection.members.routes import bp as collection_bp
    from collection.sponsors.routes import bp as sponsors_bp
    from core.errors import register_error_handlers
    from organisation.routes import bp as agents_bp
    from payments.finance.routes import bp as finance_bp
    from payments.ledger.routes import bp as payments_bp

    api.register_blueprint(agents_bp, url_prefix="/api/v1")
    api.register_blueprint(collection_bp, url_prefix="/api/v1")
    api.register_blueprint(payments_bp, url_prefix="/api/v1")
    api.register_blueprint(finance_bp, url_prefix="/api/v1")
    api.register_blueprint(sponsors_bp, url_prefix="/api/v1")
    api.register_blueprint(incentives_bp, url_prefix="/api/v1")
    register_error_handlers(app)
    from core import guards

    guards.install(app)
    from agents.field.pages import bp as agents_web_bp
    from payments.finance.pages import bp as finance_web_bp
    from payments.ledger.pages import bp as public_receipt_bp
    from payments.ledger.pages import webhooks as webhooks_bp

    app.register_blueprint(agents_web_bp)
    app.register_blueprint(finance_web_bp)
    app.register_blueprint(public_receipt_bp)
    app.register_blueprint(webhooks_bp)
    if app.config["BENCH_ENDPOINTS"]:
        from bench.endpoints import register as register_bench_endpoints

        register_bench_endpoints(app)
    _serve_swagger_ui(app)

    from commands.cli import register_commands

    register_commands(app)
    return app


def _serve_swagger_ui(app: Flask) -> None:
    """Swagger UI's files come from a pinned package, so the docs page works with no CDN."""
    import swagger_ui_bundle

    @app.get("/static/swagger-ui/<path:filename>")
    def swagger_ui_static(filename: str) -> ResponseReturnValue:
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)
