"""The four built-in backends: how torch creates them and which options they read.

Everything here is plain data plus one creator per backend that defers to
torch's own code (``torch.distributed.elastic.rendezvous.registry``), imported
only when a handler is actually built. Listing backends or validating a
configuration therefore never imports torch.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import BackendDependencyError
from .options import OptionSchema, OptionSpec
from .tls import ETCD_TLS, ETCD_V2_TLS

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous import RendezvousHandler, RendezvousParameters


_ETCD_PROTOCOL = OptionSpec(
    "protocol", "choice", "http", "protocol used to talk to etcd", choices=("http", "https")
)

_LAST_CALL_TIMEOUT = OptionSpec(
    "last_call_timeout",
    "int",
    30,
    "extra seconds to wait for more nodes once min_nodes joined",
    minimum=0,
)


def _timeouts() -> tuple[OptionSpec, ...]:
    """Options of torch's DynamicRendezvousHandler, shared by c10d and etcd-v2."""
    return (
        OptionSpec(
            "join_timeout",
            "int",
            600,
            "seconds within which the rendezvous must complete",
            minimum=1,
        ),
        _LAST_CALL_TIMEOUT,
        OptionSpec(
            "close_timeout",
            "int",
            30,
            "seconds within which the rendezvous must close after set_closed/shutdown",
            minimum=1,
        ),
        OptionSpec(
            "heartbeat_timeout",
            "int",
            5,
            "seconds within which a keep-alive heartbeat must complete",
            minimum=1,
        ),
        OptionSpec(
            "keep_alive_interval", "int", 5, "seconds between keep-alive heartbeats", minimum=1
        ),
        OptionSpec(
            "keep_alive_max_attempt",
            "int",
            3,
            "missed heartbeats before a node is considered dead",
            minimum=1,
        ),
    )


_LAUNCHER_TIMEOUT = OptionSpec(
    "timeout",
    "int",
    900,
    "set by torch's launcher (LaunchConfig); not read by this backend",
    minimum=1,
    launcher=True,
)


@dataclass(frozen=True)
class BuiltinBackend:
    """A backend that ships with torch.

    Attributes:
        torch_creator: name of the creator function in torch's registry module,
            the very code torch's ``get_rendezvous_handler`` runs.
        default_endpoint: used when no endpoint is configured.
        requires: (module, extra) pairs that must be importable.
    """

    name: str
    summary: str
    torch_creator: str
    default_endpoint: str
    default_port: int | None
    schema: OptionSchema
    requires: tuple[tuple[str, str], ...] = ()

    def missing_dependency(self) -> tuple[str, str] | None:
        """Return the first (module, extra) that is not installed, without importing it."""
        for module, extra in self.requires:
            if importlib.util.find_spec(module) is None:
                return module, extra
        return None

    def creator(self) -> Callable[[RendezvousParameters], RendezvousHandler]:
        """Return torch's creator for this backend, importing torch on first use."""
        missing = self.missing_dependency()
        if missing is not None:
            raise BackendDependencyError(self.name, *missing)
        from ._torch import rendezvous_registry_module

        creator: Callable[[RendezvousParameters], RendezvousHandler] = getattr(
            rendezvous_registry_module(), self.torch_creator
        )
        return creator


_C10D = BuiltinBackend(
    name="c10d",
    summary="C10d store (TCPStore or FileStore); no external server",
    torch_creator="_create_c10d_handler",
    default_endpoint="localhost:0",
    default_port=29400,
    schema=OptionSchema(
        "c10d",
        (
            OptionSpec(
                "store_type",
                "choice",
                "tcp",
                "store holding the rendezvous state",
                choices=("tcp", "file"),
            ),
            OptionSpec(
                "read_timeout", "int", 60, "read timeout in seconds for store operations", minimum=1
            ),
            OptionSpec(
                "is_host",
                "bool",
                None,
                "whether this node hosts the TCPStore (inferred from the endpoint host)",
            ),
            *_timeouts(),
            _LAUNCHER_TIMEOUT,
        ),
    ),
)

_ETCD_V2 = BuiltinBackend(
    name="etcd-v2",
    summary="etcd v2 API through torch's dynamic rendezvous",
    torch_creator="_create_etcd_v2_handler",
    default_endpoint="localhost:2379",
    default_port=2379,
    requires=(("etcd", "etcd"), ("urllib3", "etcd")),
    schema=OptionSchema(
        "etcd-v2",
        (
            OptionSpec(
                "read_timeout", "int", 60, "read timeout in seconds for etcd operations", minimum=1
            ),
            _ETCD_PROTOCOL,
            OptionSpec("ssl_cert", "file", None, "path to the TLS client certificate"),
            OptionSpec(
                "ssl_cert_key", "file", None, "path to the TLS client certificate's private key"
            ),
            OptionSpec("ca_cert", "file", None, "path to the root CA certificate"),
            *_timeouts(),
            _LAUNCHER_TIMEOUT,
        ),
        checks=(ETCD_V2_TLS,),
    ),
)

_ETCD = BuiltinBackend(
    name="etcd",
    summary="legacy etcd rendezvous (etcd v2 API)",
    torch_creator="_create_etcd_handler",
    default_endpoint="localhost:2379",
    default_port=2379,
    requires=(("etcd", "etcd"),),
    schema=OptionSchema(
        "etcd",
        (
            _ETCD_PROTOCOL,
            OptionSpec("cert", "file", None, "path to the TLS client certificate"),
            OptionSpec("key", "file", None, "path to the TLS client certificate's private key"),
            OptionSpec("cacert", "file", None, "path to the root CA certificate"),
            OptionSpec(
                "etcd_prefix", "str", "/torchelastic/p2p", "etcd key prefix for rendezvous state"
            ),
            OptionSpec(
                "timeout",
                "int",
                600,
                "seconds within which the rendezvous must complete",
                minimum=1,
            ),
            _LAST_CALL_TIMEOUT,
        ),
        checks=(ETCD_TLS,),
    ),
)

_STATIC = BuiltinBackend(
    name="static",
    summary="fixed world: TCPStore on the endpoint, world size = max_nodes",
    torch_creator="_create_static_handler",
    default_endpoint="127.0.0.1:29500",
    default_port=None,
    schema=OptionSchema(
        "static",
        (
            OptionSpec(
                "rank",
                "int",
                None,
                "this node's rank (torchrun passes --node-rank)",
                minimum=0,
                required=True,
                launcher=True,
            ),
            OptionSpec("timeout", "int", 600, "seconds to wait for every node", minimum=1),
        ),
    ),
)

BUILTIN_BACKENDS: dict[str, BuiltinBackend] = {b.name: b for b in (_C10D, _ETCD, _ETCD_V2, _STATIC)}


def builtin_handler(name: str, params: RendezvousParameters) -> RendezvousHandler:
    """Create the built-in backend ``name``'s handler with torch's own creator."""
    return BUILTIN_BACKENDS[name].creator()(params)


def describe_default(value: Any) -> str:
    """Render an option default for listings (None means torch decides)."""
    return "-" if value is None else str(value)
