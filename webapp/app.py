"""The Flask application: blueprints, limits, CSRF protection and JSON errors for the API."""
import os
import secrets
import traceback
from urllib.parse import urlsplit

from flask import Flask, make_response, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException

from . import api, assets, metrics, pages
from .api import json_error
from .request_input import BadRequest, check_text

# The engine refuses BPMN files over 20 MB; a few files together may come in one upload.
MAX_UPLOAD_BYTES = int(os.environ.get("MAESTRO_MAX_UPLOAD_BYTES", 50 * 1024 * 1024))


def create_app(maestro, secret_key=None):
    """The app over a Maestro engine object (engine.durable.Maestro)."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key or os.environ.get("MAESTRO_SECRET_KEY") or secrets.token_hex(32),
        MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES,
        WTF_CSRF_TIME_LIMIT=None,  # a page left open all day still submits
    )
    app.extensions["maestro"] = maestro
    csrf = CSRFProtect(app)
    csrf.exempt(api.blueprint)  # API clients send no form token; see _same_origin_only
    app.before_request(_same_origin_only)
    app.before_request(_text_parameters_only)
    app.register_blueprint(api.blueprint, url_prefix="/api")
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(assets.blueprint)
    metrics.install(app, maestro)
    app.register_error_handler(BadRequest, lambda error: _error(400, "bad_request", "Bad request", str(error)))
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _same_origin_only():
    """Refuses a state-changing API request that a browser sent from another site.

    The API has no form token, so a page elsewhere could otherwise post to a
    Maestro on localhost (a form can send multipart data cross-site). Browsers
    name the page's origin on such requests; scripts and curl send none.
    """
    if request.method in ("GET", "HEAD", "OPTIONS") or not request.path.startswith("/api/"):
        return None
    origin = request.headers.get("Origin")
    if origin and urlsplit(origin).netloc != request.host:
        return json_error(403, "cross_origin", f"requests from {origin} are not accepted")
    return None


def _text_parameters_only():
    """Path and query values go into SQL as text: refuse what no database stores (NUL, lone surrogates)."""
    for name, value in {**(request.view_args or {}), **request.args}.items():
        if isinstance(value, str):
            check_text(value, f"the parameter {name!r}")


def _wants_json():
    return request.path.startswith("/api/") or request.path == "/metrics"


def _http_error(error):
    response = _error(error.code, error.name.lower().replace(" ", "_"), error.name, error.description)
    response.headers.extend((name, value) for name, value in error.get_headers() if name != "Content-Type")
    return response  # a 405 keeps its Allow header


def _error(status, code, title, message):
    """A JSON error for the API and /metrics, an HTML page for the rest."""
    if _wants_json():
        return json_error(status, code, message)
    return make_response(pages.error_page(status, title, message))


def _unexpected_error(error):
    traceback.print_exception(error)  # for the operator's log; the user gets a message
    message = f"{type(error).__name__}: {error}"
    if _wants_json():
        return json_error(500, "internal_error", message)
    return pages.error_page(500, "Something went wrong", message)
