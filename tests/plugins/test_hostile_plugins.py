"""Diagnostics survive plugins that kill or interrupt the process importing them.

Real installed distributions whose import calls ``os._exit(3)``, sends itself
SIGSEGV, crashes inside a C call (``ctypes.string_at(0)``), raises
``KeyboardInterrupt`` or ``SystemExit``. ``rendezvous-di backends --load`` and
``rendezvous-di check`` load plugins in a child process: they keep working and
name the culprit with how its process ended.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from tests.plugins.conftest import Events
from tests.support.procs import REPO, clean_environ, communicate_all

pytestmark = pytest.mark.slow

INSTALLED = (
    "rdzv-ccrash",
    "rdzv-exit",
    "rdzv-good",
    "rdzv-hardexit",
    "rdzv-interrupt",
    "rdzv-segv",
    "rdzv-tuned",
)


def cli(args: list[str], env: dict[str, str]) -> tuple[int, int, str, str]:
    """``(pid, exit code, stdout, stderr)`` of ``python -m rendezvous_di ARGS``."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rendezvous_di", *args],
        env=clean_environ(env),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    ((out, err),) = communicate_all([process], timeout=300)
    return process.pid, process.returncode, out, err


def imports_by_pid(events: Events) -> dict[str, int]:
    """``backend -> pid`` of the process that imported each hostile plugin."""
    found = {}
    for line in events.lines():
        parts = line.split()
        if parts[0] == "import" and len(parts) == 3:
            found[parts[1]] = int(parts[2])
    return found


def test_backends_load_lists_every_plugin_and_names_how_each_culprit_ended(
    pythonpath: Callable[..., dict[str, str]], events: Events
) -> None:
    pid, code, out, err = cli(
        ["backends", "--load", "--json"], pythonpath(*INSTALLED, events=events)
    )

    assert code == 0, err
    rows = {row["name"]: row for row in json.loads(out) if row["source"] == "plugin"}
    assert {name: row["status"] for name, row in rows.items()} == {
        "ccrash": "failed",
        "exit": "failed",
        "good": "loaded",
        "hardexit": "failed",
        "interrupt": "failed",
        "segv": "failed",
        "tuned": "loaded",
        "etcd-v3": "loaded",  # our own first-party plugin, installed with rendezvous-di
    }
    assert rows["hardexit"]["reason"] == "ended the process loading it: exit status 3"
    assert rows["segv"]["reason"].startswith(
        "ended the process loading it: killed by signal SIGSEGV"
    )
    assert rows["ccrash"]["reason"].startswith(
        "ended the process loading it: killed by signal SIGSEGV"
    )
    assert rows["interrupt"]["reason"] == (
        "raised KeyboardInterrupt: pressed by the plugin while loading"
    )
    assert rows["exit"]["reason"] == "failed to import: SystemExit: 3"
    assert [o["name"] for o in rows["tuned"]["options"]] == [
        "rounds",
        "ratio",
        "mode",
        "verbose",
        "timeout",
    ]
    assert rows["tuned"]["options"][-1]["set_by_launcher"] is True

    # One child loads the plugins one after another (in name order); a new one starts
    # past each plugin that killed its child; the command's own process imports none.
    pids = imports_by_pid(events)
    assert pid not in pids.values()
    assert pids["hardexit"] != pids["ccrash"]  # ccrash killed the first child
    assert pids["interrupt"] == pids["segv"] != pids["hardexit"]  # same child, after one died
    assert events.count("import good") == 1
    assert events.count("import tuned") == 1


def test_the_table_shows_the_culprits_too(
    pythonpath: Callable[..., dict[str, str]], events: Events
) -> None:
    _, code, out, err = cli(
        ["backends", "--load"], pythonpath("rdzv-hardexit", "rdzv-good", events=events)
    )
    assert code == 0, err
    assert "exit status 3" in out
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("dist", "backend", "how"),
    [
        ("rdzv-hardexit", "hardexit", "ended the process loading it: exit status 3"),
        ("rdzv-segv", "segv", "ended the process loading it: killed by signal SIGSEGV"),
        ("rdzv-ccrash", "ccrash", "ended the process loading it: killed by signal SIGSEGV"),
        ("rdzv-interrupt", "interrupt", "raised KeyboardInterrupt: pressed by the plugin"),
        ("rdzv-exit", "exit", "failed to import: SystemExit: 3"),
    ],
)
def test_check_names_the_selected_culprit_and_exits_1(
    pythonpath: Callable[..., dict[str, str]],
    events: Events,
    dist: str,
    backend: str,
    how: str,
) -> None:
    pid, code, _, err = cli(
        ["check", "--rdzv-backend", backend, "--timeout", "120"],
        pythonpath(dist, events=events),
    )
    assert code == 1, err
    first, fix = err.splitlines()
    assert first.startswith(f"error: {backend}: the plugin for {backend!r} cannot be loaded: ")
    assert f"distribution {dist!r} 0.9" in first or dist == "rdzv-exit"
    assert how in first
    assert fix.startswith("fix: reinstall the plugin's distribution")
    assert pid not in imports_by_pid(events).values()


def test_check_of_a_good_plugin_next_to_culprits_is_ready(
    pythonpath: Callable[..., dict[str, str]], events: Events
) -> None:
    _, code, out, err = cli(
        ["check", "--rdzv-backend", "good", "--timeout", "120"],
        pythonpath(*INSTALLED, events=events),
    )
    assert code == 0, err
    assert "ready: the plugin for 'good' loads" in out
    assert imports_by_pid(events) == {}  # only the selected plugin is loaded


def test_without_isolation_the_loader_still_loads_in_process(
    install: Callable[..., None], events: Events
) -> None:
    """Python callers (not the two commands) load in their own process, as before."""
    from rendezvous_di.container import RendezvousContainer
    from rendezvous_di.registry.listing import describe_backends

    install("rdzv-good", "rdzv-exit")
    infos: Any = describe_backends(RendezvousContainer(), load=True)
    status = {i.name: i.status for i in infos if i.source == "plugin"}
    assert status == {"good": "loaded", "exit": "failed", "etcd-v3": "loaded"}
    assert events.count("import good") == 1
