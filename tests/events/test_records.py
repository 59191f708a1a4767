"""torch's rendezvous event records, named cheaply (`rendezvous_di.backends.events.records`).

Real handlers on a real TCPStore: an event-driven handler records the same
events under the same names as torch's own, and names them without
``inspect.stack()`` (which reads every frame's source file, 10 to 20 ms a
record on this project's sandbox).
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_mock import MockerFixture

from rendezvous_di.backends.events.records import method_name
from tests.support.events import c10d_containers as containers
from tests.support.events import meet


class Recorded(logging.Handler):
    """torch's ``dynamic_rendezvous`` events destination, keeping each event's name."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.names.append(json.loads(record.getMessage())["name"])


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorded]:
    """Rendezvous events go to a `Recorded` (torch drops them by default)."""
    from torch.distributed.elastic import events
    from torch.distributed.elastic.events import handlers

    destination = Recorded()
    monkeypatch.setitem(handlers._log_handlers, "dynamic_rendezvous", destination)
    monkeypatch.setattr(events, "_events_loggers", {})  # made again, with the destination
    yield destination
    logging.getLogger("torchelastic-events-dynamic_rendezvous").removeHandler(destination)


def _one_round(server: Any, sync: str) -> None:
    (container,) = containers(server, 1, {"sync": sync}, f"records-{sync}")
    try:
        assert meet([container.handler()]) == [(0, 1)]
    finally:
        container.shutdown_resources()


def test_events_are_named_as_torch_names_them(store_server: Any, recorded: Recorded) -> None:
    _one_round(store_server, "poll")
    torchs = list(recorded.names)
    recorded.names.clear()
    _one_round(store_server, "event")
    assert any("_add_to_participants" in name for name in torchs), torchs
    assert recorded.names == torchs


def test_no_record_reads_the_stack_unless_a_destination_takes_it(
    store_server: Any, mocker: MockerFixture
) -> None:
    stack = mocker.spy(inspect, "stack")
    _one_round(store_server, "poll")
    assert stack.call_count > 0, "torch's records no longer read the stack: drop records.py"
    stack.reset_mock()
    _one_round(store_server, "event")
    assert stack.call_count == 0


def test_method_name_answers_as_torchs_get_method_name() -> None:
    from torch.distributed.elastic.rendezvous.dynamic_rendezvous import get_method_name

    def recording_method(depth: int) -> tuple[str, str]:
        return torchs_record(depth)

    def torchs_record(depth: int) -> tuple[str, str]:  # as torch's _record: one frame between
        return get_method_name(depth), method_name(depth)

    assert recording_method(2) == ("recording_method", "recording_method")
    for depth in (1, 3, 4):
        torchs, ours = recording_method(depth)
        assert ours == torchs
    assert recording_method(10_000) == ("no_method_name", "no_method_name")
