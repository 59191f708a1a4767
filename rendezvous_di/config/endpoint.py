"""Rendezvous endpoints: ``host[:port]`` with the same grammar torch accepts.

torch parses endpoints only when the handler is created, deep inside the
backend, and reports a bad port as a bare ValueError. We parse them while
validating settings, with the same rules (``torch.distributed.elastic.
rendezvous.utils.parse_rendezvous_endpoint``), so a typo fails before any
process starts and the error names the field.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ConfigError
from ..text import quote

_HOST = re.compile(r"^[\w\.:-]+$")
_PORT = re.compile(r"^[0-9]{1,5}$")
MAX_HOST = 253


@dataclass(frozen=True)
class Endpoint:
    """A parsed endpoint; ``port`` is None when the text had none."""

    host: str
    port: int | None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"


SchemeHint = Callable[[str], str]
"""How a backend chooses the scheme a URL put in its endpoint (given the scheme written):
the sentence that says where it goes instead, or that the backend has none."""


def no_scheme(backend: str) -> SchemeHint:
    """For a backend that speaks one protocol of its own over TCP (c10d, static)."""
    return lambda scheme: f"{backend}'s store speaks its own protocol over TCP: there is no scheme"


def scheme_option(
    backend: str, option: str = "protocol", schemes: str = "http|https"
) -> SchemeHint:
    """For a backend that takes its scheme as an option (the etcd backends' ``protocol``)."""

    def hint(scheme: str) -> str:
        known = scheme.lower() in schemes.split("|")
        chosen = scheme.lower() if known else schemes.split("|")[-1]
        return (
            f"{backend} takes the scheme as the option {option} ({schemes}): "
            f"--rdzv-conf {option}={chosen}, or conf.{option}: {chosen} in a config file"
        )

    return hint


def _any_scheme(scheme: str) -> str:
    return "a backend that speaks several protocols takes the scheme as an option (etcd's protocol)"


def parse_endpoint(
    text: str, *, field: str = "endpoint", scheme: SchemeHint | None = None
) -> Endpoint:
    """Parse ``host``, ``host:port``, ``[v6]`` or ``[v6]:port``.

    ``scheme`` says how the backend at hand chooses what a URL's scheme would
    say (`scheme_option`, `no_scheme`); a URL is refused with that sentence.

    Raises:
        ConfigError: naming ``field`` when the host or port is malformed.
    """
    endpoint = text.strip()
    if not endpoint:
        raise ConfigError(field, text, "must not be empty; expected <host>[:<port>]")
    written, sep, rest = endpoint.partition("://")
    if sep and written and written.isalpha():  # http://host:2379: a URL, not host:port
        raise ConfigError(
            field,
            text,
            f"{quote(text)} starts with the scheme {written}://; an endpoint is "
            "<host>:<port>, without one",
            hint=f"write {quote(rest.rstrip('/'))}; " + (scheme or _any_scheme)(written),
        )
    if not endpoint.startswith("[") and endpoint.count(":") > 1 and not _is_ipv6_port(endpoint):
        raise ConfigError(
            field,
            text,
            f"{quote(text)} has more than one ':' and is no IPv6 address: one host, one port",
            hint="write <host>:<port>; an IPv6 address is written [::1]:29400",
        )
    if not endpoint.startswith("[") and endpoint.count(":") > 1:
        # torch would split "fe80::1" into host "fe80:" and port 1; "::1:29400" is ambiguous.
        raise ConfigError(
            field,
            text,
            f"{quote(text)} is an IPv6 address without brackets",
            hint=f"write {_bracketed(endpoint)}",
        )
    bracketed = endpoint.startswith("[")
    if endpoint.startswith("[") and endpoint.endswith("]"):
        host, port_text = endpoint[1:-1], None
    else:
        host, sep, port_text = endpoint.rpartition(":")
        if not sep:
            host, port_text = endpoint, None
        if len(host) > 1 and host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
    if bracketed and not _is_ipv6(host):
        raise ConfigError(
            field,
            text,
            f"{quote(host)} in brackets is not an IPv6 address",
            hint="write [<IPv6 address>]:<port>, for example [::1]:29400",
        )
    port: int | None = None
    if port_text is not None:
        if not _PORT.match(port_text) or int(port_text) >= 2**16:
            raise ConfigError(
                field, text, f"port {port_text!r} is not an integer between 0 and 65535"
            )
        port = int(port_text)
    if not host or not _HOST.match(host):
        raise ConfigError(
            field,
            text,
            f"host {host!r} is not a hostname, an IPv4 address or a bracketed IPv6 address",
        )
    if len(host) > MAX_HOST:  # DNS's limit: torch would fail to resolve it much later
        raise ConfigError(
            field, text, f"host is {len(host)} characters long; a host name has at most {MAX_HOST}"
        )
    return Endpoint(host, port)


def host_port(host: str, port: int | str) -> str:
    """``host:port`` as an endpoint; an IPv6 address (``--master-addr ::1``) is bracketed."""
    return f"[{host}]:{port}" if _is_ipv6(host) else f"{host}:{port}"


def _bracketed(endpoint: str) -> str:
    """How ``endpoint``, a bare IPv6 address perhaps followed by a port, is written."""
    host, _, port = endpoint.rpartition(":")
    with_port = port.isdigit() and _is_ipv6(host)
    if _is_ipv6(endpoint):
        whole = f"[{endpoint}]:<port>"
        return f"[{host}]:{port}, or {whole} if {port} is not the port" if with_port else whole
    if with_port:
        return f"[{host}]:{port}"
    return "[<IPv6 address>]:<port>, for example [::1]:29400"


def _is_ipv6_port(text: str) -> bool:
    """Whether ``text`` is a bare IPv6 address, or one followed by ``:port``."""
    host, _, port = text.rpartition(":")
    return _is_ipv6(text) or (port.isdigit() and _is_ipv6(host))


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def parse_address(text: str, *, field: str = "local_addr") -> str:
    """A node's own address (torchrun's ``--local-addr``): a host, without a port.

    torch hands it to workers as ``MASTER_ADDR``, where an IPv6 address is
    written bare (``fe80::1``); ``[fe80::1]`` is accepted and unbracketed. A
    value with a port (``::1:29400``, ``host:29400``) is refused.
    """
    address = text.strip()
    if address.startswith("[") and address.endswith("]") and _is_ipv6(address[1:-1]):
        return address[1:-1]
    if ":" in address and not _is_ipv6(address):
        raise ConfigError(
            field,
            text,
            f"{quote(text)} is not a host: {field} is this node's address, without a port",
            hint="an IPv6 address is written ::1 or [::1]",
        )
    return address
