"""Maestro's web app: the HTML cockpit and the JSON API, both thin layers over engine.durable.Maestro."""
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app


def __getattr__(name: str) -> Any:
    # Flask is imported on first use: every `maestro --help` loads webapp.serve to learn of `serve`.
    if name == "create_app":
        from .app import create_app
        return create_app
    raise AttributeError(f"module 'webapp' has no attribute '{name}'")


__all__ = ["create_app"]
