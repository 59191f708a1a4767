"""Event-driven waiting on a real TCPStore: real torch handlers from real containers, in threads.

The spy strategy (`tests.support.events.Spy`) stretches torch's one-second
bound on every wait to a minute, so a lost notification shows as a wait that
timed out, never as a silent one-second poll.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any, cast

import pytest
import torch.distributed as dist
from dependency_injector import providers

from rendezvous_di.backends.events.strategy import PollSync
from tests.support import events
from tests.support.events import c10d_containers as containers
from tests.support.events import meet


def test_every_wait_ends_with_a_notification(store_server: Any) -> None:
    events.every_wait_rings(containers(store_server, 4, {}, "rings"))


def test_poll_with_beats_in_the_state_is_torchs_handler_untouched(store_server: Any) -> None:
    from torch.distributed.elastic.rendezvous.c10d_rendezvous_backend import (
        C10dRendezvousBackend,
    )

    conf = {"sync": "poll", "heartbeats": "state"}
    (container,) = containers(store_server, 1, conf, "polled")
    try:
        handler = container.handler()
        assert "run" not in vars(handler._op_executor)
        assert "next_rendezvous" not in vars(handler)
        assert "shutdown" not in vars(handler)
        assert "_record" not in vars(handler)
        assert type(handler._state_holder._backend) is C10dRendezvousBackend
        assert meet([handler]) == [(0, 1)]
    finally:
        container.shutdown_resources()


def test_event_is_the_default_and_the_container_provider_overrides_the_option(
    store_server: Any,
) -> None:
    default, overridden = containers(store_server, 2, {}, "default")
    overridden.sync.override(providers.Object(PollSync()))
    try:
        assert "run" in vars(default.handler()._op_executor)
        assert "run" not in vars(overridden.handler()._op_executor)
    finally:
        for container in (default, overridden):
            container.shutdown_resources()


def test_shutdown_stops_the_listener(store_server: Any) -> None:
    (container,) = containers(store_server, 1, {}, "alone")
    assert meet([container.handler()]) == [(0, 1)]
    assert any(t.name == "rendezvous-di-events" for t in threading.enumerate())
    container.shutdown_resources()
    assert not any(t.name == "rendezvous-di-events" for t in threading.enumerate())


def test_a_node_that_took_a_ticket_and_died_is_passed_over(store_server: Any) -> None:
    """Its successor waits for the queue to stand still a second, passes its turn, and joins."""
    client = dist.TCPStore(  # type: ignore[attr-defined]
        "127.0.0.1", store_server.port, is_master=False, timeout=timedelta(seconds=30)
    )
    key = "torch.rendezvous.orphan/turnstile"
    group = containers(store_server, 2, {}, "orphan")
    handlers = [c.handler() for c in group]  # the store's counters exist from here on
    assert client.add(key, 1) == 1  # the dead node's ticket
    try:
        assert meet(handlers) == [(0, 2), (1, 2)]
    finally:
        for container in group:
            container.shutdown_resources()
    assert client.check([f"{key}/1"])  # passed on the dead node's behalf


def test_only_the_write_that_completes_the_round_rings(store_server: Any) -> None:
    """Four nodes form a group: the joins of a round not yet complete ring nobody, nor does
    the first, which creates the state (nobody can wait on a state that did not exist)."""
    client = dist.TCPStore(  # type: ignore[attr-defined]
        "127.0.0.1", store_server.port, is_master=False, timeout=timedelta(seconds=30)
    )
    group = containers(store_server, 4, {}, "quiet")
    try:
        assert meet([c.handler() for c in group]) == [(rank, 4) for rank in range(4)]
        assert client.add("torch.rendezvous.quiet/bell", 0) == 1
    finally:
        for container in group:
            container.shutdown_resources()


def test_torchs_launcher_gets_the_same_handler_through_install(store_server: Any) -> None:
    from torch.distributed.elastic.rendezvous import RendezvousParameters, registry

    from rendezvous_di import install

    (container,) = containers(store_server, 1, {}, "bridged")
    params = RendezvousParameters(
        "c10d", f"127.0.0.1:{store_server.port}", "bridged", 1, 1, is_host=False
    )
    with install(container, ["c10d"]):
        handler = registry.get_rendezvous_handler(params)
    try:
        assert "run" in vars(handler._op_executor)
        assert meet([handler]) == [(0, 1)]
    finally:
        handler.shutdown()  # as torch's agent does when it ends
        container.shutdown_resources()


def test_a_torch_without_the_hooks_is_a_config_error_naming_sync_poll(store_server: Any) -> None:
    """A torch that renamed what `attach` hooks into: one clear error, not a silent poll."""
    from rendezvous_di.backends.events.executor import attach
    from rendezvous_di.backends.events.waiting import Waiting
    from rendezvous_di.errors import ConfigError

    (container,) = containers(store_server, 1, {"sync": "poll"}, "renamed")
    try:
        handler: Any = container.handler()  # torch's own handler, untouched
        executor, handler._op_executor = handler._op_executor, object()  # as if renamed
        with pytest.raises(ConfigError) as raised:
            attach(handler, Waiting(cast(Any, None)))  # fails before any signal is used
        handler._op_executor = executor  # for torch's own shutdown
        assert raised.value.field == "conf.sync"
        assert "_DistributedRendezvousOpExecutor" in str(raised.value)
        assert "sync=poll" in str(raised.value)
        assert "next_rendezvous" not in vars(handler)  # nothing half-attached
    finally:
        container.shutdown_resources()


class GoneStore:
    """The signals' view of a store whose host left: every request fails as TCPStore's do.

    torch's backend keeps its own (working) client, so a write can succeed and the
    ring after it fail: the race of a node shutting down just as the store's host
    leaves.
    """

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise dist.DistNetworkError(f"{name}: Failed to recv, got 0 bytes")

        return fail


def _cut_signals(handler: Any) -> None:
    events._waiting_of(handler._state_holder._backend)._signals._store = GoneStore()


def test_a_ring_lost_after_the_closing_write_leaves_the_shutdown_done(store_server: Any) -> None:
    """torch's shutdown answers True once the closing write is made; the ring after it is
    help, and its failure is no error (it was, and it failed the node's exit)."""
    group = containers(store_server, 2, {}, "leaving")
    onlooker = containers(store_server, 2, {}, "leaving")[0]
    handlers = [c.handler() for c in group]
    try:
        assert meet(handlers) == [(0, 2), (1, 2)]
        _cut_signals(handlers[1])
        assert handlers[1].shutdown() is True
        assert onlooker.handler().is_closed()  # the write stood (a fresh read: no cache)
    finally:
        for container in (*group, onlooker):
            container.shutdown_resources()


def test_a_node_whose_signals_fail_joins_as_torchs_handler_would(store_server: Any) -> None:
    """No ticket, no listener, no ring: the node delays and polls as torch does, and the
    group forms."""
    group = containers(store_server, 2, {}, "unsignalled")
    handlers = [c.handler() for c in group]
    _cut_signals(handlers[0])
    try:
        assert meet(handlers) == [(0, 2), (1, 2)]
        assert not events._waiting_of(handlers[0]._state_holder._backend)._listening()
    finally:
        for container in group:
            container.shutdown_resources()
