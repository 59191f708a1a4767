"""etcd-v3 is our own backend: describing it, dry-running it and probing it need no torch.

It is served through the ``torchrun.handlers`` entry point like a plugin, but its
module is this package's own code. Loading it first imported torch's rendezvous
package (as a stranger's plugin must be loaded), and ``check`` loaded it in a child
process under ``--timeout``: torch's import alone could pass the deadline, and the
command then blamed "plugin 'etcd-v3'" and suggested denying it. Each command runs
in a fresh interpreter, which says which modules it imported.
"""

from __future__ import annotations

import sys

import pytest

from tests.support.etcd_server import EtcdServer
from tests.support.procs import clean_environ, free_port, run_process

ETCD_V3 = ("--rdzv-backend", "etcd-v3", "--rdzv-id", "job-7")
SCRIPT = "train.py"

COMMANDS = {
    "config": ["config", *ETCD_V3, "--rdzv-endpoint", "etcd:2379"],
    "config-range": ["config", *ETCD_V3, "--nnodes", "2:4", "--rdzv-endpoint", "a:2379,b:2379"],
    "config-json": ["config", "--json", *ETCD_V3, "--rdzv-conf", "lease_ttl=30"],
    "config-yaml": ["config", "--format", "yaml", *ETCD_V3, "--rdzv-conf", "protocol=https"],
    "config-env": ["config", "--format", "env", *ETCD_V3, "--nnodes", "2"],
    "dry-run": ["run", "--dry-run", *ETCD_V3, "--rdzv-endpoint", "etcd:2379", SCRIPT],
    "dry-run-nodes": [
        "run",
        "--dry-run",
        *ETCD_V3,
        "--nnodes",
        "1:3",
        "--rdzv-conf",
        "sync=poll,read_timeout=5",
        "--nproc-per-node",
        "2",
        SCRIPT,
    ],
    "backends": ["backends", "--json"],
}

_IMPORTS = """
import json, sys
from rendezvous_di.cli import main
code = main(json.loads(sys.argv[1]))
sys.stdout.flush()
torch = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
print("\\nexit", code, "torch modules", len(torch), file=sys.stderr)
"""


def imports(args: list[str]) -> tuple[int, int, str]:
    """Run ``rendezvous-di ARGS`` in a fresh interpreter: exit code, torch modules, stderr."""
    import json

    done = run_process(
        [sys.executable, "-c", _IMPORTS, json.dumps(args)], env=clean_environ(), timeout=60
    )
    assert done.returncode == 0, done.stderr
    *said, last = done.stderr.rstrip().splitlines()
    _, code, _, _, count = last.split()
    return int(code), int(count), "\n".join(said)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_describing_and_dry_running_etcd_v3_import_no_torch(name: str) -> None:
    code, torch_modules, stderr = imports(COMMANDS[name])
    assert code == 0, stderr
    assert torch_modules == 0


def test_check_on_a_live_etcd_within_one_second_names_no_plugin(etcd_35: EtcdServer) -> None:
    code, torch_modules, stderr = imports(
        ["check", *ETCD_V3, "--rdzv-endpoint", etcd_35.endpoint, "--timeout", "1"]
    )
    assert code == 0, stderr
    assert "plugin" not in stderr
    assert torch_modules == 0  # nothing to wait for but etcd itself


def test_check_at_a_silent_endpoint_blames_the_endpoint_not_the_plugin() -> None:
    """A listener that never answers within ``--timeout``: the line names etcd's endpoint."""
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        endpoint = f"127.0.0.1:{server.getsockname()[1]}"
        code, _, stderr = imports(
            ["check", *ETCD_V3, "--rdzv-endpoint", endpoint, "--timeout", "1"]
        )
    assert code == 1
    first, fix = stderr.splitlines()
    assert first.startswith(f"error: etcd-v3: etcd at {endpoint} is unreachable: ")
    assert "no answer in time" in first
    assert "plugin" not in stderr
    assert "deny" not in fix


def test_check_where_nothing_listens_names_the_endpoint() -> None:
    endpoint = f"127.0.0.1:{free_port()}"
    code, _, stderr = imports(["check", *ETCD_V3, "--rdzv-endpoint", endpoint, "--timeout", "1"])
    assert code == 1
    assert stderr.startswith(f"error: etcd-v3: etcd at {endpoint} is unreachable: ")
    assert "plugin" not in stderr
