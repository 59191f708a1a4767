"""Which writes wake waiting nodes: torch's real state, pickled as torch's state holder does."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from torch.distributed.elastic.rendezvous.dynamic_rendezvous import _NodeDesc, _RendezvousState

from rendezvous_di.backends.events.relevance import must_hear

A, B, C = (_NodeDesc("10.0.0.1", 100 + i, 0) for i in range(3))
NOW = datetime(2026, 12, 7, tzinfo=UTC)


def state(**fields: Any) -> _RendezvousState:
    made = _RendezvousState()
    for name, value in fields.items():
        setattr(made, name, value)
    return made


def change(before: _RendezvousState, edit: Callable[[_RendezvousState], None]) -> bool:
    after = pickle.loads(pickle.dumps(before))
    edit(after)
    return must_hear(pickle.dumps(before), pickle.dumps(after))


JOINING = state(participants={A: 0}, last_heartbeats={A: NOW})


def _beat(s: _RendezvousState) -> None:
    s.last_heartbeats[A] = NOW + timedelta(seconds=5)


def _join(s: _RendezvousState) -> None:
    s.participants[B] = 0
    s.last_heartbeats[B] = NOW


def _wait(s: _RendezvousState) -> None:
    s.wait_list.add(C)


def _complete(s: _RendezvousState) -> None:
    s.participants[B] = 1
    s.complete = True


def _leave(s: _RendezvousState) -> None:
    del s.participants[A]


def _deadline(s: _RendezvousState) -> None:
    s.deadline = NOW + timedelta(seconds=30)


def _close(s: _RendezvousState) -> None:
    s.closed = True


def _next_round(s: _RendezvousState) -> None:
    s.round += 1


def _new_field(s: _RendezvousState) -> None:
    s.__dict__["a_field_torch_adds_later"] = 1


@pytest.mark.parametrize(
    ("edit", "wakes"),
    [
        (_beat, False),  # every node, every keep_alive_interval
        (_join, False),  # a round that is not complete yet gains a node
        (_wait, False),  # a node queues for the next round
        (_complete, True),
        (_leave, True),
        (_deadline, True),  # the last call starts
        (_close, True),
        (_next_round, True),
        (_new_field, True),  # anything not known to be quiet counts
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_a_write_wakes_waiting_nodes_when_it_can_change_their_next_action(
    edit: Callable[[_RendezvousState], None], wakes: bool
) -> None:
    assert change(JOINING, edit) is wakes


def test_leaving_a_wait_list_wakes_but_joining_one_does_not() -> None:
    queued = state(participants={A: 0}, wait_list={C}, complete=True)
    assert change(queued, lambda s: s.wait_list.discard(C)) is True
    assert change(queued, lambda s: s.wait_list.add(B)) is False


def test_the_first_state_and_an_unchanged_state() -> None:
    bits = pickle.dumps(JOINING)
    assert must_hear(None, bits) is True
    assert must_hear(bits, bits) is False
