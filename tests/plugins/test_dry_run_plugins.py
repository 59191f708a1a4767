"""`run --dry-run` with installed plugins: what plain torchrun would do with them is said."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.support.procs import run_cli


def notes(stdout: str) -> list[str]:
    return [line[2:] for line in stdout.splitlines() if line.startswith("# ")]


def test_a_plugin_backend_needs_its_distribution(pythonpath: Callable[..., dict[str, str]]) -> None:
    done = run_cli(
        ["run", "--dry-run", "--rdzv-backend", "good", "--rdzv-id", "j", "t.py"],
        env=pythonpath("rdzv-good"),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert (
        "backend 'good' is a torchrun.handlers plugin of 'rdzv-good': plain torchrun finds it "
        "only where that distribution is installed"
    ) in notes(done.stdout)
    assert "torchrun --rdzv-backend good --rdzv-id j --nnodes 1 t.py" in done.stdout


def test_a_plugin_in_place_of_a_builtin_is_not_what_torchrun_would_use(
    pythonpath: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    config = tmp_path / "rdzv.yaml"
    config.write_text("plugins:\n  override_builtins: [c10d]\n")
    done = run_cli(
        ["run", "--dry-run", "--config", str(config), "--rdzv-endpoint", "h:1", "t.py"],
        env=pythonpath("rdzv-c10d"),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    found = notes(done.stdout)
    assert any(
        n.startswith("backend 'c10d' is served by a plugin of 'rdzv-c10d' in place of torch's")
        for n in found
    ), found
    assert any(n.startswith("plugins.override_builtins: c10d has no torchrun flag") for n in found)
