"""Several test hosts on one machine: network namespaces joined by a bridge.

Layout (nothing is created in the machine's own namespace)::

    <prefix>-sw : bridge br0, ports p1..pN
    <prefix>-hI : veth0 = 10.213.0.I/24, lo up; veth0 <-> pI in <prefix>-sw

Each host has its own addresses and ports but shares the file system, the
hostname and the PID space, so one virtualenv serves them all. The /24 exists
only inside these namespaces. Cutting a host sets its switch port down: its
packets are dropped silently, as when a cable is pulled, not refused.

Clean-up is by construction: every process started in a host namespace is
found with ``ip netns pids`` and killed, then the namespaces are deleted,
which destroys their links. Namespace names carry the creating test
process's PID, so :func:`sweep_stale` can remove what a killed run left.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SUBNET = "10.213.0"
NAME_PREFIX = "rdzt"
IFNAME = "veth0"
_NAME = re.compile(rf"^{NAME_PREFIX}-(\d+)-[0-9a-f]+-\w+$")


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=30)


def namespaces() -> list[str]:
    listing = ip("netns", "list", check=False).stdout
    return [line.split()[0] for line in listing.splitlines() if line.strip()]


def netns_supported() -> tuple[bool, str]:
    """Whether this process may create network namespaces (root and iproute2)."""
    if shutil.which("ip") is None:
        return False, "iproute2 ('ip') is not installed"
    if os.geteuid() != 0:
        return False, "network namespaces need root"
    probe = f"{NAME_PREFIX}-{os.getpid()}-{uuid.uuid4().hex[:6]}-probe"
    created = ip("netns", "add", probe, check=False)
    if created.returncode != 0:
        return False, f"cannot create a network namespace: {created.stderr.strip()}"
    ip("netns", "del", probe, check=False)
    return True, ""


def _kill_namespace_processes(name: str) -> None:
    for _ in range(20):
        pids = [int(p) for p in ip("netns", "pids", name, check=False).stdout.split()]
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


def delete_namespace(name: str) -> None:
    _kill_namespace_processes(name)
    ip("netns", "del", name, check=False)


def sweep_stale() -> list[str]:
    """Delete namespaces of earlier test runs whose process is gone (a run killed with -9)."""
    removed = []
    for name in namespaces():
        match = _NAME.match(name)
        if match is None or int(match.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            delete_namespace(name)
            removed.append(name)
        except PermissionError:
            pass
    return removed


@dataclass
class Host:
    """One test host: a namespace with an address on the test network."""

    index: int
    namespace: str
    network: TestNetwork

    @property
    def address(self) -> str:
        return f"{SUBNET}.{self.index}"

    @property
    def switch_port(self) -> str:
        return f"p{self.index}"

    def command(self, args: Sequence[str]) -> list[str]:
        """``args`` run inside this host."""
        return ["ip", "netns", "exec", self.namespace, *args]

    def start(
        self, args: Sequence[str], *, log_name: str, env: Mapping[str, str] | None = None
    ) -> HostProcess:
        """Start ``args`` on this host, stdout and stderr to a log file in the network's dir."""
        log = self.network.workdir / f"h{self.index}-{log_name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                self.command(args),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                start_new_session=True,
            )
        handle = HostProcess(self, process, log)
        self.network.processes.append(handle)
        return handle

    def python(self, code: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a Python snippet on this host and wait for it."""
        return subprocess.run(
            self.command([sys.executable, "-c", code]),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def crash(self) -> None:
        """Power the host off: kill every process in its namespace at once (agents, workers)."""
        _kill_namespace_processes(self.namespace)

    def cut(self) -> None:
        """Pull this host's cable: its switch port goes down, its packets are dropped."""
        ip("-n", self.network.switch, "link", "set", self.switch_port, "down")


@dataclass
class HostProcess:
    """A process started on a test host, with its log."""

    host: Host
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


@dataclass
class TestNetwork:
    """``count`` hosts on one bridge; use as a context manager, which removes everything."""

    count: int = 3
    token: str = field(default_factory=lambda: uuid.uuid4().hex[:6])
    hosts: list[Host] = field(default_factory=list)
    processes: list[HostProcess] = field(default_factory=list)
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="rdzv-netns-")))

    __test__ = False  # not a pytest test class

    @property
    def prefix(self) -> str:
        return f"{NAME_PREFIX}-{os.getpid()}-{self.token}"

    @property
    def switch(self) -> str:
        return f"{self.prefix}-sw"

    @property
    def names(self) -> list[str]:
        return [self.switch, *(h.namespace for h in self.hosts)]

    def create(self) -> TestNetwork:
        try:
            ip("netns", "add", self.switch)
            ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
            ip("-n", self.switch, "link", "set", "br0", "up")
            for index in range(1, self.count + 1):
                host = Host(index, f"{self.prefix}-h{index}", self)
                ip("netns", "add", host.namespace)
                self.hosts.append(host)
                self._wire(host)
        except BaseException:
            self.destroy()
            raise
        return self

    def _wire(self, host: Host) -> None:
        # Both ends are created inside namespaces: the machine's own namespace never sees them.
        ip(
            "-n",
            self.switch,
            "link",
            "add",
            host.switch_port,
            "type",
            "veth",
            "peer",
            "name",
            IFNAME,
            "netns",
            host.namespace,
        )
        ip("-n", self.switch, "link", "set", host.switch_port, "master", "br0", "up")
        ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", IFNAME)
        ip("-n", host.namespace, "link", "set", IFNAME, "up")
        ip("-n", host.namespace, "link", "set", "lo", "up")

    def destroy(self) -> None:
        """Kill every process on the hosts, delete the namespaces (and links), remove the dir."""
        for handle in self.processes:
            handle.kill()
        for name in reversed(self.names):
            delete_namespace(name)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def leftovers(self) -> list[str]:
        """Namespaces of this network that still exist (empty after destroy)."""
        return [name for name in namespaces() if name.startswith(self.prefix)]

    def __enter__(self) -> TestNetwork:
        return self.create()

    def __exit__(self, *exc: object) -> None:
        self.destroy()


@contextlib.contextmanager
def etcd_on_host(host: Host, **options: Any) -> Iterator[Any]:
    """An etcd server (`tests.support.etcd_server.EtcdServer`, ``options`` passed on) on
    ``host``'s address, ports 2379/2380, checked from that host; stopped afterwards."""
    from tests.support.etcd_server import EtcdServer

    def answers(server: EtcdServer) -> bool:
        code = f"import urllib.request; urllib.request.urlopen('{server.url}/version', timeout=1)"
        return host.python(code).returncode == 0

    server = EtcdServer(
        host.address,
        client_port=2379,
        peer_port=2380,
        command_prefix=host.command([]),
        ready=answers,
        **options,
    ).start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def etcd_cluster_on_hosts(hosts: Sequence[Host], **options: Any) -> Iterator[list[Any]]:
    """An etcd cluster, one member per host of ``hosts`` (ports 2379/2380 on each), its
    members started together and each checked from its host; stopped afterwards."""
    from tests.support.etcd_server import EtcdServer

    def answers_on(host: Host) -> Callable[[EtcdServer], bool]:
        def answers(server: EtcdServer) -> bool:  # /health: a leader is elected
            url = f"{server.url}/health"
            code = f"import urllib.request; urllib.request.urlopen('{url}', timeout=1)"
            return host.python(code).returncode == 0

        return answers

    members = [
        EtcdServer(
            host.address,
            client_port=2379,
            peer_port=2380,
            command_prefix=host.command([]),
            ready=answers_on(host),
            name=f"m{host.index}",
            **options,
        )
        for host in hosts
    ]
    cluster = ",".join(f"{m.name}={m.peer_url}" for m in members)
    try:
        for member in members:
            member.cluster = cluster
            member.launch()
        for member in members:
            member.wait_ready(60)
        yield members
    finally:
        for member in members:
            member.stop()


@contextlib.contextmanager
def tcp_store_on_host(host: Host, port: int) -> Iterator[HostProcess]:
    """A TCPStore server (libuv) process on ``host``'s address and ``port``, until the end."""
    code = (
        "import time, torch.distributed as d; "
        f"s = d.TCPStore('{host.address}', {port}, is_master=True, "
        "wait_for_workers=False, use_libuv=True); "
        "print('ready', flush=True); time.sleep(10**6)"
    )
    store = host.start([sys.executable, "-c", code], log_name="store")
    deadline = time.monotonic() + 60
    while "ready" not in store.output():
        assert store.process.poll() is None, store.output()
        assert time.monotonic() < deadline, "the TCPStore server did not start"
        time.sleep(0.05)
    yield store
