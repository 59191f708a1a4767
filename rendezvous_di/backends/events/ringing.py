"""A rendezvous backend whose reads and writes tell the handler's `Waiting`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .relevance import must_hear

if TYPE_CHECKING:
    from torch.distributed.elastic.rendezvous.dynamic_rendezvous import RendezvousBackend, Token

    from .waiting import Waiting


def ringing(backend: RendezvousBackend, waiting: Waiting) -> RendezvousBackend:
    """``backend`` (any torch ``RendezvousBackend``), telling ``waiting`` of reads and writes.

    The state, its format and its compare-and-set stay the backend's own:
    a read first marks which rings it covers, a write that succeeded rings
    when waiting nodes must hear it.
    """
    from torch.distributed.elastic.rendezvous.dynamic_rendezvous import RendezvousBackend

    class RingingBackend(RendezvousBackend):
        """Delegates to the backend; remembers the last state seen, to tell what a write changed."""

        def __init__(self) -> None:
            self._seen: bytes | None = None

        @property
        def name(self) -> str:
            return backend.name

        def get_state(self) -> tuple[bytes, Token] | None:
            waiting.reading()
            got = backend.get_state()
            self._seen = None if got is None else got[0]
            return got

        def set_state(
            self, state: bytes, token: Token | None = None
        ) -> tuple[bytes, Token, bool] | None:
            before = self._seen
            waiting.reading()  # a write that fails answers the current state
            answer = backend.set_state(state, token)
            self._seen = None if answer is None else answer[0]
            if answer is not None and answer[2]:
                waiting.wrote(must_hear(before, state))
            return answer

    return RingingBackend()
