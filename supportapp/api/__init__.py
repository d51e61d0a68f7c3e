"""HTTP API: one package per feature, each with routes.py and schemas.py."""

from __future__ import annotations


def feature_blueprints() -> list:
    """Every feature blueprint, in the order they appear in the OpenAPI document."""
    from supportapp.api.attachments.routes import bp as attachments_bp
    from supportapp.api.auth.routes import bp as auth_bp
    from supportapp.api.chat.routes import bp as chat_bp
    from supportapp.api.metrics.routes import bp as metrics_bp
    from supportapp.api.push.routes import bp as push_bp
    from supportapp.api.search.routes import bp as search_bp
    from supportapp.api.support.routes import bp as support_bp
    from supportapp.api.teams.routes import bp as teams_bp
    from supportapp.api.templates.routes import bp as templates_bp

    return [
        auth_bp,
        chat_bp,
        attachments_bp,
        search_bp,
        metrics_bp,
        support_bp,
        push_bp,
        templates_bp,
        teams_bp,
    ]
