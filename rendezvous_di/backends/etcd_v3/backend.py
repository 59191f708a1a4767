"""torch's ``RendezvousBackend`` on etcd's v3 API: the state in one key, compare-and-swap on
its ``mod_revision``.

The v3 twin of torch's ``EtcdRendezvousBackend`` (v2 API, ``prevIndex``): the
fencing token is the key's ``mod_revision``; a write succeeds only if nobody
wrote since that revision (or, without a token, only if the key does not
exist), and a failed write returns the current state from the same
transaction, so it costs one round trip either way.

With event-driven waiting, the turnstile rides along (`RunSession`): a join
write also deletes the node's ticket (passing the turn), and the next node's
turn check reads the state in the same request, which its join then uses.
"""

from __future__ import annotations

from typing import Any

from torch.distributed.elastic.rendezvous.api import (
    RendezvousConnectionError,
    RendezvousStateError,
)
from torch.distributed.elastic.rendezvous.dynamic_rendezvous import RendezvousBackend, Token

from .client import EtcdError, compare, first_kv, get, put, range_response, unb64
from .session import RunSession

NAME = "etcd-v3"

PREFETCH_FRESH_FOR = 0.5
"""Seconds a state read with the node's turn stands in for the join's own read.

The join reads right after its turn comes, milliseconds later; a read that old
is the same read. An older one (a turn skipped while the read was on its way)
is not used: the join reads again. A stale one would only lose its
compare-and-set, which answers the current state.
"""


class EtcdV3RendezvousBackend(RendezvousBackend):
    """The rendezvous state of one run in etcd (v3 API)."""

    def __init__(self, session: RunSession) -> None:
        self._session = session

    @property
    def name(self) -> str:
        """See base class."""
        return NAME

    def get_state(self) -> tuple[bytes, Token] | None:
        """See base class.

        The node's first read also puts its marker (one transaction, no extra
        round trip); later reads are a plain range.
        """
        session = self._session
        found, prefetched = session.take_prefetched(PREFETCH_FRESH_FOR)
        if found:  # read with this node's turn, a moment ago (see EtcdSignals)
            # No lease refresh here: the join's write follows at once, and refreshes it.
            session.saw_state(prefetched)
            return None if prefetched is None else _decode(prefetched)
        try:
            session.lease()  # a node that only waits keeps its lease (and its keys) too
            if session.needs_marker:
                key = session.state_key

                def read(lease: int) -> Any:
                    answer = session.client.txn([], session.with_marker([get(key)], lease), [])
                    session.marked(lease)
                    return answer

                kv = first_kv(range_response(session.leased(read)))
            else:
                kv = first_kv(session.client.range(session.state_key))
        except EtcdError as error:
            raise _connection_error(session, error) from error
        session.saw_state(kv)
        return None if kv is None else _decode(kv)

    def set_state(
        self, state: bytes, token: Token | None = None
    ) -> tuple[bytes, Token, bool] | None:
        """See base class."""
        session = self._session
        key = session.state_key
        if token is not None:
            try:
                revision = int(token)
            except (TypeError, ValueError):
                got = self.get_state()  # not one of our tokens: never matches
                return None if got is None else (*got, False)
            condition = compare(key, "MOD", revision)
        else:
            condition = compare(key, "CREATE", 0)  # the key must not exist yet

        riders = session.riders

        used = 0

        def write(lease: int) -> Any:
            nonlocal used
            used = lease
            answer = session.client.txn(
                [condition],
                session.with_marker(
                    session.with_riders([put(key, state, lease)], riders, lease), lease
                ),
                session.with_marker([get(key)], lease),
            )
            session.marked(lease)
            return answer

        try:
            answer = session.leased(write)
        except EtcdError as error:
            raise _connection_error(session, error) from error
        if answer.get("succeeded"):
            session.rode(riders)
            session.saw_state(None, written_on=used)
            return state, int(answer["header"]["revision"]), True
        kv = first_kv(range_response(answer))
        session.saw_state(kv)
        return None if kv is None else (*_decode(kv), False)


def _decode(kv: dict[str, Any]) -> tuple[bytes, Token]:
    try:
        return unb64(kv.get("value")), int(kv["mod_revision"])
    except (ValueError, KeyError) as error:
        raise RendezvousStateError(
            f"the rendezvous state in etcd is corrupt ({type(error).__name__}: {error})"
        ) from error


def _connection_error(session: RunSession, error: EtcdError) -> RendezvousConnectionError:
    return RendezvousConnectionError(f"etcd-v3 at {session.client.url}: {error}")
