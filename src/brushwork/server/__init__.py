"""The HTTP server: ``create_app(settings)`` and one thin router per resource."""

from brushwork.server.app import create_app

__all__ = ["create_app"]
