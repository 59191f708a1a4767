"""``rendezvous-di check``: validates, probes the real backend, exits 0 / 1 / 2.

Every probe target is on loopback: a real etcd server, real listening
sockets, ports where nothing listens, and a server that accepts but never
answers (for the timeout bound).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.etcd_server import EtcdServer, etcd_available
from tests.support.procs import free_port, require, run_cli, run_process


@pytest.fixture
def listening() -> Iterator[int]:
    """A port on loopback where a server accepts connections (and never says anything)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield int(server.getsockname()[1])


@pytest.fixture(scope="module")
def etcd_server() -> Iterator[EtcdServer]:
    require(etcd_available(), "etcd is not installed (scripts/setup.sh installs etcd-server)")
    with EtcdServer() as server:
        yield server


def check(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(["check", *args], timeout=60)


def test_default_settings_are_ready_because_this_host_hosts_the_store() -> None:
    result = check()
    assert result.returncode == 0, result.stderr
    assert "ready: this host will host the store on localhost, on a free port" in result.stdout


def test_c10d_store_that_answers_as_a_tcpstore_is_ready(tcp_store: int) -> None:
    endpoint = f"127.0.0.1:{tcp_store}"
    result = check("--rdzv-endpoint", endpoint, "--rdzv-conf", "is_host=false")
    assert result.returncode == 0, result.stderr
    assert f"ready: store at {endpoint} answers as a TCPStore" in result.stdout


def test_c10d_local_free_port_means_this_host_will_host_it() -> None:
    endpoint = f"127.0.0.1:{free_port()}"
    result = check("--rdzv-endpoint", endpoint)
    assert result.returncode == 0, result.stderr
    assert f"this host will host the store on {endpoint} (port is free)" in result.stdout


def test_c10d_store_nobody_hosts_is_unreachable_with_a_fix() -> None:
    endpoint = f"127.0.0.1:{free_port()}"
    result = check("--rdzv-endpoint", endpoint, "--rdzv-conf", "is_host=false")
    assert result.returncode == 1
    first, fix = result.stderr.splitlines()[:2]
    assert first.startswith(f"error: c10d: store at {endpoint} is unreachable: ")
    assert "refused" in first
    assert fix.startswith("fix: start the node whose address is the endpoint's host first")


def static(endpoint: str, rank: int, *more: str) -> subprocess.CompletedProcess[str]:
    return check(
        "--rdzv-backend",
        "static",
        "--rdzv-endpoint",
        endpoint,
        "--rdzv-conf",
        f"rank={rank}",
        *more,
    )


def test_static_non_zero_rank_needs_rank_zero_up_first() -> None:
    result = static(f"127.0.0.1:{free_port()}", 1, "--nnodes", "2")
    assert result.returncode == 1
    assert "fix: start the node with --node-rank 0 first" in result.stderr


def test_static_rank_past_the_world_is_refused_before_any_probe() -> None:
    result = static(f"127.0.0.1:{free_port()}", 1)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: conf.rank (from flag --rdzv-conf): rank 1 is not below the node count, 1: "
        "the one node's rank is 0"
    ]


def test_static_store_reachable_is_ready(tcp_store: int) -> None:
    result = static(f"127.0.0.1:{tcp_store}", 1, "--nnodes", "2")
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["etcd-v2", "etcd"])
def test_real_etcd_with_v2_api_is_ready(etcd_server: EtcdServer, backend: str) -> None:
    result = check("--rdzv-backend", backend, "--rdzv-endpoint", etcd_server.endpoint)
    assert result.returncode == 0, result.stderr
    assert f"ready: etcd 3.4.23 at {etcd_server.url} answers; v2 API enabled" in result.stdout


@pytest.mark.slow
def test_real_etcd_without_v2_api_is_refused_in_one_line_naming_etcd_v3() -> None:
    require(etcd_available(), "etcd is not installed (scripts/setup.sh installs etcd-server)")
    with EtcdServer(enable_v2=False) as server:
        result = check("--rdzv-backend", "etcd-v2", "--rdzv-endpoint", server.endpoint)
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert "its v2 API is disabled" in line
    assert "use --rdzv-backend etcd-v3" in line
    assert "restart etcd 3.4/3.5 with --enable-v2=true" in line


def test_etcd_nobody_listens_is_unreachable() -> None:
    endpoint = f"127.0.0.1:{free_port()}"
    result = check("--rdzv-backend", "etcd-v2", "--rdzv-endpoint", endpoint, "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ready"] is False
    assert report["detail"] == f"etcd at http://{endpoint} is unreachable: Connection refused"
    assert "--enable-v2=true" in report["fix"]


def test_a_server_that_never_answers_fails_within_the_timeout(listening: int) -> None:
    started = time.monotonic()
    result = check(
        "--rdzv-backend", "etcd-v2", "--rdzv-endpoint", f"127.0.0.1:{listening}", "--timeout", "1"
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert "unreachable: no answer within 1s" in result.stderr
    # The bound, with generous slack for starting Python on a busy machine.
    assert elapsed < 1 + 20


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rdzv-backend", "etcd3"], "error: backend (from flag --rdzv-backend): unknown"),
        (
            ["--rdzv-backend", "etcd-v2", "--rdzv-conf", "protocol=https,ssl_cert=/absent.pem"],
            "error: conf.ssl_cert (from flag --rdzv-conf): '/absent.pem' does not exist",
        ),
        (["--timeout", "0"], "error: argument --timeout: must be > 0 seconds, got '0'"),
        (["--timeout", "soon"], "error: argument --timeout: 'soon' is not a number of seconds"),
    ],
)
def test_invalid_configuration_exits_2_before_probing(args: list[str], message: str) -> None:
    result = check(*args)
    assert result.returncode == 2
    assert result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.stderr


def test_probing_network_backends_does_not_import_torch(tcp_store: int) -> None:
    code = (
        "import sys\n"
        "from rendezvous_di.cli import main\n"
        f"code = main(['check', '--rdzv-endpoint', '127.0.0.1:{tcp_store}'])\n"
        "assert code == 0, code\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = run_process([sys.executable, "-c", code], timeout=60)
    assert result.returncode == 0, result.stderr


def test_c10d_file_store_needs_a_writable_directory(tmp_path: Path) -> None:
    ready = check("--rdzv-endpoint", str(tmp_path / "store"), "--rdzv-conf", "store_type=file")
    assert ready.returncode == 0, ready.stderr
    assert f"ready: file store directory {tmp_path} is writable" in ready.stdout
    absent = tmp_path / "absent" / "store"
    missing = check("--rdzv-endpoint", str(absent), "--rdzv-conf", "store_type=file")
    assert missing.returncode == 1
    assert f"file store directory {absent.parent} is missing or not writable" in missing.stderr
