"""A real etcd server for tests: Debian's ``etcd`` (3.4) on free ports, v2 API on, temp data dir.

Both torch etcd backends speak the v2 API, which etcd 3.4 serves only with
``--enable-v2=true``. The server is started as its own process group so that
:meth:`EtcdServer.stop` can kill it and anything it spawned, and its data dir
is removed afterwards: a test run leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from .procs import free_port

ETCD = shutil.which("etcd") or "/usr/bin/etcd"


def etcd_available() -> bool:
    return os.access(ETCD, os.X_OK)


def http_ready(url: str) -> bool:
    """True when ``url`` answers with etcd's version document."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return "etcdserver" in json.loads(response.read())
    except (OSError, ValueError):
        return False


class EtcdServer:
    """One etcd member listening on ``host``.

    Args:
        host: the address to listen on (loopback, or a test host's address).
        command_prefix: prepended to the etcd command, e.g. ``ip netns exec NS``.
        ready: how to tell the server answers; defaults to GET /version from here.
        enable_v2: serve the v2 API (both torch etcd backends need it; off to test that).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        *,
        client_port: int | None = None,
        peer_port: int | None = None,
        command_prefix: Sequence[str] = (),
        ready: Callable[[EtcdServer], bool] | None = None,
        enable_v2: bool = True,
    ) -> None:
        self.enable_v2 = enable_v2
        self.host = host
        self.client_port = client_port or free_port()
        self.peer_port = peer_port or free_port()
        self.command_prefix = list(command_prefix)
        self._ready = ready or (lambda server: http_ready(f"{server.url}/version"))
        self.data_dir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.client_port}"

    @property
    def url(self) -> str:
        return f"http://{self.endpoint}"

    def start(self, timeout: float = 30) -> EtcdServer:
        self.data_dir = Path(tempfile.mkdtemp(prefix="rdzv-etcd-"))
        self.log_path = self.data_dir / "etcd.log"
        peer = f"http://{self.host}:{self.peer_port}"
        command = [
            *self.command_prefix,
            ETCD,
            "--name",
            "test",
            "--data-dir",
            str(self.data_dir / "data"),
            "--listen-client-urls",
            self.url,
            "--advertise-client-urls",
            self.url,
            "--listen-peer-urls",
            peer,
            "--initial-advertise-peer-urls",
            peer,
            "--initial-cluster",
            f"test={peer}",
            f"--enable-v2={'true' if self.enable_v2 else 'false'}",
            "--log-level",
            "warn",
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while not self._ready(self):
            if self.process.poll() is not None or time.monotonic() > deadline:
                output = self.log_path.read_text(errors="replace")[-2000:]
                self.stop()
                raise RuntimeError(f"etcd did not start on {self.url}:\n{output}")
            time.sleep(0.1)
        return self

    def kill(self) -> None:
        """Kill the server abruptly (a crash, for fault tests); the data dir stays until stop()."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop the server and remove its data dir. Idempotent."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None

    def __enter__(self) -> EtcdServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
