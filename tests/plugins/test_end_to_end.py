"""Real jobs: `rendezvous-di run` on a plugin backend, and torch's elastic_launch via install()."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.plugins.conftest import Events
from tests.support.procs import REPO, clean_environ, free_port, run_cli, run_process

pytestmark = pytest.mark.slow

WORKER = str(REPO / "examples" / "allreduce.py")
BYSTANDERS = ("rdzv-good", "rdzv-boom", "rdzv-exit", "rdzv-twin-a", "rdzv-twin-b")


def test_torch_alone_would_import_every_installed_plugin(
    pythonpath: Callable[..., dict[str, str]], events: Events
) -> None:
    """The contrast that makes the next test meaningful: torch's loader is eager."""
    env = clean_environ(pythonpath("rdzv-lockstep", "rdzv-good", "rdzv-boom", events=events))
    done = subprocess.run(
        [sys.executable, "-c", "import torch.distributed.elastic.rendezvous"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert {"import lockstep", "import good", "import boom"} <= set(events.lines())
    assert "Exception while registering out of tree plugin boom" in done.stderr


def test_run_launches_two_workers_on_a_plugin_backend_importing_only_that_plugin(
    pythonpath: Callable[..., dict[str, str]], events: Events, tmp_path: Path
) -> None:
    config = tmp_path / "job.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            backend: lockstep
            endpoint: 127.0.0.1:{free_port()}
            nnodes: 1
            conf: {{join_timeout: "60", last_call_timeout: "1"}}
            plugins:
              deny: [good]
            """
        )
    )
    env = pythonpath("rdzv-lockstep", *BYSTANDERS, events=events)
    done = run_cli(
        ["run", "--verbose", "--config", str(config), "--nproc-per-node", "2", WORKER],
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "rank 0/2: all_reduce sum=3 expected=3 ok" in done.stdout
    assert "rank 1/2: all_reduce sum=3 expected=3 ok" in done.stdout
    assert "for 'lockstep' from the container's backends.providers['lockstep']" in done.stderr
    # The denied (good), failing (boom), exiting (exit) and conflicting (twin) plugins
    # were never imported: torch's eager loading did not run inside `rendezvous-di run`.
    assert events.lines() == ["import lockstep", "getter lockstep"]


LAUNCH = """\
import sys

from dependency_injector import providers

from rendezvous_di import RendezvousContainer, install
from rendezvous_di._torch import rendezvous_module

rendezvous_module()
from torch.distributed.elastic.rendezvous.registry import _create_c10d_handler
from torch.distributed.launcher.api import LaunchConfig, elastic_launch

container = RendezvousContainer()
created = []


def recording_c10d(params):
    handler = _create_c10d_handler(params)
    created.append((params.backend, params.config.get("join_timeout"), type(handler).__name__))
    return handler


with install(container):
    # Overridden after install: torch's launcher must still get the override.
    container.backends.providers["c10d"].override(providers.Factory(recording_c10d))
    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=2,
        run_id="launch",
        rdzv_backend="c10d",
        rdzv_endpoint="127.0.0.1:{port}",
        rdzv_configs={{"join_timeout": "60", "last_call_timeout": "1"}},
        max_restarts=0,
        monitor_interval=0.1,
    )
    elastic_launch(config, sys.executable)({worker!r})
print("created", created, flush=True)
"""


def test_elastic_launch_gets_its_handler_from_a_backend_overridden_after_install(
    tmp_path: Path,
) -> None:
    script = tmp_path / "launch.py"
    script.write_text(LAUNCH.format(port=free_port(), worker=WORKER))
    done = run_process([sys.executable, str(script)], timeout=300)
    assert done.returncode == 0, done.stderr
    assert "rank 0/2: all_reduce sum=3 expected=3 ok" in done.stdout
    assert "rank 1/2: all_reduce sum=3 expected=3 ok" in done.stdout
    # One handler, from the override, with the options converted by the c10d schema.
    assert "created [('c10d', 60, 'DynamicRendezvousHandler')]" in done.stdout
