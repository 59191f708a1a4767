"""A TCPStore is told from any other TCP listener: by ``check``, and by ``run`` before torch hangs.

Every listener is real and on loopback: torch's TCPStore (both server
implementations), a socket that accepts and says nothing, a server that
answers HTTP to anything, and Python's own HTTP server.
"""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from rendezvous_di.backends.tcp_store import ask
from rendezvous_di.errors import NotATCPStoreError
from tests.support.procs import free_port, run_cli


@contextmanager
def raw_server(on_connect: Callable[[socket.socket], None]) -> Iterator[int]:
    """A loopback TCP server calling ``on_connect`` for each connection; yields its port."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            threading.Thread(target=on_connect, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        server.close()
        for conn in held:
            conn.close()


def say_nothing(conn: socket.socket) -> None:
    return None


class Timed:
    """A silent listener's log: how long each connection stayed open (None: still open)."""

    def __init__(self) -> None:
        self.lifetimes: list[float | None] = []
        self.lock = threading.Lock()

    def say_nothing(self, conn: socket.socket) -> None:
        """Accept, never answer, and time the connection until the client closes it."""
        accepted = time.monotonic()
        with self.lock:
            index = len(self.lifetimes)
            self.lifetimes.append(None)
        try:
            while conn.recv(1024):
                pass
        except OSError:
            return
        with self.lock:
            self.lifetimes[index] = time.monotonic() - accepted


def answer_http(conn: socket.socket) -> None:
    try:
        conn.recv(1024)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    except OSError:
        pass


class QuietHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


@contextmanager
def http_server() -> Iterator[int]:
    """Python's own HTTP server (it answers 400 to a store's greeting)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


LISTENERS: dict[str, Callable[[], Any]] = {
    "silent": lambda: raw_server(say_nothing),
    "answers-http": lambda: raw_server(answer_http),
    "http.server": http_server,
}


@pytest.fixture(params=sorted(LISTENERS))
def not_a_store(request: pytest.FixtureRequest) -> Iterator[int]:
    with LISTENERS[request.param]() as port:
        yield port


def test_a_real_tcpstore_answers_as_one(tcp_store: int) -> None:
    answer = ask("127.0.0.1", tcp_store, 30)
    assert answer.is_store, answer.detail
    assert answer.detail == f"127.0.0.1:{tcp_store} answers as a TCPStore"


def test_other_listeners_are_not_stores(not_a_store: int) -> None:
    answer = ask("127.0.0.1", not_a_store, 2, "read_timeout")
    assert answer.verdict == "not a store"
    assert answer.detail.startswith(
        f"127.0.0.1:{not_a_store} accepts connections but is not a TCPStore: "
    )


def test_an_http_answer_is_quoted() -> None:
    with raw_server(answer_http) as port:
        answer = ask("127.0.0.1", port, 30)
    assert "it answered 'HTTP/1.1 400 Bad Request..." in answer.detail


def test_silence_is_bounded_and_named_by_its_source() -> None:
    with raw_server(say_nothing) as port:
        answer = ask("127.0.0.1", port, 1, "read_timeout")
    assert "it did not answer within 1s (read_timeout)" in answer.detail


def test_nothing_listening_is_left_to_torch() -> None:
    answer = ask("127.0.0.1", free_port(), 5)
    assert answer.verdict == "no connection"


def test_check_says_a_listener_is_not_a_store(not_a_store: int) -> None:
    endpoint = f"127.0.0.1:{not_a_store}"
    done = run_cli(
        ["check", "--rdzv-endpoint", endpoint, "--rdzv-conf", "is_host=false", "--timeout", "3"],
        timeout=60,
    )
    assert done.returncode == 1, done.stdout
    first, fix = done.stderr.splitlines()
    assert first.startswith(f"error: c10d: {endpoint} accepts connections but is not a TCPStore: ")
    assert fix.startswith("fix: point --rdzv-endpoint at the TCPStore's host and port")
    assert "ready" not in done.stdout


def test_check_on_static_tells_the_store_apart_too() -> None:
    with raw_server(say_nothing) as port:
        endpoint = f"127.0.0.1:{port}"
        done = run_cli(
            [
                *("check", "--rdzv-backend", "static", "--rdzv-endpoint", endpoint),
                *("--rdzv-conf", "rank=1", "--nnodes", "2", "--timeout", "2"),
            ],
            timeout=60,
        )
    assert done.returncode == 1
    assert f"error: static: {endpoint} accepts connections but is not a TCPStore" in done.stderr


def test_a_handler_refuses_an_endpoint_held_by_something_else(container: Any) -> None:
    with raw_server(say_nothing) as port:
        endpoint = f"127.0.0.1:{port}"
        container.config.from_dict(
            {
                "backend": "c10d",
                "endpoint": endpoint,
                "max_nodes": 2,
                "run_id": "r",
                "conf": {"read_timeout": 1},
            }
        )
        with pytest.raises(NotATCPStoreError) as caught:
            container.handler()
    assert caught.value.endpoint == endpoint
    assert str(caught.value).startswith(
        f"c10d: {endpoint} accepts connections but is not a TCPStore: it did not answer "
        "within 1s (read_timeout)"
    )


def test_a_handler_joins_a_real_store_as_before(container: Any, tcp_store: int) -> None:
    container.config.from_dict(
        {
            "backend": "c10d",
            "endpoint": f"127.0.0.1:{tcp_store}",
            "max_nodes": 2,
            "run_id": "joins",
            "conf": {"is_host": False, "read_timeout": 30},
        }
    )
    assert container.handler().get_backend() == "c10d"


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["silent", "answers-http"])
def test_run_against_a_listener_that_is_not_a_store_fails_with_one_line(
    kind: str, tmp_path: Path
) -> None:
    script = tmp_path / "never.py"
    script.write_text("raise SystemExit('a worker must not start')\n")
    with LISTENERS[kind]() as port:
        endpoint = f"127.0.0.1:{port}"
        # torch's own client would wait here forever (measured): the run must end by itself.
        done = run_cli(
            [
                *("run", "--rdzv-backend", "c10d", "--rdzv-endpoint", endpoint, "--nnodes", "2"),
                *("--rdzv-conf", "read_timeout=3", "--nproc-per-node", "1", str(script)),
            ],
            timeout=120,
        )
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1, done.stderr
    not_a_store = f"error: c10d: {endpoint} accepts connections but is not a TCPStore"
    assert errors[0].startswith(not_a_store)
    assert "Traceback" not in done.stderr
    assert "a worker must not start" not in done.stderr


@pytest.mark.slow
def test_run_asks_a_silent_listener_once_within_read_timeout(tmp_path: Path) -> None:
    """The docs promise the refusal within ``read_timeout``: one question, one wait.

    Measured from the listener's side, so torch's import time is not counted: the
    bound is the documented one (plus scheduling slack), not a speed target. The
    probe run after a failure used to ask a second time, ending 5 s later.
    """
    script = tmp_path / "never.py"
    script.write_text("raise SystemExit('a worker must not start')\n")
    timed = Timed()
    read_timeout = 2
    with raw_server(timed.say_nothing) as port:
        done = run_cli(
            [
                *("run", "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{port}"),
                *("--nnodes", "2", "--rdzv-conf", f"read_timeout={read_timeout}"),
                *("--nproc-per-node", "1", str(script)),
            ],
            timeout=120,
        )
        time.sleep(0.2)  # the listener's threads see the client's close
    assert done.returncode == 1, done.stderr
    assert f"within {read_timeout}s (read_timeout)" in done.stderr
    assert len(timed.lifetimes) == 1, timed.lifetimes
    (lifetime,) = timed.lifetimes
    assert lifetime is not None
    assert read_timeout - 0.1 <= lifetime < read_timeout + 0.5


@pytest.mark.parametrize("backend", ["c10d", "static"])
def test_check_asks_a_silent_listener_once_within_its_timeout(backend: str) -> None:
    """``check --timeout T``: one question, and the connection closed by T (plus slack)."""
    timed = Timed()
    timeout = 2
    rank = ("--rdzv-conf", "rank=1") if backend == "static" else ("--rdzv-conf", "is_host=false")
    with raw_server(timed.say_nothing) as port:
        done = run_cli(
            [
                *("check", "--rdzv-backend", backend, "--rdzv-endpoint", f"127.0.0.1:{port}"),
                *("--nnodes", "2", *rank, "--timeout", str(timeout)),
            ],
            timeout=60,
        )
        time.sleep(0.2)
    assert done.returncode == 1, done.stderr
    assert "accepts connections but is not a TCPStore" in done.stderr
    assert len(timed.lifetimes) == 1, timed.lifetimes
    (lifetime,) = timed.lifetimes
    assert lifetime is not None
    assert lifetime < timeout + 0.5
