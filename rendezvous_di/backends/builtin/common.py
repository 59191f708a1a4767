"""What several built-in backends share: torch's dynamic-rendezvous options, endpoint rules.

torch builds ``c10d`` and ``etcd-v2`` (and our ``etcd-v3``) from one
``DynamicRendezvousHandler``, so they read the same timeout options; every
built-in except c10d's file store meets at a ``host[:port]`` endpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ...config.endpoint import Endpoint, SchemeHint, no_scheme, parse_endpoint
from ...errors import ConfigError
from ..options import MAX_SECONDS, OptionSpec

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous import RendezvousHandler, RendezvousParameters

    from ...config.settings import RendezvousSettings

MAX_KEEP_ALIVE_ATTEMPTS = 10**4
"""The most missed heartbeats an option may allow (see ``keep_alive_max_attempt``)."""

LAST_CALL_TIMEOUT = OptionSpec(
    "last_call_timeout",
    "int",
    30,
    "extra seconds to wait for more nodes once min_nodes joined",
    minimum=0,
    maximum=MAX_SECONDS,
)

DYNAMIC_RENDEZVOUS_OPTIONS = (
    OptionSpec(
        "join_timeout",
        "int",
        600,
        "seconds within which the rendezvous must complete",
        minimum=1,
        maximum=MAX_SECONDS,
    ),
    LAST_CALL_TIMEOUT,
    OptionSpec(
        "close_timeout",
        "int",
        30,
        "seconds within which the rendezvous must close after set_closed/shutdown",
        minimum=1,
        maximum=MAX_SECONDS,
    ),
    OptionSpec(
        "heartbeat_timeout",
        "int",
        5,
        "seconds within which a keep-alive heartbeat must complete",
        minimum=1,
        maximum=MAX_SECONDS,
    ),
    OptionSpec(
        "keep_alive_interval",
        "int",
        5,
        "seconds between keep-alive heartbeats",
        minimum=1,
        maximum=MAX_SECONDS,
    ),
    OptionSpec(
        "keep_alive_max_attempt",
        "int",
        3,
        "missed heartbeats before a node is considered dead",
        minimum=1,
        # torch multiplies it with keep_alive_interval into a timedelta, which ends at
        # about 8.6e13 seconds: 10**4 x MAX_SECONDS stays below.
        maximum=MAX_KEEP_ALIVE_ATTEMPTS,
    ),
)
"""Options of torch's ``DynamicRendezvousHandler`` (``create_handler`` in dynamic_rendezvous)."""


def address_endpoint(
    settings: RendezvousSettings, *, port_required: bool, scheme: SchemeHint | None = None
) -> Endpoint:
    """The settings' endpoint parsed as ``host[:port]``, or a ConfigError naming its source.

    ``scheme`` says where a URL's scheme goes for this backend; by default it has none.
    """
    source = settings.source_of("endpoint")
    try:
        endpoint = parse_endpoint(settings.endpoint, scheme=scheme or no_scheme(settings.backend))
    except ConfigError as error:
        raise error.with_source(source) from None
    if port_required and endpoint.port is None:
        raise ConfigError(
            "endpoint",
            settings.endpoint,
            f"backend {settings.backend!r} needs an explicit port, <host>:<port>",
            source=source,
        )
    return endpoint


def address_check(
    *, port_required: bool, scheme: SchemeHint | None = None
) -> Callable[[RendezvousSettings], None]:
    """A settings check that only asks for a well-formed ``host[:port]`` endpoint."""

    def check(settings: RendezvousSettings) -> None:
        address_endpoint(settings, port_required=port_required, scheme=scheme)

    return check


Creator = Callable[["RendezvousParameters"], "RendezvousHandler"]


def registry_creator(function: str) -> Creator:
    """The creator ``function`` of torch's registry module, the code torch itself runs.

    Looked up when a handler is created: importing torch waits until then.
    """

    def create(params: RendezvousParameters) -> RendezvousHandler:
        from ..._torch import rendezvous_registry_module

        torch_function: Creator = getattr(rendezvous_registry_module(), function)
        return torch_function(params)

    create.__qualname__ = create.__name__ = function
    return create
