"""What crosses the socket between a worker and its script sandbox process: length-prefixed
pickles, both ways.

The worker trusts what it sends. What comes back is read by an unpickler that builds plain data
only (no class or function can be named in it), so a sandbox process a script took over still
cannot make the worker run code. Values that are not plain data (a date a caller put in the
variables) go over as copies the script can use and come back as references to the very objects
the caller passed, as they do when a script runs in the caller's process."""
from __future__ import annotations

import io
import pickle
import socket
import struct
import time

HEADER = struct.Struct(">Q")
FIRST_READ = 64 * 1024
PROTOCOL = pickle.HIGHEST_PROTOCOL
# a worker whose SIGPIPE is the default (the CLI's) must get an error, not die, when a sandbox is gone
_NO_SIGPIPE = getattr(socket, "MSG_NOSIGNAL", 0)


class WireError(Exception):
    """A reply that is too large or is not plain data."""


# --------------------------------------------------------------------------- frames


def send_frame(channel: socket.socket, payload: bytes, deadline: float | None = None) -> None:
    """Sends one frame; TimeoutError when the deadline (time.monotonic()) passes first."""
    header = HEADER.pack(len(payload))
    if len(payload) <= FIRST_READ:  # one send: the other side wakes once for the whole frame
        header, payload = b"", header + payload
    if header:
        _set_timeout(channel, deadline)
        channel.sendall(header, _NO_SIGPIPE)
    _set_timeout(channel, deadline)
    channel.sendall(payload, _NO_SIGPIPE)


def recv_frame(channel: socket.socket, max_bytes: int | None = None,
               deadline: float | None = None) -> bytes | None:
    """One frame, or None when the other side closed between frames; ConnectionError when it
    closed within one, TimeoutError when the deadline passes, WireError when it is too large.
    The other side sends nothing before it has this frame's answer, so reading ahead is safe."""
    _set_timeout(channel, deadline)
    first = channel.recv(FIRST_READ)
    if not first:
        return None
    while len(first) < HEADER.size:
        first += _recv_exactly(channel, HEADER.size - len(first), deadline)
    (size,) = HEADER.unpack_from(first)
    if max_bytes is not None and size > max_bytes:
        raise WireError(f"a reply of {size} bytes (at most {max_bytes})")
    body = first[HEADER.size:]
    if len(body) > size:
        raise WireError("more than one frame at a time")
    if len(body) == size:
        return body
    return body + _recv_exactly(channel, size - len(body), deadline)


def _recv_exactly(channel, size, deadline):
    buffer = bytearray(size)
    view = memoryview(buffer)
    received = 0
    while received < size:
        _set_timeout(channel, deadline)
        count = channel.recv_into(view[received:])
        if count == 0:
            raise ConnectionResetError("the sandbox connection closed within a frame")
        received += count
    return bytes(buffer)


def _set_timeout(channel, deadline):
    if deadline is None:
        channel.settimeout(None)
        return
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline passed")
    channel.settimeout(left)


# --------------------------------------------------------------------------- worker -> sandbox


class _RequestPickler(pickle.Pickler):
    """Pickles a request, numbering every value that is not plain data (the C pickler calls
    reducer_override for those only, so plain variables cost nothing extra)."""

    def __init__(self, file):
        super().__init__(file, PROTOCOL)
        self.foreign = []

    def reducer_override(self, obj):
        if obj is _received:  # the reference itself
            return NotImplemented
        index = len(self.foreign)
        self.foreign.append(obj)
        try:
            copy = pickle.dumps(obj, PROTOCOL)
        except Exception:  # a lock, a lambda: the script gets a stand-in it can pass on
            copy = None
        return _received, (index, copy, type(obj).__name__)


def encode_request(request) -> tuple[bytes, list]:
    """(bytes to send, the values sent by reference, by number)."""
    buffer = io.BytesIO()
    pickler = _RequestPickler(buffer)
    pickler.dump(request)
    return buffer.getvalue(), pickler.foreign


# in the sandbox: id -> (number, value) of the referenced values of the request being served
_incoming: dict[int, tuple[int, object]] = {}


class Opaque:
    """Stands in, inside the sandbox, for a variable value that cannot be copied there."""

    __slots__ = ("type_name",)

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return f"<{self.type_name}>"


def _received(index, copy, type_name):
    value = Opaque(type_name)
    if copy is not None:
        try:
            value = pickle.loads(copy)
        except Exception:  # its class is not importable in the sandbox
            pass
    _incoming[id(value)] = (index, value)
    return value


def decode_request(payload: bytes):
    """In the sandbox: the request, remembering which values came by reference."""
    _incoming.clear()
    return pickle.loads(payload)


# --------------------------------------------------------------------------- sandbox -> worker


class _ReplyPickler(pickle.Pickler):
    def persistent_id(self, obj):
        entry = _incoming.get(id(obj))
        return entry[0] if entry is not None and entry[1] is obj else None


def encode_reply(reply) -> bytes:
    """In the sandbox: the reply, with the values that came by reference sent back as references."""
    if not _incoming:
        return pickle.dumps(reply, PROTOCOL)
    buffer = io.BytesIO()
    _ReplyPickler(buffer, PROTOCOL).dump(reply)
    return buffer.getvalue()


class _PlainUnpickler(pickle.Unpickler):
    def __init__(self, file, foreign):
        super().__init__(file)
        self.foreign = foreign

    def find_class(self, module, name):
        raise WireError(f"a reply naming {module}.{name}")

    def persistent_load(self, pid):
        if type(pid) is not int or not 0 <= pid < len(self.foreign):
            raise WireError(f"a reply referring to value {pid!r}")
        return self.foreign[pid]


def decode_reply(payload: bytes, foreign: list):
    """In the worker: the reply as plain data, references replaced by the values sent; WireError
    (or another unpickling error) if it is anything else."""
    return _PlainUnpickler(io.BytesIO(payload), foreign).load()
