"""An in-memory rendezvous with torch's real semantics, for tests.

`FakeRendezvous` is the shared state of one rendezvous: participants
(threads in this process, one `FakeRendezvousHandler` each) meet there.
A round completes when ``max_nodes`` participants joined, or when
``min_nodes`` joined and ``last_call_timeout`` passed, exactly like torch's
dynamic rendezvous. Once a round is complete, newcomers wait (counted by
``num_nodes_waiting``) until a member of that round re-joins, which opens the
next round. Every member of a round gets a real ``RendezvousInfo`` with a
distinct rank, the round's world size, a working store shared by the round
(torch's ``HashStore`` under a ``PrefixStore``, as c10d prefixes per round)
and bootstrap information naming a free loopback port for the workers.

Importing this module imports torch; `rendezvous_di.testing` imports it
only when one of its names is used, so the pytest plugin stays cheap.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .._torch import rendezvous_module

rendezvous_module()  # torch's rendezvous package, imported without torch's plugin loading

from torch.distributed import HashStore, PrefixStore  # type: ignore[attr-defined]  # noqa: E402
from torch.distributed.elastic.rendezvous import (  # noqa: E402
    RendezvousClosedError,
    RendezvousHandler,
    RendezvousInfo,
    RendezvousParameters,
    RendezvousStoreInfo,
    RendezvousTimeoutError,
)

__all__ = ["FakeRendezvous", "FakeRendezvousHandler", "RendezvousCall"]

DEFAULT_BACKEND = "fake"
DEFAULT_RUN_ID = "fake-run"
_T = TypeVar("_T")


def _check(name: str, value: Any, ok: bool, rule: str) -> None:
    if not ok:
        raise ValueError(f"{name}: {value!r} {rule}")


class FakeRendezvous:
    """One rendezvous that several in-process participants join.

    Args:
        min_nodes: participants needed before a round can complete.
        max_nodes: participants that complete a round at once (default ``min_nodes``).
        backend: what the handlers' ``get_backend()`` returns; use the name the
            handler is installed under (``c10d`` to stand in for c10d).
        run_id: what ``get_run_id()`` returns; also prefixes the round stores.
        join_timeout: seconds a participant waits for its round before
            ``RendezvousTimeoutError``.
        last_call_timeout: seconds to wait for more participants once
            ``min_nodes`` joined (0: complete as soon as ``min_nodes`` are there).
        local_addr: address the bootstrap info gives workers (loopback by default).
    """

    def __init__(
        self,
        min_nodes: int = 1,
        max_nodes: int | None = None,
        *,
        backend: str = DEFAULT_BACKEND,
        run_id: str = DEFAULT_RUN_ID,
        join_timeout: float = 60.0,
        last_call_timeout: float = 0.0,
        local_addr: str = "127.0.0.1",
    ) -> None:
        max_nodes = min_nodes if max_nodes is None else max_nodes
        _check("min_nodes", min_nodes, min_nodes >= 1, "must be >= 1")
        _check(
            "max_nodes", max_nodes, max_nodes >= min_nodes, f"must be >= min_nodes ({min_nodes})"
        )
        _check("backend", backend, bool(backend), "must be a non-empty string")
        _check("run_id", run_id, bool(run_id), "must be a non-empty string")
        _check("join_timeout", join_timeout, join_timeout > 0, "must be > 0 seconds")
        _check("last_call_timeout", last_call_timeout, last_call_timeout >= 0, "must be >= 0")
        self.min_nodes = min_nodes
        self.max_nodes = max_nodes
        self.backend = backend
        self.run_id = run_id
        self.join_timeout = join_timeout
        self.last_call_timeout = last_call_timeout
        self.local_addr = local_addr
        self.store = HashStore()
        """The store every round's ``PrefixStore`` writes to (inspect it in assertions)."""
        self._cond = threading.Condition()
        self._rounds = 0
        self._joining: list[FakeRendezvousHandler] = []
        self._min_reached_at: float | None = None
        self._outcomes: dict[int, RendezvousInfo] = {}
        self._closed = False
        # After a round completes, newcomers wait until a member of that round
        # re-joins (restarts), as in torch: a completed round is not replaced by late arrivals.
        self._members: list[FakeRendezvousHandler] = []
        self._open = True

    def handler(self) -> FakeRendezvousHandler:
        """A new participant of this rendezvous."""
        return FakeRendezvousHandler(rendezvous=self)

    def handlers(self, count: int | None = None) -> list[FakeRendezvousHandler]:
        """``count`` new participants (default ``max_nodes``), one per thread."""
        return [self.handler() for _ in range(self.max_nodes if count is None else count)]

    @property
    def rounds_completed(self) -> int:
        with self._cond:
            return self._rounds

    @property
    def closed(self) -> bool:
        with self._cond:
            return self._closed

    def close(self) -> None:
        """Close the rendezvous for everyone: waiters raise ``RendezvousClosedError``."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def joining(self) -> int:
        """Participants inside ``next_rendezvous`` waiting for the forming round."""
        with self._cond:
            return len(self._joining)

    def waiting(self) -> int:
        """Participants waiting for the next round after at least one round completed."""
        with self._cond:
            return len(self._joining) if self._rounds else 0

    def join(self, participant: FakeRendezvousHandler) -> RendezvousInfo:
        """Block until ``participant``'s round completes; the barrier behind ``next_rendezvous``."""
        with self._cond:
            if self._closed:
                raise RendezvousClosedError(f"the fake rendezvous {self.run_id!r} is closed")
            if participant in self._joining:
                raise RuntimeError(
                    f"{participant!r} is already waiting in next_rendezvous(); "
                    "use one handler per participant (thread)"
                )
            round_number = self._rounds
            self._joining.append(participant)
            if any(member is participant for member in self._members):
                self._open = True
            deadline = time.monotonic() + self.join_timeout
            self._note_min()
            while True:
                info = self._outcomes.pop(id(participant), None)
                if info is not None:
                    return info
                if self._open and len(self._joining) >= self.max_nodes:
                    self._complete()
                    continue
                now = time.monotonic()
                if self._closed:
                    self._leave(participant)
                    raise RendezvousClosedError(
                        f"the fake rendezvous {self.run_id!r} was closed while waiting"
                    )
                last_call = (
                    None
                    if self._min_reached_at is None or not self._open
                    else self._min_reached_at + self.last_call_timeout
                )
                if last_call is not None and now >= last_call:
                    self._complete()
                    continue
                if now >= deadline:
                    joined = len(self._joining)
                    self._leave(participant)
                    raise RendezvousTimeoutError(
                        f"the fake rendezvous {self.run_id!r} round {round_number} timed out "
                        f"after {self.join_timeout}s: {joined} of {self.min_nodes} "
                        "participants joined"
                    )
                wake = deadline if last_call is None else min(deadline, last_call)
                self._cond.wait(wake - now)

    def _note_min(self) -> None:
        if self._min_reached_at is None and len(self._joining) >= self.min_nodes:
            self._min_reached_at = time.monotonic()
            self._cond.notify_all()

    def _leave(self, participant: FakeRendezvousHandler) -> None:
        self._joining.remove(participant)
        if len(self._joining) < self.min_nodes:
            self._min_reached_at = None

    def _complete(self) -> None:
        members, self._joining = self._joining[: self.max_nodes], self._joining[self.max_nodes :]
        self._min_reached_at = None
        self._members, self._open = members, False
        # torch's c10d handler also gives each round its own PrefixStore over one store.
        store = PrefixStore(f"torch.rendezvous.{self.run_id}.{self._rounds}", self.store)
        bootstrap = RendezvousStoreInfo.build(0, store, self.local_addr)
        for rank, member in enumerate(members):
            self._outcomes[id(member)] = RendezvousInfo(store, rank, len(members), bootstrap)
        self._rounds += 1
        self._note_min()
        self._cond.notify_all()

    def __repr__(self) -> str:
        return (
            f"<FakeRendezvous {self.run_id!r} backend={self.backend!r} "
            f"nodes={self.min_nodes}:{self.max_nodes} rounds={self._rounds}>"
        )


@dataclass(frozen=True)
class RendezvousCall:
    """One recorded call: the method, what it returned, or what it raised."""

    method: str
    result: Any = None
    error: BaseException | None = None


# Rendezvous shared by handlers built from the same parameters (see from_parameters).
_shared: weakref.WeakValueDictionary[tuple[str, str, str], FakeRendezvous] = (
    weakref.WeakValueDictionary()
)
_shared_lock = threading.Lock()


class FakeRendezvousHandler(RendezvousHandler):
    """torch's ``RendezvousHandler`` on an in-memory rendezvous, recording every call.

    Participants meet in a shared [`FakeRendezvous`][rendezvous_di.testing.FakeRendezvous].

    ``FakeRendezvousHandler()`` is one participant of its own one-node
    rendezvous; ``FakeRendezvousHandler.group(n)`` gives ``n`` participants of
    one rendezvous; ``FakeRendezvousHandler.from_parameters(params)`` is a torch
    creator: handlers built from the same backend, endpoint and run id meet.

    ``shutdown()`` closes the rendezvous for everyone, as torch's c10d handler does;
    calling it again is harmless. Count calls with care: torch 2.6's launcher shuts a
    handler down twice (its agent, then ``launch_agent``), later releases once.
    ``use_agent_store`` is False: the store lives in this process only, so
    workers bootstrap their own store from ``bootstrap_store_info``.
    """

    def __init__(
        self,
        backend: str | None = None,
        run_id: str | None = None,
        *,
        join_timeout: float = 60.0,
        rendezvous: FakeRendezvous | None = None,
    ) -> None:
        if rendezvous is None:
            rendezvous = FakeRendezvous(
                backend=backend or DEFAULT_BACKEND,
                run_id=run_id or DEFAULT_RUN_ID,
                join_timeout=join_timeout,
            )
        elif backend is not None or run_id is not None:
            raise TypeError(
                "pass either rendezvous= or backend/run_id: a participant serves "
                f"the backend and run id of its rendezvous ({rendezvous!r})"
            )
        self.rendezvous = rendezvous
        self.calls: list[RendezvousCall] = []
        self._calls_lock = threading.Lock()
        self._shut_down = False

    @classmethod
    def group(
        cls,
        size: int,
        *,
        backend: str = DEFAULT_BACKEND,
        run_id: str = DEFAULT_RUN_ID,
        join_timeout: float = 60.0,
    ) -> list[FakeRendezvousHandler]:
        """``size`` participants of one new rendezvous that completes when all have joined."""
        return FakeRendezvous(
            size, backend=backend, run_id=run_id, join_timeout=join_timeout
        ).handlers()

    @classmethod
    def from_parameters(cls, params: RendezvousParameters) -> FakeRendezvousHandler:
        """A torch creator: joins the rendezvous shared by equal backend, endpoint and run id.

        ``join_timeout`` and ``last_call_timeout`` options are honoured as in c10d.
        """
        key = (params.backend, params.endpoint, params.run_id)
        with _shared_lock:
            rendezvous = _shared.get(key)
            if rendezvous is None:
                rendezvous = FakeRendezvous(
                    params.min_nodes,
                    params.max_nodes,
                    backend=params.backend,
                    run_id=params.run_id,
                    join_timeout=float(params.get_as_int("join_timeout", 600) or 600),
                    last_call_timeout=float(params.get_as_int("last_call_timeout", 0) or 0),
                    local_addr=params.local_addr or "127.0.0.1",
                )
                _shared[key] = rendezvous
            return cls(rendezvous=rendezvous)

    def _record(self, method: str, action: Callable[[], _T]) -> _T:
        try:
            result = action()
        except BaseException as error:
            with self._calls_lock:
                self.calls.append(RendezvousCall(method, error=error))
            raise
        with self._calls_lock:
            self.calls.append(RendezvousCall(method, result=result))
        return result

    def called(self, method: str) -> int:
        """How often ``method`` was called (returned or raised)."""
        with self._calls_lock:
            return sum(1 for call in self.calls if call.method == method)

    def get_backend(self) -> str:
        return self._record("get_backend", lambda: self.rendezvous.backend)

    def get_run_id(self) -> str:
        return self._record("get_run_id", lambda: self.rendezvous.run_id)

    @property
    def use_agent_store(self) -> bool:
        return False

    def next_rendezvous(self) -> RendezvousInfo:
        """Block until this participant's round completes.

        See [`FakeRendezvous`][rendezvous_di.testing.FakeRendezvous] for when a round completes.
        """
        return self._record("next_rendezvous", lambda: self.rendezvous.join(self))

    def is_closed(self) -> bool:
        return self._record("is_closed", lambda: self.rendezvous.closed)

    def set_closed(self) -> None:
        self._record("set_closed", self.rendezvous.close)

    def num_nodes_waiting(self) -> int:
        return self._record("num_nodes_waiting", self.rendezvous.waiting)

    def shutdown(self) -> bool:
        def close() -> bool:
            self._shut_down = True
            self.rendezvous.close()
            return True

        return self._record("shutdown", close)

    @property
    def is_shut_down(self) -> bool:
        return self._shut_down

    def __repr__(self) -> str:
        return f"<FakeRendezvousHandler of {self.rendezvous!r}>"
