"""torch's ``c10d`` backend: the rendezvous state in a c10d store (TCPStore or FileStore)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import ConfigError
from ..description import BackendDescription
from ..options import LAUNCHER_TIMEOUT, OptionSchema, OptionSpec
from .common import DYNAMIC_RENDEZVOUS_OPTIONS, address_endpoint

if TYPE_CHECKING:
    from ...config.settings import RendezvousSettings
    from ..probing import Deadline, ProbeResult

TORCH_CREATOR = "_create_c10d_handler"
DEFAULT_PORT = 29400


def _uses_file_store(settings: RendezvousSettings) -> bool:
    return settings.conf.get("store_type") == "file"


def check(settings: RendezvousSettings) -> None:
    """A TCP store meets at ``host[:port]``; a file store's endpoint is a path."""
    if not _uses_file_store(settings):
        address_endpoint(settings, port_required=False)
    elif not settings.endpoint.strip():
        raise ConfigError(
            "endpoint",
            settings.endpoint,
            "c10d's file store needs the path of its file, on a file system every node shares",
            source=settings.source_of("endpoint"),
        )


def file_store_directory(settings: RendezvousSettings) -> None:
    """A file store's directory must exist here: torch would fail only once the agent runs."""
    if not _uses_file_store(settings):
        return
    import os

    directory = os.path.dirname(os.path.abspath(settings.endpoint))
    if not os.path.isdir(directory):
        raise ConfigError(
            "endpoint",
            settings.endpoint,
            f"c10d's file store directory {directory} does not exist",
            hint="create it, or point --rdzv-endpoint at a path on a file system every node shares",
            source=settings.source_of("endpoint"),
        )


def probe(settings: RendezvousSettings, deadline: Deadline) -> ProbeResult:
    """The file store's directory is writable, or the TCPStore is reachable or can be hosted."""
    from ..probing import ProbeResult, probe_tcp_store

    if _uses_file_store(settings):
        import os

        directory = os.path.dirname(os.path.abspath(settings.endpoint))
        if os.path.isdir(directory) and os.access(directory, os.W_OK):
            return ProbeResult(True, f"file store directory {directory} is writable")
        return ProbeResult(
            False,
            f"file store directory {directory} is missing or not writable",
            "create it, or point --rdzv-endpoint at a writable path on a shared file system",
        )
    endpoint = address_endpoint(settings, port_required=False)
    port = DEFAULT_PORT if endpoint.port is None else endpoint.port
    return probe_tcp_store(endpoint.host, port, settings.conf.get("is_host"), deadline)


DESCRIPTION = BackendDescription(
    name="c10d",
    origin="builtin",
    summary="C10d store (TCPStore or FileStore); no external server",
    default_endpoint="localhost:0",
    default_port=DEFAULT_PORT,
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
            *DYNAMIC_RENDEZVOUS_OPTIONS,
            LAUNCHER_TIMEOUT,
        ),
    ),
    settings_check=check,
    probe=probe,
    local_check=file_store_directory,
    distribution="torch",
)
