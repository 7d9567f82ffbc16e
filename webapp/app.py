"""The Flask application: blueprints, limits, CSRF protection and JSON errors for the API."""
import os
import secrets
import traceback
from urllib.parse import urlsplit

from flask import Flask, current_app, make_response, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.durable.startup import UserError

from . import (
    access,
    account_pages,
    api,
    assets,
    browser_safety,
    drafts_api,
    event_pages,
    hosts,
    metrics,
    modeling_api,
    oidc_settings,
    pages,
    people_api,
    people_pages,
    sign_in,
    surgery_api,
    surgery_pages,
)
from .api import json_error
from .repair_api import InstanceIdConverter
from .repair_api import blueprint as repair_api_blueprint
from .repair_pages import install as install_repair_pages
from .request_input import BadRequest, check_text
from .task_pages import blueprint as task_pages_blueprint
from .tasks_api import blueprint as tasks_api_blueprint

# The engine refuses BPMN files over 20 MB; a few files together may come in one upload.
MAX_UPLOAD_BYTES = int(os.environ.get("MAESTRO_MAX_UPLOAD_BYTES", 50 * 1024 * 1024))


def create_app(maestro, secret_key: str | None = None, listen_host: str | None = None,
               runs_handlers: bool = True) -> Flask:
    """The app over a Maestro engine object (engine.durable.Maestro).

    `listen_host` (what `maestro serve --host` listens on) is one more Host
    name the app answers to, besides MAESTRO_ALLOWED_HOSTS or the loopback names.
    `runs_handlers`: this server's worker runs what it deploys, so a service task none of its
    handlers binds is refused (False for `maestro serve --no-worker`: workers elsewhere bind them,
    and the editor's check only warns).
    """
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key or os.environ.get("MAESTRO_SECRET_KEY") or secrets.token_hex(32),
        MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES,
        WTF_CSRF_TIME_LIMIT=None,  # a page left open all day still submits
        MAESTRO_ALLOWED_HOSTS=hosts.allowed_hosts(listen_host),
        MAESTRO_RUNS_HANDLERS=runs_handlers,
    )
    app.extensions["maestro"] = maestro
    proxies = _trusted_proxies()
    if proxies:  # their X-Forwarded-Proto/-Host/-For are believed: TLS, Host names, client addresses
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.before_request(_known_host_only)
    browser_safety.install(app)
    access.install(app)  # credentials and roles, before CSRF: a stranger is sent to sign in
    csrf = CSRFProtect(app)
    csrf.exempt(api.blueprint)  # API clients send no form token; see _same_origin_only
    csrf.exempt(drafts_api.blueprint)
    csrf.exempt(modeling_api.blueprint)
    csrf.exempt(surgery_api.blueprint)
    csrf.exempt(repair_api_blueprint)
    csrf.exempt(tasks_api_blueprint)
    csrf.exempt(people_api.blueprint)  # a session's writes to /api are checked by access (X-CSRFToken)
    app.before_request(_same_origin_only)
    app.before_request(_text_parameters_only)
    app.url_map.converters["instance_id"] = InstanceIdConverter
    app.register_blueprint(api.blueprint, url_prefix="/api")
    app.register_blueprint(drafts_api.blueprint, url_prefix="/api")
    app.register_blueprint(modeling_api.blueprint, url_prefix="/api")
    app.register_blueprint(surgery_api.blueprint, url_prefix="/api")
    app.register_blueprint(people_api.blueprint, url_prefix="/api")
    app.register_blueprint(sign_in.blueprint)
    app.register_blueprint(account_pages.blueprint)
    app.register_blueprint(people_pages.blueprint)
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(event_pages.blueprint)
    app.register_blueprint(surgery_pages.blueprint)
    app.register_blueprint(repair_api_blueprint, url_prefix="/api")
    install_repair_pages(app)
    app.register_blueprint(tasks_api_blueprint, url_prefix="/api")
    app.register_blueprint(task_pages_blueprint)
    app.register_blueprint(assets.blueprint)
    _sign_in_with_provider(app)
    metrics.install(app, maestro)
    app.register_error_handler(BadRequest, lambda error: _error(400, "bad_request", "Bad request", str(error)))
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def _sign_in_with_provider(app):
    """OpenID Connect sign-in when MAESTRO_OIDC_* configure it (UserError for half a configuration)."""
    settings = oidc_settings.from_environment()
    if settings:
        from . import oidc  # Authlib is loaded only when sign-in with a provider is on
        oidc.install(app, settings)


def _trusted_proxies():
    text = os.environ.get("MAESTRO_TRUSTED_PROXIES") or "0"
    if not text.isdigit():
        raise UserError(f"MAESTRO_TRUSTED_PROXIES must be the number of proxies in front of Maestro, not {text!r}")
    return int(text)


def _known_host_only():
    """Refuses a request whose Host is not an allowed name (DNS rebinding: see webapp/hosts.py)."""
    host = request.headers.get("Host")
    if host is not None and not hosts.is_allowed(host, current_app.config["MAESTRO_ALLOWED_HOSTS"]):
        return _error(421, "unknown_host", "Unknown host",
                      f"this server does not answer to the name {host[:100]!r}: add it to MAESTRO_ALLOWED_HOSTS")
    return None


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
