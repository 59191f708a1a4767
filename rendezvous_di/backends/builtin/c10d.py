"""torch's ``c10d`` backend: the rendezvous state in a c10d store (TCPStore or FileStore)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import ConfigError
from ..description import BackendDescription, ProbeResult
from ..events.strategy import EVENT, sync_option
from ..liveness.strategy import KEYS, heartbeats_option
from ..options import LAUNCHER_TIMEOUT, MAX_SECONDS, OptionSchema, OptionSpec
from . import dynamic
from .common import DYNAMIC_RENDEZVOUS_OPTIONS, address_endpoint

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous import RendezvousParameters

    from ...config.settings import RendezvousSettings
    from ..deadline import Deadline
    from ..events.signals import Signals
    from ..liveness.beats import Beats


def store_signals(store: Any, params: RendezvousParameters) -> Signals:
    """Event-driven waiting's signals in the rendezvous's own store (see `store_signals`)."""
    from ..events.store_signals import StoreSignals

    return StoreSignals(store, f"torch.rendezvous.{params.run_id}", lambda: _connect(store))


def _connect(store: Any) -> Any:
    """A second client of ``store``: its listener blocks on it, the handler's stays free."""
    clone = getattr(store, "clone", None)
    if clone is not None:
        return clone()
    # torch before clone(): a TCPStore client, or the same FileStore's file.
    from torch.distributed import FileStore, TCPStore  # type: ignore[attr-defined]

    if isinstance(store, TCPStore):
        timeout = store.timeout  # type: ignore[attr-defined]
        return TCPStore(store.host, store.port, is_master=False, timeout=timeout)
    return FileStore(store.path, -1)


def store_beats(store: Any, params: RendezvousParameters) -> Beats:
    """Heartbeat keys in the rendezvous's own store (see `StoreBeats`)."""
    from ..liveness.beats import StoreBeats

    return StoreBeats(store, f"torch.rendezvous.{params.run_id}")


TORCH_CREATOR = dynamic.creator("c10d_rendezvous_backend", store_signals, store_beats)
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

    from ...paths import file_problem

    directory = os.path.dirname(os.path.abspath(settings.endpoint))
    if not os.path.isdir(directory):
        raise ConfigError(
            "endpoint",
            settings.endpoint,
            f"c10d's file store directory {directory} does not exist",
            hint="create it, or point --rdzv-endpoint at a path on a file system every node shares",
            source=settings.source_of("endpoint"),
        )
    problem = file_problem(settings.endpoint) if os.path.lexists(settings.endpoint) else None
    if problem is not None:  # a FIFO or a directory there: torch's FileStore would hang or fail
        raise ConfigError(
            "endpoint",
            settings.endpoint,
            f"c10d's file store: {problem}",
            hint="point --rdzv-endpoint at a new path or at a store file",
            source=settings.source_of("endpoint"),
        )


def probe(settings: RendezvousSettings, deadline: Deadline) -> ProbeResult:
    """The file store's directory is writable, or the TCPStore is reachable or can be hosted."""
    from ..probing import probe_tcp_store

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


def before_create(params: RendezvousParameters) -> None:
    """Whatever already listens at the endpoint this node would join must be a TCPStore.

    torch's client waits forever for a listener that never answers a store's
    ping (an HTTP server, a stray socket), whatever ``read_timeout`` says. Asked
    here first, within ``read_timeout``: nothing listening is left to torch (it
    hosts the store, or retries until the store is up); a store passes; anything
    else raises. A node told ``is_host=true`` binds the port itself (torch fails
    fast if it is taken), and port 0 means a fresh port: neither is asked.

    Raises:
        NotATCPStoreError: naming the endpoint and what answered there.
    """
    from ...config.endpoint import parse_endpoint
    from ...errors import NotATCPStoreError
    from ..tcp_store import ask

    if str(params.get("store_type", "tcp")).strip().lower() == "file":
        return
    if params.get_as_bool("is_host", None) is True:
        return
    endpoint = parse_endpoint(params.endpoint)
    port = DEFAULT_PORT if endpoint.port is None else endpoint.port
    if port == 0:
        return
    timeout = params.get_as_int("read_timeout", 60) or 60
    answer = ask(endpoint.host, port, timeout, "read_timeout")
    if answer.verdict == "not a store":
        raise NotATCPStoreError("c10d", f"{endpoint.host}:{port}", answer.detail)


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
                "read_timeout",
                "int",
                60,
                "read timeout in seconds for store operations",
                minimum=1,
                maximum=MAX_SECONDS,
            ),
            OptionSpec(
                "is_host",
                "bool",
                None,
                "whether this node hosts the TCPStore (inferred from the endpoint host)",
            ),
            *DYNAMIC_RENDEZVOUS_OPTIONS,
            sync_option(EVENT),
            heartbeats_option(KEYS),
            LAUNCHER_TIMEOUT,
        ),
    ),
    settings_check=check,
    probe=probe,
    before_create=before_create,
    local_check=file_store_directory,
    progress=dynamic.read_progress,
    distribution="torch",
)
