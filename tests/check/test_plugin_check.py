"""`rendezvous-di check` on plugin backends: loadable or not, told apart without a handler."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support.plugin_dists import EVENTS_ENV, IMPORT_DELAY_ENV
from tests.support.procs import run_cli

pytestmark = pytest.mark.slow


def check(sites: dict[str, Path], backend: str, *dists: str) -> tuple[int, str, str]:
    env = {"PYTHONPATH": os.pathsep.join(str(sites[d]) for d in dists)}
    done = run_cli(["check", "--rdzv-backend", backend, "--timeout", "30"], env=env)
    return done.returncode, done.stdout, done.stderr


def test_a_loadable_plugin_is_ready(check_plugin_sites: dict[str, Path]) -> None:
    code, out, err = check(check_plugin_sites, "good", "rdzv-good")
    assert code == 0, err
    assert "ready: the plugin for 'good' loads" in out


def test_a_plugin_that_raises_on_import_is_unreachable_with_its_error(
    check_plugin_sites: dict[str, Path],
) -> None:
    code, _, err = check(check_plugin_sites, "boom", "rdzv-boom")
    assert code == 1
    first = err.splitlines()[0]
    assert first.startswith("error: boom: the plugin for 'boom' cannot be loaded: ")
    assert "boom on purpose" in first
    assert "rdzv-boom" in first


def test_a_plugin_whose_module_is_missing_is_unreachable(
    check_plugin_sites: dict[str, Path],
) -> None:
    code, _, err = check(check_plugin_sites, "missing", "rdzv-missing")
    assert code == 1
    assert "rdzv_not_installed" in err
    assert err.splitlines()[1].startswith("fix: reinstall the plugin's distribution")


def processes_with(variable: str) -> list[int]:
    """Pids of the processes whose environment holds ``variable`` (``NAME=value``)."""
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if variable.encode() in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:
            continue
    return found


def hanging_plugin(sites: dict[str, Path], tmp_path: Path) -> tuple[str, dict[str, str]]:
    """The environment of a plugin whose import sleeps 120 s, and the marker its processes carry."""
    events = str(tmp_path / "events")
    env = {"PYTHONPATH": str(sites["rdzv-good"]), IMPORT_DELAY_ENV: "120", EVENTS_ENV: events}
    return f"{EVENTS_ENV}={events}", env


def test_a_plugin_whose_import_hangs_is_unreachable_within_the_timeout(
    check_plugin_sites: dict[str, Path], tmp_path: Path
) -> None:
    marker, env = hanging_plugin(check_plugin_sites, tmp_path)
    # The 120 s import is never waited for: run_cli gives up (and fails) after 60 s.
    done = run_cli(["check", "--rdzv-backend", "good", "--timeout", "2"], env=env, timeout=60)
    assert done.returncode == 1
    first = done.stderr.splitlines()[0]
    assert first.startswith("error: loading plugin 'good' from distribution 'rdzv-good' 1.0 ")
    assert first.endswith(" did not finish within 2s")
    assert done.stderr.splitlines()[1].startswith("fix: the plugin's import hangs or is slow")
    # The child loading the plugin was killed at the deadline, not left sleeping.
    assert processes_with(marker) == []


@pytest.mark.parametrize("args", [["--load"], ["good"]], ids=["load-all", "by-name"])
def test_backends_loading_a_plugin_whose_import_hangs_stops_at_its_timeout(
    check_plugin_sites: dict[str, Path], tmp_path: Path, args: list[str]
) -> None:
    """``backends --load`` and ``backends NAME`` import plugins too: bounded as ``check`` is."""
    marker, env = hanging_plugin(check_plugin_sites, tmp_path)
    # 15 s: --load first loads etcd-v3 (a torch import) in the same child, which 2 s may not
    # cover on a loaded machine; the hanging import sleeps 120 s, so 15 s still cuts it.
    done = run_cli(["backends", *args, "--timeout", "15"], env=env, timeout=90)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("error: loading plugin 'good' from distribution 'rdzv-good' 1.0 ")
    assert lines[0].endswith(" did not finish within 15s")
    assert lines[1].startswith("fix: the plugin's import hangs or is slow")
    assert "Traceback" not in done.stderr
    assert processes_with(marker) == []


@pytest.mark.parametrize("value", ["0", "-1", "inf", "nan", "abc", "1e400"])
def test_backends_refuses_a_timeout_that_is_not_a_positive_number(value: str) -> None:
    done = run_cli(["backends", "--timeout", value], timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("error: argument --timeout: ")


@pytest.mark.parametrize(
    ("command", "line"),
    [
        (["check", "--rdzv-backend", "good", "--timeout", "600"], "error: stopped by SIGTERM"),
        (
            ["run", "--rdzv-backend", "good", "--nproc-per-node", "1", "examples/allreduce.py"],
            "error: stopped by SIGTERM; no worker is left running",
        ),
    ],
    ids=["check", "run"],  # (backends loads plugins in the same child as check)
)
def test_a_signal_while_a_plugin_import_hangs_ends_the_command_and_its_children(
    check_plugin_sites: dict[str, Path], tmp_path: Path, command: list[str], line: str
) -> None:
    import signal
    import subprocess
    import sys
    import time

    from tests.support.procs import REPO, clean_environ

    marker, env = hanging_plugin(check_plugin_sites, tmp_path)
    events = Path(env[EVENTS_ENV])
    process = subprocess.Popen(
        [sys.executable, "-m", "rendezvous_di", *command],
        env=clean_environ(env),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while not (events.exists() and "import good" in events.read_text()):
            assert time.monotonic() < deadline, "the plugin's import never started"
            assert process.poll() is None, process.communicate()[1]
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)  # the import sleeps 120 s
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 143, stderr
    assert stderr.splitlines()[-1] == line
    assert [x for x in stderr.splitlines() if x.startswith("error")] == [line]
    deadline = time.monotonic() + 30
    while processes_with(marker):  # the child loading the plugin goes with the command
        assert time.monotonic() < deadline, "the process loading the plugin was left running"
        time.sleep(0.1)
