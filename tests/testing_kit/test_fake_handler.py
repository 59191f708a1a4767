"""FakeRendezvousHandler: torch's RendezvousHandler semantics, in memory, for N threads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rendezvous_di._torch import rendezvous_module

rdzv = rendezvous_module()  # torch is a hard dependency: never skipped

from rendezvous_di.testing import FakeRendezvous, FakeRendezvousHandler  # noqa: E402


class Participants:
    """Run one call per handler in its own thread; collect results or errors; always join."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self.results: dict[int, Any] = {}
        self.errors: dict[int, BaseException] = {}

    def start(self, index: int, call: Callable[[], Any]) -> None:
        def body() -> None:
            try:
                self.results[index] = call()
            except BaseException as error:
                self.errors[index] = error

        thread = threading.Thread(target=body, daemon=True)
        self.threads.append(thread)
        thread.start()

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=120)
            assert not thread.is_alive(), "a participant is still blocked"


@pytest.fixture
def participants() -> Iterator[Participants]:
    group = Participants()
    yield group
    group.join()


def until(condition: Callable[[], bool]) -> None:
    """Wait for a state another thread reaches (no timing is asserted)."""
    event = threading.Event()
    for _ in range(6000):
        if condition():
            return
        event.wait(0.01)
    raise AssertionError("condition never became true")


def rendezvous_all(handlers: list[FakeRendezvousHandler], group: Participants) -> list[Any]:
    for index, handler in enumerate(handlers):
        group.start(index, handler.next_rendezvous)
    group.join()
    assert group.errors == {}
    return [group.results[i] for i in range(len(handlers))]


def test_is_a_torch_rendezvous_handler() -> None:
    handler = FakeRendezvousHandler(backend="c10d", run_id="job-1")
    assert isinstance(handler, rdzv.RendezvousHandler)
    assert (handler.get_backend(), handler.get_run_id()) == ("c10d", "job-1")
    assert handler.use_agent_store is False


def test_one_participant_gets_a_real_info_with_a_working_store() -> None:
    handler = FakeRendezvousHandler()
    info = handler.next_rendezvous()
    assert isinstance(info, rdzv.RendezvousInfo)
    assert (info.rank, info.world_size) == (0, 1)
    info.store.set("key", b"value")
    assert info.store.get("key") == b"value"
    assert info.store.add("counter", 2) == 2
    assert info.bootstrap_store_info.master_addr == "127.0.0.1"
    assert info.bootstrap_store_info.master_port > 0


def test_a_group_blocks_until_all_joined_then_ranks_are_distinct_and_store_shared(
    participants: Participants,
) -> None:
    handlers = FakeRendezvousHandler.group(3, run_id="grp")
    # Two of three join: nobody returns until the third arrives.
    participants.start(0, handlers[0].next_rendezvous)
    participants.start(1, handlers[1].next_rendezvous)
    until(lambda: handlers[0].rendezvous.joining == 2)
    assert participants.results == {}
    participants.start(2, handlers[2].next_rendezvous)
    participants.join()
    infos = [participants.results[i] for i in range(3)]
    assert sorted(i.rank for i in infos) == [0, 1, 2]
    assert {i.world_size for i in infos} == {3}
    infos[0].store.set("written-by", b"first")
    assert infos[2].store.get("written-by") == b"first"
    assert (
        len(
            {
                (i.bootstrap_store_info.master_addr, i.bootstrap_store_info.master_port)
                for i in infos
            }
        )
        == 1
    )


def test_further_rounds_have_their_own_store_prefix(participants: Participants) -> None:
    handlers = FakeRendezvousHandler.group(2)
    first = rendezvous_all(handlers, participants)
    first[0].store.set("round", b"one")
    second = rendezvous_all(handlers, Participants())
    assert sorted(i.rank for i in second) == [0, 1]
    assert handlers[0].rendezvous.rounds_completed == 2
    assert second[0].store.check(["round"]) is False
    assert first[1].store.get("round") == b"one"


def test_set_closed_wakes_every_waiter_with_closed_error(participants: Participants) -> None:
    handlers = FakeRendezvousHandler.group(3)
    participants.start(0, handlers[0].next_rendezvous)
    participants.start(1, handlers[1].next_rendezvous)
    until(lambda: handlers[0].rendezvous.joining == 2)
    handlers[2].set_closed()
    participants.join()
    assert all(isinstance(e, rdzv.RendezvousClosedError) for e in participants.errors.values())
    assert set(participants.errors) == {0, 1}
    assert all(h.is_closed() for h in handlers)
    with pytest.raises(rdzv.RendezvousClosedError, match="closed"):
        handlers[2].next_rendezvous()


def test_a_round_that_never_fills_times_out() -> None:
    lonely = FakeRendezvousHandler.group(2, run_id="late", join_timeout=0.2)[0]
    with pytest.raises(rdzv.RendezvousTimeoutError, match=r"'late' round 0 .* 1 of 2"):
        lonely.next_rendezvous()
    assert not lonely.is_closed()


def test_num_nodes_waiting_counts_participants_waiting_for_the_next_round(
    participants: Participants,
) -> None:
    first, second = FakeRendezvousHandler.group(2)
    assert first.num_nodes_waiting() == 0
    rendezvous_all([first, second], Participants())
    participants.start(0, first.next_rendezvous)  # first restarts: second must notice
    until(lambda: second.num_nodes_waiting() == 1)
    participants.start(1, second.next_rendezvous)
    participants.join()
    assert second.num_nodes_waiting() == 0


def test_late_joiner_waits_for_the_next_round_when_max_nodes_allows_it(
    participants: Participants,
) -> None:
    rendezvous = FakeRendezvous(1, 2)
    early, late = rendezvous.handlers()
    assert early.next_rendezvous().world_size == 1  # min_nodes reached, no last call
    participants.start(0, late.next_rendezvous)
    until(lambda: early.num_nodes_waiting() == 1)
    participants.start(1, early.next_rendezvous)
    participants.join()
    assert {participants.results[i].world_size for i in (0, 1)} == {2}


def test_shutdown_closes_for_everyone_and_calls_are_recorded() -> None:
    first, second = FakeRendezvousHandler.group(2)
    assert first.shutdown() is True
    assert second.is_closed()
    assert first.is_shut_down
    with pytest.raises(rdzv.RendezvousClosedError):
        second.next_rendezvous()
    assert [c.method for c in first.calls] == ["shutdown"]
    assert [c.method for c in second.calls] == ["is_closed", "next_rendezvous"]
    assert isinstance(second.calls[-1].error, rdzv.RendezvousClosedError)
    assert second.called("next_rendezvous") == 1


def test_from_parameters_is_a_creator_whose_handlers_meet(participants: Participants) -> None:
    params = rdzv.RendezvousParameters(
        backend="c10d", endpoint="localhost:0", run_id="shared", min_nodes=2, max_nodes=2
    )
    first = FakeRendezvousHandler.from_parameters(params)
    second = FakeRendezvousHandler.from_parameters(params)
    assert first.rendezvous is second.rendezvous
    assert first.get_backend() == "c10d"
    infos = rendezvous_all([first, second], participants)
    assert sorted(i.rank for i in infos) == [0, 1]
    first.shutdown()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_nodes": 0}, "min_nodes: 0 must be >= 1"),
        ({"min_nodes": 2, "max_nodes": 1}, r"max_nodes: 1 must be >= min_nodes \(2\)"),
        ({"backend": ""}, "backend: '' must be a non-empty string"),
        ({"join_timeout": 0}, "join_timeout: 0 must be > 0"),
    ],
)
def test_bad_arguments_name_the_value(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FakeRendezvous(**kwargs)
