"""Creating the ``etcd-v3`` handler: torch's ``DynamicRendezvousHandler`` on our backend and store.

Exactly how torch builds ``etcd-v2`` (a backend for the state, a store for the
agent, ``DynamicRendezvousHandler.from_backend``), with one addition: when the
handler shuts down, this node leaves the run, and the last node to leave
deletes the run's keys (see `session`).
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import inspect
from collections.abc import Mapping
from typing import Any

from torch.distributed.elastic.rendezvous import RendezvousParameters
from torch.distributed.elastic.rendezvous.api import RendezvousConnectionError
from torch.distributed.elastic.rendezvous.dynamic_rendezvous import (
    DynamicRendezvousHandler,
    RendezvousTimeout,
)

from ...errors import ConfigError
from ..builtin.dynamic import remember
from ..events.strategy import SyncStrategy, sync_for
from ..liveness.strategy import KEYS, heartbeats_for
from .backend import EtcdV3RendezvousBackend
from .beats import EtcdBeats, liveness_ttl
from .client import EtcdError, client_from_conf
from .endpoints import Address
from .session import RunSession
from .signals import EtcdSignals
from .store import EtcdV3Store


class EtcdV3RendezvousHandler(DynamicRendezvousHandler):
    """torch's dynamic rendezvous handler; on shutdown, this node also leaves the run in etcd."""

    _etcd_session: RunSession
    _etcd_beating: Any

    def shutdown(self) -> bool:
        # Leaving does not wait for a lost etcd (one try per endpoint): an agent that failed
        # because etcd is gone has waited read_timeout already, and a node's keys expire with
        # its lease anyway.
        self._etcd_session.client.retry_for = 0.0
        try:
            return super().shutdown()
        finally:
            close = getattr(self._etcd_beating, "close", None)
            if close is not None:  # heartbeats in keys: their watch ends
                close()
            with contextlib.suppress(EtcdError):  # etcd is gone: the lease's TTL cleans up
                self._etcd_session.release()
            self._etcd_session.client.close()


def create_handler(
    params: RendezvousParameters,
    conf: Mapping[str, Any],
    endpoints: list[Address],
    sync: SyncStrategy | None = None,
) -> EtcdV3RendezvousHandler:
    """The handler for ``params``; ``conf`` is its options validated and converted.

    ``sync`` is the container's strategy; without one, the ``sync`` option's.

    Connects once (authentication, then the node's lease grant, which its keys
    need anyway) so a wrong endpoint or password fails here, on creation, as
    torch's etcd-v2 does.
    """
    keep_alive = keep_alive_settings(conf)
    client = client_from_conf(endpoints, conf)
    session = RunSession(
        client,
        conf.get("key_prefix", "/torch/elastic/rendezvous"),
        params.run_id,
        int(conf.get("lease_ttl", 60)),
    )
    try:
        if conf.get("username"):
            client.authenticate()
        session.start()  # the lease this node's keys hang on; fails here if etcd does not answer
    except EtcdError as error:
        client.close()
        raise RendezvousConnectionError(f"etcd-v3: {error}") from error
    # From now on a lost etcd is waited for up to read_timeout (a restarting member comes
    # back within seconds) before the agent is told the rendezvous failed.
    client.retry_for = float(conf.get("read_timeout", 60))
    backend = EtcdV3RendezvousBackend(session)
    strategy = sync if sync is not None else sync_for(params)
    liveness = heartbeats_for(params)
    interval, attempts = (
        int(conf.get(name, fixed) if keep_alive else fixed)
        for name, fixed in TORCH_FIXED_KEEP_ALIVE.items()
    )
    try:
        beating_backend, finish_beats = liveness.prepare(
            backend, lambda: EtcdBeats(session, liveness_ttl(interval, attempts))
        )
        waiting_backend, finish = strategy.prepare(beating_backend, lambda: EtcdSignals(session))
    except EtcdError as error:
        client.close()
        raise RendezvousConnectionError(f"etcd-v3: {error}") from error
    store = EtcdV3Store(session)
    timeout = RendezvousTimeout(
        join=_seconds(conf, "join_timeout"),
        last_call=_seconds(conf, "last_call_timeout"),
        close=_seconds(conf, "close_timeout"),
        heartbeat=_seconds(conf, "heartbeat_timeout"),
    )
    handler: EtcdV3RendezvousHandler = EtcdV3RendezvousHandler.from_backend(
        params.run_id,
        store,
        waiting_backend,
        params.min_nodes,
        params.max_nodes,
        params.local_addr,
        timeout=timeout,
        **keep_alive,
    )
    handler._etcd_session = session
    handler._etcd_beating = beating_backend
    finish(handler)
    finish_beats(handler)  # after the waiting's: it wraps what that one sets
    remember(handler, backend)  # run's progress lines read the state from it (not the waits)
    return handler


TORCH_FIXED_KEEP_ALIVE = {"keep_alive_interval": 5, "keep_alive_max_attempt": 3}
"""What a torch whose ``from_backend`` takes no keep-alive settings (2.6) always uses."""


def keep_alive_settings(conf: Mapping[str, Any]) -> dict[str, int]:
    """The keep-alive arguments for this torch's ``from_backend``.

    torch 2.6 heartbeats every 5 s with 3 attempts whatever is asked, as it does
    for its own c10d and etcd-v2 backends there. Our lease must outlive two of
    those heartbeats: a ``lease_ttl`` sized for a shorter interval would let the
    node's keys expire mid-job, so it is refused now rather than found as a
    vanished rendezvous later.

    Raises:
        ConfigError: ``lease_ttl`` is not more than twice this torch's fixed interval.
    """
    if _from_backend_takes_keep_alive():
        return {name: int(conf.get(name, fixed)) for name, fixed in TORCH_FIXED_KEEP_ALIVE.items()}
    ttl, interval = int(conf.get("lease_ttl", 60)), TORCH_FIXED_KEEP_ALIVE["keep_alive_interval"]
    expiry = interval * TORCH_FIXED_KEEP_ALIVE["keep_alive_max_attempt"]
    if ttl <= 2 * interval:
        raise ConfigError(
            "conf.lease_ttl",
            ttl,
            f"must be more than twice the keep-alive interval of torch {_torch_version()} "
            f"({interval}s whatever keep_alive_interval says: its from_backend takes none), "
            "or a node's keys expire between two heartbeats",
        )
    if conf.get("heartbeats", KEYS) == KEYS and ttl <= expiry:
        raise ConfigError(
            "conf.lease_ttl",
            ttl,
            f"must be more than torch {_torch_version()}'s fixed heartbeat expiry ({expiry}s: "
            "its from_backend takes no keep-alive settings) with heartbeats=keys: the state "
            "stays on the lease of the node that wrote it last until that node is found gone",
            hint="raise lease_ttl, or set heartbeats=state",
        )
    return {}


def _torch_version() -> str:
    import torch

    return str(torch.__version__)


@functools.cache
def _from_backend_takes_keep_alive() -> bool:
    """Whether this torch's ``from_backend`` takes the keep-alive settings (2.6 does not)."""
    parameters = inspect.signature(DynamicRendezvousHandler.from_backend).parameters
    return "keep_alive_interval" in parameters


def _seconds(conf: Mapping[str, Any], name: str) -> datetime.timedelta | None:
    value = conf.get(name)
    return None if value is None else datetime.timedelta(seconds=int(value))
