"""A thin client of etcd's v3 API over its HTTP/JSON gateway, with fail-over and auth.

Why our own and not ``etcd3gw`` (2.7.0, the maintained gateway client): it
has no authentication (no user/password, no token header, no re-login when a
token expires) and one endpoint per client, and importing it costs about
100-200 ms here (requests, futurist, pbr with setuptools, debtcollector,
wrapt) against 15-50 ms for the stdlib modules used below; the grpc client
``etcd3`` does not import on protobuf >= 4. The rendezvous needs six calls
(range, txn, deleterange, lease grant/keepalive/revoke) plus authenticate:
a few lines of ``http.client`` and JSON each, and a watch (`watch`), the one
streamed call, on a connection of its own.

The gateway maps every v3 RPC to ``POST /v3/<service>/<method>`` with a JSON
body; keys and values are base64, 64-bit integers arrive as strings, and
fields at their default value are omitted from answers.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
import threading
import time
from collections.abc import Mapping, Sequence
from http.client import HTTPConnection, HTTPResponse
from typing import Any

from .endpoints import TLS, Address

JSON = dict[str, Any]


class EtcdError(Exception):
    """etcd answered with an error (``code`` is the gRPC status code, 0 when unknown)."""

    def __init__(self, message: str, code: int = 0, status: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class EtcdConnectionError(EtcdError):
    """No endpoint could be reached (every one was tried)."""


class EtcdAuthError(EtcdError):
    """Authentication failed or is required and missing."""


UNAVAILABLE = 503
"""The gateway's answer for gRPC's Unavailable: a member without a leader, or stopping."""
GRPC_NOT_FOUND = 5
GRPC_PERMISSION_DENIED = 7
GRPC_UNAUTHENTICATED = 16
GRPC_INVALID_ARGUMENT = 3


def b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.b64encode(raw).decode("ascii")


def unb64(text: str | None) -> bytes:
    return base64.b64decode(text or "")


def prefix_end(prefix: bytes) -> bytes:
    """The ``range_end`` that selects every key starting with ``prefix``."""
    end = bytearray(prefix)
    while end:
        if end[-1] < 0xFF:
            end[-1] += 1
            return bytes(end)
        end.pop()
    return b"\0"  # every key


class EtcdClient:
    """One etcd cluster through its members' gateways, tried in order on connection errors.

    Each thread has connections of its own (an ``http.client`` connection is
    not thread-safe): the rendezvous' keep-alive thread and the agent share one
    client, and with one connection behind a lock the agent's reads waited for
    the heartbeat's writes, which torch's keep-alive times to fall due just as
    a round completes. The lock guards the token and the list of connections.
    """

    def __init__(
        self,
        addresses: Sequence[Address],
        *,
        timeout: float = 60,
        context: ssl.SSLContext | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        if not addresses:
            raise ValueError("at least one etcd endpoint is needed")
        self.addresses = tuple(addresses)
        self.timeout = timeout
        self.context = context
        self.scheme = "https" if context is not None else "http"
        self._credentials = (username, password or "") if username else None
        self._token: str | None = None
        self._current = 0
        self._local = threading.local()  # .pool: this thread's connections by endpoint
        self._opened: set[http.client.HTTPConnection] = set()  # every thread's, for close()
        self._lock = threading.RLock()
        self.retry_for = 0.0  # seconds to keep retrying when no endpoint answers (see http)

    @property
    def url(self) -> str:
        """The endpoint in use, as a URL (for messages)."""
        return f"{self.scheme}://{self.addresses[self._current]}"

    # -- transport -------------------------------------------------------------

    def _pool(self) -> dict[int, http.client.HTTPConnection]:
        pool: dict[int, http.client.HTTPConnection] | None = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        return pool

    def _connection(self, index: int) -> tuple[http.client.HTTPConnection, bool]:
        connection = self._pool().get(index)
        if connection is not None:
            if connection.sock is not None:
                connection.sock.settimeout(self.timeout)
            connection.timeout = self.timeout
            return connection, True
        connection = self._new_connection(index, self.timeout)
        self._pool()[index] = connection
        with self._lock:
            self._opened.add(connection)
        return connection, False

    def _new_connection(self, index: int, timeout: float) -> http.client.HTTPConnection:
        address = self.addresses[index]
        if self.context is not None:
            return http.client.HTTPSConnection(
                address.host, address.port, timeout=timeout, context=self.context
            )
        return http.client.HTTPConnection(address.host, address.port, timeout=timeout)

    def _drop(self, index: int) -> None:
        connection = self._pool().pop(index, None)
        if connection is not None:
            connection.close()
            with self._lock:
                self._opened.discard(connection)

    def close(self) -> None:
        """Close every thread's connections (a later request opens a new one)."""
        with self._lock:
            for connection in self._opened:
                connection.close()
            self._opened.clear()
        self._pool().clear()

    def http(self, method: str, path: str, body: JSON | bytes | None = None) -> tuple[int, bytes]:
        """One request to the first endpoint that answers; ``(status, body)``.

        A kept-alive connection the server closed meanwhile is retried once on a
        fresh one before moving to the next endpoint. When no endpoint answers,
        every endpoint is tried again (backing off from 0.1 s to 1 s) until
        ``retry_for`` seconds have passed since the first try: a member that
        restarts within that time (seconds, for etcd) is waited for, not
        reported as lost.

        Raises:
            EtcdConnectionError: naming every endpoint and why it failed last.
        """
        payload = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
        headers = self._headers(token=path != "/v3/auth/authenticate")
        deadline = time.monotonic() + self.retry_for
        pause = 0.1
        while True:
            answer, failures = self._try_each(method, path, payload, headers)
            if answer is not None and answer[0] != UNAVAILABLE:
                return answer
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(pause, left))
            pause = min(2 * pause, 1.0)
        if answer is not None:  # the last member's 503, for the caller to report
            return answer
        raise self._unreachable(failures)

    def _headers(self, token: bool = True) -> dict[str, str]:
        """A JSON request's headers, with the auth token (once there is one) if ``token``."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token and self._token is not None:
            headers["Authorization"] = self._token
        return headers

    def _unreachable(self, failures: list[str]) -> EtcdConnectionError:
        return EtcdConnectionError(
            f"cannot reach etcd ({self.scheme}): " + "; ".join(failures), status=0
        )

    def _try_each(
        self, method: str, path: str, payload: bytes | None, headers: dict[str, str]
    ) -> tuple[tuple[int, bytes] | None, list[str]]:
        """One pass over the endpoints from the one in use: the first answer, or each failure."""
        failures: list[str] = []
        count = len(self.addresses)
        for step in range(count):
            index = (self._current + step) % count
            for _attempt in range(2):
                connection, reused = self._connection(index)
                try:
                    connection.request(method, path, body=payload, headers=headers)
                    response = connection.getresponse()
                    data = response.read()
                except (OSError, http.client.HTTPException) as error:
                    self._drop(index)
                    if reused and not isinstance(error, TimeoutError):
                        continue
                    failures.append(f"{self.addresses[index]}: {_reason(error)}")
                    break
                if response.will_close:
                    self._drop(index)
                if response.status == UNAVAILABLE and step < count - 1:
                    # this member cannot serve (no leader, shutting down): ask the next
                    failures.append(f"{self.addresses[index]}: HTTP 503 {_message(data)}")
                    break
                self._current = index
                return (response.status, data), failures
        return None, failures

    def stream(self, path: str, body: JSON, timeout: float) -> tuple[HTTPConnection, HTTPResponse]:
        """``POST /v3/<path>`` on a connection of its own, answer unread: for a streamed RPC.

        A stream (a watch) stays open while it waits, so it does not take the
        thread's kept-alive connection, which later requests of that thread
        reuse. The endpoint in use is asked first, then the others, once each;
        the caller reads the answer and closes the connection.

        Raises:
            EtcdConnectionError: no endpoint answered.
        """
        payload = json.dumps(body).encode()
        headers = self._headers()
        failures: list[str] = []
        count = len(self.addresses)
        for step in range(count):
            index = (self._current + step) % count
            connection = self._new_connection(index, timeout)
            try:
                connection.request("POST", f"/v3/{path}", body=payload, headers=headers)
                return connection, connection.getresponse()
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                failures.append(f"{self.addresses[index]}: {_reason(error)}")
        raise self._unreachable(failures)

    # -- the v3 API --------------------------------------------------------------

    def call(self, path: str, body: JSON) -> JSON:
        """``POST /v3/<path>``, authenticating first (and again once a token expired)."""
        status, data = self._post(path, body)
        return parse_answer(path, status, data)

    def call_stream(self, path: str, bodies: Sequence[JSON]) -> list[JSON]:
        """``POST /v3/<path>`` with several messages of a streaming call in one request
        (the gateway reads them one after another); their answers, in order."""
        status, data = self._post(path, b"".join(json.dumps(body).encode() for body in bodies))
        lines = [line for line in data.splitlines() if line.strip()] or [b""]
        return [parse_answer(path, status, line) for line in lines]

    def _post(self, path: str, body: JSON | bytes) -> tuple[int, bytes]:
        if self._credentials is not None and self._token is None:
            with self._lock:
                if self._token is None:  # another thread may have logged in meanwhile
                    self.authenticate()
        status, data = self.http("POST", f"/v3/{path}", body)
        if status != 200 and self._credentials is not None and _token_expired(data):
            self.authenticate()  # two threads may both renew it: harmless
            status, data = self.http("POST", f"/v3/{path}", body)
        return status, data

    def authenticate(self) -> None:
        """Exchange the user name and password for a token sent with every later request."""
        assert self._credentials is not None
        name, password = self._credentials
        with self._lock:
            self._token = None
            status, data = self.http(
                "POST", "/v3/auth/authenticate", {"name": name, "password": password}
            )
            try:
                answer = parse_answer("auth/authenticate", status, data)
            except EtcdError as error:
                raise EtcdAuthError(
                    f"etcd at {self.url} refused user {name!r}: {error}", error.code, error.status
                ) from None
            self._token = str(answer.get("token", "")) or None

    def version(self) -> JSON:
        """``GET /version``: ``{"etcdserver": "3.5.x", "etcdcluster": "3.5.0"}``."""
        status, data = self.http("GET", "/version")
        if status != 200:
            raise EtcdError(f"GET /version answered HTTP {status}", status=status)
        answer: JSON = json.loads(data)
        return answer

    def range(self, key: bytes, *, prefix: bool = False, count_only: bool = False) -> JSON:
        body: JSON = {"key": b64(key)}
        if prefix:
            body["range_end"] = b64(prefix_end(key))
        if count_only:
            body["count_only"] = True
        return self.call("kv/range", body)

    def txn(self, compare: list[JSON], success: list[JSON], failure: list[JSON]) -> JSON:
        return self.call("kv/txn", {"compare": compare, "success": success, "failure": failure})

    def delete(self, key: bytes, *, prefix: bool = False) -> int:
        body: JSON = {"key": b64(key)}
        if prefix:
            body["range_end"] = b64(prefix_end(key))
        return int(self.call("kv/deleterange", body).get("deleted", 0))

    def grant(self, ttl: int) -> int:
        answer = self.call("lease/grant", {"TTL": str(ttl), "ID": "0"})
        if answer.get("error"):
            raise EtcdError(f"lease grant failed: {answer['error']}")
        return int(answer["ID"])

    def keep_alive(self, lease: int) -> int:
        """Refresh ``lease``; its new TTL, 0 when it had expired already."""
        return self.keep_alive_all([lease])[0]

    def keep_alive_all(self, leases: Sequence[int]) -> list[int]:
        """Refresh every lease of ``leases`` in one request; each one's new TTL, 0 for one
        that had expired already."""
        answers = self.call_stream("lease/keepalive", [{"ID": str(lease)} for lease in leases])
        ttls = [int(answer.get("result", answer).get("TTL", 0) or 0) for answer in answers]
        return ttls + [0] * (len(leases) - len(ttls))

    def revoke(self, lease: int) -> None:
        try:
            self.call("lease/revoke", {"ID": str(lease)})
        except EtcdError as error:
            if error.code != GRPC_NOT_FOUND:
                raise


def client_from_conf(addresses: Sequence[Address], conf: Mapping[str, Any]) -> EtcdClient:
    """A client configured by the backend's (validated) options."""
    https = conf.get("protocol", "http") == "https"
    return EtcdClient(
        addresses,
        timeout=conf.get("read_timeout", 60),
        context=TLS.ssl_context(conf) if https else None,
        username=conf.get("username") or None,
        password=conf.get("password"),
    )


def put(key: bytes, value: bytes, lease: int | None = None) -> JSON:
    """A ``request_put`` operation for `EtcdClient.txn`."""
    request: JSON = {"key": b64(key), "value": b64(value)}
    if lease:
        request["lease"] = str(lease)
    return {"request_put": request}


def get(key: bytes) -> JSON:
    """A ``request_range`` operation for `EtcdClient.txn`."""
    return {"request_range": {"key": b64(key)}}


def compare(key: bytes, target: str, value: Any) -> JSON:
    """A compare: ``target`` is ``MOD``, ``CREATE``, ``VERSION`` or ``VALUE``; EQUAL."""
    field = {"MOD": "mod_revision", "CREATE": "create_revision", "VERSION": "version"}.get(
        target, "value"
    )
    return {
        "key": b64(key),
        "target": target,
        "result": "EQUAL",
        field: b64(value) if target == "VALUE" else str(value),
    }


def first_kv(answer: JSON) -> JSON | None:
    """The first key-value of a range answer (or of a txn's first range response)."""
    kvs = answer.get("kvs") or []
    return kvs[0] if kvs else None


def range_response(txn: JSON, index: int = 0) -> JSON:
    responses = txn.get("responses") or []
    if index >= len(responses):
        return {}
    found: JSON = responses[index].get("response_range") or {}
    return found


def parse_answer(path: str, status: int, data: bytes) -> JSON:
    """The JSON answer of ``/v3/<path>``, or the `EtcdError` (or `EtcdAuthError`) it reports."""
    try:
        answer: Any = json.loads(data) if data else {}
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise EtcdError(
            f"/v3/{path} answered HTTP {status} with a body that is not JSON: {data[:200]!r}",
            status=status,
        )
    if status == 200 and "error" not in answer:
        return answer
    error = answer.get("error") or {}
    if isinstance(error, dict):  # a streamed answer: {"error": {"grpc_code": ..., "message": ...}}
        message, code = error.get("message", ""), int(error.get("grpc_code", 0) or 0)
    else:
        message, code = str(answer.get("message") or error), int(answer.get("code", 0) or 0)
    message = message or f"HTTP {status}"
    if code in (GRPC_UNAUTHENTICATED, GRPC_PERMISSION_DENIED) or "user name is empty" in message:
        raise EtcdAuthError(message, code, status)
    raise EtcdError(message, code, status)


def _message(data: bytes) -> str:
    try:
        answer = json.loads(data)
    except ValueError:
        return data[:200].decode(errors="replace")
    return (
        str(answer.get("message") or answer.get("error") or "") if isinstance(answer, dict) else ""
    )


def _token_expired(data: bytes) -> bool:
    text = data.decode(errors="replace")
    return "invalid auth token" in text or "token is expired" in text


def _reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "no answer in time"
    if isinstance(error, ssl.SSLError):
        return f"TLS error: {error.reason or error}"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
