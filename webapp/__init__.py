"""Maestro's web app: the HTML cockpit and the JSON API, both thin layers over engine.durable.Maestro."""
from .app import create_app

__all__ = ["create_app"]
