"""Can this node reach its rendezvous backend? Probes that answer before a job starts.

A wrong endpoint or a server started without the v2 API otherwise shows up as
a ``join_timeout`` (10 minutes by default) on every node. Each probe here
answers in at most ``timeout`` seconds using plain sockets and ``urllib``:
torch is not imported, and no handler is created (creating a c10d handler
would host or join the real store; an etcd handler would write state).

Results say what was checked and, when it failed, how to fix it.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .backends import BUILTIN_BACKENDS
from .endpoint import parse_endpoint
from .policy import PluginPolicy, builtin_serves, policy_value, slot_of
from .settings import RendezvousSettings


@dataclass(frozen=True)
class ProbeResult:
    """One probe's verdict: ``ok``, what was found, and how to fix it when not ok."""

    ok: bool
    detail: str
    fix: str | None = None


class Deadline:
    """The time left of one overall budget, handed out to each network step."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left, at least a small positive value so that a step can still fail fast."""
        return max(self._end - time.monotonic(), 0.05)


class ProbeTimeout(Exception):
    """A step did not finish within the probe's budget."""


def _bounded(call: Callable[[], Any], deadline: Deadline, what: str) -> Any:
    """Run a call that has no timeout of its own (DNS lookups) within the budget."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as error:
            box["error"] = error

    worker = threading.Thread(target=target, name="rdzv-probe", daemon=True)
    worker.start()
    worker.join(deadline.left())
    if worker.is_alive():
        raise ProbeTimeout(f"{what} did not finish within {deadline.seconds:g}s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def resolve(host: str, port: int, deadline: Deadline) -> list[tuple[Any, ...]]:
    """getaddrinfo within the budget (a dead DNS server would otherwise block for long)."""
    infos: list[tuple[Any, ...]] = _bounded(
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


def connect(host: str, port: int, deadline: Deadline) -> None:
    """Open and close a TCP connection to ``host:port`` within the budget."""
    errors = []
    for family, kind, proto, _, address in resolve(host, port, deadline):
        with socket.socket(family, kind, proto) as sock:
            sock.settimeout(deadline.left())
            try:
                sock.connect(address)
                return
            except TimeoutError:
                raise ProbeTimeout(
                    f"no answer from {host}:{port} within {deadline.seconds:g}s"
                ) from None
            except OSError as error:
                errors.append(error.strerror or str(error))
    raise ConnectionError(f"cannot connect to {host}:{port}: {'; '.join(errors) or 'no address'}")


def _why(error: BaseException) -> str:
    if isinstance(error, (ProbeTimeout, ConnectionError)):
        return str(error)
    if isinstance(error, socket.gaierror):
        return f"cannot resolve the host: {error.strerror or error}"
    return f"{type(error).__name__}: {error}"


def probe_tcp_store(
    backend: str,
    host: str,
    port: int,
    is_host: bool | None,
    deadline: Deadline,
) -> ProbeResult:
    """c10d's TCPStore and static's store: reachable, or this node will host it.

    ``is_host`` follows c10d's option: True means this node hosts the store,
    False means it must connect, None means "this node if the host is ours".
    """
    where = f"{host}:{port}"
    try:
        local = is_host if is_host is not None else is_local_address(host, deadline)
        if local and port == 0:
            return ProbeResult(True, f"this host will host the store on {host}, on a free port")
        if local and port_is_free(host, port, deadline):
            return ProbeResult(True, f"this host will host the store on {where} (port is free)")
        connect(host, port, deadline)
    except Exception as error:
        hosted_by = "the node whose address is the endpoint's host"
        if backend == "static":
            hosted_by = "the node with --node-rank 0"
        return ProbeResult(
            False,
            f"store at {where} is unreachable: {_why(error)}",
            f"start {hosted_by} first, or correct --rdzv-endpoint "
            "(it must name a host and port every node can reach)",
        )
    return ProbeResult(True, f"store at {where} accepts connections")


def etcd_ssl_context(conf: Mapping[str, Any], names: tuple[str, str, str]) -> ssl.SSLContext:
    """A TLS context from a backend's TLS options (certificate, key, CA), as torch passes them."""
    cert_name, key_name, ca_name = names
    context = ssl.create_default_context(cafile=conf.get(ca_name) or None)
    if conf.get(cert_name):
        context.load_cert_chain(conf[cert_name], conf.get(key_name) or None)
    return context


_TLS_NAMES = {"etcd": ("cert", "key", "cacert"), "etcd-v2": ("ssl_cert", "ssl_cert_key", "ca_cert")}


def _http_get(url: str, deadline: Deadline, context: ssl.SSLContext | None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=deadline.left(), context=context) as response:
            return int(response.status), bytes(response.read(65536))
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read(65536))


def _url_error(error: BaseException, deadline: Deadline) -> str:
    reason = getattr(error, "reason", error)  # urllib wraps socket errors in URLError
    if isinstance(reason, TimeoutError) or isinstance(error, TimeoutError):
        return f"no answer within {deadline.seconds:g}s"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror
    return _why(reason) if isinstance(reason, BaseException) else str(reason)


def probe_etcd(settings: RendezvousSettings, deadline: Deadline) -> ProbeResult:
    """etcd answers ``/version`` and serves the v2 API both torch backends use."""
    endpoint = parse_endpoint(settings.endpoint)
    port = endpoint.port or 2379
    protocol = settings.conf.get("protocol", "http")
    base = f"{protocol}://{endpoint}" if endpoint.port else f"{protocol}://{endpoint}:{port}"
    try:
        context = (
            etcd_ssl_context(settings.conf, _TLS_NAMES[settings.backend])
            if protocol == "https"
            else None
        )
        status, body = _http_get(f"{base}/version", deadline, context)
        version = json.loads(body).get("etcdserver") if status == 200 else None
        if not version:
            return ProbeResult(
                False,
                f"{base}/version answered HTTP {status} without an etcd version",
                "check that --rdzv-endpoint names an etcd client URL (usually port 2379)",
            )
        status, _ = _http_get(f"{base}/v2/keys/", deadline, context)
    except Exception as error:
        return ProbeResult(
            False,
            f"etcd at {base} is unreachable: {_url_error(error, deadline)}",
            "start etcd with --enable-v2=true and a client URL every node can reach, "
            "or correct --rdzv-endpoint / conf.protocol",
        )
    if status != 200:
        return ProbeResult(
            False,
            f"etcd {version} at {base} answers, but its v2 API is disabled (HTTP {status})",
            "restart etcd with --enable-v2=true: torch's etcd backends use the v2 API",
        )
    return ProbeResult(True, f"etcd {version} at {base} answers; v2 API enabled")


def probe_builtin(settings: RendezvousSettings, deadline: Deadline) -> ProbeResult:
    """The probe for one of torch's built-in backends."""
    backend = settings.backend
    if backend in ("etcd", "etcd-v2"):
        return probe_etcd(settings, deadline)
    if backend == "c10d" and settings.conf.get("store_type") == "file":
        directory = os.path.dirname(os.path.abspath(settings.endpoint))
        if os.path.isdir(directory) and os.access(directory, os.W_OK):
            return ProbeResult(True, f"file store directory {directory} is writable")
        return ProbeResult(
            False,
            f"file store directory {directory} is missing or not writable",
            "create it, or point --rdzv-endpoint at a writable path on a shared file system",
        )
    endpoint = parse_endpoint(settings.endpoint)
    port = endpoint.port if endpoint.port is not None else BUILTIN_BACKENDS[backend].default_port
    is_host = settings.conf.get("is_host") if backend == "c10d" else None
    if backend == "static" and "rank" in settings.conf:
        is_host = settings.conf["rank"] == 0
    return probe_tcp_store(backend, endpoint.host, port or 0, is_host, deadline)


def probe_out_of_tree(
    name: str, provider: Any, deadline: Deadline, policy: PluginPolicy | None = None
) -> ProbeResult:
    """Hook for backends that are not torch's built-ins: is the plugin loadable?

    Loads the plugin's creator without creating a handler, which for most
    backends would already join a rendezvous. A plugin-claimed Selector entry
    (:func:`rendezvous_di.policy.slot_of`) is probed through the plugins the
    policy lets serve it; any other provider passes, among its positional
    arguments, an object with a ``creator()`` method or with ``loaders``, a
    sequence of such objects. Anything else (a provider a platform declared in
    code) cannot be probed without side effects and is reported as such,
    without failing the check. Extend here when plugins grow a richer
    readiness protocol (e.g. a ``probe(params, timeout)`` of their own).
    """
    slot = slot_of(provider)
    if slot is not None:
        decision = slot.decide(policy_value(policy))
        if decision.kind not in ("plugin", "builtin"):
            return ProbeResult(
                False,
                f"no plugin may serve {name!r}: {decision.kind}, {decision.reason}",
                "adjust the plugins settings (allow, deny, override_builtins) or uninstall "
                "the conflicting distribution",
            )
        loaders: list[Any] = list(decision.loaders)
    else:
        loaders = []
        for argument in getattr(provider, "args", ()):
            if callable(getattr(argument, "creator", None)):
                loaders.append(argument)
            loaders.extend(
                item
                for item in getattr(argument, "loaders", ())
                if callable(getattr(item, "creator", None))
            )
    if not loaders:
        return ProbeResult(
            True,
            f"backend {name!r} is declared in code: not probed (no side-effect-free way)",
        )
    try:
        for loader in loaders:
            _bounded(loader.creator, deadline, f"loading the plugin for {name!r}")
    except Exception as error:
        return ProbeResult(
            False,
            f"the plugin for {name!r} cannot be loaded: {_why(error)}",
            "reinstall the plugin's distribution, or select another backend "
            "(rendezvous-di backends lists them)",
        )
    return ProbeResult(True, f"the plugin for {name!r} loads")


def probe(
    settings: RendezvousSettings,
    provider: Any,
    timeout: float,
    policy: PluginPolicy | None = None,
) -> ProbeResult:
    """Probe the selected backend of ``settings`` within ``timeout`` seconds.

    ``policy`` decides, for a name both torch and a plugin claim, who serves it.
    """
    deadline = Deadline(timeout)
    if builtin_serves(settings.backend, provider, policy):
        return probe_builtin(settings, deadline)
    return probe_out_of_tree(settings.backend, provider, deadline, policy)
