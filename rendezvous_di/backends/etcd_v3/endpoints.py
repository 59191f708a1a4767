"""Where etcd-v3 meets etcd: its members' addresses and the TLS files that secure them.

Both the entry point module (validating settings, no HTTP client) and the
client read these, so they live apart from either.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...config.endpoint import parse_endpoint, scheme_option
from ..builtin.etcd_common import ETCD_PORT
from ..tls import TlsOptions

TLS = TlsOptions(cert="ssl_cert", key="ssl_cert_key", ca="ca_cert")
"""etcd-v3's TLS options, checked and turned into an SSL context by `rendezvous_di.backends.tls`."""


SCHEME = scheme_option("etcd-v3")
"""A URL as an endpoint: etcd-v3 takes its scheme as the option ``protocol``."""


@dataclass(frozen=True)
class Address:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_endpoints(text: str, *, field: str = "endpoint") -> list[Address]:
    """``host[:port][,host[:port]...]``: etcd members, tried in order on connection errors.

    Raises:
        ConfigError: naming ``field`` for an empty or malformed member.
    """
    addresses = []
    for part in text.split(","):
        endpoint = parse_endpoint(part, field=field, scheme=SCHEME)
        addresses.append(Address(endpoint.host, endpoint.port or ETCD_PORT))
    return addresses
