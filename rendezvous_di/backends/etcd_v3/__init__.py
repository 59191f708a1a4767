"""The ``etcd-v3`` backend: torch's dynamic rendezvous with its state in etcd's v3 API.

torch's ``etcd`` and ``etcd-v2`` backends speak etcd's v2 API, which etcd 3.6
removed; this one speaks v3 (through etcd's JSON gateway) and is otherwise
torch's own rendezvous: ``DynamicRendezvousHandler`` over a
``RendezvousBackend`` and a ``Store``, as torch builds ``etcd-v2``.

It is served like any out-of-tree backend, through the ``torchrun.handlers``
entry point of the rendezvous-di distribution (`handler_creator`), so
plain ``torchrun --rdzv-backend etcd-v3`` finds it too. This module is what
torch imports for that entry point: it stays cheap (no torch, no HTTP client);
`handler` is imported only when a handler is created.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError
from ..builtin.common import DYNAMIC_RENDEZVOUS_OPTIONS
from ..builtin.dynamic import read_progress
from ..builtin.etcd_common import ETCD_PORT
from ..description import BackendDescription
from ..events.strategy import EVENT, sync_option
from ..liveness.strategy import KEYS, heartbeats_option
from ..options import MAX_SECONDS, schema_from_declaration
from .endpoints import TLS, parse_endpoints

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous import RendezvousHandler, RendezvousParameters

    from ...config.settings import RendezvousSettings

__all__ = ["NAME", "OPTIONS", "SCHEMA", "TLS", "handler_creator", "parse_endpoints"]

NAME = "etcd-v3"
DEFAULT_KEY_PREFIX = "/torch/elastic/rendezvous"

MAX_LEASE_TTL = 9_000_000_000
"""etcd's own maximum lease TTL (``MaxLeaseTTL`` in etcd's lease package): a longer one is
refused by the server when the first node grants its lease, at the rendezvous."""

OPTIONS: dict[str, dict[str, Any]] = {
    "read_timeout": {
        "type": "int",
        "default": 60,
        "help": "seconds each etcd request may take",
        "minimum": 1,
        "maximum": MAX_SECONDS,  # a socket timeout: past ~9e9 s it no longer fits a time_t
    },
    "protocol": {
        "type": "str",
        "default": "http",
        "help": "protocol used to talk to etcd",
        "choices": ["http", "https"],
    },
    "ca_cert": {"type": "str", "default": None, "help": "path to the root CA certificate"},
    "ssl_cert": {"type": "str", "default": None, "help": "path to the TLS client certificate"},
    "ssl_cert_key": {
        "type": "str",
        "default": None,
        "help": "path to the TLS client certificate's private key",
    },
    "username": {"type": "str", "default": None, "help": "etcd user (when etcd auth is on)"},
    "password": {"type": "str", "default": None, "help": "password of the etcd user"},
    "key_prefix": {
        "type": "str",
        "default": DEFAULT_KEY_PREFIX,
        "help": "etcd key prefix; a run's keys live under <key_prefix>/<run_id>/",
    },
    "lease_ttl": {
        "type": "int",
        "default": 60,
        "help": "seconds an abandoned run's keys outlive its last node (etcd lease TTL); "
        "more than twice keep_alive_interval",
        "minimum": 2,
        "maximum": MAX_LEASE_TTL,
    },
    **{option.name: option.declaration() for option in DYNAMIC_RENDEZVOUS_OPTIONS},
    "sync": sync_option(EVENT).declaration(),
    "heartbeats": heartbeats_option(KEYS).declaration(),
}
"""The options ``etcd-v3`` reads: the creator's ``rendezvous_options`` (DESIGN section 5)."""


class _LeaseAndAuth:
    """Rules over several options: the lease outlives two heartbeats (and, with beats in
    keys, a node's detection); a password needs a user."""

    def check(
        self, conf: Mapping[str, Any], *, check_files: bool, sources: Mapping[str, str]
    ) -> None:
        ttl, interval = conf.get("lease_ttl", 60), conf.get("keep_alive_interval", 5)
        if ttl <= 2 * interval:
            raise ConfigError(
                "conf.lease_ttl",
                ttl,
                f"must be more than twice keep_alive_interval ({interval}s), or a node's "
                "keys could expire between two of its heartbeats",
                source=sources.get("conf.lease_ttl") or sources.get("conf.keep_alive_interval"),
            )
        attempts = conf.get("keep_alive_max_attempt", 3)
        if conf.get("heartbeats", KEYS) == KEYS and ttl <= interval * attempts:
            raise ConfigError(
                "conf.lease_ttl",
                ttl,
                f"must be more than keep_alive_interval x keep_alive_max_attempt "
                f"({interval * attempts}s) with heartbeats=keys: the state then stays on the "
                "lease of the node that wrote it last until that node is found gone",
                hint="raise lease_ttl, or set heartbeats=state",
                source=sources.get("conf.lease_ttl") or sources.get("conf.keep_alive_interval"),
            )
        if conf.get("password") and not conf.get("username"):
            raise ConfigError(
                "conf.password",
                "***",
                "a password without a user name",
                hint="set conf.username too",
                source=sources.get("conf.password"),
            )


SCHEMA = replace(schema_from_declaration(NAME, OPTIONS), checks=(TLS, _LeaseAndAuth()))


def _check(settings: RendezvousSettings) -> None:
    try:
        parse_endpoints(settings.endpoint)
    except ConfigError as error:
        raise error.with_source(settings.source_of("endpoint")) from None


def _probe(settings: RendezvousSettings, deadline: Any) -> Any:
    from .probe import probe

    return probe(settings, deadline)


DESCRIPTION = BackendDescription(
    name=NAME,
    origin="plugin",
    summary="etcd v3 API through torch's dynamic rendezvous (etcd 3.4 and later)",
    schema=SCHEMA,
    default_endpoint=f"localhost:{ETCD_PORT}",
    default_port=ETCD_PORT,
    settings_check=_check,
    probe=_probe,
    progress=read_progress,
    distribution="rendezvous-di",
)
"""What the plugin loader reads from the creator's ``rendezvous_description``."""


def create_handler(params: RendezvousParameters, sync: Any = None) -> RendezvousHandler:
    """The creator: validate the options (also under plain torchrun), then build the handler.

    Raises:
        ConfigError: an option or the endpoint is invalid (named, with the valid choices).
        RendezvousConnectionError: etcd cannot be reached or refused the credentials.
    """
    conf = SCHEMA.validate(params.config, require=True, check_files=True)
    endpoints = parse_endpoints(params.endpoint or DESCRIPTION.default_endpoint)
    from .handler import create_handler as create

    return create(params, conf, endpoints, sync)


create_handler.rendezvous_options = OPTIONS  # type: ignore[attr-defined]
create_handler.accepts_sync = True  # type: ignore[attr-defined]
create_handler.rendezvous_description = DESCRIPTION  # type: ignore[attr-defined]


def handler_creator() -> Any:
    """The ``torchrun.handlers`` entry point: torch calls it with no arguments for the creator."""
    return create_handler
