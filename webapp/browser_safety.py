"""What every response tells the browser so that Maestro's pages cannot be turned against their users.

- Content-Security-Policy: scripts only from this server's files (the pages
  carry no inline script; they pass values in data attributes), no framing,
  forms post only here. Styles may be inline: bpmn-js sets style attributes.
- X-Frame-Options and frame-ancestors: no other site can frame a page (clickjacking).
- X-Content-Type-Options nosniff: a response is only ever what its type says.
- Referrer-Policy: instance ids in URLs do not leak to other sites.
- The session cookie (CSRF token, flash messages) is SameSite=Lax, and Secure
  whenever the request came over TLS (directly, or through a proxy trusted
  with MAESTRO_TRUSTED_PROXIES).
"""
from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:",
    "font-src 'self' data:", "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'",
    "frame-ancestors 'none'",
])
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class _SecureOverTls(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure or super().get_cookie_secure(app)


def install(app: Flask) -> None:
    app.config.update(SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_HTTPONLY=True)
    app.session_interface = _SecureOverTls()
    app.after_request(_add_headers)


def _add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def as_download(response: Response, file_name: str) -> Response:
    """A document a browser must save, never render (an XML file can hold script in XHTML elements)."""
    response.headers.set("Content-Disposition", "attachment", filename=file_name)  # quoted, non-ASCII encoded
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
