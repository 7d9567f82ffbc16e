"""Which Host names the server answers to: the defence against DNS rebinding.

A page on an attacker's site can point its own name at 127.0.0.1 and then
talk to a Maestro on this machine as "same origin"; the browser still sends
the attacker's name in the Host header, so refusing unknown names stops it.
(Werkzeug's trusted-host check compares case-sensitively and cannot match an
IPv6 address, hence this small one.)
"""
import ipaddress
import os

LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")
ANY_ADDRESS = {"", "0.0.0.0", "::"}


def allowed_hosts(listen_host: str | None = None) -> list[str]:
    """MAESTRO_ALLOWED_HOSTS (comma separated; ".example.com" takes its subdomains, "*" any name),
    by default this machine's loopback names, plus the address `maestro serve --host` listens on."""
    configured = os.environ.get("MAESTRO_ALLOWED_HOSTS", "")
    names = [_bare(name) for name in configured.split(",") if name.strip()] or list(LOCAL_NAMES)
    if listen_host and _bare(listen_host) not in ANY_ADDRESS | set(names):
        names.append(_bare(listen_host))
    return names


def is_allowed(host_header: str, allowed: list[str]) -> bool:
    """Whether the Host header (name or address, with or without a port) names one of `allowed`."""
    name = _without_port(host_header.strip().lower())
    for entry in allowed:
        if entry == "*" or name == entry or (entry.startswith(".") and name.endswith(entry)):
            return True
    return False


def is_loopback(host: str) -> bool:
    """Whether listening on `host` keeps the server to this machine."""
    if _bare(host) == "localhost":
        return True
    try:
        return ipaddress.ip_address(_bare(host)).is_loopback
    except ValueError:
        return False


def _bare(name):
    """A configured name as Host headers are compared: lower case, an IPv6 address without brackets."""
    return name.strip().lower().removeprefix("[").removesuffix("]")


def _without_port(host):
    if host.startswith("["):  # [::1]:5000
        return host[1:].partition("]")[0]
    name, colon, port = host.rpartition(":")
    return name if colon and port.isdigit() and ":" not in name else host
