"""`rendezvous-di backends` and selection errors with real plugins installed, in subprocesses."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.plugins.conftest import Events
from tests.support.procs import run_cli

ALL = (
    "rdzv-good",
    "rdzv-boom",
    "rdzv-missing",
    "rdzv-exit",
    "rdzv-notcallable",
    "rdzv-wrongname",
    "rdzv-twin-a",
    "rdzv-twin-b",
    "rdzv-c10d",
)


def listing(stdout: str) -> dict[tuple[str, str | None], dict[str, object]]:
    return {(e["name"], e["distribution"]): e for e in json.loads(stdout)}


def test_backends_lists_every_plugin_without_importing_any_or_torch(
    pythonpath: Callable[..., dict[str, str]], events: Events
) -> None:
    env = pythonpath(*ALL, events=events, PYTHONPROFILEIMPORTTIME="1")
    done = run_cli(["backends", "--json"], env=env)
    assert done.returncode == 0, done.stderr
    rows = listing(done.stdout)
    assert rows["good", "rdzv-good"]["source"] == "plugin"
    assert rows["good", "rdzv-good"]["version"] == "1.0"
    assert rows["good", "rdzv-good"]["status"] == "not loaded"
    assert rows["boom", "rdzv-boom"]["status"] == "not loaded"
    assert rows["c10d", "torch"]["status"] == "available"
    assert rows["c10d", "rdzv-c10d"]["status"] == "shadowed"
    assert rows["twin", "rdzv-twin-a"]["status"] == "conflict"
    assert "rdzv-twin-b" in str(rows["twin", "rdzv-twin-a"]["reason"])
    assert rows["twin", "rdzv-twin-b"]["status"] == "conflict"
    assert events.lines() == []
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert not {m for m in imported if m == "torch" or m.startswith("torch.")}


def test_backends_load_reports_each_failure_and_survives_system_exit(
    pythonpath: Callable[..., dict[str, str]], events: Events, tmp_path: Path
) -> None:
    config = tmp_path / "policy.yaml"
    config.write_text("plugins:\n  deny: [rdzv-wrongname]\n")
    env = pythonpath(*ALL, events=events)
    done = run_cli(["backends", "--json", "--load", "--config", str(config)], env=env)
    assert done.returncode == 0, done.stderr
    rows = listing(done.stdout)
    status = {name: (rows[name, dist]["status"], rows[name, dist]["reason"]) for name, dist in rows}
    assert status["good"] == ("loaded", None)
    assert status["boom"] == ("failed", "failed to import: RuntimeError: boom on purpose")
    assert status["exit"] == ("failed", "failed to import: SystemExit: 3")
    assert status["missing"][0] == "failed"
    assert "No module named 'rdzv_not_installed'" in str(status["missing"][1])
    assert status["notcallable"][0] == "failed"
    assert "getter returned 42" in str(status["notcallable"][1])
    assert status["wrongname"] == ("denied", "listed in plugins.deny")
    # Denied, shadowed and conflicting plugins are not imported even with --load.
    assert sorted(events.lines()) == sorted(
        [
            "import good",
            "getter good",
            "import boom",
            "import exit",
            "import notcallable",
        ]
    )


def test_backends_text_output_names_distribution_and_status(
    pythonpath: Callable[..., dict[str, str]],
) -> None:
    done = run_cli(["backends"], env=pythonpath("rdzv-good", "rdzv-c10d"))
    assert done.returncode == 0, done.stderr
    lines = [line.split("\t") for line in done.stdout.splitlines() if "\t" in line]
    assert ["good", "plugin", "not loaded", "rdzv-good 1.0"] in [r[:4] for r in lines]
    assert ["c10d", "plugin", "shadowed", "rdzv-c10d 9.0"] in [r[:4] for r in lines]
    hint = "plugins not loaded yet: rendezvous-di backends --load lists their options"
    assert done.stdout.splitlines()[-1] == hint
    loaded = run_cli(["backends", "--load"], env=pythonpath("rdzv-good"))
    assert hint not in loaded.stdout


def test_selecting_a_conflicting_name_is_a_usage_error_naming_both_distributions(
    pythonpath: Callable[..., dict[str, str]],
) -> None:
    env = pythonpath("rdzv-twin-a", "rdzv-twin-b")
    done = run_cli(["config", "--rdzv-backend", "twin"], env=env)
    assert done.returncode == 2
    first = done.stderr.splitlines()[0]
    assert first.startswith("error: backend (from flag --rdzv-backend): backend 'twin' is declared")
    assert "'rdzv-twin-a' 1.0" in first
    assert "'rdzv-twin-b' 2.0" in first
    assert "Traceback" not in done.stderr


def test_selecting_a_plugin_with_autoload_off_is_a_usage_error(
    pythonpath: Callable[..., dict[str, str]],
) -> None:
    env = pythonpath("rdzv-good", RENDEZVOUS_DI_DISABLE_PLUGIN_AUTOLOAD="1")
    done = run_cli(["config", "--rdzv-backend", "good"], env=env)
    assert done.returncode == 2
    assert done.stderr.startswith("error: backend (from flag --rdzv-backend): backend 'good'")
    assert "plugin autoload is off" in done.stderr
