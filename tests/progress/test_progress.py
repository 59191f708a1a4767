"""Live rendezvous progress: what an operator sees while an agent waits, and the summary after.

The handler and its backend's progress reader are the boundary here: fakes
stand in for them where the test is about the reporter; a real c10d handler
shows that watching changes nothing else about torch's handler, and torch's own
pickled state read through the c10d reader gives the counts.
"""

from __future__ import annotations

import io
import os
import pickle
import threading
from dataclasses import dataclass
from itertools import count
from typing import Any

import pytest

from rendezvous_di import RendezvousContainer
from rendezvous_di.backends.builtin import BUILTIN_BACKENDS
from rendezvous_di.backends.builtin.dynamic import remember
from rendezvous_di.backends.description import ProgressReader
from rendezvous_di.cli.progress import ProgressReporter, Snapshot, read_snapshot
from tests.support.procs import free_port


class Stream(io.StringIO):
    """An output stream that can pretend to be a terminal and signals each write."""

    def __init__(self, *, tty: bool) -> None:
        super().__init__()
        self.tty = tty
        self.wrote = threading.Event()

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        written = super().write(text)
        if "waiting" in text:
            self.wrote.set()
        return written


@dataclass
class Info:
    rank: int
    world_size: int


C10D_PROGRESS = BUILTIN_BACKENDS["c10d"].progress


def nobody_joined(handler: Any) -> Snapshot:
    """A backend's progress reader while its state is still empty."""
    return Snapshot(joined=0)


class Handler:
    """Waits in next_rendezvous until the reporter has shown progress at least once."""

    def __init__(self, stream: Stream, error: Exception | None = None) -> None:
        self.stream = stream
        self.error = error

    def next_rendezvous(self) -> Info:
        """Torch's doc string."""
        assert self.stream.wrote.wait(10), "no progress was shown while waiting"
        if self.error is not None:
            raise self.error
        return Info(rank=1, world_size=2)


def reporter(stream: Stream, reader: ProgressReader | None = nobody_joined) -> ProgressReporter:
    ticks = count()
    return ProgressReporter(
        stream,
        min_nodes=2,
        max_nodes=3,
        interval=0.01,
        log_interval=0.01,
        clock=lambda: float(next(ticks)),
        reader=reader,
    )


def test_log_lines_while_waiting_then_a_summary() -> None:
    stream = Stream(tty=False)
    handler = Handler(stream)
    reporter(stream).watch(handler)
    assert handler.next_rendezvous() == Info(rank=1, world_size=2)
    lines = stream.getvalue().splitlines()
    assert (
        lines[0] == "rendezvous-di: waiting at the rendezvous: 0 of 2..3 nodes joined, 1s elapsed"
    )
    assert all(line.startswith("rendezvous-di: waiting at the rendezvous") for line in lines[:-1])
    assert lines[-1].startswith(
        "rendezvous-di: rendezvous complete: attempt 1, world size 2, this node's rank 1, took "
    )
    assert "\r" not in stream.getvalue()


def test_one_updating_line_on_a_terminal() -> None:
    stream = Stream(tty=True)
    handler = Handler(stream)
    reporter(stream).watch(handler)
    handler.next_rendezvous()
    text = stream.getvalue()
    updates, summary = text.rsplit("\r\x1b[K", 1)
    assert updates.startswith("\r\x1b[Krendezvous-di: waiting at the rendezvous: 0 of 2..3")
    assert "\n" not in updates  # the waiting line is rewritten in place
    assert summary.startswith("rendezvous-di: rendezvous complete: attempt 1, world size 2")
    assert summary.endswith("\n")


def test_a_failed_rendezvous_is_reported_and_raised_unchanged() -> None:
    stream = Stream(tty=False)
    error = TimeoutError("join timed out")
    handler = Handler(stream, error)
    reporter(stream).watch(handler)
    with pytest.raises(TimeoutError) as caught:
        handler.next_rendezvous()
    assert caught.value is error
    assert stream.getvalue().splitlines()[-1].startswith("rendezvous-di: rendezvous failed after ")


def test_unknown_handlers_show_time_without_a_count() -> None:
    assert read_snapshot(object(), None) is None
    assert read_snapshot(object(), C10D_PROGRESS) is None  # not a handler c10d created
    stream = Stream(tty=False)
    handler = Handler(stream)
    reporter(stream, reader=None).watch(handler)
    handler.next_rendezvous()
    assert "waiting at the rendezvous: ? of 2..3 nodes joined" in stream.getvalue()


def test_watching_a_real_c10d_handler_changes_nothing_else() -> None:
    container = RendezvousContainer()
    container.environ.override({})
    container.config.from_dict(
        {
            "backend": "c10d",
            "endpoint": f"127.0.0.1:{free_port()}",
            "run_id": "watched",
            "nnodes": 1,
            "conf": {"is_host": True, "join_timeout": 30, "last_call_timeout": 1},
        }
    )
    handler = container.handler()
    try:
        kind = type(handler)
        class_method = vars(kind)["next_rendezvous"]
        agent_store = handler.use_agent_store
        assert read_snapshot(handler, C10D_PROGRESS) == Snapshot(joined=0)
        stream = Stream(tty=False)
        ProgressReporter(
            stream, min_nodes=1, max_nodes=1, log_interval=0.05, reader=C10D_PROGRESS
        ).watch(handler)
        info = handler.next_rendezvous()
        assert (info.rank, info.world_size) == (0, 1)
        assert type(handler) is kind
        assert handler.get_backend() == "c10d"
        assert handler.get_run_id() == "watched"
        assert handler.use_agent_store == agent_store
        assert handler.num_nodes_waiting() == 0
        # Only this instance is wrapped: torch's class keeps its own method.
        assert vars(kind)["next_rendezvous"] is class_method
        assert "next_rendezvous" in vars(handler)
        assert (
            stream.getvalue()
            .splitlines()[-1]
            .startswith(
                "rendezvous-di: rendezvous complete: round 0, world size 1, this node's rank 0"
            )
        )
        assert read_snapshot(handler, C10D_PROGRESS) == Snapshot(joined=1, round=0, complete=True)
    finally:
        container.shutdown_resources()


class StateBackend:
    """A backend holding torch's own pickled rendezvous state, as c10d and etcd-v2 do."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def get_state(self) -> tuple[bytes, Any]:
        return pickle.dumps(self.state), "token"


def test_counts_come_from_torchs_rendezvous_state() -> None:
    from torch.distributed.elastic.rendezvous.dynamic_rendezvous import _NodeDesc, _RendezvousState

    me = _NodeDesc("10.0.0.1", os.getpid(), 0)  # this process: the agent's own node
    peer, late = (_NodeDesc(f"10.0.0.{i}", os.getpid() + i, 0) for i in (2, 3))
    state = _RendezvousState()
    state.round = 4
    state.participants = {me: 0, peer: 0}
    handler = Handler(Stream(tty=False))
    remember(handler, StateBackend(state))  # type: ignore[arg-type]
    assert read_snapshot(handler, C10D_PROGRESS) == Snapshot(joined=2, round=4)

    state.complete = True
    assert read_snapshot(handler, C10D_PROGRESS) == Snapshot(joined=2, round=4, complete=True)

    state.participants = {peer: 0}  # the round formed without this node: it waits for the next
    state.wait_list = {late}
    assert read_snapshot(handler, C10D_PROGRESS) == Snapshot(joined=1, round=5)


class Restarting:
    """A handler over two rounds and its backend's progress reader, as the shared state shows
    them: round 0 forms with this node; while the second ``next_rendezvous`` (a restart)
    waits, the state still shows round 0, complete, with this node in it, until torch's
    handler takes it out; then round 1 forms."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.state = Snapshot(joined=0, round=0)
        self.rounds = count()

    def read(self, handler: Any) -> Snapshot:
        return self.state

    def next_rendezvous(self) -> Info:
        assert self.stream.wrote.wait(10), "no progress was shown while waiting"
        self.stream.wrote.clear()
        self.state = Snapshot(joined=2, round=next(self.rounds), complete=True)
        return Info(rank=0, world_size=2)


def test_a_restart_waits_for_the_next_round_not_the_one_it_leaves() -> None:
    stream = Stream(tty=False)
    handler = Restarting(stream)
    reporter(stream, reader=handler.read).watch(handler)
    handler.next_rendezvous()
    first = stream.getvalue().splitlines()
    assert first[0].startswith("rendezvous-di: waiting at the rendezvous (round 0): 0 of 2..3 ")
    assert first[-1].startswith("rendezvous-di: rendezvous complete: round 0, world size 2")
    handler.next_rendezvous()
    second = stream.getvalue().splitlines()[len(first) :]
    assert second[0].startswith("rendezvous-di: waiting at the rendezvous (round 1): ? of 2..3 ")
    assert not any("round 0" in line for line in second), second
    assert second[-1].startswith("rendezvous-di: rendezvous complete: round 1, world size 2")


@pytest.mark.parametrize(
    ("snapshot", "expected", "line"),
    [
        (Snapshot(joined=1, round=0, complete=True), (1, 1), "formed with 1 node, "),
        (Snapshot(joined=3, round=2, complete=True), (2, 4), "formed with 3 nodes, "),
        (Snapshot(joined=0), (1, 1), "0 of 1 node joined"),
        (Snapshot(joined=1), (2, 2), "1 of 2 nodes joined"),
        (Snapshot(joined=1), (1, 2), "1 of 1..2 nodes joined"),
    ],
)
def test_counts_of_one_are_singular(
    snapshot: Snapshot, expected: tuple[int, int], line: str
) -> None:
    stream = Stream(tty=False)
    ProgressReporter(stream, min_nodes=expected[0], max_nodes=expected[1])._report(snapshot, 1.0)
    assert line in stream.getvalue()
