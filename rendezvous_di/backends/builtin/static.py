"""torch's ``static`` backend: a fixed world on a TCPStore that rank 0 hosts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import ConfigError
from ..description import BackendDescription
from ..options import MAX_SECONDS, OptionSchema, OptionSpec
from .common import address_endpoint, registry_creator

if TYPE_CHECKING:
    from ...config.settings import RendezvousSettings
    from ..deadline import Deadline
    from ..description import ProbeResult

TORCH_CREATOR = registry_creator("_create_static_handler")


def check(settings: RendezvousSettings) -> None:
    """The endpoint needs a port other than 0; a rank past ``max_nodes`` waits for a node that
    never comes.

    Port 0 fails even on one node: rank 0's store takes a free port, but torch
    hands the workers the endpoint's port as ``MASTER_PORT``, 0, and a worker
    that joins a process group waits for it forever (plain torchrun too).
    """
    endpoint = address_endpoint(settings, port_required=True)
    if endpoint.port == 0:
        raise ConfigError(
            "endpoint",
            settings.endpoint,
            "static gives its workers the endpoint's port as MASTER_PORT, and port 0 is "
            "none they can connect to: their process group would wait forever",
            hint="give a fixed port, or leave --master-port out on one node "
            "(c10d on a free port, as torchrun does)",
            source=settings.source_of("endpoint"),
        )
    rank = settings.conf.get("rank")
    if rank is not None and rank >= settings.max_nodes:
        source = settings.source_of("conf.rank")
        nodes = settings.max_nodes
        raise ConfigError(
            "node_rank" if "node-rank" in source or "NODE_RANK" in source else "conf.rank",
            rank,
            f"rank {rank} is not below the node count, {nodes}: "
            + ("the one node's rank is 0" if nodes == 1 else f"ranks are 0 to {nodes - 1}"),
            source=source,
        )


def probe(settings: RendezvousSettings, deadline: Deadline) -> ProbeResult:
    """Rank 0 hosts the store; every other rank must reach it."""
    from ..probing import probe_tcp_store

    endpoint = address_endpoint(settings, port_required=True)
    rank = settings.conf.get("rank")
    is_host = None if rank is None else rank == 0
    return probe_tcp_store(
        endpoint.host, endpoint.port or 0, is_host, deadline, "the node with --node-rank 0"
    )


DESCRIPTION = BackendDescription(
    name="static",
    origin="builtin",
    summary="fixed world: TCPStore on the endpoint, world size = max_nodes",
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
            OptionSpec(
                "timeout",
                "int",
                600,
                "seconds to wait for every node",
                minimum=1,
                maximum=MAX_SECONDS,
            ),
        ),
    ),
    settings_check=check,
    probe=probe,
    meets_at_master=True,
    distribution="torch",
)
