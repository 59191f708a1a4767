"""`import rendezvous_di`, a container, listing and config never import torch."""

from __future__ import annotations

import subprocess
import sys

from tests.support.procs import REPO, run_cli


def modules_after(code: str) -> set[str]:
    script = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=REPO
    )
    return set(done.stdout.split())


def test_import_container_settings_and_listing_do_not_import_torch() -> None:
    loaded = modules_after(
        "import rendezvous_di\n"
        "from rendezvous_di import describe_backends\n"
        "c = rendezvous_di.RendezvousContainer()\n"
        "c.config.from_dict({'backend': 'static', 'endpoint': 'h:1', 'conf': {'rank': 0}})\n"
        "c.settings()\n"
        "describe_backends(c)\n"
    )
    assert "rendezvous_di.container" in loaded
    assert not {m for m in loaded if m == "torch" or m.startswith("torch.")}


def test_plain_import_does_not_even_import_dependency_injector() -> None:
    loaded = modules_after("import rendezvous_di")
    assert "dependency_injector" not in loaded
    assert "torch" not in loaded


def test_building_the_handler_does_import_torch() -> None:
    loaded = modules_after(
        "import rendezvous_di\nrendezvous_di.RendezvousContainer().parameters()\n"
    )
    assert "torch.distributed.elastic.rendezvous" in loaded


def test_backends_and_config_commands_do_not_import_torch() -> None:
    for command in (["backends"], ["config", "--rdzv-conf", "join_timeout=5"]):
        done = run_cli(command, env={"PYTHONPROFILEIMPORTTIME": "1"})
        assert done.returncode == 0, done.stderr
        imported = {
            line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line
        }
        assert "rendezvous_di.cli" in imported
        assert not {m for m in imported if m == "torch" or m.startswith("torch.")}, command


def test_listing_and_settings_skip_importlib_metadata() -> None:
    # importlib.metadata (email, zipfile...) cost more than the rest of a listing: we read
    # entry points ourselves (tests/plugins/test_installed.py checks we read the same ones).
    loaded = modules_after(
        "import rendezvous_di\n"
        "from rendezvous_di import describe_backends\n"
        "c = rendezvous_di.RendezvousContainer()\n"
        "c.settings()\n"
        "describe_backends(c)\n"
    )
    assert "rendezvous_di.registry.listing" in loaded
    assert "importlib.metadata" not in loaded


def test_run_refuses_bad_launcher_flags_before_dependency_injector_is_imported() -> None:
    # The bad-input benchmark's case: the answer must not wait for a container to be made.
    done = run_cli(
        ["run", "--nproc-per-node", "0", "examples/allreduce.py"],
        env={"PYTHONPROFILEIMPORTTIME": "1"},
    )
    assert done.returncode == 2
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "rendezvous_di.cli.run" in imported
    assert "dependency_injector" not in imported
    assert not {m for m in imported if m == "torch" or m.startswith("torch.")}
