"""A ``torch.distributed.Store`` in etcd (v3 API): the store the rendezvous hands to the agent.

The v3 twin of torch's ``EtcdStore``: keys live under the run's ``store/``
prefix, each put under the node's lease, so they go away with the run.
Blocking reads (``get``, ``wait``) read the keys and, while one is missing,
watch them from that read's revision (`watch`), as torch's ``EtcdStore``
long-polls etcd's v2 API: a key set by another node is seen as soon as etcd
has it, with one request, instead of one request per poll.
"""

from __future__ import annotations

import datetime
import random
import time
from collections.abc import Sequence
from contextlib import closing
from typing import Any

from torch._C._distributed_c10d import Store

from .client import EtcdError, compare, first_kv, get, prefix_end, put, range_response, unb64
from .session import RunSession
from .watch import watch

_PAUSE = (0.05, 0.1, 0.2, 0.5)
"""Pauses after watches that broke in a row: a few reads a second while etcd is away."""


def _bytes(value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise ValueError("Value must be of type str or bytes")


class EtcdV3Store(Store):
    """set/get/add/compare_set/wait/check/delete_key/num_keys over etcd's v3 API."""

    def __init__(self, session: RunSession, timeout: datetime.timedelta | None = None) -> None:
        super().__init__()  # required for pybind's trampoline
        self._session = session
        self._client = session.client
        if timeout is not None:
            self.set_timeout(timeout)

    def _key(self, key: str | bytes) -> bytes:
        return self._session.store_prefix + _bytes(key)

    def set(self, key: str, value: str | bytes) -> None:
        etcd_key, data = self._key(key), _bytes(value)
        self._session.leased(lambda lease: self._client.txn([], [put(etcd_key, data, lease)], []))

    def multi_set(self, keys: Sequence[str], values: Sequence[str | bytes]) -> None:
        puts = [(self._key(k), _bytes(v)) for k, v in zip(keys, values, strict=True)]
        self._session.leased(
            lambda lease: self._client.txn([], [put(k, v, lease) for k, v in puts], [])
        )

    def get(self, key: str) -> bytes:
        """The value of ``key``, waiting up to the store's timeout for it to be set.

        Raises:
            LookupError: still not set after the timeout (as torch's EtcdStore).
        """
        found = self._wait_for([self._key(key)], None)
        if found is None:
            raise LookupError(f"Key {key} not found in EtcdV3Store")
        return found[0]

    def multi_get(self, keys: Sequence[str]) -> list[bytes]:
        found = self._wait_for([self._key(k) for k in keys], None)
        if found is None:
            raise LookupError(f"Keys {list(keys)} not found in EtcdV3Store")
        return found

    def add(self, key: str, num: int) -> int:
        """Atomically add ``num`` to the decimal integer at ``key`` (0 when absent)."""
        etcd_key = self._key(key)
        while True:
            kv = first_kv(self._client.range(etcd_key))
            if kv is None:
                current, condition = 0, compare(etcd_key, "CREATE", 0)
            else:
                current = int(unb64(kv.get("value")).decode() or 0)
                condition = compare(etcd_key, "MOD", int(kv["mod_revision"]))
            value = current + num

            def write(lease: int, condition: Any = condition, value: int = value) -> Any:
                return self._client.txn(
                    [condition], [put(etcd_key, str(value).encode(), lease)], []
                )

            if self._session.leased(write).get("succeeded"):
                return value
            time.sleep(random.uniform(0, 0.05))  # another node won the race: read again

    def compare_set(
        self, key: str, expected_value: str | bytes, desired_value: str | bytes
    ) -> bytes:
        """c10d semantics: set ``desired`` if the value is ``expected`` (or absent and
        ``expected`` is empty); return the value now there (``expected`` if absent)."""
        etcd_key, expected, desired = self._key(key), _bytes(expected_value), _bytes(desired_value)
        condition = (
            compare(etcd_key, "CREATE", 0) if not expected else compare(etcd_key, "VALUE", expected)
        )

        def write(lease: int) -> Any:
            return self._client.txn([condition], [put(etcd_key, desired, lease)], [get(etcd_key)])

        answer = self._session.leased(write)
        if answer.get("succeeded"):
            return desired
        kv = first_kv(range_response(answer))
        return expected if kv is None else unb64(kv.get("value"))

    def wait(self, keys: Sequence[str], override_timeout: datetime.timedelta | None = None) -> None:
        """Wait until every key is set.

        Raises:
            LookupError: on timeout.
        """
        if self._wait_for([self._key(k) for k in keys], override_timeout) is None:
            raise LookupError("Timeout while waiting for keys in EtcdV3Store")

    def check(self, keys: Sequence[str]) -> bool:
        return self._read([self._key(k) for k in keys]) is not None

    def delete_key(self, key: str) -> bool:
        return self._client.delete(self._key(key)) > 0

    def num_keys(self) -> int:
        answer = self._client.range(self._session.store_prefix, prefix=True, count_only=True)
        return int(answer.get("count", 0))

    def _read(self, keys: list[bytes]) -> list[bytes] | None:
        """Every key's value, read in one transaction; None unless all are set."""
        found, _revision = self._read_some(keys)
        return _all_of(found, keys)

    def _read_some(self, keys: list[bytes]) -> tuple[dict[bytes, bytes], int]:
        """The keys that are set, with their values, and the revision they were read at."""
        answer = self._client.txn([], [get(k) for k in keys], [])
        found = {}
        for index, key in enumerate(keys):
            kv = first_kv(range_response(answer, index))
            if kv is not None:
                found[key] = unb64(kv.get("value"))
        return found, int((answer.get("header") or {}).get("revision", 0))

    def _wait_for(
        self, keys: list[bytes], override_timeout: datetime.timedelta | None
    ) -> list[bytes] | None:
        """Every key's value once all are set: read, then watch from that read's revision.

        Each watch lasts at most a third of the lease's TTL, so the lease is
        refreshed (`RunSession.lease`) while a node waits long. A watch that
        breaks or cannot open is followed by a short pause and a new read, which
        goes through the client's fail-over and retries.
        """
        default: datetime.timedelta = self.timeout  # type: ignore[attr-defined]
        timeout = default if override_timeout is None else override_timeout
        deadline = time.monotonic() + timeout.total_seconds()
        wanted = set(keys)
        failures = 0
        while True:
            self._session.lease()
            found, revision = self._read_some(keys)
            left = deadline - time.monotonic()
            if len(found) == len(keys) or left <= 0:
                return _all_of(found, keys)
            # one key: watch it alone; several: the store's prefix, filtered here
            key, end = (
                (keys[0], None)
                if len(keys) == 1
                else (self._session.store_prefix, prefix_end(self._session.store_prefix))
            )
            wait = min(left, self._session.lease_ttl / 3)
            try:
                with closing(watch(self._client, key, end, revision + 1, wait)) as changes:
                    for changed, value in changes:
                        if changed not in wanted:
                            continue
                        if value is None:
                            found.pop(changed, None)
                        else:
                            found[changed] = value
                        if len(found) == len(keys):
                            return _all_of(found, keys)
                failures = 0
            except EtcdError:
                time.sleep(min(_PAUSE[min(failures, len(_PAUSE) - 1)], max(left, 0)))
                failures += 1


def _all_of(found: dict[bytes, bytes], keys: list[bytes]) -> list[bytes] | None:
    """The values of ``keys`` in their order, or None unless every one was found."""
    return [found[k] for k in keys] if len(found) == len(keys) else None


__all__ = ["EtcdError", "EtcdV3Store"]
