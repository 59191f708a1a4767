"""Can this node reach its rendezvous backend? Probes that answer before a job starts.

A wrong endpoint or a server started without the v2 API otherwise shows up as
a ``join_timeout`` (10 minutes by default) on every node. Each probe here
answers in at most ``timeout`` seconds using plain sockets and ``urllib``:
torch is not imported, and no handler is created (creating a c10d handler
would host or join the real store; an etcd handler would write state).

Results say what was checked and, when it failed, how to fix it.
"""

from __future__ import annotations

import socket
import ssl
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from .deadline import Deadline, ProbeTimeout, bounded
from .description import BackendDescription, ProbeResult

if TYPE_CHECKING:
    from ..config.settings import RendezvousSettings

__all__ = [
    "BackendDescription",
    "Deadline",
    "ProbeResult",
    "ProbeTimeout",
    "bounded",
    "connect",
    "http_get",
    "probe",
    "probe_tcp_store",
    "url_error",
    "why",
]


def resolve(host: str, port: int, deadline: Deadline) -> list[tuple[Any, ...]]:
    """getaddrinfo within the budget (a dead DNS server would otherwise block for long)."""
    infos: list[tuple[Any, ...]] = bounded(
        lambda: socket.getaddrinfo(host, port, type=socket.SOCK_STREAM),
        deadline,
        f"resolving {host!r}",
    )
    return infos


def is_local_address(host: str, deadline: Deadline) -> bool:
    """Whether ``host`` names an address of this machine: one of them can be bound here."""
    if host == "localhost":
        return True
    for family, kind, proto, _, address in resolve(host, 0, deadline):
        with socket.socket(family, kind, proto) as sock:
            try:
                sock.bind(address)
            except OSError:
                continue
            return True
    return False


def port_is_free(host: str, port: int, deadline: Deadline) -> bool:
    """Whether a server could listen on ``host:port`` now (nothing else holds it)."""
    for family, kind, proto, _, address in resolve(host, port, deadline):
        with socket.socket(family, kind, proto) as sock:
            # As a store server does: a port in TIME_WAIT from an earlier job is free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(address)
            except OSError:
                return False
    return True


def connect(host: str, port: int, deadline: Deadline) -> socket.socket:
    """A TCP connection to ``host:port`` opened within the budget; the caller closes it."""
    errors = []
    for family, kind, proto, _, address in resolve(host, port, deadline):
        sock = socket.socket(family, kind, proto)
        sock.settimeout(deadline.left())
        try:
            sock.connect(address)
            return sock
        except TimeoutError:
            sock.close()
            raise ProbeTimeout(
                f"no answer from {host}:{port} within {deadline.seconds:g}s"
            ) from None
        except OSError as error:
            sock.close()
            errors.append(error.strerror or str(error))
    raise ConnectionError(f"cannot connect to {host}:{port}: {'; '.join(errors) or 'no address'}")


def why(error: BaseException) -> str:
    if isinstance(error, (ProbeTimeout, ConnectionError)):
        return str(error)
    if isinstance(error, socket.gaierror):
        return f"cannot resolve the host: {error.strerror or error}"
    return f"{type(error).__name__}: {error}"


def probe_tcp_store(
    host: str,
    port: int,
    is_host: bool | None,
    deadline: Deadline,
    hosted_by: str = "the node whose address is the endpoint's host",
) -> ProbeResult:
    """c10d's TCPStore and static's store: a TCPStore answers there, or this node will host it.

    ``is_host`` follows c10d's option: True means this node hosts the store,
    False means it must connect, None means "this node if the host is ours".
    A listener that accepts connections is asked as torch's client asks a store
    (`tcp_store`): any other server there (HTTP, a silent socket) fails the
    check, since torch's client would wait for it forever.
    """
    from .tcp_store import ask_connected

    where = f"{host}:{port}"
    try:
        local = is_host if is_host is not None else is_local_address(host, deadline)
        if local and port == 0:
            return ProbeResult(True, f"this host will host the store on {host}, on a free port")
        if local and port_is_free(host, port, deadline):
            return ProbeResult(True, f"this host will host the store on {where} (port is free)")
        with connect(host, port, deadline) as sock:
            answer = ask_connected(sock, where, deadline.left(), f"--timeout {deadline.seconds:g}s")
    except Exception as error:
        return ProbeResult(
            False,
            f"store at {where} is unreachable: {why(error)}",
            f"start {hosted_by} first, or correct --rdzv-endpoint "
            "(it must name a host and port every node can reach)",
        )
    if not answer.is_store:
        return ProbeResult(
            False,
            answer.detail,
            "point --rdzv-endpoint at the TCPStore's host and port "
            f"(another server holds {where}), or stop what listens there",
        )
    return ProbeResult(True, f"store at {where} answers as a TCPStore")


def http_get(url: str, deadline: Deadline, context: ssl.SSLContext | None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=deadline.left(), context=context) as response:
            return int(response.status), bytes(response.read(65536))
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read(65536))


def url_error(error: BaseException, deadline: Deadline) -> str:
    reason = getattr(error, "reason", error)  # urllib wraps socket errors in URLError
    if isinstance(reason, TimeoutError) or isinstance(error, TimeoutError):
        return f"no answer within {deadline.seconds:g}s"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return why(reason) if isinstance(reason, BaseException) else str(reason)


def probe(
    settings: RendezvousSettings, description: BackendDescription, timeout: float | Deadline
) -> ProbeResult:
    """Probe the selected backend of ``settings`` within ``timeout`` seconds (or what a
    deadline already started has left).

    A backend without a probe (one declared in code, registered on torch's
    registry) cannot be probed without side effects: that is reported as
    such, without failing the check.
    """
    if description.probe is None:
        return ProbeResult(
            True,
            f"backend {settings.backend!r} is {_ORIGIN_LABEL[description.origin]}: "
            "not probed (no side-effect-free way)",
        )
    deadline = timeout if isinstance(timeout, Deadline) else Deadline(timeout)
    return description.probe(settings, deadline)


_ORIGIN_LABEL = {
    "builtin": "built in",
    "plugin": "a plugin",
    "container": "declared in code",
    "torch-registry": "registered on torch's registry",
}
